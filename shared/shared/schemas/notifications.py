"""What the notifications service is sent and asks for: sync outcomes in batches (directory → notifications,
R-NOT-2/3/4) and the token service's per-tenant activity (R-NOT-1)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..tenants import TenantId
from .common import UtcDateTime
from .outcomes import SyncOutcomeSchema
from .users import Strict

MAX_OUTCOME_BATCH = 500
# What the notifications service receives is what the directory's outbox holds: one schema for both.
NotifiedOutcomeSchema = SyncOutcomeSchema


class OutcomeBatchSchema(Strict):
    items = fields.List(fields.Nested(NotifiedOutcomeSchema), required=True,
                        validate=validate.Length(max=MAX_OUTCOME_BATCH))


class OutcomeBatchResultSchema(Strict):
    accepted = fields.Integer(required=True, metadata={"description": "outcomes recorded now"})
    duplicates = fields.Integer(required=True, metadata={"description": "outcomes already recorded: ignored"})


class TenantActivitySchema(Strict):
    """When Entra ID last used one of the tenant's SCIM tokens (R-NOT-1)."""

    tenant = TenantId(required=True)
    tokens = fields.Integer(required=True, metadata={"description": "Active, unexpired tokens"})
    last_used_at = UtcDateTime(load_default=None, allow_none=True,
                               metadata={"description": "latest use of any of its tokens, to the minute"})


class ActivitySchema(Strict):
    items = fields.List(fields.Nested(TenantActivitySchema), required=True)
