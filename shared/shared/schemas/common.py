"""Field types every payload uses: UTC timestamps written with a 'Z'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields


def utcnow() -> dt.datetime:
    """Naive UTC now, as stored in every database (SQLite has no time zones)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # Millisecond precision: what both engines store and every API shows.
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class UtcDateTime(fields.DateTime):
    """Naive UTC datetimes out as '2026-11-23T07:00:00.123Z'; aware or 'Z' strings in, stored naive UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite may hand back the stored text
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            except OverflowError:  # '0001-01-01T00:00:00+01:00' is in year 0 in UTC: no datetime holds it
                raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None
        return parsed
