"""What the notifications service is sent and asks for: sync outcomes in batches (directory → notifications,
R-NOT-2/3/4) and the token service's per-tenant activity (R-NOT-1)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .common import UtcDateTime
from .users import DroppedSchema, Strict

NOTIFIED_STATUSES = ("ok", "partial", "refused")
MAX_OUTCOME_BATCH = 500


class RefusalSchema(Strict):
    """Why a write was refused whole (R-NOT-2): the attribute at fault and the directory's detail."""

    attribute = fields.String(required=True, validate=validate.Length(min=1, max=200))
    detail = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                           metadata={"description": "the problem code, e.g. invalid_value or uniqueness"})


class NotifiedOutcomeSchema(Strict):
    """One sync write as the notifications service receives it; `id` is the directory's outcome id,
    unique per tenant, which makes a redelivery harmless."""

    id = fields.Integer(required=True, validate=validate.Range(min=1))
    time = UtcDateTime(required=True)
    operation = fields.String(required=True, validate=validate.Length(min=1, max=100),
                              metadata={"description": "POST /Users, PATCH /Groups, …"})
    subjectId = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "null for a refused create"})
    subjectName = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "the userName or group displayName"})
    status = fields.String(required=True, validate=validate.OneOf(NOTIFIED_STATUSES))
    stored = fields.List(fields.String(), load_default=list)
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)
    refusal = fields.Nested(RefusalSchema, load_default=None, allow_none=True,
                            metadata={"description": "present when status is refused"})

    @validates_schema
    def _refusal_with_refused(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("status") == "refused" and not data.get("refusal"):
            raise ValidationError("a refused outcome names its refusal", "refusal")


class OutcomeBatchSchema(Strict):
    items = fields.List(fields.Nested(NotifiedOutcomeSchema), required=True,
                        validate=validate.Length(max=MAX_OUTCOME_BATCH))


class OutcomeBatchResultSchema(Strict):
    accepted = fields.Integer(required=True, metadata={"description": "outcomes recorded now"})
    duplicates = fields.Integer(required=True, metadata={"description": "outcomes already recorded: ignored"})


class TenantActivitySchema(Strict):
    """When Entra ID last used one of the tenant's SCIM tokens (R-NOT-1)."""

    tenant = fields.String(required=True)
    tokens = fields.Integer(required=True, metadata={"description": "Active, unexpired tokens"})
    last_used_at = UtcDateTime(load_default=None, allow_none=True,
                               metadata={"description": "latest use of any of its tokens, to the minute"})


class ActivitySchema(Strict):
    items = fields.List(fields.Nested(TenantActivitySchema), required=True)
