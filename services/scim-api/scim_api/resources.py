"""SCIM User and Group JSON ⇄ the directory's shapes (shared.schemas.users and groups)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

from shared.schemas.groups import GroupWriteSchema
from shared.schemas.users import UserWriteSchema
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA

from .attributes import GROUP, USER, Attr, ResourceSpec
from .errors import ScimError

EXTENSION_KEYS = {ENTERPRISE_USER_SCHEMA: "enterprise", CUSTOM_USER_SCHEMA: "custom"}
# One instance each: building a schema deep-copies its fields, a fifth of a write's CPU when done per request.
_USER_WRITE, _GROUP_WRITE = UserWriteSchema(), GroupWriteSchema()


def etag(version: int) -> str:
    """Weak entity tag of a resource version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def location(base_url: str, spec: ResourceSpec, resource_id: str) -> str:
    return f"{base_url}/{spec.endpoint}/{resource_id}"


# --- SCIM → directory -------------------------------------------------------------------------


def user_write(doc: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """A normalised SCIM User → UserWrite; unknown attributes are reported in `dropped`, not refused."""
    out: dict[str, Any] = {}
    dropped: list[dict[str, Any]] = []
    for key, value in doc.items():
        if key in EXTENSION_KEYS:
            out[EXTENSION_KEYS[key]] = _extension(key, value, dropped)
            continue
        attr = USER.attr(key)
        if attr is None:
            dropped.append(unknown_attribute(key))
        elif not attr.read_only:  # read-only input is ignored (RFC 7644 §3.5.1)
            out[attr.name] = _attribute(attr, value, dropped)
    if replace:
        # R-DIR-7: a null is a blank, and a blank keeps the stored value; the contract expresses a blank
        # as "" (a null top-level value would read as "left out", which removes).
        out = {k: ("" if v is None and _is_text(k) else v) for k, v in out.items()}
    out = {k: v for k, v in out.items() if v is not None or _is_text(k)}
    out["dropped"] = dropped
    return _load(_USER_WRITE, out, "User")


def group_write(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A normalised SCIM Group → GroupWrite; `members` is the whole membership."""
    out: dict[str, Any] = {}
    dropped: list[dict[str, Any]] = []
    for key, value in doc.items():
        attr = GROUP.attr(key)
        if attr is None:
            dropped.append(unknown_attribute(key))
        elif not attr.read_only:
            out[attr.name] = _attribute(attr, value, dropped)
    if out.get("members") is None:
        out.pop("members", None)
    else:  # '$ref' is derived from 'value' (RFC 7643 §4.2): nothing to store
        out["members"] = [{k: v for k, v in m.items() if k != "$ref"} for m in out["members"]]
    out["dropped"] = dropped
    return _load(_GROUP_WRITE, out, "Group")


def _is_text(name: str) -> bool:
    attr = USER.attr(name)
    return attr is not None and attr.kind == "string" and not attr.multi


def unknown_attribute(name: str, detail: str | None = None) -> dict[str, Any]:
    return {"attribute": name, "reason": "unknown_attribute",
            "detail": detail or "This server has no such attribute; remove its mapping in Entra ID."}


def _attribute(attr: Attr, value: Any, dropped: list[dict[str, Any]]) -> Any:
    if attr.kind != "complex" or value is None:
        return value
    if not attr.multi:
        return _complex(attr, value, attr.name, dropped)
    if isinstance(value, Mapping):  # a lone object where a list is due: accept it as a list of one
        value = [value]
    if not isinstance(value, list):
        raise _invalid(f"'{attr.name}' must be a list of objects.")
    return [_complex(attr, item, attr.name, dropped) for item in value]


def _complex(attr: Attr, value: Any, label: str, dropped: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(f"'{label}' must be an object with sub-attributes.")
    kept = {}
    for key, sub in value.items():
        if attr.child(key) is None:
            drop_once(dropped, f"{label}.{key}")
        else:
            kept[key] = sub
    return kept


def drop_once(dropped: list[dict[str, Any]], name: str) -> None:
    if all(d["attribute"] != name for d in dropped):
        dropped.append(unknown_attribute(name))


def _extension(urn: str, value: Any, dropped: list[dict[str, Any]]) -> dict[str, Any] | None:
    if value is None:
        return None if urn == ENTERPRISE_USER_SCHEMA else {}
    if not isinstance(value, Mapping):
        raise _invalid(f"'{urn}' must be an object.")
    if urn == CUSTOM_USER_SCHEMA:
        return custom_values(value, dropped)
    catalogue = USER.extension(urn)[1] or {}
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if key.lower() not in catalogue:
            dropped.append(unknown_attribute(f"{urn}:{key}"))
        elif key == "manager":
            out[key] = manager_id(sub)
        else:
            out[key] = sub
    # An object with nothing left is the extension removed (the directory keeps what an object leaves out).
    return out or None


def manager_id(value: Any) -> Any:
    # Entra sends the manager as a bare id (HOW, SCIM-SDK issue 686); RFC 7643 §4.3 as {"value": id}.
    if isinstance(value, Mapping):
        return value.get("value")
    return value


def custom_values(value: Mapping[str, Any], dropped: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if isinstance(sub, str | type(None)):
            out[key] = sub
        elif isinstance(sub, bool | int | float):
            out[key] = json.dumps(sub)  # its JSON text: the value as sent, in a string attribute
        else:
            dropped.append(unknown_attribute(f"{CUSTOM_USER_SCHEMA}:{key}", "A custom attribute holds one text value."))
    return out


def _invalid(detail: str) -> ScimError:
    return ScimError(400, detail + " Check the attribute mapping in Entra ID.", "invalidValue")


def _load(schema: Any, data: dict[str, Any], kind: str) -> dict[str, Any]:
    """Validate against the contract, but send what was given: a left-out sub-attribute stays left out
    instead of becoming the null that load() fills in."""
    try:
        schema.load(data)
        return data
    except ValidationError as exc:
        problems = "; ".join(f"{_public(path)} {_phrase(msg)}" for path, msg in _flatten(exc.messages))
        raise ScimError(400, f"The {kind} was refused: {problems}. Fix the value or the attribute mapping "
                        "in Entra ID and retry.", "invalidValue") from None


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, Mapping):
        out = []
        for key, sub in messages.items():
            label = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(_flatten(sub, label))
        return out
    return [(prefix, " ".join(messages) if isinstance(messages, list) else str(messages))]


def _phrase(message: str) -> str:
    """marshmallow's 'Not a valid string.' → 'is not a valid string', to follow the attribute name."""
    message = message.strip().rstrip(".")
    if message == "Missing data for required field":
        return "is required"
    if message.startswith("Not "):
        return "is n" + message[1:]
    return "is invalid: " + message


def _public(label: str) -> str:
    for urn, key in EXTENSION_KEYS.items():
        if label == key or label.startswith(key + "."):
            return urn + (":" + label[len(key) + 1:] if label != key else "")
    return label


# --- directory → SCIM -------------------------------------------------------------------------


def user_to_scim(user: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The directory's user → a SCIM User; the manager ALWAYS complex, {"value": id, "$ref": uri}: Entra fails
    to read a user whose manager has another shape (docs/entra-behaviour.md, Manager), and RFC 7643 §8.7.1
    requires $ref."""
    doc: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": user["id"]}
    for attr in USER.attrs.values():
        if not attr.read_only and _present(user.get(attr.name)):
            doc[attr.name] = _clean(user[attr.name])
    doc["active"] = bool(user.get("active", True))
    groups = [{"value": g["value"], "display": g.get("display"), "type": "direct",
               "$ref": location(base_url, GROUP, g["value"])} for g in user.get("groups") or []]
    if groups:
        doc["groups"] = _clean(groups)
    enterprise = {k: v for k, v in (user.get("enterprise") or {}).items() if v is not None and k != "manager"}
    manager = (user.get("enterprise") or {}).get("manager")
    if manager:
        enterprise["manager"] = {"value": manager, "$ref": location(base_url, USER, manager)}
    if enterprise:
        doc["schemas"].append(ENTERPRISE_USER_SCHEMA)
        doc[ENTERPRISE_USER_SCHEMA] = enterprise
    custom = {k: v for k, v in (user.get("custom") or {}).items() if v is not None}
    if custom:
        doc["schemas"].append(CUSTOM_USER_SCHEMA)
        doc[CUSTOM_USER_SCHEMA] = custom
    doc["meta"] = _meta(user, USER, base_url)
    return doc


def group_to_scim(group: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The directory's group → a SCIM Group; `members` only when the directory sent them."""
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group["id"], "displayName": group["displayName"]}
    if group.get("externalId") is not None:
        doc["externalId"] = group["externalId"]
    if group.get("members") is not None:
        # No 'display': RFC 7643 §8.7.1 does not define it for members, and leaving it out keeps a member a
        # pure reference that a client can send back unchanged.
        doc["members"] = [{"value": m["value"], "type": m.get("type") or "User",
                           "$ref": location(base_url, USER, m["value"])} for m in group["members"]]
    doc["meta"] = _meta(group, GROUP, base_url)
    return doc


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def _clean(value: Any) -> Any:
    """No nulls in answers (TUT: "if a value isn't present, don't send null values")."""
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _meta(resource: Mapping[str, Any], spec: ResourceSpec, base_url: str) -> dict[str, Any]:
    return {"resourceType": spec.name, "created": resource["created"], "lastModified": resource["lastModified"],
            "location": location(base_url, spec, resource["id"]), "version": etag(resource["version"])}


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    """RFC 7644 §3.4.2: a query always answers a ListResponse, even with nothing in it."""
    return {"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": total, "startIndex": start_index,
            "itemsPerPage": len(resources), "Resources": resources}
