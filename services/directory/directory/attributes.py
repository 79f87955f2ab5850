"""Where each filterable SCIM attribute of users and groups is stored (a column, JSON, or memberships), as
the attribute catalogue (shared.resource_types) says; peewee fields and JSON paths for the filter compiler."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from peewee import Field

from shared import catalogue, resource_types
from shared.catalogue import Attribute, Memberships, NotStored, Resource, SchemaDef
from shared.errors import Problem
from shared.scim import CUSTOM_USER_SCHEMA

from .models import Group, User


@dataclass(frozen=True)
class Column:
    """A column of the resource's table. `fold`: "key" = compared through a casefolded copy column,
    "lower" = LOWER() on both sides (caseExact false), "exact" = caseExact (id, externalId)."""

    field: Field
    type: str = "string"  # "string", "boolean" or "datetime"
    fold: str = "lower"
    nullable: bool = True


@dataclass(frozen=True)
class Json:
    """A single value inside `data`, e.g. ("name", "givenName")."""

    path: tuple[str, ...]
    type: str = "string"  # "string", or "object" (only `pr` applies)
    exact: bool = False


@dataclass(frozen=True)
class Sub:
    """A sub-attribute of the elements of a multi-valued attribute."""

    name: str
    type: str = "string"
    exact: bool = False


@dataclass(frozen=True)
class JsonArray:
    """A multi-valued attribute in `data`; `sub` None addresses the element itself (its `value`)."""

    key: str
    subs: Mapping[str, Sub] = field(hash=False)
    sub: Sub | None = None


@dataclass(frozen=True)
class Related:
    """Ids through memberships: a user's "groups" or a group's "members" (their `value`)."""

    kind: str


Target = Column | Json | JsonArray | Related

_KINDS = {"boolean": "boolean", "dateTime": "datetime"}


def _column(model: type, attribute: Attribute, stored: catalogue.Column) -> Column:
    # A casefolded copy column compares uniqueness keys (userName, group displayName); otherwise the case
    # rule of the attribute (RFC 7643 caseExact) decides between LOWER() on both sides and exact.
    name, fold = (stored.key, "key") if stored.key else (stored.name, "exact" if attribute.case_exact else "lower")
    if attribute.type in _KINDS:
        fold = "exact"
    return Column(getattr(model, name), _KINDS.get(attribute.type, "string"), fold, stored.nullable)


def _sub(attribute: Attribute) -> Sub:
    return Sub(attribute.name, _KINDS.get(attribute.type, "string"), attribute.case_exact)


def _targets(model: type, schema: SchemaDef | None, attr: Attribute) -> Iterator[tuple[str, Target]]:
    """(lowered path, storage) for an attribute and its filterable sub-attributes."""
    name = attr.name.lower() if schema is None or schema.key is None else f"{schema.urn.lower()}:{attr.name.lower()}"
    subs = [s for s in attr.sub_attributes if s.filterable]
    if isinstance(attr.stored, Memberships):
        yield name, Related(attr.stored.kind)
        yield from ((f"{name}.{s.name.lower()}", Related(attr.stored.kind)) for s in subs)
    elif isinstance(attr.stored, catalogue.Column):
        yield name, _column(model, attr, attr.stored)
    elif attr.as_value:  # kept as the value alone (the manager's user id): ids are caseExact
        target = Json(schema.path(attr) if schema else (attr.name,), exact=True)
        yield name, target
        yield f"{name}.value", target
    elif attr.multi_valued:
        by_name = {s.name.lower(): _sub(s) for s in subs}
        yield name, JsonArray(attr.name, by_name)
        yield from ((f"{name}.{key}", JsonArray(attr.name, by_name, sub)) for key, sub in by_name.items())
    elif attr.complex:
        path = schema.path(attr) if schema else (attr.name,)
        if not isinstance(attr.stored, NotStored):  # meta is not kept as an object, only its times are
            yield name, Json(path, "object")  # only `pr` applies to the object itself
        for s in subs:
            if isinstance(s.stored, catalogue.Column):
                yield f"{name}.{s.name.lower()}", _column(model, s, s.stored)
            else:
                yield f"{name}.{s.name.lower()}", Json((*path, s.name), exact=s.case_exact)
    else:
        yield name, Json(schema.path(attr) if schema else (attr.name,), exact=attr.case_exact)


def _storage(resource: Resource, model: type) -> dict[str, Target]:
    """Every filterable attribute of the resource (common, core, closed extensions) and where it is kept."""
    out: dict[str, Target] = {}
    for schema, attrs in ((None, resource.common), *((s, s.attributes) for s in resource.schemas if not s.open)):
        for attr in attrs:
            if attr.filterable:
                out.update(_targets(model, schema, attr))
    return out


USER_ATTRIBUTES = _storage(resource_types.USER, User)
GROUP_ATTRIBUTES = _storage(resource_types.GROUP, Group)
_CUSTOM = CUSTOM_USER_SCHEMA.lower() + ":"


def invalid_filter(detail: str) -> Problem:
    return Problem(400, detail, code="invalid_filter")


def resolve(kind: str, path: object, custom_names: Callable[[], Mapping[str, str]] | None = None) -> Target:
    """The storage of the attribute at `path` (SCIM names are case-insensitive, RFC 7643 §2.1);
    400 invalid_filter naming it when users or groups have no such attribute."""
    if not isinstance(path, str) or not path:
        raise invalid_filter("A filter names an attribute with a non-empty string.")
    lowered = path.lower()
    if kind == "user" and lowered.startswith(_CUSTOM) and custom_names is not None:
        spelling = custom_names().get(lowered[len(_CUSTOM):])
        if spelling is not None:
            return Json(("custom", spelling))
    target = (USER_ATTRIBUTES if kind == "user" else GROUP_ATTRIBUTES).get(lowered)
    if target is None:
        raise invalid_filter(f"{'Users' if kind == 'user' else 'Groups'} have no attribute '{path}' "
                             "that can be filtered or sorted on.")
    return target


def resolve_sub(array: JsonArray, path: object) -> Sub:
    """A sub-attribute named relative to its multi-valued attribute (inside a `has` filter)."""
    sub = array.subs.get(path.lower()) if isinstance(path, str) else None
    if sub is None:
        raise invalid_filter(f"'{array.key}' has no sub-attribute '{path}'.")
    return sub
