"""Every attribute /Schemas offers survives create, read, filter, PATCH and PUT; nothing is kept unoffered.

The attributes are read from the served discovery documents, not from the catalogue, so an attribute
offered but dropped (as `password` once was), or kept but not offered, fails here whatever the code
derives it from. Filters are tried where the catalogue marks an attribute filterable.
"""

from __future__ import annotations

import itertools
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from directory.attributes import GROUP_ATTRIBUTES, USER_ATTRIBUTES
from shared import resource_types
from shared.catalogue import Resource
from shared.scim import PATCH_OP_SCHEMA, USER_SCHEMA

from .conftest import Scim

CUSTOM = ("custAttr1", "cost-center")
_counter = itertools.count()
Attr = dict[str, Any]


def _schemas(scim: Scim) -> dict[str, dict[str, Any]]:
    resp = scim("GET", "/Schemas")
    assert resp.status_code == 200
    return {doc["id"]: doc for doc in resp.get_json()["Resources"]}


def _walk(doc: dict[str, Any]) -> Iterator[tuple[Attr, Attr | None]]:
    for attr in doc["attributes"]:
        yield attr, None
        for sub in attr.get("subAttributes", []):
            yield attr, sub


def _writable(attr: Attr) -> bool:
    return attr["mutability"] in ("readWrite", "writeOnly", "immutable")


def _derived(attr: Attr, sub: Attr | None) -> bool:
    """`$ref` is answered from `value` (RFC 7643 §2.3.7), never taken as sent."""
    return (sub or attr)["name"] == "$ref"


def _value(attr: Attr, tag: str) -> Any:
    n = next(_counter)
    if attr["type"] == "boolean":
        return True
    if attr["type"] == "reference":
        return f"https://example.com/{tag}/{n}"
    if attr.get("canonicalValues"):
        return attr["canonicalValues"][n % len(attr["canonicalValues"])]
    return f"{tag}-{attr['name']}-{n}"


def _element(attr: Attr, tag: str) -> dict[str, Any]:
    return {s["name"]: _value(s, tag) for s in attr["subAttributes"]
            if _writable(s) and not _derived(attr, s)}


def _user(schemas: dict[str, dict[str, Any]], tag: str, manager: str) -> dict[str, Any]:
    """A user holding a value for every writable attribute that /Schemas offers."""
    body: dict[str, Any] = {"schemas": list(schemas)}
    for urn, doc in schemas.items():
        if doc["id"] == "urn:ietf:params:scim:schemas:core:2.0:Group":
            continue
        target = body if urn == USER_SCHEMA else body.setdefault(urn, {})
        for attr in doc["attributes"]:
            if not _writable(attr):
                continue
            if attr["name"] == "manager":
                target["manager"] = {"value": manager}
            elif attr["type"] == "complex":
                target[attr["name"]] = [_element(attr, tag)] if attr["multiValued"] else _element(attr, tag)
            elif attr["name"] == "active":
                target["active"] = True  # a create with active false is refused (R-DIR-3)
            else:
                target[attr["name"]] = _value(attr, tag)
    body["userName"] = f"{tag}-{next(_counter)}@example.com"
    return body


def _at(doc: dict[str, Any], urn: str, attr: str, sub: str | None) -> Any:
    holder = doc if urn == USER_SCHEMA else doc.get(urn, {})
    value = holder.get(attr)
    if sub is None or value is None:
        return value
    return value[0].get(sub) if isinstance(value, list) else value.get(sub)


def _expected(sent: dict[str, Any], urn: str, attr: Attr, sub: Attr | None) -> Any:
    return _at(sent, urn, attr["name"], sub["name"] if sub else None)


