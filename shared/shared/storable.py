"""Text no database stores: U+0000 (PostgreSQL text refuses it) and unpaired surrogates (not UTF-8)."""

from __future__ import annotations

from typing import Any

from flask import request

from .errors import Problem


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


def refuse_unstorable_body() -> None:
    """A JSON body holding text no database stores is a 400 before any view reads it, on every engine alike
    (SQLite would store a NUL that PostgreSQL refuses with an error). Called once the caller is authenticated,
    so that an unauthenticated request is still told 401 first."""
    if request.is_json and request.content_length:
        found = unstorable(request.get_json(silent=True))
        if found:
            raise Problem(400, f"The request body contains {found}, which no value may hold: remove it and send "
                               "the request again.", code="invalid_value")
