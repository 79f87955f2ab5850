"""The directory's group as it crosses service boundaries, and membership changes by delta."""

from __future__ import annotations

from marshmallow import fields, validate

from .common import UtcDateTime
from .users import DroppedSchema, Strict

_str = {"load_default": None, "allow_none": True}


class MemberSchema(Strict):
    value = fields.String(required=True, validate=validate.Length(min=1, max=64))
    display = fields.String(**_str)
    type = fields.String(**_str, metadata={"description": "always 'User': nested groups are not kept"})  # R-DIR-10


class GroupWriteSchema(Strict):
    """Create and replace: the whole group; `members` replaces the membership."""

    displayName = fields.String(required=True, validate=validate.Length(min=1, max=256))
    externalId = fields.String(**_str)
    members = fields.List(fields.Nested(MemberSchema), load_default=list)
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)


class GroupPatchSchema(Strict):
    """A PATCH as a delta: membership changes are applied per member, atomically, so concurrent
    PATCHes on one group never lose each other's changes (docs/entra-behaviour.md, Groups)."""

    displayName = fields.String(load_default=None, validate=validate.Length(min=1, max=256))
    externalId = fields.String(**_str)
    removeExternalId = fields.Boolean(load_default=False)
    addMembers = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    removeMembers = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    # Not null: the membership becomes exactly this list (PATCH replace of 'members').
    replaceMembers = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                 load_default=None, allow_none=True)
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)


class GroupSchema(Strict):
    id = fields.String(required=True)
    displayName = fields.String(required=True)
    externalId = fields.String(**_str)
    source = fields.String(required=True)
    # Present only when asked for: GET ?excludedAttributes=members must not pay for them.
    members = fields.List(fields.Nested(MemberSchema), load_default=None, allow_none=True)
    created = UtcDateTime(required=True)
    lastModified = UtcDateTime(required=True)
    version = fields.Integer(required=True)