def _check_every_value(got: dict[str, Any], sent: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
    missing = []
    for urn, doc in schemas.items():
        for attr, sub in _walk(doc):
            if not _writable(sub or attr) or not _writable(attr) or _derived(attr, sub) or (attr["type"] == "complex" \
                    and sub is None):
                continue
            expected = _expected(sent, urn, attr, sub)
            if expected is not None and _at(got, urn, attr["name"], sub["name"] if sub else None) != expected:
                missing.append(f"{urn}:{attr['name']}" + (f".{sub['name']}" if sub else ""))
    assert missing == [], f"offered by /Schemas but not kept: {missing}"


@pytest.fixture
def tenant(scim: Scim, define_custom_attribute: Any) -> tuple[Scim, dict[str, dict[str, Any]], str]:
    for name in CUSTOM:
        define_custom_attribute("acme", name)
    manager = scim.create_user(userName="boss@example.com")["id"]
    return scim, _schemas(scim), manager


def test_every_offered_user_attribute_is_kept_on_create_and_read_back(tenant: Any) -> None:
    scim, schemas, manager = tenant
    sent = _user(schemas, "create", manager)
    created = scim("POST", "/Users", sent)
    assert created.status_code == 201, created.get_json()
    _check_every_value(created.get_json(), sent, schemas)
    read = scim("GET", f"/Users/{created.get_json()['id']}")
    _check_every_value(read.get_json(), sent, schemas)
    manager_ref = read.get_json()["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert manager_ref["$ref"].endswith(f"/Users/{manager}")  # derived from value


def test_every_offered_user_attribute_is_replaced_by_put(tenant: Any) -> None:
    scim, schemas, manager = tenant
    user = scim("POST", "/Users", _user(schemas, "before", manager)).get_json()
    sent = {**_user(schemas, "after", manager), "userName": user["userName"]}
    replaced = scim("PUT", f"/Users/{user['id']}", sent)
    assert replaced.status_code == 200, replaced.get_json()
    _check_every_value(scim("GET", f"/Users/{user['id']}").get_json(), sent, schemas)


def _patch_path(urn: str, attr: Attr, sub: Attr | None, element: dict[str, Any]) -> str:
    prefix = "" if urn == USER_SCHEMA else f"{urn}:"
    if sub is None:
        return prefix + attr["name"]
    if attr["multiValued"]:  # Entra's form: the element picked by its type
        kind = element.get("type")
        return f'{prefix}{attr["name"]}[type eq "{kind}"].{sub["name"]}'
    return f"{prefix}{attr['name']}.{sub['name']}"


def _patchable(schemas: dict[str, dict[str, Any]]) -> Iterator[tuple[str, Attr, Attr | None]]:
    for urn, doc in schemas.items():
        if doc["id"] == "urn:ietf:params:scim:schemas:core:2.0:Group":
            continue
        for attr, sub in _walk(doc):
            leaf = sub or attr
            if (not _writable(attr) or not _writable(leaf) or _derived(attr, sub) or leaf["type"] == "boolean"
                    or (sub is None and attr["type"] == "complex") or attr["name"] == "manager"
                    or (sub is not None and sub["name"] == "type")):
                continue
            yield urn, attr, sub


def test_every_offered_user_attribute_is_replaced_by_patch(tenant: Any) -> None:
    scim, schemas, manager = tenant
    sent = _user(schemas, "patch", manager)
    user = scim("POST", "/Users", sent).get_json()
    changed = []
    for urn, attr, sub in _patchable(schemas):
        element = _at(sent, urn, attr["name"], None)
        element = element[0] if isinstance(element, list) else element or {}
        new = _value(sub or attr, "patched")
        body = {"schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "replace", "path": _patch_path(urn, attr, sub, element), "value": new}]}
        resp = scim("PATCH", f"/Users/{user['id']}", body)
        assert resp.status_code == 200, (attr["name"], resp.get_json())
        got = _at(scim("GET", f"/Users/{user['id']}").get_json(), urn, attr["name"], sub["name"] if sub else None)
        if got != new:
            changed.append(f"{attr['name']}" + (f".{sub['name']}" if sub else ""))
    assert changed == [], f"PATCH replace did not keep: {changed}"
    other = scim.create_user(userName="boss2@example.com")["id"]
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": f"{ent}:manager", "value": other}]}
    assert scim("PATCH", f"/Users/{user['id']}", body).status_code == 200
    assert scim("GET", f"/Users/{user['id']}").get_json()[ent]["manager"]["value"] == other


def _filterable(resource: Resource, urn: str, attr: str, sub: str | None) -> bool:
    schema = resource.core if urn == resource.core.urn else resource.extension(urn)
    entry = schema.attribute(attr) if schema and not schema.open else None
    if schema is not None and schema.open:
        return True
    leaf = entry.sub(sub) if entry and sub else entry
    return bool(entry and entry.filterable and leaf and leaf.filterable)


def _literal(value: Any) -> str:
    return "true" if value is True else '"' + str(value).replace('"', '\\"') + '"'


def test_every_filterable_offered_attribute_finds_the_user(tenant: Any) -> None:
    scim, schemas, manager = tenant
    sent = _user(schemas, "filter", manager)
    user = scim("POST", "/Users", sent).get_json()
    missed, tried = [], 0
    for urn, doc in schemas.items():
        if doc["id"] == "urn:ietf:params:scim:schemas:core:2.0:Group":
            continue
        for attr, sub in _walk(doc):
            if (sub is None and attr["type"] == "complex" and attr["name"] != "manager") or _derived(attr, sub):
                continue
            if not _filterable(resource_types.USER, urn, attr["name"], sub["name"] if sub else None):
                continue
            value = _at(sent, urn, attr["name"], sub["name"] if sub else None)
            if attr["name"] == "manager":
                value = manager
            if value is None:
                continue
            path = ("" if urn == USER_SCHEMA else f"{urn}:") + attr["name"] + (f".{sub['name']}" if sub else "")
            query = urllib.parse.quote(f"{path} eq {_literal(value)}")
            resp = scim("GET", f"/Users?filter={query}&count=200")
            tried += 1
            if resp.status_code != 200 or user["id"] not in {r["id"] for r in resp.get_json()["Resources"]}:
                missed.append((path, resp.status_code))
    assert tried > 40 and missed == [], missed


def test_the_directory_keeps_and_filters_nothing_that_is_not_offered(tenant: Any) -> None:
    """Stored but not offered: every attribute the directory can filter on, and every key of the user it
    keeps, is an attribute of /Schemas (or a common attribute: id, externalId, meta, RFC 7643 §3.1)."""
    scim, schemas, _manager = tenant
    offered = {"id", "externalid", "meta.created", "meta.lastmodified"}
    for urn, doc in schemas.items():
        qualifier = "" if doc["id"] in (USER_SCHEMA, "urn:ietf:params:scim:schemas:core:2.0:Group") \
            else f"{urn.lower()}:"
        for attr, sub in _walk(doc):
            offered.add(qualifier + attr["name"].lower() + (f".{sub['name'].lower()}" if sub else ""))
    unoffered = sorted(set(USER_ATTRIBUTES) - offered) + sorted(set(GROUP_ATTRIBUTES) - offered)
    assert unoffered == []
    stored_keys = {"userName", "externalId", "active", "id", "source", "groups", "created", "lastModified",
                   "version", "managedAppleId", "enterprise", "custom"}
    user = scim.create_user(userName="keys@example.com")
    app = scim.client.application
    with app.app_context():
        directory_user = app.extensions["directory"].get_user("acme", user["id"])
    core = {a["name"] for a in schemas[USER_SCHEMA]["attributes"]}
    assert set(directory_user) - stored_keys - core == set()


def test_every_offered_group_attribute_round_trips_and_shows_on_the_member(tenant: Any) -> None:
    """Group: displayName and members (value; $ref and type answered); the member's read-only `groups`."""
    scim, schemas, manager = tenant
    group_schema = schemas["urn:ietf:params:scim:schemas:core:2.0:Group"]
    assert [a["name"] for a in group_schema["attributes"]] == ["displayName", "members"]
    created = scim("POST", "/Groups", {"displayName": "Round trip", "members": [{"value": manager}]})
    assert created.status_code == 201, created.get_json()
    gid = created.get_json()["id"]
    member = scim("GET", f"/Groups/{gid}").get_json()["members"]
    assert member == [{"value": manager, "type": "User", "$ref": member[0]["$ref"]}]
    assert member[0]["$ref"].endswith(f"/Users/{manager}")
    for flt in ('displayName eq "Round trip"', f'members.value eq "{manager}"'):
        found = scim("GET", f"/Groups?filter={urllib.parse.quote(flt)}").get_json()
        assert [r["id"] for r in found["Resources"]] == [gid], flt
    groups = scim("GET", f"/Users/{manager}").get_json()["groups"]
    assert [(g["value"], g["display"], g["type"]) for g in groups] == [(gid, "Round trip", "direct")]
    by_group = urllib.parse.quote(f'groups.value eq "{gid}"')
    users = scim("GET", f"/Users?filter={by_group}").get_json()
    assert [r["id"] for r in users["Resources"]] == [manager]
    rename = {"op": "replace", "path": "displayName", "value": "Renamed"}
    patch = {"schemas": [PATCH_OP_SCHEMA], "Operations": [rename]}
    assert scim("PATCH", f"/Groups/{gid}", patch).status_code == 200
    assert scim("GET", f"/Groups/{gid}").get_json()["displayName"] == "Renamed"
    put = scim("PUT", f"/Groups/{gid}", {"displayName": "Replaced", "members": []})
    assert put.status_code == 200, put.get_json()
    assert scim("GET", f"/Groups/{gid}").get_json()["displayName"] == "Replaced"
    assert scim("GET", f"/Groups/{gid}").get_json()["members"] == []
