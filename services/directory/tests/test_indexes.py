"""The hot lookups (Entra's userName, externalId, id and displayName eq) search an index on both engines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from directory import queries, tenants
from directory.models import Group, User, db
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
    sql, params = query.sql()
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
