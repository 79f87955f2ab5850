"""The directory's user as it crosses service boundaries: SCIM attribute names, no SCIM envelope.

scim-api translates SCIM (schemas, meta, URN-keyed extensions, Entra quirks) to this shape and
back; the directory stores it and applies the R-DIR rules. The write shape is derived from the attribute
catalogue (shared.resource_types): extension attributes travel under `enterprise` and `custom`, the
manager is a user id. Inside a complex value an absent sub-attribute stays absent when loaded (no
default): a replace removes it, while a null or blank one keeps the stored value (R-DIR-7).
Read-only fields are dumped, never loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from ..catalogue import Attribute, NotStored
from ..resource_types import USER
from .common import UtcDateTime

_str = {"load_default": None, "allow_none": True}


class Strict(Schema):
    class Meta:
        unknown = RAISE  # a contract drift between services fails loudly, not silently


class DroppedSchema(Strict):
    """An attribute that was not stored, and why (a sync outcome, R-NOT-3)."""

    attribute = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf([
        "unknown_attribute", "undefined_custom_attribute", "nested_group", "unknown_member",
        "apple_id_conflict", "read_only",
    ]))
    detail = fields.String(load_default=None, allow_none=True)
    # What was not stored when it is an id (a member that is not a user): for scripts and logs, while the
    # detail, which admins read, says it by name or in words.
    value = fields.String(allow_none=True)


class GroupRefSchema(Strict):
    value = fields.String(required=True)
    display = fields.String(**_str)


def _field(attr: Attribute, *, top: bool) -> fields.Field:
    """The contract's field for one catalogued attribute; inside an object, an absent value stays absent."""
    opts: dict[str, Any] = {"allow_none": True, "metadata": {"description": attr.description}}
    if attr.multi_valued:
        return fields.List(fields.Nested(_object_schema(attr)), load_default=list, metadata=opts["metadata"])
    if top:
        opts["load_default"] = None
    if attr.type == "boolean":
        return fields.Boolean(**opts)
    if attr.complex and not attr.as_value:
        return fields.Nested(_object_schema(attr), **opts)
    return fields.String(**opts)


_OBJECTS: dict[tuple[tuple[str, str], ...], type[Schema]] = {}


def _object_schema(attr: Attribute) -> type[Schema]:
    """One schema per shape of sub-attributes: emails, phoneNumbers, roles… share MultiValueSchema."""
    kept = list(_writable(attr.sub_attributes))
    shape = tuple((s.name, s.type == "boolean") for s in kept)
    if shape not in _OBJECTS:
        name = "MultiValue" if attr.sub("value") else attr.name.removesuffix("es").capitalize()
        subs = {s.name: _field(s, top=False) for s in kept}
        _OBJECTS[shape] = type(f"{name}Schema", (Strict,), subs)
    return _OBJECTS[shape]


def _writable(attributes: Iterable[Attribute]) -> Iterator[Attribute]:
    """What a client may write and the directory keeps (no `$ref`: it is derived from `value`)."""
    return (a for a in attributes if not a.read_only and not isinstance(a.stored, NotStored))


def _user_write_fields() -> dict[str, Any]:
    out: dict[str, Any] = {a.name: _field(a, top=True) for a in _writable(USER.top_level())}
    user_name = USER.core.attribute("userName")
    out["userName"] = fields.String(required=True, validate=validate.Length(min=1, max=user_name.max_length))
    out["active"] = fields.Boolean(load_default=True)
    for schema in USER.extensions:
        if schema.open:  # the tenant's own attributes: one text value each
            out[schema.key] = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                                          load_default=dict)
        else:
            nested = type(f"{schema.key.capitalize()}Schema", (Strict,),
                          {a.name: _field(a, top=False) for a in _writable(schema.attributes)})
            out[schema.key] = fields.Nested(nested, load_default=None, allow_none=True,
                                            metadata={"description": schema.urn})
    # Attributes scim-api could not map (unknown to our schemas): recorded with the write.
    out["dropped"] = fields.List(fields.Nested(DroppedSchema), load_default=list)
    return out


# What scim-api sends on create and replace: the whole user (absent = not set), one field per catalogued
# attribute that a client may write.
UserWriteSchema: type[Schema] = type("UserWriteSchema", (Strict,), _user_write_fields())


class UserSchema(UserWriteSchema):
    """What the directory answers: the stored user plus read-only facts."""

    id = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "scim, local, ldap or entra_user_source"})
    groups = fields.List(fields.Nested(GroupRefSchema), load_default=list)
    created = UtcDateTime(required=True)
    lastModified = UtcDateTime(required=True)
    version = fields.Integer(required=True)
    # R-DIR-12; the description is served in the OpenAPI document, which admins read.
    managedAppleId = fields.String(load_default=None, allow_none=True, metadata={
        "description": "derived by the directory when the tenant turned Managed Apple ID on; never written by a "
                       "client"})


class UserOperationSchema(Strict):
    """One operation of a PATCH in the contract's terms (scim-api translated the SCIM path and value)."""

    op = fields.String(required=True, validate=validate.OneOf(["add", "replace", "remove"]))
    # None: a top-level attribute; else the contract key of an extension ("enterprise", "custom").
    container = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["enterprise", "custom"]))
    # None with a container: the whole extension object.
    attribute = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=256))
    sub = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=256))
    # An element filter of a multi-valued attribute: ["cmp", sub, op, value] | ["pr", sub] | ["and"|"or", a, b]
    # | ["not", a], as scim-api parsed it from `emails[type eq "work"]`.
    filter = fields.Raw(load_default=None, allow_none=True)
    value = fields.Raw(load_default=None, allow_none=True)


class UserChangeSchema(Strict):
    """A PATCH of a user as one call: the directory applies the operations to the stored user under its lock
    and its rules (a blank keeps the old value), and answers the new user."""

    operations = fields.List(fields.Nested(UserOperationSchema), required=True, validate=validate.Length(min=1,
                                                                                                           max=1000))
    # Attributes scim-api could not map (unknown to our schemas): recorded with the write.
    dropped = fields.List(fields.Nested(DroppedSchema), load_default=list)
