"""The R-DIR rules as pure functions: what a user write must hold, and what a replace keeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.errors import Problem
from shared.resource_types import USER
from shared.scim import CUSTOM_USER_SCHEMA

# The user's attributes a write carries, by shape, from the catalogue (shared.resource_types).
_WRITABLE = [a for a in USER.top_level() if not a.read_only]
SIMPLE = tuple(a.name for a in _WRITABLE if a.text)
COMPLEX = (*(a.name for a in _WRITABLE if a.complex and not a.multi_valued),
           *(s.key for s in USER.extensions if not s.open))
MULTI = tuple(a.name for a in _WRITABLE if a.multi_valued)
# Sub-attributes that only qualify an element; an element with nothing else carries no data.
QUALIFIERS = frozenset({"type", "primary", "display"})
MAX_EXTERNAL_ID = USER.common_attribute("externalId").max_length


def fold(text: str) -> str:
    """The case-insensitive key of a userName or group displayName (RFC 7643 caseExact false)."""
    return text.casefold()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def invalid(attribute: str, detail: str) -> Problem:
    return Problem(400, detail, code="invalid_value", attribute=attribute)


def refuse_inactive_create(write: Mapping[str, Any]) -> None:
    """R-DIR-3: an inactive user cannot be provisioned; a create with active false is refused."""
    if write.get("active") is False:
        raise invalid("active", "A user cannot be provisioned inactive (active is false): provision it active, "
                                "then disable it.")


def require_email(user: Mapping[str, Any]) -> None:
    """R-DIR-1: a provisioned user has at least one non-blank emails[].value (create and replace)."""
    if not any(not is_blank(e.get("value")) for e in user.get("emails") or ()):
        raise invalid("emails", "An email address is required: map a non-blank emails[type eq \"work\"].value "
                                "in Entra ID.")


def require_name(user: Mapping[str, Any]) -> None:
    """R-DIR-2: name.formatted, or both name.givenName and name.familyName, are non-blank."""
    name = user.get("name") or {}
    if is_blank(name.get("formatted")) and (is_blank(name.get("givenName")) or is_blank(name.get("familyName"))):
        raise invalid("name", "A user needs name.formatted, or both name.givenName and name.familyName; "
                              "they are blank or missing.")


def check_external_id(user: Mapping[str, Any]) -> None:
    value = user.get("externalId")
    if isinstance(value, str) and len(value) > MAX_EXTERNAL_ID:
        raise invalid("externalId", f"externalId is longer than {MAX_EXTERNAL_ID} characters.")


def split_custom(custom: Mapping[str, Any], defined: Mapping[str, str]) -> tuple[dict[str, Any], list[dict]]:
    """R-DIR-11: keep values of custom attributes the tenant defined (under their defined spelling, since
    names are case-insensitive); report the others as dropped `undefined_custom_attribute`.

    `defined` maps a folded name to its defined spelling.
    """
    kept: dict[str, Any] = {}
    dropped: list[dict] = []
    for name, value in custom.items():
        spelling = defined.get(name.lower())
        if spelling is None:
            dropped.append({"attribute": f"{CUSTOM_USER_SCHEMA}:{name}", "reason": "undefined_custom_attribute",
                            "detail": f"The tenant has no custom attribute '{name}': define it, or delete its "
                                      "mapping in Entra ID."})
        else:
            kept[spelling] = value
    return kept, dropped


def member_drops(requested: Iterable[str], users: set[str], groups: Mapping[str, str]
                 ) -> tuple[list[str], list[dict]]:
    """R-DIR-10: only users become members; a group id (`groups` maps it to its displayName) is dropped
    `nested_group`, anything else `unknown_member`. Returns the user ids in request order (once each) and
    the drops; the dropped id is the drop's `value`, out of the words an admin reads."""
    kept: list[str] = []
    dropped: list[dict] = []
    seen: set[str] = set()
    for member in requested:
        if member in seen:
            continue
        seen.add(member)
        if member in users:
            kept.append(member)
        elif member in groups:
            dropped.append({"attribute": "members", "reason": "nested_group", "value": member,
                            "detail": f"Group '{groups[member]}' was not added as a member: a group cannot be a "
                                      "member of another group here."})
        else:
            dropped.append({"attribute": "members", "reason": "unknown_member", "value": member,
                            "detail": "A member Entra ID sent was not added: it is not a user provisioned to "
                                      "this directory."})
    return kept, dropped


def clean(value: Any) -> Any:
    """Stored form: no nulls, no blank strings, no empty objects or lists, no elements without data."""
    if isinstance(value, Mapping):
        out = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None} or None
    if isinstance(value, list):
        items = [clean(v) for v in value]
        return [v for v in items if isinstance(v, dict) and set(v) - QUALIFIERS] or None
    return None if is_blank(value) else value


def merge_replace(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """R-DIR-7 on replace: an attribute sent blank ("" or, inside a complex value, null) keeps its stored
    value; an attribute left out (absent at any level, or null at the top level) is removed."""
    out: dict[str, Any] = {"active": new.get("active", True)}
    for key in SIMPLE:
        value = new.get(key)
        out[key] = old.get(key) if value is not None and is_blank(value) else value
    for key in COMPLEX:
        out[key] = None if new.get(key) is None else _merge_object(old.get(key) or {}, new[key])
    for key in MULTI:
        out[key] = _merge_list(old.get(key) or [], new.get(key) or [])
    old_custom = old.get("custom") or {}
    out["custom"] = {k: old_custom.get(k) if is_blank(v) else v for k, v in (new.get("custom") or {}).items()}
    return out


def _merge_object(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    # Inside a complex value a sub-attribute sent null or blank keeps its stored value, and one left out
    # is removed, like a top-level attribute (R-DIR-7).
    return {k: old.get(k) if is_blank(v) else v for k, v in new.items()}


def _merge_list(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # Elements are matched by type (Entra addresses them as emails[type eq "work"]); a blank sub-attribute
    # keeps the matched element's value.
    unused = list(old)
    merged = []
    for element in new:
        kind = _type_of(element)
        match = next((o for o in unused if _type_of(o) == kind), None)
        if match is not None:
            unused.remove(match)
        merged.append(_merge_object(match or {}, element))
    return merged


def _type_of(element: Mapping[str, Any]) -> str | None:
    kind = element.get("type")
    return kind.lower() if isinstance(kind, str) else None


def check_version(current: int, accepted: set[int] | None) -> None:
    if accepted is not None and current not in accepted:
        raise Problem(412, f"The resource is at version {current}, not the one in If-Match; read it again and "
                           "retry.", code="version_mismatch")
