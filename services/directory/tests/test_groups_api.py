"""The groups routes: uniqueness (R-DIR-9), membership by delta (R-DIR-10), versions, members=false."""

from __future__ import annotations

from typing import Any

import pytest

from directory import groups
from directory.models import Membership, User
from shared.admin_text import leaks

from .conftest import TENANT, Api, QueryLog


def members(api: Api, group_id: str) -> set[str]:
    return {m["value"] for m in api("GET", f"/groups/{group_id}").get_json()["members"]}


def test_create_answers_201_with_its_members(api: Api, make_user: Any) -> None:
    ann = make_user("ann@example.com")
    resp = api("POST", "/groups", {"displayName": "Sales", "externalId": "s-1", "members": [{"value": ann["id"]}]})
    assert resp.status_code == 201
    group = resp.get_json()
    assert group["displayName"] == "Sales" and group["externalId"] == "s-1" and group["version"] == 1
    assert group["source"] == "scim" and group["created"].endswith("Z")
    assert group["members"] == [{"value": ann["id"], "display": "Ann Example", "type": "User"}]
    assert api("GET", f"/groups/{group['id']}").get_json() == group


@pytest.mark.parametrize("other", ["Sales", "SALES", "sales"])
def test_a_duplicate_display_name_in_any_case_is_409_uniqueness_R_DIR_9(api: Api, make_group: Any,
                                                                        other: str) -> None:
    make_group("Sales")
    resp = api("POST", "/groups", {"displayName": other})
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "uniqueness" and resp.get_json()["attribute"] == "displayName"


def test_renaming_to_a_taken_display_name_is_409_R_DIR_9(api: Api, make_group: Any) -> None:
    make_group("Sales")
    admins = make_group("Admins")
    assert api("PATCH", f"/groups/{admins['id']}", {"displayName": "SALES"}).status_code == 409
    assert api("PUT", f"/groups/{admins['id']}", {"displayName": "sales"}).status_code == 409
    renamed = api("PATCH", f"/groups/{admins['id']}", {"displayName": "ADMINS"})
    assert renamed.status_code == 200 and renamed.get_json()["displayName"] == "ADMINS"


def test_a_nested_group_or_unknown_member_is_not_added_R_DIR_10(api: Api, make_user: Any, make_group: Any) -> None:
    ann = make_user()
    inner = make_group("Inner")
    resp = api("POST", "/groups", {"displayName": "Outer", "members": [
        {"value": ann["id"]}, {"value": inner["id"]}, {"value": "nobody"}]})
    assert resp.status_code == 201
    assert [m["value"] for m in resp.get_json()["members"]] == [ann["id"]]
    patched = api("PATCH", f"/groups/{inner['id']}", {"addMembers": [resp.get_json()["id"], "nobody"]})
    assert patched.status_code == 200 and members(api, inner["id"]) == set()


def test_drops_name_the_reason_nested_group_or_unknown_member_R_DIR_10(app: Any, make_user: Any,
                                                                      make_group: Any) -> None:
    ann = make_user()
    inner = make_group("Inner")
    outer = make_group("Outer")
    result = groups.patch_group(TENANT, outer["id"], {"addMembers": [ann["id"], inner["id"], "nobody", ann["id"]]})
    assert [(d["reason"], d["value"]) for d in result["dropped"]] == [
        ("nested_group", inner["id"]), ("unknown_member", "nobody")]
    # The words name the group by its displayName and give away no id.
    assert result["dropped"][0]["detail"].startswith("Group 'Inner' was not added as a member")
    assert not any(leaks(d["detail"]) or d["value"] in d["detail"] for d in result["dropped"])


def test_members_false_does_not_load_the_members(api: Api, make_user: Any, make_group: Any,
                                                 query_log: QueryLog) -> None:
    group = make_group("Sales", [make_user()["id"]])
    query_log.clear()
    resp = api("GET", f"/groups/{group['id']}?members=false")
    assert resp.status_code == 200 and "members" not in resp.get_json()
    assert len(query_log) == 1 and not query_log.mentioning("memberships")
    query_log.clear()
    assert len(api("GET", f"/groups/{group['id']}").get_json()["members"]) == 1
    assert len(query_log) == 2


def test_adding_and_removing_members_is_idempotent_and_bumps_the_version_once_per_change(
        api: Api, make_user: Any, make_group: Any) -> None:
    ann, bob = make_user("ann@example.com")["id"], make_user("bob@example.com")["id"]
    group = make_group("Sales")
    path = f"/groups/{group['id']}"
    assert api("PATCH", path, {"addMembers": [ann, bob]}).get_json()["version"] == 2
    assert api("PATCH", path, {"addMembers": [ann]}).get_json()["version"] == 2  # re-adding is not an error
    assert members(api, group["id"]) == {ann, bob}
    assert api("PATCH", path, {"removeMembers": [ann]}).get_json()["version"] == 3
    assert api("PATCH", path, {"removeMembers": [ann, "nobody"]}).get_json()["version"] == 3
    assert members(api, group["id"]) == {bob}
    assert Membership.select().count() == 1


def test_patch_answers_the_group_without_members(api: Api, make_user: Any, make_group: Any) -> None:
    group = make_group("Sales")
    resp = api("PATCH", f"/groups/{group['id']}", {"addMembers": [make_user()["id"]]})
    assert resp.status_code == 200 and "members" not in resp.get_json()


