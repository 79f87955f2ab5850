"""Endpoint names in any case and with a trailing slash route as their canonical forms, without a redirect
(SCIMReferenceCode's Postman collection sends both); ids stay caseExact (RFC 7643 §3.1)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from scim_api.urls import ENDPOINTS, SEARCH, canonical_path
from shared.scim import SCIM_BASE_PATH, USER_SCHEMA

from .conftest import Scim, error, load

SPELLINGS = ["lower", "upper", "mixed", "slash", "lower+slash"]


def spelled(path: str, how: str) -> str:
    """'/Users/{id}?x' spelled as a client might: the endpoint name's case, a trailing slash before the query."""
    path, mark, query = path.partition("?")
    name, sep, rest = path[1:].partition("/")
    name = {"lower": name.lower(), "upper": name.upper(), "mixed": name.swapcase()}.get(how.split("+")[0], name)
    out = f"/{name}{sep}{rest}" + ("/" if how.endswith("slash") else "")
    return out + mark + query


def user_named(name: str) -> dict[str, Any]:
    return {**load("tut-create-user.json"), "userName": name, "externalId": name,
            "emails": [{"primary": True, "type": "work", "value": name}]}


@pytest.mark.parametrize("how", SPELLINGS)
def test_user_create_read_query_patch_put_delete_in_any_spelling(scim: Scim, how: str) -> None:
    name = f"{uuid.uuid4().hex[:8]}@contoso.com"
    created = scim("POST", spelled("/Users", how), user_named(name))
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    # What the server hands out stays canonical, whatever the client spelled.
    assert created.headers["Location"].endswith(f"{SCIM_BASE_PATH}/acme/Users/{user_id}")

    listed = scim("GET", spelled(f'/Users?filter=userName eq "{name}"', how))
    assert listed.status_code == 200 and [u["id"] for u in listed.get_json()["Resources"]] == [user_id]
    read = scim("GET", spelled(f"/Users/{user_id}", how))
    assert read.status_code == 200 and read.get_json()["userName"] == name

    patched = scim("PATCH", spelled(f"/Users/{user_id}", how),
                   {"Operations": [{"op": "Replace", "path": "title", "value": "Engineer"}]})
    assert patched.status_code == 200 and patched.get_json()["title"] == "Engineer"
    replaced = scim("PUT", spelled(f"/Users/{user_id}", how), {**user_named(name), "displayName": "Ann"})
    assert replaced.status_code == 200 and replaced.get_json()["displayName"] == "Ann"

    assert scim("DELETE", spelled(f"/Users/{user_id}", how)).status_code == 204
    error(scim("GET", f"/Users/{user_id}"), 404)


@pytest.mark.parametrize("how", SPELLINGS)
def test_group_create_read_query_patch_put_delete_in_any_spelling(scim: Scim, how: str) -> None:
    member = scim.create_user(**user_named(f"{uuid.uuid4().hex[:8]}@contoso.com"))["id"]
    name = f"group {uuid.uuid4().hex[:8]}"
    created = scim("POST", spelled("/Groups", how), {**load("tut-create-group.json"), "displayName": name})
    assert created.status_code == 201, created.get_json()
    group_id = created.get_json()["id"]
    assert created.headers["Location"].endswith(f"{SCIM_BASE_PATH}/acme/Groups/{group_id}")

    listed = scim("GET", spelled(f'/Groups?excludedAttributes=members&filter=displayName eq "{name}"', how))
    assert listed.status_code == 200 and [g["id"] for g in listed.get_json()["Resources"]] == [group_id]
    assert scim("GET", spelled(f"/Groups/{group_id}", how)).get_json()["displayName"] == name

    add = {"Operations": [{"op": "Add", "path": "members", "value": [{"value": member}]}]}
    assert scim("PATCH", spelled(f"/Groups/{group_id}", how), add).status_code == 200
    assert [m["value"] for m in scim("GET", f"/Groups/{group_id}").get_json()["members"]] == [member]
    replaced = scim("PUT", spelled(f"/Groups/{group_id}", how),
                    {**load("tut-create-group.json"), "displayName": name + " renamed"})
    assert replaced.status_code == 200 and replaced.get_json()["displayName"] == name + " renamed"

    assert scim("DELETE", spelled(f"/Groups/{group_id}", how)).status_code == 204
    error(scim("GET", f"/Groups/{group_id}"), 404)


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("path, wanted", [
    ("/ServiceProviderConfig", "patch"),
    ("/ResourceTypes", "Resources"),
    ("/ResourceTypes/User", "endpoint"),
    ("/Schemas", "Resources"),
    (f"/Schemas/{USER_SCHEMA}", "attributes"),
])
def test_discovery_documents_in_any_spelling(scim: Scim, path: str, wanted: str, how: str) -> None:
    resp = scim("GET", spelled(path, how))
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/scim+json"
    assert wanted in resp.get_json()


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
def test_searches_in_any_spelling(scim: Scim, path: str, how: str) -> None:
    user = scim.create_user()
    resp = scim("POST", spelled(path, how), {"filter": f'id eq "{user["id"]}"'})
    assert resp.status_code == 200, resp.get_json()
    expected = 0 if path.startswith("/Groups") else 1
    assert resp.get_json()["totalResults"] == expected


