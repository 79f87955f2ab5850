"""Sync outcomes as they cross service boundaries (R-NOT-2/3/4): what each sync write stored and dropped."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .common import UtcDateTime
from .users import DroppedSchema, Strict

OUTCOME_STATUSES = ("ok", "partial", "refused")
MAX_OUTCOME_PAGE = 500


class RefusalSchema(Strict):
    """Why a write was refused whole (R-NOT-2): the attribute at fault and the directory's detail."""

    attribute = fields.String(required=True, validate=validate.Length(min=1, max=200))
    detail = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                           metadata={"description": "the problem code, e.g. invalid_value or uniqueness"})


class SyncOutcomeSchema(Strict):
    """One sync write, from the directory's outbox to the notifications service: `partial` when something
    was dropped (R-NOT-3), `refused` when the whole write was (R-NOT-2, recorded after its rollback).
    `id` is unique per tenant and grows in commit order: a cursor, and what makes a redelivery harmless."""

    id = fields.Integer(required=True, validate=validate.Range(min=1))
    time = UtcDateTime(required=True)
    operation = fields.String(required=True, validate=validate.Length(min=1, max=100),
                              metadata={"description": "POST /Users, PATCH /Groups, …"})
    subjectId = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "null for a refused create"})
    subjectName = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "the userName or group displayName"})
    status = fields.String(required=True, validate=validate.OneOf(OUTCOME_STATUSES))
    stored = fields.List(fields.String(), load_default=list)
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)
    refusal = fields.Nested(RefusalSchema, load_default=None, allow_none=True,
                            metadata={"description": "present when status is refused"})

    @validates_schema
    def _refusal_with_refused(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("status") == "refused" and not data.get("refusal"):
            raise ValidationError("a refused outcome names its refusal", "refusal")


class OutcomeQuerySchema(Strict):
    """GET …/sync-outcomes arguments: oldest first, strictly after the cursor `after` (0: from the start)."""

    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_OUTCOME_PAGE))


class OutcomePageSchema(Strict):
    items = fields.List(fields.Nested(SyncOutcomeSchema), required=True)
    # The cursor to pass as `after` next time: the last item's id, or `after` unchanged when empty.
    next_after = fields.Integer(required=True)
