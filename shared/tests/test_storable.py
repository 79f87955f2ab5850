"""shared.storable: text no database stores is found at any depth, in keys and values."""

from __future__ import annotations

from typing import Any

import pytest

from shared.storable import unstorable


@pytest.mark.parametrize("value", ["a\x00b", {"k": ["x", {"deep": "\x00"}]}, {"bad\x00key": 1}])
def test_a_nul_anywhere_is_found(value: Any) -> None:
    assert unstorable(value) == "a NUL character (U+0000)"


@pytest.mark.parametrize("value", ["\ud800", {"addresses": [{"country": "x\udfff"}]}])
def test_an_unpaired_surrogate_is_found(value: Any) -> None:
    assert unstorable(value) == "an unpaired \\u surrogate"


@pytest.mark.parametrize("value", [None, 1, "ann", {"name": ["é", "😀", {"x": True}]}])
def test_storable_values_pass(value: Any) -> None:
    assert unstorable(value) is None