def test_search_segment_in_any_case(scim: Scim) -> None:
    user = scim.create_user()
    resp = scim("POST", "/users/.SEARCH/", {"filter": f'id eq "{user["id"]}"'})
    assert resp.status_code == 200 and resp.get_json()["totalResults"] == 1


def test_flag_glued_before_a_lower_case_path_with_a_slash_still_routes(scim: Scim) -> None:
    """COMPAT's ?aadOptscim062020 on the Tenant URL, then a Postman-style '/users/'."""
    resp = scim.client.get(f'{scim.base}?aadOptscim062020/users/?filter=userName eq "{uuid.uuid4()}"',
                           headers={"Authorization": f"Bearer {scim.token}"})
    assert resp.status_code == 200 and resp.get_json()["totalResults"] == 0


@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_ids_are_not_case_folded(scim: Scim, resource: str, method: str) -> None:
    """RFC 7643 §3.1: id is caseExact. Only the endpoint name is folded, so another case of an id finds nothing."""
    made = scim.create_user() if resource == "Users" else scim.create_group(f"g {uuid.uuid4().hex[:8]}")
    other_case = made["id"].upper()
    assert other_case != made["id"]
    body = {"Operations": [{"op": "Replace", "path": "displayName", "value": "changed"}]} if method == "PATCH" \
        else load("tut-create-user.json" if resource == "Users" else "tut-create-group.json")
    for path in (f"/{resource}/{other_case}", f"/{resource.lower()}/{other_case}/"):
        error(scim(method, path, body if method in ("PATCH", "PUT") else None), 404)
    kept = scim("GET", f"/{resource}/{made['id']}")
    assert kept.status_code == 200 and kept.get_json()["meta"]["version"] == made["meta"]["version"]


def test_a_method_the_endpoint_lacks_is_405_in_any_spelling(scim: Scim) -> None:
    resp = scim("DELETE", "/users/")
    error(resp, 405)
    assert resp.headers["Allow"] == "GET, POST"


@pytest.mark.parametrize("path", ["/nowhere/", "/Userz", "/Users/a/b/"])
def test_paths_nobody_serves_stay_404(scim: Scim, path: str) -> None:
    error(scim("GET", path), 404)


B = f"{SCIM_BASE_PATH}/acme"


@pytest.mark.parametrize("sent, routed", [
    (f"{B}/users", f"{B}/Users"),
    (f"{B}/USERS/", f"{B}/Users"),
    (f"{B}/Users/2819C223-7f76/", f"{B}/Users/2819C223-7f76"),  # the id keeps its case
    (f"{B}/groups/.Search", f"{B}/Groups/.search"),
    (f"{B}/.SEARCH/", f"{B}/.search"),
    (f"{B}/serviceproviderconfig", f"{B}/ServiceProviderConfig"),
    (f"{B}/resourcetypes/user", f"{B}/ResourceTypes/user"),  # ids of discovery documents are not folded
    (f"{B}/schemas/URN:ietf:params:scim:schemas:core:2.0:User/",
     f"{B}/Schemas/URN:ietf:params:scim:schemas:core:2.0:User"),
    (f"{B}/nowhere/", f"{B}/nowhere"),
    (f"{B}/", f"{B}/"),  # the base URL itself is left alone
    (f"{B}//", f"{B}//"),
    (B, B),
    (f"{SCIM_BASE_PATH}/ACME/users", f"{SCIM_BASE_PATH}/ACME/Users"),  # the tenant is not folded (then 401)
    ("/healthz/", "/healthz/"),  # outside the SCIM base: untouched
])
def test_canonical_path(sent: str, routed: str) -> None:
    assert canonical_path(sent) == routed


def test_every_scim_route_starts_with_a_known_endpoint(app: Flask) -> None:
    """ENDPOINTS and the routes agree, so a new endpoint cannot miss the folding."""
    prefix = f"{SCIM_BASE_PATH}/<tenant>/"
    first = {rule.rule[len(prefix):].split("/")[0] for rule in app.url_map.iter_rules()
             if rule.rule.startswith(prefix) and rule.endpoint != "scim.not_found"}
    assert first == set(ENDPOINTS)
    searches = {rule.rule[len(prefix):] for rule in app.url_map.iter_rules() if rule.rule.endswith(SEARCH)}
    assert searches == {f"Users/{SEARCH}", f"Groups/{SEARCH}", SEARCH}
