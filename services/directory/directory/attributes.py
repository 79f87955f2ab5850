"""Where each filterable SCIM attribute of users and groups is stored: a column, JSON, or memberships."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from peewee import Field

from shared.errors import Problem
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA

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

_MULTI_SUBS = {s.name.lower(): s for s in (Sub("value"), Sub("type"), Sub("primary", "boolean"), Sub("display"))}
_ADDRESS_SUBS = {s.name.lower(): s for s in (
    Sub("formatted"), Sub("streetAddress"), Sub("locality"), Sub("region"), Sub("postalCode"), Sub("country"),
    Sub("type"), Sub("primary", "boolean"))}
_NAME_SUBS = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
_SIMPLE = ("nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone")
_ENTERPRISE = ("employeeNumber", "costCenter", "organization", "division", "department")
_MULTI = ("emails", "phoneNumbers", "ims", "photos", "roles", "entitlements", "x509Certificates")


def _user_catalogue() -> dict[str, Target]:
    attrs: dict[str, Target] = {
        "id": Column(User.id, fold="exact", nullable=False),
        "externalid": Column(User.external_id, fold="exact"),
        "username": Column(User.user_name_key, fold="key", nullable=False),
        "displayname": Column(User.display_name),
        "active": Column(User.active, "boolean", "exact", nullable=False),
        "meta.created": Column(User.created, "datetime", "exact", nullable=False),
        "meta.lastmodified": Column(User.last_modified, "datetime", "exact", nullable=False),
        "name": Json(("name",), "object"),
        "groups": Related("groups"),
        "groups.value": Related("groups"),
    }
    attrs.update({f"name.{n.lower()}": Json(("name", n)) for n in _NAME_SUBS})
    attrs.update({n.lower(): Json((n,)) for n in _SIMPLE})
    for key, subs in [*((m, _MULTI_SUBS) for m in _MULTI), ("addresses", _ADDRESS_SUBS)]:
        attrs[key.lower()] = JsonArray(key, subs)
        attrs.update({f"{key.lower()}.{s}": JsonArray(key, subs, sub) for s, sub in subs.items()})
    ent = ENTERPRISE_USER_SCHEMA.lower()
    attrs.update({f"{ent}:{n.lower()}": Json(("enterprise", n)) for n in _ENTERPRISE})
    # The manager is stored as the manager's user id: ids are caseExact.
    attrs[f"{ent}:manager"] = attrs[f"{ent}:manager.value"] = Json(("enterprise", "manager"), exact=True)
    return attrs


def _group_catalogue() -> dict[str, Target]:
    return {
        "id": Column(Group.id, fold="exact", nullable=False),
        "externalid": Column(Group.external_id, fold="exact"),
        "displayname": Column(Group.display_name_key, fold="key", nullable=False),
        "meta.created": Column(Group.created, "datetime", "exact", nullable=False),
        "meta.lastmodified": Column(Group.last_modified, "datetime", "exact", nullable=False),
        "members": Related("members"),
        "members.value": Related("members"),
    }


USER_ATTRIBUTES = _user_catalogue()
GROUP_ATTRIBUTES = _group_catalogue()
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
