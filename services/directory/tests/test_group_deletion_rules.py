"""R-DIR-5 and R-DIR-6: what happens to members when a group, or a member, is deleted from Entra."""

from __future__ import annotations

from typing import Any

from directory import admin_actions

from .conftest import TENANT, Api


def _group(api: Api, name: str, *members: str) -> str:
    resp = api("POST", "/groups", {"displayName": name, "members": [{"value": m} for m in members]})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def test_deleting_a_group_disables_members_of_no_other_group_who_stay_in_the_tenant_R_DIR_5(
        api: Api, make_user: Any) -> None:
    only, shared, gone = (make_user(f"{n}@example.com")["id"] for n in ("only", "shared", "gone"))
    sales = _group(api, "Sales", only, shared, gone)
    _group(api, "Staff", shared)
    assert api("DELETE", f"/users/{gone}").status_code == 204  # already deleted from Entra: left as it is
    assert api("DELETE", f"/groups/{sales}").status_code == 204
    assert api("GET", f"/groups/{sales}").status_code == 404
    assert api("GET", f"/users/{only}").get_json()["active"] is False  # disabled, still in the tenant
    assert api("GET", f"/users/{shared}").get_json()["active"] is True  # still in Staff
    assert admin_actions.get_user(TENANT, gone)["status"] == "deleted"
    events = api("GET", "/audit?kind=user.disabled").get_json()["items"]
    assert [e["subjectId"] for e in events] == [only]
    deleted = api("GET", "/audit?kind=group.deleted").get_json()["items"][0]
    assert deleted["changes"]["memberCount"] == {"before": 3, "after": 0}


def test_deleting_a_group_twice_disables_nobody_twice_R_DIR_5(api: Api, make_user: Any) -> None:
    user = make_user()["id"]
    first = _group(api, "Sales", user)
    assert api("DELETE", f"/groups/{first}").status_code == 204
    second = _group(api, "Staff", user)  # a disabled user can be a member again
    assert api("DELETE", f"/groups/{second}").status_code == 204
    assert [e["subjectId"] for e in api("GET", "/audit?kind=user.disabled").get_json()["items"]] == [user]


def test_a_member_deleted_from_entra_is_disabled_and_stays_in_its_group_R_DIR_6(api: Api, make_user: Any) -> None:
    user = make_user()["id"]
    group = _group(api, "Sales", user)
    assert api("DELETE", f"/users/{user}").status_code == 204
    held = admin_actions.get_user(TENANT, user)
    assert held["active"] is False and [g["value"] for g in held["groups"]] == [group]
    assert api("GET", f"/groups/{group}").get_json()["members"] == []  # not shown to SCIM