def test_adding_a_member_never_reads_the_whole_membership(api: Api, make_user: Any, make_group: Any,
                                                          query_log: QueryLog) -> None:
    group = make_group("Sales", [make_user(f"u{i}@example.com")["id"] for i in range(5)])
    newcomer = make_user("new@example.com")["id"]
    query_log.clear()
    api("PATCH", f"/groups/{group['id']}", {"addMembers": [newcomer], "removeMembers": ["nobody"]})
    reads = [s for s in query_log.statements if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if "memberships" in s]


def test_replace_members_makes_the_membership_exactly_the_list(api: Api, make_user: Any, make_group: Any) -> None:
    ann, bob, cid = (make_user(f"{n}@example.com")["id"] for n in ("ann", "bob", "cid"))
    group = make_group("Sales", [ann, bob])
    resp = api("PATCH", f"/groups/{group['id']}", {"replaceMembers": [bob, cid]})
    assert resp.get_json()["version"] == 2 and members(api, group["id"]) == {bob, cid}
    assert api("PATCH", f"/groups/{group['id']}", {"replaceMembers": []}).get_json()["version"] == 3
    assert members(api, group["id"]) == set()


def test_put_replaces_name_external_id_and_members(api: Api, make_user: Any, make_group: Any) -> None:
    ann, bob = make_user("ann@example.com")["id"], make_user("bob@example.com")["id"]
    group = make_group("Sales", [ann], externalId="s-1")
    resp = api("PUT", f"/groups/{group['id']}", {"displayName": "Sales EMEA", "members": [{"value": bob}]})
    assert resp.status_code == 200
    got = resp.get_json()
    assert got["displayName"] == "Sales EMEA" and "externalId" not in got and got["version"] == 2
    assert [m["value"] for m in got["members"]] == [bob]
    same = api("PUT", f"/groups/{group['id']}", {"displayName": "Sales EMEA", "members": [{"value": bob}]})
    assert same.get_json()["version"] == 2  # nothing changed


def test_blank_external_id_keeps_it_and_remove_external_id_removes_it_R_DIR_7(api: Api, make_group: Any) -> None:
    group = make_group("Sales", externalId="s-1")
    path = f"/groups/{group['id']}"
    assert api("PATCH", path, {"externalId": ""}).get_json()["externalId"] == "s-1"
    assert api("PUT", path, {"displayName": "Sales", "externalId": ""}).get_json()["externalId"] == "s-1"
    assert api("PATCH", path, {"externalId": "s-2"}).get_json()["externalId"] == "s-2"
    assert "externalId" not in api("PATCH", path, {"removeExternalId": True}).get_json()


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_a_stale_if_match_is_412_and_changes_nothing(api: Api, make_group: Any, method: str) -> None:
    group = make_group("Sales")
    resp = api(method, f"/groups/{group['id']}", {"displayName": "Renamed"}, headers={"If-Match": 'W/"9"'})
    assert resp.status_code == 412 and resp.get_json()["code"] == "version_mismatch"
    assert api("GET", f"/groups/{group['id']}").get_json()["displayName"] == "Sales"
    ok = api(method, f"/groups/{group['id']}", {"displayName": "Renamed"}, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == (204 if method == "DELETE" else 200), ok.get_json()


def test_delete_removes_the_group_and_its_memberships_but_not_the_users(api: Api, make_user: Any,
                                                                        make_group: Any) -> None:
    ann = make_user()
    group = make_group("Sales", [ann["id"]])
    assert api("DELETE", f"/groups/{group['id']}").status_code == 204
    assert api("GET", f"/groups/{group['id']}").status_code == 404
    assert api("DELETE", f"/groups/{group['id']}").status_code == 404
    assert api("GET", f"/users/{ann['id']}").get_json()["groups"] == []
    assert Membership.select().count() == 0 and User.select().count() == 1
    assert api("POST", "/groups", {"displayName": "Sales"}).status_code == 201  # the name is free again


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_unknown_group_is_404_not_found(api: Api, method: str) -> None:
    resp = api(method, "/groups/nope", {"displayName": "X"})
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"


def test_a_user_deleted_from_entra_stays_associated_but_is_not_shown_as_a_member(api: Api, make_user: Any,
                                                                                 make_group: Any) -> None:
    ann, bob = make_user("ann@example.com")["id"], make_user("bob@example.com")["id"]
    group = make_group("Sales", [ann, bob])
    api("DELETE", f"/users/{ann}")
    assert members(api, group["id"]) == {bob}
    assert Membership.select().where(Membership.member == ann).count() == 1  # kept for admins (R-DIR-6)
    assert api("PATCH", f"/groups/{group['id']}", {"addMembers": [ann]}).get_json()["version"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({}, "displayName"), ({"displayName": ""}, "displayName"), ({"displayName": "X", "members": [{}]}, "members"),
    ({"displayName": "X", "owner": "me"}, "owner"),
])
def test_a_group_body_the_contract_refuses_is_400_invalid_value(api: Api, body: dict, field: str) -> None:
    resp = api("POST", "/groups", body)
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "invalid_value" and field in resp.get_json()["errors"]


def test_a_blank_display_name_is_refused_on_create_and_kept_on_replace(api: Api, make_group: Any) -> None:
    assert api("POST", "/groups", {"displayName": "   "}).get_json()["attribute"] == "displayName"
    group = make_group("Sales")
    assert api("PUT", f"/groups/{group['id']}", {"displayName": "  "}).get_json()["displayName"] == "Sales"


def test_members_flag_must_be_a_boolean(api: Api, make_group: Any) -> None:
    group = make_group("Sales")
    assert api("GET", f"/groups/{group['id']}?members=perhaps").status_code == 400
    assert "members" in api("GET", f"/groups/{group['id']}?members=1").get_json()
