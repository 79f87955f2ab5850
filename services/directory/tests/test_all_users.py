"""The tenant's built-in "All Users" group (R-DIR-5): every user of the tenant is in it, computed,
never rows; admins see it, SCIM never does, and its name is taken for provisioned groups (R-DIR-9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from directory import groups, memberships, tenants
from directory.models import Group, Membership, Tenant, User

from .conftest import TENANT, Api, user_body
from .test_indexes import assert_searches, plan


def all_users(tenant: str = TENANT) -> Group:
    return Group.get(Group.tenant == tenant, Group.source == "builtin")


def test_a_new_tenant_gets_its_all_users_group_once_with_its_first_write(api: Api, make_user: Any) -> None:
    make_user("ann@example.com")
    make_user("bob@example.com")
    [group] = Group.select().where(Group.tenant == TENANT)
    assert (group.display_name, group.source) == ("All Users", "builtin")
    assert Membership.select().count() == 0  # computed: no membership rows, whatever the tenant's size


def test_scim_never_sees_all_users_nor_counts_it(api: Api, make_user: Any, make_group: Any) -> None:
    make_user()
    builtin = all_users()
    make_group("Sales")
    page = api("POST", "/groups/search", {"count": 1}).get_json()  # a full page: the kept count
    assert page["totalResults"] == 1 and Tenant.get_by_id(TENANT).scim_groups == 1
    every = api("POST", "/groups/search", {}).get_json()
    assert [g["displayName"] for g in every["items"]] == ["Sales"] and every["totalResults"] == 1
    for flt in ({"op": "eq", "attr": "displayName", "value": "All Users"},
                {"op": "sw", "attr": "displayName", "value": "all"},
                {"op": "eq", "attr": "id", "value": builtin.id}):
        assert api("POST", "/groups/search", {"filter": flt}).get_json()["totalResults"] == 0, flt
    assert api("GET", f"/groups/{builtin.id}").status_code == 404


@pytest.mark.parametrize("name", ["All Users", "all users", "ALL USERS"])
def test_a_scim_group_named_all_users_is_a_409_naming_the_built_in_group_R_DIR_9(
        api: Api, make_group: Any, name: str) -> None:
    created = api("POST", "/groups", {"displayName": name})
    assert created.status_code == 409 and created.get_json()["code"] == "uniqueness"
    detail = created.get_json()["detail"]
    assert "All Users" in detail and "different name" in detail and "R-DIR" not in detail
    sales = make_group("Sales")
    put = api("PUT", f"/groups/{sales['id']}", {"displayName": name})
    patch = api("PATCH", f"/groups/{sales['id']}", {"displayName": name})
    assert (put.status_code, patch.status_code) == (409, 409)
    assert api("GET", f"/groups/{sales['id']}").get_json()["displayName"] == "Sales"
    refused = api("GET", "/sync-outcomes").get_json()["items"]
    assert [(o["operation"], o["status"]) for o in refused if o["status"] == "refused"] == [
        ("POST /Groups", "refused"), ("PUT /Groups", "refused"), ("PATCH /Groups", "refused")]


def test_scim_can_neither_edit_nor_delete_all_users_nor_nest_it(api: Api, make_user: Any, make_group: Any) -> None:
    ann = make_user()["id"]
    builtin = all_users()
    assert api("PUT", f"/groups/{builtin.id}", {"displayName": "Everyone"}).status_code == 404
    assert api("PATCH", f"/groups/{builtin.id}", {"addMembers": [ann]}).status_code == 404
    assert api("DELETE", f"/groups/{builtin.id}").status_code == 404
    outer = make_group("Outer", [builtin.id])
    assert outer["members"] == []
    last = api("GET", "/sync-outcomes").get_json()["items"][-1]
    assert [d["reason"] for d in last["dropped"]] == ["nested_group"]
    assert all_users().display_name == "All Users"


def test_a_group_that_had_the_name_before_the_built_in_one_keeps_it(api: Api, make_user: Any) -> None:
    """A tenant migrated with a provisioned "All Users" (migration 6): Entra goes on writing it."""
    tenants.ensure_tenant(TENANT, dt.datetime(2026, 1, 1))
    now = dt.datetime(2026, 1, 1)
    Group.create(id="g-old", tenant=TENANT, display_name="All Users", display_name_key="all users", source="scim",
                 created=now, last_modified=now)
    ann = make_user()["id"]
    assert api("PUT", "/groups/g-old", {"displayName": "All Users", "members": [{"value": ann}]}).status_code == 200
    assert api("PATCH", "/groups/g-old", {"displayName": "ALL USERS"}).status_code == 200


def test_admins_see_all_users_in_the_list_and_its_members_by_keyset_pages(
        admin: Any, api: Api, make_user: Any, make_group: Any) -> None:
    ids = {make_user(f"u{i}@example.com")["id"]: f"u{i}@example.com" for i in range(5)}
    sales = make_group("Sales", list(ids)[:2])
    listed = admin("GET", "/groups").get_json()["items"]
    assert sorted((g["displayName"], g["source"]) for g in listed) == [("All Users", "builtin"), ("Sales", "scim")]
    assert [g["source"] for g in admin("GET", "/groups?source=builtin").get_json()["items"]] == ["builtin"]
    builtin = all_users().id
    detail = admin("GET", f"/groups/{builtin}").get_json()
    assert detail["displayName"] == "All Users" and len(detail["members"]) == 5 and detail["members_next_after"] is None

    seen, after = [], None
    while True:
        query = {"limit": 2, **({"after": after} if after else {})}
        page = admin("GET", f"/groups/{builtin}/members", query_string=query).get_json()
        seen += [m["value"] for m in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(ids, key=ids.get)  # by userName, every user once
    first = admin("GET", f"/groups/{sales['id']}/members", query_string={"limit": 1}).get_json()
    assert len(first["items"]) == 1 and first["next_after"] is not None
    assert admin("GET", "/groups/nope/members").status_code == 404


def test_deleting_a_group_leaves_its_last_group_members_disabled_in_all_users_R_DIR_5(
        admin: Any, api: Api, make_user: Any, make_group: Any) -> None:
    ann = make_user("ann@example.com")["id"]
    gone = make_user("gone@example.com")["id"]
    sales = make_group("Sales", [ann, gone])
    api("DELETE", f"/users/{gone}")
    assert api("DELETE", f"/groups/{sales['id']}").status_code == 204
    members = admin("GET", f"/groups/{all_users().id}/members").get_json()["items"]
    assert [(m["value"], m["status"]) for m in members] == [(ann, "disabled"), (gone, "deleted")]


def test_all_users_is_no_migration_leftover_and_survives_their_removal(admin: Any, api: Api, make_user: Any
                                                                      ) -> None:
    make_user()
    since = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    left = admin("GET", "/migration/leftovers", query_string={"since": since, "kind": "groups"}).get_json()
    assert left["items"] == []
    assert admin("POST", "/migration/leftovers/remove", json={"kind": "groups", "since": since}).get_json() == {
        "removed": 0}
    assert all_users().display_name == "All Users"


def test_a_page_of_all_users_walks_the_tenant_s_username_index(api: Api) -> None:
    """Flat cost at any tenant size: a range of the unique (tenant, userName) index, never the whole tenant."""
    now = dt.datetime(2026, 1, 1)
    tenants.ensure_tenant(TENANT, now)
    User.insert_many([{"id": f"a{i:031d}", "tenant": TENANT, "user_name": f"user{i}", "user_name_key": f"user{i}",
                       "created": now, "last_modified": now, "data": {}} for i in range(1500)]).execute()
    page = groups.member_page(TENANT, all_users().id, limit=3, after="user7")
    assert [m["display"] for m in page["items"]] == ["user70", "user700", "user701"]
    query, _ = memberships.page_query(TENANT, all_users().id, builtin=True, limit=4, after="user7")
    assert_searches(plan(query), "users", "user_tenant_id_user_name_key")


def test_admin_detail_of_a_user_shows_its_released_user_name(admin: Any, api: Api, make_user: Any) -> None:
    gone = make_user("ann@example.com")["id"]
    api("DELETE", f"/users/{gone}")
    bob = make_user("bob@example.com")["id"]
    assert api("PUT", f"/users/{bob}", user_body("ann@example.com")).status_code == 200
    held = admin("GET", f"/users/{gone}").get_json()
    assert held["releasedUserName"] == "ann@example.com" and held["status"] == "deleted"
