"""Sync outcomes as they cross service boundaries (R-NOT-2/3/4): what each sync write stored and dropped."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import UtcDateTime
from .users import DroppedSchema, Strict

OUTCOME_STATUSES = ("ok", "partial")
MAX_OUTCOME_PAGE = 500


class SyncOutcomeSchema(Strict):
    """One write: `partial` when something was dropped (R-NOT-3). A write refused whole leaves no
    outcome here: its transaction rolled back."""

    id = fields.Integer(required=True, metadata={"description": "grows in commit order per tenant: a cursor"})
    time = UtcDateTime(required=True)
    operation = fields.String(required=True, metadata={"description": "POST /Users, PATCH /Groups, …"})
    subjectId = fields.String(required=True)
    subjectName = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "the userName or group displayName"})
    status = fields.String(required=True, validate=validate.OneOf(OUTCOME_STATUSES))
    stored = fields.List(fields.String(), required=True)
    dropped = fields.List(fields.Nested(DroppedSchema), required=True)


class OutcomeQuerySchema(Strict):
    """GET …/sync-outcomes arguments: oldest first, strictly after the cursor `after` (0: from the start)."""

    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_OUTCOME_PAGE))


class OutcomePageSchema(Strict):
    items = fields.List(fields.Nested(SyncOutcomeSchema), required=True)
    # The cursor to pass as `after` next time: the last item's id, or `after` unchanged when empty.
    next_after = fields.Integer(required=True)
