"""The users routes of the internal API and the R-DIR rules they enforce."""

from __future__ import annotations

from typing import Any

import pytest

from directory import tenants
from directory.models import User, db
from shared.errors import Problem
from shared.scim import CUSTOM_USER_SCHEMA
from shared.testing import engine

from .conftest import TENANT, Api, user_body

ROUTES = [
    ("POST", "/users"), ("GET", "/users/x"), ("PUT", "/users/x"), ("DELETE", "/users/x"),
    ("POST", "/users/search"), ("POST", "/groups"), ("GET", "/groups/x"), ("PUT", "/groups/x"),
    ("PATCH", "/groups/x"), ("DELETE", "/groups/x"), ("POST", "/groups/search"), ("GET", "/custom-attributes"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_internal_route_refuses_a_call_without_the_service_credential(api: Api, method: str,
                                                                              path: str) -> None:
    for headers in ({}, {"X-Internal-Key": "wrong"}):
        resp = api.client.open(f"/internal/v1/tenants/{TENANT}{path}", method=method, json={}, headers=headers)
        assert resp.status_code == 401
        assert resp.get_json()["code"] == "unauthorized"


def test_a_malformed_tenant_id_is_not_found(api: Api) -> None:
    resp = api.for_tenant("Not_A_Tenant")("GET", "/users/x")
    assert resp.status_code == 404


def test_create_answers_201_with_the_stored_user(api: Api) -> None:
    resp = api("POST", "/users", user_body(phoneNumbers=[{"value": "+1 (555) 010-0000", "type": "work"}]))
    assert resp.status_code == 201
    user = resp.get_json()
    assert len(user["id"]) == 32 and user["version"] == 1 and user["source"] == "scim"
    assert user["userName"] == "ann@example.com" and user["active"] is True and user["groups"] == []
    assert user["phoneNumbers"] == [{"value": "+1 (555) 010-0000", "type": "work"}]  # stored as sent
    assert user["created"].endswith("Z") and user["lastModified"] == user["created"]
    assert user["dropped"] == []
    assert api("GET", f"/users/{user['id']}").get_json() == {k: v for k, v in user.items() if k != "dropped"}


def test_get_of_an_unknown_user_is_404_not_found(api: Api) -> None:
    resp = api("GET", "/users/0123456789abcdef0123456789abcdef")
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"


@pytest.mark.parametrize("emails", [[], [{"value": "", "type": "work"}], [{"value": None, "type": "work"}],
                                    [{"value": "   "}]])
def test_create_without_an_email_is_refused_R_DIR_1(api: Api, emails: list[dict[str, Any]]) -> None:
    resp = api("POST", "/users", user_body(emails=emails))
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "invalid_value" and resp.get_json()["attribute"] == "emails"
    assert "email" in resp.get_json()["detail"]


def test_replace_that_leaves_out_the_emails_is_refused_R_DIR_1(api: Api, make_user: Any) -> None:
    user = make_user()
    resp = api("PUT", f"/users/{user['id']}", user_body(emails=[]))
    assert resp.status_code == 400 and resp.get_json()["attribute"] == "emails"


@pytest.mark.parametrize("name", [None, {}, {"givenName": "Ann"}, {"familyName": "Example"},
                                  {"formatted": " ", "givenName": "Ann", "familyName": ""}])
def test_create_without_a_usable_name_is_refused_R_DIR_2(api: Api, name: dict[str, str] | None) -> None:
    resp = api("POST", "/users", user_body(name=name))
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "invalid_value" and resp.get_json()["attribute"] == "name"


@pytest.mark.parametrize("name", [{"formatted": "Ann Example"}, {"givenName": "Ann", "familyName": "Example"}])
def test_create_with_formatted_or_given_and_family_name_is_accepted_R_DIR_2(api: Api, name: dict) -> None:
    assert api("POST", "/users", user_body(name=name)).status_code == 201


def test_replace_is_checked_on_the_merged_name_R_DIR_2(api: Api, make_user: Any) -> None:
    user = make_user()
    # Blank sub-attributes keep the stored ones (R-DIR-7), so the merged name is still complete.
    blank = api("PUT", f"/users/{user['id']}", user_body(name={"formatted": "", "givenName": None}))
    assert blank.status_code == 200 and blank.get_json()["name"]["formatted"] == "Ann Example"
    removed = api("PUT", f"/users/{user['id']}", user_body(name=None))
    assert removed.status_code == 400 and removed.get_json()["attribute"] == "name"


def test_create_with_active_false_is_refused_R_DIR_3(api: Api) -> None:
    resp = api("POST", "/users", user_body(active=False))
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "invalid_value" and resp.get_json()["attribute"] == "active"


def test_replace_with_active_false_disables_the_user_who_stays_visible_R_DIR_4(api: Api, make_user: Any) -> None:
    user = make_user()
    resp = api("PUT", f"/users/{user['id']}", user_body(active=False))
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert api("GET", f"/users/{user['id']}").get_json()["active"] is False
    found = api("POST", "/users/search", {"filter": {"op": "eq", "attr": "userName", "value": user["userName"]}})
    assert found.get_json()["totalResults"] == 1


def test_delete_from_entra_disables_user_and_hides_it_from_scim_R_DIR_4(api: Api, make_user: Any) -> None:
    user = make_user()
    assert api("DELETE", f"/users/{user['id']}").status_code == 204
    assert api("GET", f"/users/{user['id']}").status_code == 404
    assert api("PUT", f"/users/{user['id']}", user_body()).status_code == 404
    assert api("DELETE", f"/users/{user['id']}").status_code == 404
    found = api("POST", "/users/search", {"filter": {"op": "eq", "attr": "userName", "value": "ann@example.com"}})
    assert found.get_json() == {"totalResults": 0, "startIndex": 1, "items": []}
    row = User.get_by_id(user["id"])  # kept for admins, disabled
    assert row.deleted_at is not None and row.active is False and row.version == 2


def test_create_with_the_user_name_of_a_deleted_user_revives_it_R_DIR_4(api: Api, make_user: Any) -> None:
    user = make_user(title="Engineer")
    api("DELETE", f"/users/{user['id']}")
    resp = api("POST", "/users", user_body("ANN@Example.com", displayName="Ann Again"))
    assert resp.status_code == 201
    revived = resp.get_json()
    assert revived["id"] == user["id"] and revived["active"] is True
    assert revived["userName"] == "ANN@Example.com" and revived["displayName"] == "Ann Again"
    assert "title" not in revived  # new data, not a merge with the old
    assert revived["version"] == 3 and revived["created"] == user["created"]
    assert User.select().count() == 1


@pytest.mark.parametrize("other", ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.Com"])
def test_a_duplicate_user_name_in_any_case_is_409_uniqueness(api: Api, make_user: Any, other: str) -> None:
    make_user("ann@example.com")
    resp = api("POST", "/users", user_body(other))
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "uniqueness" and resp.get_json()["attribute"] == "userName"


def test_replace_to_the_user_name_of_another_user_is_409(api: Api, make_user: Any) -> None:
    make_user("ann@example.com")
    bob = make_user("bob@example.com")
    resp = api("PUT", f"/users/{bob['id']}", user_body("ANN@example.com"))
    assert resp.status_code == 409 and resp.get_json()["code"] == "uniqueness"


def test_replace_with_blank_values_keeps_the_stored_values_R_DIR_7(api: Api, make_user: Any) -> None:
    tenants.define_custom_attribute(TENANT, "custAttr1")
    user = make_user(title="Engineer", enterprise={"department": "R&D", "manager": "m1"},
                     custom={"custAttr1": "blue"},
                     phoneNumbers=[{"value": "+1 555", "type": "work"}, {"value": "+1 666", "type": "mobile"}])
    body = user_body(title="", displayName="  ", enterprise={"department": None, "manager": ""},
                     custom={"custAttr1": ""}, name={"formatted": "", "givenName": None, "familyName": "Exemple"},
                     emails=[{"value": "", "type": "work", "primary": None}],
                     phoneNumbers=[{"value": "", "type": "mobile"}, {"value": None, "type": "work"}])
    resp = api("PUT", f"/users/{user['id']}", body)
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert got["title"] == "Engineer" and got["displayName"] == "Ann Example"
    assert got["enterprise"] == {"department": "R&D", "manager": "m1"}  # Entra's replace "" for a manager
    assert got["custom"] == {"custAttr1": "blue"}
    assert got["name"] == {"formatted": "Ann Example", "givenName": "Ann", "familyName": "Exemple"}
    assert got["emails"] == [{"value": "ann@example.com", "type": "work", "primary": True}]
    assert got["phoneNumbers"] == [{"value": "+1 666", "type": "mobile"}, {"value": "+1 555", "type": "work"}]


def test_replace_removes_the_attributes_it_leaves_out_R_DIR_7(api: Api, make_user: Any) -> None:
    tenants.define_custom_attribute(TENANT, "custAttr1")
    tenants.define_custom_attribute(TENANT, "custAttr2")
    user = make_user(title="Engineer", enterprise={"department": "R&D"}, custom={"custAttr1": "a", "custAttr2": "b"},
                     phoneNumbers=[{"value": "+1 555", "type": "work"}])
    body = user_body(custom={"custAttr2": "c"})
    body.pop("externalId")
    got = api("PUT", f"/users/{user['id']}", body).get_json()
    for gone in ("title", "enterprise", "phoneNumbers", "externalId"):
        assert gone not in got
    assert got["custom"] == {"custAttr2": "c"}


@pytest.mark.parametrize("if_match", ["1", '"1"', 'W/"1"', "*", '"7", W/"1"'])
def test_replace_with_a_matching_if_match_bumps_the_version(api: Api, make_user: Any, if_match: str) -> None:
    user = make_user()
    resp = api("PUT", f"/users/{user['id']}", user_body(title="Boss"), headers={"If-Match": if_match})
    assert resp.status_code == 200
    assert resp.get_json()["version"] == 2 and resp.get_json()["title"] == "Boss"


@pytest.mark.parametrize("if_match", ["2", 'W/"0"', "junk"])
def test_replace_with_a_stale_if_match_is_412_version_mismatch(api: Api, make_user: Any, if_match: str) -> None:
    user = make_user()
    resp = api("PUT", f"/users/{user['id']}", user_body(title="Boss"), headers={"If-Match": if_match})
    assert resp.status_code == 412 and resp.get_json()["code"] == "version_mismatch"
    assert api("GET", f"/users/{user['id']}").get_json()["version"] == 1


def test_a_replace_that_changes_nothing_keeps_the_version(api: Api, make_user: Any) -> None:
    user = make_user()
    resp = api("PUT", f"/users/{user['id']}", user_body())
    assert resp.get_json()["version"] == 1 and resp.get_json()["lastModified"] == user["lastModified"]


def test_values_for_undefined_custom_attributes_are_not_stored_R_DIR_11(api: Api) -> None:
    tenants.define_custom_attribute(TENANT, "custAttr1")
    unknown = {"attribute": "urn:x:nickNameX", "reason": "unknown_attribute", "detail": None}
    resp = api("POST", "/users", user_body(custom={"CUSTATTR1": "kept", "custAttr9": "dropped"}, dropped=[unknown]))
    assert resp.status_code == 201
    user = resp.get_json()
    assert user["custom"] == {"custAttr1": "kept"}  # under the defined spelling: names ignore case
    assert user["dropped"][0] == unknown  # what scim-api could not map comes back with the directory's own
    assert user["dropped"][1]["reason"] == "undefined_custom_attribute"
    assert user["dropped"][1]["attribute"] == f"{CUSTOM_USER_SCHEMA}:custAttr9"


def test_custom_attributes_lists_the_defined_names(api: Api) -> None:
    assert api("GET", "/custom-attributes").get_json() == {"items": []}
    tenants.define_custom_attribute(TENANT, "custAttr2")
    tenants.define_custom_attribute(TENANT, "custAttr1")
    tenants.define_custom_attribute("other", "elsewhere")
    assert api("GET", "/custom-attributes").get_json() == {"items": ["custAttr1", "custAttr2"]}


def test_a_custom_attribute_defined_twice_in_any_case_is_409_R_DIR_11(app: Any) -> None:
    tenants.define_custom_attribute(TENANT, "custAttr1")
    with pytest.raises(Problem) as caught:
        tenants.define_custom_attribute(TENANT, "CUSTATTR1")
    assert caught.value.status == 409 and caught.value.code == "uniqueness"


@pytest.mark.parametrize(("body", "field"), [
    ({"emails": []}, "userName"),
    ({**user_body(), "nickname": "x"}, "nickname"),
    ({**user_body(), "emails": "ann@example.com"}, "emails"),
    ({**user_body(), "active": "maybe"}, "active"),
])
def test_a_body_the_contract_refuses_is_400_invalid_value_naming_the_field(api: Api, body: dict, field: str) -> None:
    resp = api("POST", "/users", body)
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "invalid_value" and field in resp.get_json()["errors"]
    assert field in resp.get_json()["detail"]


def test_a_body_that_is_not_a_json_object_is_400(api: Api) -> None:
    resp = api.client.post(f"/internal/v1/tenants/{TENANT}/users", data="junk", content_type="application/json",
                           headers={"X-Internal-Key": api.key})
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_value"


def test_a_user_lists_its_groups_read_only(api: Api, make_user: Any, make_group: Any) -> None:
    user = make_user()
    sales = make_group("Sales", [user["id"]])
    make_group("Admins", [user["id"]])
    groups = api("GET", f"/users/{user['id']}").get_json()["groups"]
    assert [g["display"] for g in groups] == ["Admins", "Sales"]
    assert {"value": sales["id"], "display": "Sales"} in groups


def test_tenants_never_see_each_other(api: Api, make_user: Any) -> None:
    user = make_user()
    other = api.for_tenant("globex")
    assert other("GET", f"/users/{user['id']}").status_code == 404
    assert other("DELETE", f"/users/{user['id']}").status_code == 404
    assert other("POST", "/users/search", {}).get_json()["totalResults"] == 0
    assert other("POST", "/users", user_body()).status_code == 201  # the same userName in another tenant


def test_the_work_after_a_create_leaves_the_connection_as_a_request_would(api: Api, make_user: Any) -> None:
    """The invitation step runs after the answer (call_on_close): it must not close the thread's SQLite
    connection, which the next request would pay to re-open, nor keep a pooled one out of its pool."""
    make_user("ann@example.com")
    assert db.is_closed() == (engine() == "postgresql")
