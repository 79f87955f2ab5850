"""Text no database stores: U+0000 (PostgreSQL text refuses it) and unpaired surrogates (not UTF-8)."""

from __future__ import annotations

from typing import Any


def unstorable(value: Any) -> str | None:
    """What in a parsed JSON value (any key or string, at any depth) no database can store, in words for the
    client; None when everything can be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character (U+0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "an unpaired \\u surrogate"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
