"""The per-tenant counts behind a full list page's totalResults (migration 5) stay exact on every path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from directory import admin_actions
from directory.audit import Actor
from directory.models import Group, Tenant, User

from .conftest import TENANT, Api, user_body

ADMIN = Actor(name="admin:deployment", source="admin")


def counted(tenant: str = TENANT) -> tuple[int, int]:
    row = Tenant.get_by_id(tenant)
    return row.scim_users, row.scim_groups


def actual(tenant: str = TENANT) -> tuple[int, int]:
    users = User.select().where(User.tenant == tenant, User.source == "scim", User.deleted_at.is_null()).count()
    return users, Group.select().where(Group.tenant == tenant, Group.source == "scim").count()


def total(api: Api, kind: str, **search: Any) -> int:
    resp = api("POST", f"/{kind}/search", {"count": 1, **search})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["totalResults"]


def test_counts_follow_creates_deletes_revivals_takeovers_and_purges(api: Api, make_user: Any,
                                                                     make_group: Any) -> None:
    users = [make_user(f"u{i}@example.com") for i in range(5)]
    sales = make_group("Sales", [users[0]["id"], users[1]["id"]])
    make_group("Admins")
    assert counted() == actual() == (5, 2)

    api("DELETE", f"/users/{users[0]['id']}")  # R-DIR-4: soft delete, hidden from SCIM
    api("DELETE", f"/users/{users[0]['id']}")  # a repeated delete is a 404 and changes nothing
    assert counted() == actual() == (4, 2)
    assert api("POST", "/users", user_body("U0@example.com")).status_code == 201  # revived by Entra's POST
    assert counted() == actual() == (5, 2)

    local = admin_actions.create_user(TENANT, user_body("local@example.com"), "local", ADMIN)  # not SCIM's
    assert counted() == actual() == (5, 2)
    assert api("POST", "/users", user_body("LOCAL@example.com")).status_code == 201  # R-DIR-8 takeover
    assert counted() == actual() == (6, 2)

    # Disabling is not leaving SCIM's view (the directory has no user PATCH: SCIM's arrives as this PUT).
    assert api("PUT", f"/users/{users[2]['id']}", user_body("u2@example.com", active=False)).status_code == 200
    admin_actions.purge_user(TENANT, users[3]["id"], ADMIN)
    admin_actions.purge_user(TENANT, local["id"], ADMIN)
    assert counted() == actual() == (4, 2)

    api("DELETE", f"/groups/{sales['id']}")
    assert counted() == actual() == (4, 1)


def test_migration_leftovers_and_other_tenants_keep_their_own_counts(api: Api, make_user: Any) -> None:
    make_user("kept@example.com")
    admin_actions.create_user(TENANT, user_body("old@example.com"), "ldap", ADMIN)
    assert api.for_tenant("globex")("POST", "/users", user_body("other@example.com")).status_code == 201
    assert counted() == actual() == (1, 0) and counted("globex") == actual("globex") == (1, 0)
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)
    assert admin_actions.remove_leftovers(TENANT, "users", since=since, actor=ADMIN) == 1
    assert counted() == actual() == (1, 0) and counted("globex") == actual("globex") == (1, 0)


def test_a_full_unfiltered_page_reports_the_kept_count(api: Api, make_user: Any, make_group: Any) -> None:
    ids = [make_user(f"p{i}@example.com")["id"] for i in range(4)]
    api("DELETE", f"/users/{ids[0]}")
    make_group("One")
    make_group("Two")
    assert total(api, "users") == 3 and total(api, "groups") == 2
    assert total(api, "users", startIndex=3) == 3  # a page past the first: still every match
    flt = {"op": "sw", "attr": "userName", "value": "p"}
    assert total(api, "users", filter=flt) == 3  # a filter is counted by the query itself


def test_counts_follow_statements_of_many_rows(api: Api, make_user: Any) -> None:
    """Bulk loads and set-based updates (a migration, a seeding, R-DIR-5's disable) count every row."""
    make_user("first@example.com")
    now = dt.datetime(2026, 1, 1)
    User.insert_many([{"id": f"b{i:031d}", "tenant": TENANT, "user_name": f"b{i}", "user_name_key": f"b{i}",
                       "source": "scim" if i % 4 else "local", "created": now, "last_modified": now, "data": {}}
                      for i in range(40)]).execute()
    assert counted() == actual() == (31, 0)
    User.update(deleted_at=now).where(User.user_name_key.startswith("b1")).execute()  # b1, b10..b19: 9 scim
    assert counted() == actual() == (22, 0)
    User.update(source="scim").where(User.source == "local").execute()  # takeovers, some of deleted users
    assert counted() == actual()
    User.delete().where(User.user_name_key.startswith("b")).execute()
    assert counted() == actual() == (1, 0)
