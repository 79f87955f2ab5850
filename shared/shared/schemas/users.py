"""The directory's user as it crosses service boundaries: SCIM attribute names, no SCIM envelope.

scim-api translates SCIM (schemas, meta, URN-keyed extensions, Entra quirks) to this shape and
back; the directory stores it and applies the R-DIR rules. Extension attributes travel under
`enterprise` and `custom`; the manager is a user id. Read-only fields are dumped, never loaded.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import UtcDateTime

_str = {"load_default": None, "allow_none": True}
# Inside a complex value an absent sub-attribute stays absent when loaded (no default): a replace removes
# it, while a null or blank one keeps the stored value (R-DIR-7).
_sub = {"allow_none": True}


class Strict(Schema):
    class Meta:
        unknown = RAISE  # a contract drift between services fails loudly, not silently


class NameSchema(Strict):
    formatted = fields.String(**_sub)
    familyName = fields.String(**_sub)
    givenName = fields.String(**_sub)
    middleName = fields.String(**_sub)
    honorificPrefix = fields.String(**_sub)
    honorificSuffix = fields.String(**_sub)


class MultiValueSchema(Strict):
    """emails, phoneNumbers, ims, photos, roles, entitlements, x509Certificates (RFC 7643 §2.4)."""

    value = fields.String(**_sub)
    type = fields.String(**_sub)
    primary = fields.Boolean(allow_none=True)
    display = fields.String(**_sub)


class AddressSchema(Strict):
    formatted = fields.String(**_sub)
    streetAddress = fields.String(**_sub)
    locality = fields.String(**_sub)
    region = fields.String(**_sub)
    postalCode = fields.String(**_sub)
    country = fields.String(**_sub)
    type = fields.String(**_sub)
    primary = fields.Boolean(allow_none=True)


class EnterpriseSchema(Strict):
    """urn:ietf:params:scim:schemas:extension:enterprise:2.0:User (RFC 7643 §4.3)."""

    employeeNumber = fields.String(**_sub)
    costCenter = fields.String(**_sub)
    organization = fields.String(**_sub)
    division = fields.String(**_sub)
    department = fields.String(**_sub)
    manager = fields.String(**_sub, metadata={"description": "the manager's user id"})


class DroppedSchema(Strict):
    """An attribute that was not stored, and why (a sync outcome, R-NOT-3)."""

    attribute = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf([
        "unknown_attribute", "undefined_custom_attribute", "nested_group", "unknown_member",
        "apple_id_conflict", "read_only",
    ]))
    detail = fields.String(load_default=None, allow_none=True)


class GroupRefSchema(Strict):
    value = fields.String(required=True)
    display = fields.String(**_str)


class UserWriteSchema(Strict):
    """What scim-api sends on create and replace: the whole user (absent = not set)."""

    userName = fields.String(required=True, validate=validate.Length(min=1, max=256))
    externalId = fields.String(**_str)
    active = fields.Boolean(load_default=True)
    displayName = fields.String(**_str)
    nickName = fields.String(**_str)
    profileUrl = fields.String(**_str)
    title = fields.String(**_str)
    userType = fields.String(**_str)
    preferredLanguage = fields.String(**_str)
    locale = fields.String(**_str)
    timezone = fields.String(**_str)
    name = fields.Nested(NameSchema, load_default=None, allow_none=True)
    emails = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    phoneNumbers = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    ims = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    photos = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    addresses = fields.List(fields.Nested(AddressSchema), load_default=list)
    roles = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    entitlements = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    x509Certificates = fields.List(fields.Nested(MultiValueSchema), load_default=list)
    enterprise = fields.Nested(EnterpriseSchema, load_default=None, allow_none=True)
    custom = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), load_default=dict)
    # Attributes scim-api could not map (unknown to our schemas): recorded with the write.
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)


class UserSchema(UserWriteSchema):
    """What the directory answers: the stored user plus read-only facts."""

    id = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "scim, local, ldap or entra_user_source"})
    groups = fields.List(fields.Nested(GroupRefSchema), load_default=list)
    created = UtcDateTime(required=True)
    lastModified = UtcDateTime(required=True)
    version = fields.Integer(required=True)
    managedAppleId = fields.String(load_default=None, allow_none=True, metadata={
        "description": "R-DIR-12: derived by the directory when the tenant turned Managed Apple ID on; "
                       "never written by a client"})
