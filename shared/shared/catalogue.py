"""The one catalogue of user and group attributes: what SCIM says of each, and where the directory keeps it.

Everything else is derived from it: scim-api's discovery documents, filter compiler and SCIM mapping;
the contract's marshmallow schemas (shared.schemas.users); the directory's rules, storage mapping and
template names. A new attribute is one entry in shared.resource_types, which holds the tables.

The characteristics are those of RFC 7643 §7 with the §2.2 defaults; `filterable` and `stored` are ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .scim import SCHEMA_SCHEMA

# RFC 7643 §2.1 ATTRNAME (ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA), at most 64 long: the
# one rule for a custom attribute's name wherever it is defined, stored, filtered, templated or advertised.
CUSTOM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def is_custom_name(name: object) -> bool:
    return isinstance(name, str) and CUSTOM_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Column:
    """Kept in a column of the resource's table; `key` names a casefolded copy that comparisons use."""

    name: str
    key: str | None = None
    nullable: bool = True


@dataclass(frozen=True)
class Data:
    """Kept in the resource's JSON `data` under its contract path (the default)."""


@dataclass(frozen=True)
class Memberships:
    """Derived from memberships: a user's `groups`, a group's `members`."""

    kind: str


@dataclass(frozen=True)
class NotStored:
    """Answered, never kept: part of another attribute (a `$ref` derived from `value`, meta.location)."""


Storage = Column | Data | Memberships | NotStored


@dataclass(frozen=True)
class Attribute:
    """One attribute or sub-attribute (RFC 7643 §7) and how the directory keeps it."""

    name: str
    type: str = "string"  # string, boolean, complex, reference, binary, dateTime
    description: str = ""
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    filterable: bool = True
    stored: Storage = field(default_factory=Data)
    max_length: int | None = None
    # A complex value kept as its `value` alone (the manager is stored as the manager's user id).
    as_value: bool = False

    @property
    def complex(self) -> bool:
        return self.type == "complex"

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    @property
    def text(self) -> bool:
        """A single string value in the contract (reference and binary travel as strings)."""
        return not self.multi_valued and (self.type in ("string", "reference", "binary") or self.as_value)

    def sub(self, name: str) -> Attribute | None:
        """A sub-attribute by name in any case (RFC 7643 §2.1)."""
        lowered = name.lower()
        return next((s for s in self.sub_attributes if s.name.lower() == lowered), None)

    def definition(self) -> dict[str, Any]:
        """The attribute as /Schemas lists it: every characteristic of RFC 7643 §7, defaults spelled out."""
        out: dict[str, Any] = {
            "name": self.name, "type": self.type, "description": self.description,
            "multiValued": self.multi_valued, "required": self.required, "caseExact": self.case_exact,
            "mutability": self.mutability, "returned": self.returned, "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.complex:  # only complex attributes carry subAttributes (RFC 7643 §2.3.8)
            out["subAttributes"] = [s.definition() for s in self.sub_attributes]
        return out


@dataclass(frozen=True)
class SchemaDef:
    """A schema (RFC 7643 §7) and where its attributes travel in the contract's user or group."""

    urn: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    key: str | None = None  # None: at the top level; else the contract key holding them ("enterprise")
    open: bool = False  # the attributes are the tenant's own (the custom extension)

    def attribute(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)

    def path(self, attribute: Attribute) -> tuple[str, ...]:
        """Where the attribute sits in the contract's user: ("title",), ("enterprise", "department")."""
        return (self.key, attribute.name) if self.key else (attribute.name,)

    def definition(self, base_url: str, attributes: tuple[Attribute, ...] | None = None) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.urn, "name": self.name, "description": self.description,
            "attributes": [a.definition() for a in (self.attributes if attributes is None else attributes)],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.urn}"},
        }


@dataclass(frozen=True)
class Resource:
    """A resource type: common attributes (RFC 7643 §3.1, not listed in /Schemas), core schema, extensions."""

    name: str
    endpoint: str
    common: tuple[Attribute, ...]
    core: SchemaDef
    extensions: tuple[SchemaDef, ...] = ()

    @property
    def schemas(self) -> tuple[SchemaDef, ...]:
        return (self.core, *self.extensions)

    def extension(self, urn: str) -> SchemaDef | None:
        lowered = urn.lower()
        return next((s for s in self.extensions if s.urn.lower() == lowered), None)

    def common_attribute(self, name: str) -> Attribute:
        return next(a for a in self.common if a.name == name)

    def top_level(self) -> Iterator[Attribute]:
        """Common and core attributes: those at the top level of the contract's shape."""
        yield from self.common
        yield from self.core.attributes

    def walk(self) -> Iterator[tuple[SchemaDef | None, Attribute, Attribute | None]]:
        """(schema or None for common, attribute, sub-attribute or None) for everything catalogued."""
        for schema, attrs in ((None, self.common), *((s, s.attributes) for s in self.schemas)):
            for attr in attrs:
                yield schema, attr, None
                for sub in attr.sub_attributes:
                    yield schema, attr, sub


def custom_attribute(name: str) -> Attribute:
    """A custom attribute the tenant defined: one optional string (R-SCIM-3, R-DIR-11)."""
    return Attribute(name, description=f"Custom attribute '{name}' defined by the tenant's admin.")


def custom_attributes(names: list[str]) -> tuple[Attribute, ...]:
    """The tenant's custom attributes, listed once each: names are case-insensitive (RFC 7643 §2.1)."""
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower(), name)
    return tuple(custom_attribute(name) for name in unique.values())


def read_only(attribute: Attribute) -> Attribute:
    """The attribute with it and its sub-attributes read-only (RFC 7643 §4.1.2 groups)."""
    subs = tuple(read_only(s) for s in attribute.sub_attributes)
    return replace(attribute, mutability="readOnly", sub_attributes=subs)
