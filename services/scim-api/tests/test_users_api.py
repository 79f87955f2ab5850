"""/Users over HTTP as Entra uses it, against the directory in-process (R-SCIM-1, R-DIR-1..4, 7)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import ENT, Scim, error, find, load

# --- Test Connection and queries ----------------------------------------------------------------


def test_test_connection_user_probe_is_an_empty_list_response(dialect_scim: Scim) -> None:
    """TUT, QUAR: a random userName answers 200 with totalResults 0, never 404."""
    resp = dialect_scim("GET", f'/Users?filter=userName eq "{uuid.uuid4()}"')
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/scim+json"
    assert resp.get_json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                               "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_flag_glued_before_the_resource_path_still_routes(scim: Scim) -> None:
    """COMPAT: a Tenant URL ending in ?aadOptscim062020, joined naively with /Users, must still work."""
    resp = scim.client.get(f'{scim.base}?aadOptscim062020/Users?filter=userName eq "{uuid.uuid4()}"',
                           headers={"Authorization": f"Bearer {scim.token}"})
    assert resp.status_code == 200 and resp.get_json()["totalResults"] == 0


def test_user_is_found_by_user_name_in_any_case_and_by_external_id(scim: Scim) -> None:
    """docs/entra-behaviour.md, Users: userName is caseExact false; Entra matches on userName or externalId."""
    user = scim.create_user()
    for flt in [f'userName eq "{user["userName"].upper()}"', f'externalId eq "{user["externalId"]}"',
                f'id eq "{user["id"]}"']:
        found = find(scim, flt)
        assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]


@pytest.mark.parametrize("flt, hits", [
    ('emails[type eq "work"].value eq "ann@contoso.com"', 1),  # Entra matching on email (TUT)
    ('emails[type eq "home"].value eq "ann@contoso.com"', 0),
    ('userName sw "ANN" and active eq true', 1),
    ('(userName eq "nobody") or not (title pr)', 1),
    ('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour"', 1),
])
def test_full_filter_grammar_reaches_the_directory(scim: Scim, flt: str, hits: int) -> None:
    """docs/entra-behaviour.md, Filters and lists: conformance suites use the whole RFC 7644 grammar."""
    scim.create_user(userName="ann@contoso.com", emails=[{"type": "work", "value": "ann@contoso.com"}],
                     **{ENT: {"department": "Tour"}})
    assert find(scim, flt)["totalResults"] == hits


def test_plus_encoded_filter_values_are_read(scim: Scim) -> None:
    """docs/entra-behaviour.md, Filters and lists: values may arrive +-encoded."""
    user = scim.create_user()
    resp = scim.client.get(f'{scim.base}/Users?filter=userName+eq+%22{user["userName"]}%22',
                           headers={"Authorization": f"Bearer {scim.token}"})
    assert resp.get_json()["totalResults"] == 1


def test_bad_filter_is_invalid_filter(scim: Scim) -> None:
    error(scim("GET", '/Users?filter=userName zz "x"'), 400, "invalidFilter")


def test_paging_and_count_cap(scim: Scim) -> None:
    """RFC 7644 §3.4.2.4: 1-based startIndex, count honoured, capped at 200; totalResults counts all."""
    for i in range(3):
        scim.create_user(userName=f"user{i}@contoso.com", externalId=f"e{i}")
    page = scim("GET", "/Users?startIndex=2&count=1&sortBy=userName").get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert page["Resources"][0]["userName"] == "user1@contoso.com"
    assert scim("GET", "/Users?count=5000").get_json()["itemsPerPage"] == 3
    assert scim("GET", "/Users?count=0").get_json()["Resources"] == []
    error(scim("GET", "/Users?count=many"), 400, "invalidValue")


def test_attributes_and_excluded_attributes_on_a_query(scim: Scim) -> None:
    user = scim.create_user()
    only = scim("GET", f'/Users?filter=id eq "{user["id"]}"&attributes=userName').get_json()["Resources"][0]
    assert set(only) == {"schemas", "id", "meta", "userName"}
    less = scim("GET", f'/Users?filter=id eq "{user["id"]}"&excludedAttributes=emails,name').get_json()
    assert "emails" not in less["Resources"][0] and "userName" in less["Resources"][0]


def test_search_with_post(scim: Scim) -> None:
    """RFC 7644 §3.4.3: POST /Users/.search with a SearchRequest body."""
    user = scim.create_user()
    resp = scim("POST", "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                           "filter": f'userName eq "{user["userName"]}"', "attributes": ["id"],
                                           "startIndex": 1, "count": 10})
    assert resp.status_code == 200
    assert resp.get_json()["Resources"] == [{"schemas": user["schemas"], "id": user["id"], "meta": user["meta"]}]


# --- create, read ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tut-create-user.json", "ref-user-enterprise.json",
                                  "entra-scim-create-user-string-booleans.json"])
def test_create_user_bodies_from_the_sources(scim: Scim, name: str) -> None:
    resp = scim("POST", "/Users", load(name))
    user = resp.get_json()
    assert resp.status_code == 201, user
    assert resp.headers["Location"] == user["meta"]["location"] == f"http://127.0.0.1:8000/scim/v2/acme/Users/{user['id']}"
    assert resp.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User" and user["active"] is True
    got = scim("GET", f"/Users/{user['id']}")
    assert got.status_code == 200 and got.get_json() == user


def test_string_booleans_and_any_case_names_on_create(scim: Scim) -> None:
    user = scim.create_user(load("entra-scim-create-user-string-booleans.json"))
    assert user["userName"] == "Babs.Jensen@contoso.com" and user["active"] is True
    assert user["emails"] == [{"primary": True, "type": "work", "value": "babs@contoso.com"}]
    assert user[ENT] == {"department": "Tour"}  # manager {"value": ""} is a blank: nothing stored
    assert user["phoneNumbers"] == [{"type": "mobile", "value": "55555555555"}]  # not reformatted


def test_unknown_attributes_do_not_fail_the_create(scim: Scim) -> None:
    user = scim.create_user(load("tut-create-user.json"), password="x",
                            **{"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": "1"}})
    assert "password" not in user


@pytest.mark.parametrize("change, attribute", [
    ({"emails": []}, "email"),  # R-DIR-1
    ({"name": {"givenName": "Only"}}, "name"),  # R-DIR-2
    ({"active": "False"}, "active"),  # R-DIR-3, in the string dialect
])
def test_directory_rules_refuse_the_create_with_a_400(scim: Scim, change: dict, attribute: str) -> None:
    body = error(scim("POST", "/Users", {**load("tut-create-user.json"), **change}), 400, "invalidValue")
    assert attribute in body["detail"]


def test_duplicate_user_name_in_another_case_is_409(scim: Scim) -> None:
    user = scim.create_user()
    body = error(scim("POST", "/Users", {**load("tut-create-user.json"), "userName": user["userName"].lower()}),
                 409, "uniqueness")
    assert "userName" in body["detail"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", ""])
def test_junk_json_is_invalid_syntax(scim: Scim, raw: str) -> None:
    error(scim("POST", "/Users", raw=raw), 400, "invalidSyntax")


def test_missing_user_name_is_invalid_value(scim: Scim) -> None:
    body = {k: v for k, v in load("tut-create-user.json").items() if k != "userName"}
    assert "userName is required" in error(scim("POST", "/Users", body), 400, "invalidValue")["detail"]


def test_unknown_id_is_a_scim_404(scim: Scim) -> None:
    error(scim("GET", "/Users/does-not-exist"), 404)
    error(scim("PATCH", "/Users/does-not-exist", load("tut-disable-user.json")), 404)
    error(scim("DELETE", "/Users/does-not-exist"), 404)


def test_get_with_attributes_projection(scim: Scim) -> None:
    user = scim.create_user()
    doc = scim("GET", f"/Users/{user['id']}?attributes=name.givenName,emails.value").get_json()
    assert doc == {"schemas": user["schemas"], "id": user["id"], "meta": user["meta"],
                   "name": {"givenName": "givenName"}, "emails": [{"value": user["emails"][0]["value"]}]}


# --- PUT, DELETE ---------------------------------------------------------------------------------


def test_put_replaces_the_user_and_leaving_out_removes(scim: Scim) -> None:
    user = scim.create_user(title="Engineer")
    body = {**load("tut-create-user.json"), "displayName": "Ann"}
    resp = scim("PUT", f"/Users/{user['id']}", body)
    assert resp.status_code == 200 and resp.get_json()["displayName"] == "Ann"
    assert "title" not in resp.get_json()  # R-DIR-7: a PUT that leaves it out removes it


def test_put_blank_keeps_the_stored_value(scim: Scim) -> None:
    user = scim.create_user(title="Engineer")
    resp = scim("PUT", f"/Users/{user['id']}", {**load("tut-create-user.json"), "title": ""})
    assert resp.get_json()["title"] == "Engineer"


def test_delete_hides_the_user_from_scim(scim: Scim) -> None:
    """R-DIR-4, TUT: DELETE answers 204; afterwards GET is 404 and the filter finds nothing."""
    user = scim.create_user()
    resp = scim("DELETE", f"/Users/{user['id']}")
    assert resp.status_code == 204 and resp.data == b""
    error(scim("GET", f"/Users/{user['id']}"), 404)
    assert find(scim, f'userName eq "{user["userName"]}"')["totalResults"] == 0


def test_unknown_paths_and_methods_are_scim_errors_after_authentication(scim: Scim) -> None:
    error(scim("GET", "/Nothing"), 404)
    assert error(scim("DELETE", "/Users"), 405)["detail"].startswith("DELETE")
    assert scim.client.get("/scim/v2/acme/Nothing").status_code == 401  # authentication first


def test_the_directory_audit_names_the_token_entra_used(client: Any, make_token: Any, directory_app: Any,
                                                        env: dict[str, str]) -> None:
    """R-DIR-13: a SCIM write reaches the audit log as scim:<token id>, so an admin knows which token wrote."""
    issued = make_token("acme")
    created = Scim(client, "acme", issued["token"]).create_user()
    page = directory_app.test_client().get("/internal/v1/tenants/acme/audit",
                                           headers={"X-Internal-Key": env["INTERNAL_API_KEY"]}).get_json()
    assert [(e["kind"], e["actor"]) for e in page["items"] if e["subjectId"] == created["id"]] == [
        ("user.created", f"scim:{issued['id']}")]
