"""Request and response shapes of the directory's admin API (its OpenAPI document is built from them)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.schemas.common import UtcDateTime
from shared.schemas.users import UserSchema, UserWriteSchema

from ..admin_actions import STATUSES

SOURCES = ("scim", "local", "ldap", "entra_user_source")
GROUP_SOURCES = (*SOURCES, "builtin")  # builtin: the tenant's "All Users" group
MAX_PAGE = 200


class UserListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.String(load_default=None, metadata={"description": "the previous page's next_after"})
    source = fields.String(load_default=None, validate=validate.OneOf(SOURCES))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=256),
                      metadata={"description": "userName prefix, case-insensitive"})


class GroupListQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.String(load_default=None)
    source = fields.String(load_default=None, validate=validate.OneOf(GROUP_SOURCES))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=256),
                      metadata={"description": "displayName prefix, case-insensitive"})


class MemberQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.String(load_default=None, metadata={"description": "the previous page's next_after"})


class MemberSchema(Schema):
    value = fields.String(metadata={"description": "the user's id"})
    display = fields.String()
    type = fields.String()
    status = fields.String(metadata={"description": "active, disabled or deleted (from Entra)"})


class MemberPageSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema))
    next_after = fields.String(allow_none=True)


class UserSummarySchema(Schema):
    id = fields.String()
    userName = fields.String()
    displayName = fields.String(allow_none=True)
    source = fields.String()
    status = fields.String()
    created = UtcDateTime()
    lastModified = UtcDateTime()


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSummarySchema))
    next_after = fields.String(allow_none=True)


class UserDetailSchema(UserSchema):
    """The whole user as the directory holds it (the shared user shape), with its status and groups."""

    status = fields.String(metadata={"description": "active, disabled or deleted (from Entra)"})
    releasedUserName = fields.String(metadata={
        "description": "a user deleted from Entra whose userName a live user took: the userName it had"})


class GroupSummarySchema(Schema):
    id = fields.String()
    displayName = fields.String()
    externalId = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "scim, local, ldap, entra_user_source, or builtin (All Users)"})
    created = UtcDateTime()
    lastModified = UtcDateTime()
    members = fields.List(fields.Dict())
    members_next_after = fields.String(allow_none=True, metadata={
        "description": "All Users: its members are every user of the tenant, shown a page at a time; pass this "
                       "as `after` to …/members for the next page (null on the last)"})


class GroupPageSchema(Schema):
    items = fields.List(fields.Nested(GroupSummarySchema))
    next_after = fields.String(allow_none=True)


class CustomAttributeSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(load_default="idp", validate=validate.OneOf(["idp", "ldap"]),
                         metadata={"description": "idp (from Entra) or ldap (kept after a takeover)"})
    created = UtcDateTime(dump_only=True)


class CustomAttributeListSchema(Schema):
    items = fields.List(fields.Nested(CustomAttributeSchema))


class TemplateSchema(Schema):
    template = fields.String(required=True, metadata={"description": "e.g. '${userName} (${custAttr1})'"})


class ResolvedSchema(Schema):
    value = fields.String()



class UserCreateSchema(UserWriteSchema):
    """A user from another source than SCIM, which SCIM may later take over (R-DIR-8)."""

    source = fields.String(required=True, validate=validate.OneOf([x for x in SOURCES if x != "scim"]))


class LeftoverQuerySchema(Schema):
    kind = fields.String(load_default="users", validate=validate.OneOf(["users", "groups"]))
    since = UtcDateTime(required=True, metadata={"description": "when the SCIM migration started"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.String(load_default=None)


class LeftoverRemoveSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["users", "groups"]))
    since = UtcDateTime(required=True)


class LeftoverPageSchema(Schema):
    items = fields.List(fields.Dict())
    next_after = fields.String(allow_none=True)


class RemovedSchema(Schema):
    removed = fields.Integer()


class AppleIdSettingsSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    source = fields.String(load_default="email", validate=validate.OneOf(["email", "custom"]),
                           metadata={"description": "the user's email address, or a custom attribute"})
    custom_attribute = fields.String(load_default=None, allow_none=True,
                                     metadata={"description": "with source custom: an attribute holding an email"})
    appleid_subdomain = fields.Boolean(load_default=False,
                                       metadata={"description": "ann@example.com → ann@appleid.example.com"})


class SettingsSchema(Schema):
    """R-DIR-12: "Automatically invite users imported from Entra ID" and "Managed Apple ID"."""

    auto_invite = fields.Boolean(load_default=False)
    apple_id = fields.Nested(AppleIdSettingsSchema, load_default=dict)
    updated_at = UtcDateTime(dump_only=True, allow_none=True)
    updated_by = fields.String(dump_only=True, allow_none=True)
