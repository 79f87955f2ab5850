"""Request and response bodies of the notifications admin API (documented in its OpenAPI), also used
for webhook payloads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.schemas.common import UtcDateTime

from .. import feed, rules


class AffectedSubjectSchema(Schema):
    type = fields.String(metadata={"description": "user or group"})
    id = fields.String(allow_none=True, metadata={"description": "the directory id; null for a refused create"})
    name = fields.String(metadata={"description": "userName or group displayName"})
    action = fields.String(metadata={"description": "what Entra ID's write did: created, updated, replaced, deleted, "
                                                    "or not created (updated, …) when it was refused"})
    detail = fields.String(allow_none=True)
    at = fields.String(metadata={"description": "when this subject was last affected"})


class NotificationSchema(Schema):
    id = fields.Integer()
    tenant = fields.String()
    kind = fields.String(metadata={"description": " | ".join(rules.KINDS)})
    title = fields.String()
    severity = fields.String(metadata={"description": "error or warning"})
    state = fields.String(metadata={"description": " | ".join(feed.STATES)})
    message = fields.String(metadata={"description": "what happened"})
    fix = fields.String(metadata={"description": "what the admin should change"})
    attribute = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    count = fields.Integer(metadata={"description": "how many times the cause was seen"})
    affected_count = fields.Integer(metadata={"description": "users and groups still affected"})
    first_seen = UtcDateTime()
    last_seen = UtcDateTime()
    acknowledged_at = UtcDateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    resolved_at = UtcDateTime(allow_none=True)
    recent_subjects = fields.List(fields.Nested(AffectedSubjectSchema),
                                  metadata={"description": f"the latest affected, at most {rules.RECENT_SUBJECTS}"})


class NotificationQuerySchema(Schema):
    kind = fields.List(fields.String(validate=validate.OneOf(rules.KINDS)), load_default=list)
    state = fields.List(fields.String(validate=validate.OneOf(feed.STATES)), load_default=list)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    next_page = fields.Integer(allow_none=True)


class WebhookWriteSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=16, max=200),
                           metadata={"description": "HMAC key; generated when left out"})


class WebhookSchema(Schema):
    tenant = fields.String()
    url = fields.String()
    created_at = UtcDateTime()


class IssuedWebhookSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "the HMAC key: shown only in this response"})
