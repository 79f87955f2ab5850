"""If-Match / If-None-Match as every service reads them (RFC 9110 §13.1, RFC 7644 §3.14)."""

from __future__ import annotations

import pytest

from shared.etags import entity_versions


@pytest.mark.parametrize(("header", "accepted"), [
    (None, None), ("*", None), ("", None), (" * ", None), ("5", {5}), ('"5"', {5}), ('W/"5"', {5}),
    ('w/"5"', {5}), ('W/"5", "6"', {5, 6}), ("junk", set()), ('W/"x"', set()),
])
def test_plain_quoted_and_weak_versions_are_read(header: str | None, accepted: set[int] | None) -> None:
    assert entity_versions(header) == (None if accepted is None else frozenset(accepted))
