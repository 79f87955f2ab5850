"""The hot lookups (Entra's userName, externalId, id and displayName eq) search an index on both engines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from directory import memberships, queries, tenants
from directory.models import Group, Membership, User, db
from shared.testing import engine

from .conftest import TENANT, Api


def eq(attr: str, value: Any) -> dict[str, Any]:
    return {"op": "eq", "attr": attr, "value": value}


@pytest.fixture
def crowd(app: Any) -> None:
    """Enough users and groups for a planner to tell a selective index from a scan."""
    now = dt.datetime(2026, 1, 1)
    for tenant in (TENANT, "globex"):
        tenants.ensure_tenant(tenant, now)
        User.insert_many([{"id": f"{tenant[:1]}{i:031d}", "tenant": tenant, "user_name": f"user{i}@example.com",
                           "user_name_key": f"user{i}@example.com", "external_id": f"x{i}", "created": now,
                           "last_modified": now, "data": {}} for i in range(1500)]).execute()
        Group.insert_many([{"id": f"{tenant[:1]}{i:031d}", "tenant": tenant, "display_name": f"Group {i}",
                            "display_name_key": f"group {i}", "external_id": f"g{i}", "created": now,
                            "last_modified": now} for i in range(500)]).execute()
    if engine() == "postgresql":
        db.execute_sql("ANALYZE")  # autovacuum does this in production; SQLite is planned without statistics


def plan(query: Any) -> str:
    return plan_of(*query.sql())


def plan_of(sql: str, params: Any) -> str:
    if engine() == "postgresql":
        return "\n".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall())
    return "\n".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def assert_searches(text: str, table: str, index: str) -> None:
    assert f"Seq Scan on {table}" not in text and not any(
        line.startswith(("SCAN t1", f"SCAN {table}")) for line in text.splitlines()), text
    assert index in text, text


PK = {"postgresql": "{}_pkey", "sqlite": "sqlite_autoindex_{}_1"}


@pytest.mark.parametrize(("flt", "index"), [
    (eq("userName", "USER7@example.com"), "user_tenant_id_user_name_key"),
    (eq("externalId", "x7"), "user_tenant_id_external_id"),
    ({"op": "and", "args": [eq("externalId", "x7"), eq("active", True)]}, "user_tenant_id_external_id"),
    (eq("id", "a" + "0" * 31), PK[engine()].format("users")),
], ids=["userName", "externalId", "externalId-and", "id"])
def test_the_hot_user_lookups_search_their_index(api: Api, crowd: None, flt: dict[str, Any], index: str) -> None:
    assert_searches(plan(queries.user_query(TENANT, {"filter": flt})), "users", index)


@pytest.mark.parametrize(("flt", "index"), [
    (eq("displayName", "GROUP 7"), "group_tenant_id_display_name_key"),
    (eq("externalId", "g7"), "group_tenant_id_external_id"),
], ids=["displayName", "externalId"])
def test_the_hot_group_lookups_search_their_index(api: Api, crowd: None, flt: dict[str, Any], index: str) -> None:
    assert_searches(plan(queries.group_query(TENANT, {"filter": flt})), "groups", index)


def test_member_ids_are_resolved_by_primary_key(api: Api, crowd: None) -> None:
    ids = [f"a{i:031d}" for i in (3, 70, 900)]
    assert_searches(plan(memberships.users_among(ids)), "users", PK[engine()].format("users"))
    assert_searches(plan(memberships.groups_among(ids)), "groups", PK[engine()].format("groups"))


@pytest.mark.parametrize(("kind", "column", "table", "index"), [
    ("user", "user_name_key", "users", "user_tenant_id_user_name_key"),
    ("user", "external_id", "users", "user_tenant_id_external_id"),
    ("group", "display_name_key", "groups", "group_tenant_id_display_name_key"),
    ("group", "external_id", "groups", "group_tenant_id_external_id"),
])
def test_the_prepared_eq_lookups_search_their_index(api: Api, crowd: None, kind: str, column: str, table: str,
                                                    index: str) -> None:
    statement = queries._eq_statement(kind, column).bind(db, {"tenant": TENANT, "value": "x7", "limit": 100})
    assert_searches(plan_of(*statement), table, index)


def test_a_bounded_member_list_reads_in_key_order_without_sorting_every_member(api: Api, crowd: None) -> None:
    group = "a" + "0" * 31
    Membership.insert_many([{"group": group, "member": f"a{i:031d}", "tenant": TENANT} for i in range(1500)]).execute()
    if engine() == "postgresql":
        db.execute_sql("ANALYZE")
    text = plan(memberships.members_query([group], 100))
    assert "TEMP B-TREE" not in text and "Sort" not in text, text


def test_telling_a_big_group_from_a_small_one_walks_its_key_only(api: Api, crowd: None) -> None:
    group = "a" + "0" * 31
    Membership.insert_many([{"group": group, "member": f"a{i:031d}", "tenant": TENANT} for i in range(1500)]).execute()
    if engine() == "postgresql":
        db.execute_sql("ANALYZE")
    assert memberships.more_than(group, 1499) and not memberships.more_than(group, 1500)
    text = plan_of(*memberships._BEYOND.bind(db, {"group": group, "limit": 1000}))
    assert " users" not in text, text  # no join: the memberships alone
    if engine() == "sqlite":  # PostgreSQL rightly scans here: this one group holds every membership of the table
        assert PK["sqlite"].format("memberships") in text, text
