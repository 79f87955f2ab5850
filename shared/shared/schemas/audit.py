"""The directory's audit log as it crosses service boundaries (R-DIR-13): events and their pages."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import UtcDateTime
from .users import Strict

EVENT_KINDS = (
    "user.created", "user.updated", "user.disabled", "user.enabled", "user.deleted", "user.takeover",
    "group.created", "group.updated", "group.deleted", "membership.added", "membership.removed",
    "settings.updated",  # R-DIR-12: subject type "tenant", subject id the tenant id
    "custom_attribute.added", "custom_attribute.deleted",  # R-DIR-11: subject type "tenant" too
)
SOURCES = ("scim", "admin", "migration")
MAX_AUDIT_PAGE = 200


class DirectoryAuditEventSchema(Strict):
    """One event. `changes` holds only the changed attributes, each as {"before": …, "after": …};
    complex attributes are split into dotted paths (`name.givenName`, `custom.custAttr1`)."""

    id = fields.Integer(required=True)
    time = UtcDateTime(required=True)
    actor = fields.String(required=True, metadata={"description": "scim, scim:<token id>, admin:<key id>"})
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    subjectType = fields.String(required=True, validate=validate.OneOf(["user", "group", "tenant"]))
    subjectId = fields.String(required=True)
    memberId = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "membership events: the user added or removed"})
    changes = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


class AuditQuerySchema(Strict):
    """GET …/audit arguments: newest first; `before` is the previous page's `next_before`."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_AUDIT_PAGE))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1))
    kind = fields.String(load_default=None, validate=validate.OneOf(EVENT_KINDS))
    subject = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                            metadata={"description": "a user or group id; a user's membership events too"})
    since = UtcDateTime(load_default=None, metadata={"description": "events at or after this time"})
    until = UtcDateTime(load_default=None, metadata={"description": "events before this time"})


class AuditPageSchema(Strict):
    items = fields.List(fields.Nested(DirectoryAuditEventSchema), required=True)
    # The id to pass as `before` for the next (older) page; null when this page is the last.
    next_before = fields.Integer(required=True, allow_none=True)
