"""JSON out of every service with orjson, the standard library where orjson refuses what it accepts.

Encoding answers was 3-5% of each service's CPU in a GET by id (json.encoder under py-spy); orjson does
it several times faster. It refuses two things the standard library writes: integers beyond 64 bits
and non-string keys. Those fall back to the standard library, so that nothing accepted before is
answered differently or fails now. Clients' request bodies are still decoded by the standard library,
whose error messages the protocol answers quote; what our own services answer each other is decoded
with orjson (falling back for the same two corners).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(obj: Any) -> bytes:
    """UTF-8 JSON of `obj`, as `json.dumps(obj, ensure_ascii=False)` would write it."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # a 64-bit overflow orjson refuses, or a ValueError for the caller


class OrjsonProvider(DefaultJSONProvider):
    """Flask's provider, encoding with orjson: sorted keys and HTTP dates for datetimes, as Flask writes them."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self._bytes(obj).decode("utf-8")

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._bytes(obj), mimetype=self.mimetype)

    def _bytes(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, default=self.default, option=_SORTED)
        except TypeError:
            return super().dumps(obj).encode("utf-8")
