"""The SCIM attribute catalogue of User and Group (RFC 7643 §4), derived from the shared schemas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from marshmallow import Schema, fields

from shared.schemas.groups import GroupWriteSchema
from shared.schemas.users import EnterpriseSchema, UserWriteSchema
from shared.scim import (
    CUSTOM_USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
)


@dataclass(frozen=True)
class Attr:
    """One attribute: canonical RFC spelling, kind, multi-valued or not, sub-attributes by lower name."""

    name: str
    kind: str = "string"  # "string", "boolean" or "complex"
    multi: bool = False
    sub: Mapping[str, Attr] = field(default_factory=dict)
    read_only: bool = False

    def child(self, name: str) -> Attr | None:
        return self.sub.get(name.lower())


def _catalogue(*attrs: Attr) -> dict[str, Attr]:
    return {a.name.lower(): a for a in attrs}


def _from_field(name: str, f: fields.Field) -> Attr:
    multi = isinstance(f, fields.List)
    inner = f.inner if isinstance(f, fields.List) else f
    if isinstance(inner, fields.Nested):
        nested = inner.schema
        return Attr(name, "complex", multi, _catalogue(*(_from_field(n, sf) for n, sf in nested.fields.items())))
    return Attr(name, "boolean" if isinstance(inner, fields.Boolean) else "string", multi)


def _from_schema(schema: Schema, skip: set[str]) -> list[Attr]:
    return [_from_field(name, f) for name, f in schema.fields.items() if name not in skip]


_REF = Attr("$ref")
# Read-only attributes (RFC 7643 §3.1, §4.1.2): ignored on POST/PUT, refused on PATCH (RFC 7644 §3.5.2).
_COMMON_READ_ONLY = (Attr("id", read_only=True), Attr("meta", "complex", read_only=True),
                     Attr("schemas", multi=True, read_only=True))
_MANAGER = Attr("manager", "complex", sub=_catalogue(Attr("value"), _REF, Attr("displayName")))
_MEMBERS = Attr("members", "complex", True, _catalogue(Attr("value"), Attr("type"), _REF))
_USER_GROUPS = Attr("groups", "complex", True, _catalogue(Attr("value"), Attr("display"), Attr("type"), _REF),
                    read_only=True)


@dataclass(frozen=True)
class ResourceSpec:
    """A resource type: its core URN, core attributes and extensions (None = any sub-attribute name)."""

    name: str
    endpoint: str
    core_urn: str
    attrs: Mapping[str, Attr]
    extensions: Mapping[str, tuple[str, Mapping[str, Attr] | None]]

    def attr(self, name: str) -> Attr | None:
        return self.attrs.get(name.lower())

    def extension(self, urn: str) -> tuple[str, Mapping[str, Attr] | None] | None:
        return self.extensions.get(urn.lower())

    def split_urn(self, text: str) -> tuple[str | None, str] | None:
        """('urn', rest) for an extension prefix, (None, rest) for the core prefix, None without a known one.

        RFC 7644 §3.10: an attribute may be written with its schema URN; URNs are case-insensitive.
        """
        lowered = text.lower()
        for key, (urn, _attrs) in self.extensions.items():
            if lowered == key or lowered.startswith(key + ":"):
                return urn, text[len(key) + 1:]
        core = self.core_urn.lower()
        if lowered.startswith(core + ":"):
            return None, text[len(core) + 1:]
        return None


USER = ResourceSpec(
    name="User",
    endpoint="Users",
    core_urn=USER_SCHEMA,
    attrs=_catalogue(*_from_schema(UserWriteSchema(), {"enterprise", "custom", "dropped"}), *_COMMON_READ_ONLY,
                     _USER_GROUPS),
    extensions={
        ENTERPRISE_USER_SCHEMA.lower(): (
            ENTERPRISE_USER_SCHEMA, _catalogue(*_from_schema(EnterpriseSchema(), {"manager"}), _MANAGER)),
        CUSTOM_USER_SCHEMA.lower(): (CUSTOM_USER_SCHEMA, None),
    },
)

GROUP = ResourceSpec(
    name="Group",
    endpoint="Groups",
    core_urn=GROUP_SCHEMA,
    attrs=_catalogue(*_from_schema(GroupWriteSchema(), {"members", "dropped"}), _MEMBERS, *_COMMON_READ_ONLY),
    # Entra adds Microsoft's group schema URN to `schemas` on create (TUT); it carries no attribute,
    # and `schemas` is read as information only, so it needs no entry here.
    extensions={},
)
