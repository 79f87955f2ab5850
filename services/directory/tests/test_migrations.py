"""The migrations build exactly the tables the models describe, on either engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory import create_app, provisioning_settings
from directory.audit import Actor
from directory.migrations import STEPS
from directory.models import MODELS, AuditEvent, Invitation, Tenant, TenantSettings, User, db
from shared.db import connect_url
from shared.http import INTERNAL_KEY_HEADER
from shared.migrations import applied_versions, migrate
from shared.schemas.common import utcnow
from shared.testing import fresh_database_url, local_env

from .conftest import insert_old_tenant


def shape(db, table: str) -> tuple[set, set]:
    columns = {(c.name, c.data_type.lower(), c.null) for c in db.get_columns(table)}
    indexes = {(tuple(i.columns), i.unique) for i in db.get_indexes(table)}
    return columns, indexes


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    migrated = connect_url(fresh_database_url(tmp_path, "migrated"))
    declared = connect_url(fresh_database_url(tmp_path, "declared"))
    try:
        every = [step.version for step in STEPS]
        assert migrate(migrated, STEPS) == every
        assert migrate(migrated, STEPS) == []  # applied once
        assert applied_versions(migrated) == every
        with declared.bind_ctx(MODELS):
            declared.create_tables(MODELS)
        for model in MODELS:
            table = model._meta.table_name
            assert shape(migrated, table) == shape(declared, table), table
    finally:
        migrated.close()
        declared.close()


@pytest.mark.parametrize("populated", [False, True], ids=["empty", "populated"])
def test_the_migration_from_v3_adds_settings_invitations_and_the_apple_id_column_R_DIR_12(
        tmp_path: Path, populated: bool) -> None:
    url = fresh_database_url(tmp_path, "upgrade4")
    old = connect_url(url)
    try:
        assert migrate(old, STEPS, target=3) == [1, 2, 3]
        assert "tenant_settings" not in old.get_tables() and "invitations" not in old.get_tables()
        assert "managed_apple_id" not in {c.name for c in old.get_columns("users")}
        if populated:
            now = utcnow()
            with old.bind_ctx([Tenant, User, AuditEvent]):
                insert_old_tenant(old, "acme", now)
                User.insert(id="u" * 32, tenant="acme", user_name="Ann@example.com", user_name_key="ann@example.com",
                            active=True, source="scim", created=now, last_modified=now, version=1,
                            data={"emails": [{"value": "ann@example.com", "primary": True}]}).execute()
                User.insert(id="v" * 32, tenant="acme", user_name="Bob@example.com", user_name_key="bob@example.com",
                            active=True, source="scim", created=now, last_modified=now, version=1,
                            data={"emails": [{"value": "ann@example.com"}]}).execute()
                AuditEvent.create(tenant="acme", time=now, actor="scim", source="scim", kind="user.created",
                                  subject_type="user", subject_id="u" * 32)
    finally:
        old.close()
        getattr(old, "close_all", lambda: None)()

    env = local_env(tmp_path, DATABASE_URL=url)
    app = create_app(env)  # start-up applies step 4
    try:
        assert applied_versions(db.obj) == [step.version for step in STEPS]
        assert TenantSettings.select().count() == 0 and Invitation.select().count() == 0
        assert provisioning_settings.get_settings("acme")["apple_id"]["enabled"] is False  # defaults
        client, headers = app.test_client(), {INTERNAL_KEY_HEADER: env["INTERNAL_API_KEY"]}
        if populated:
            assert User.select().where(User.managed_apple_id.is_null(False)).count() == 0  # no backfill
            assert AuditEvent.select().count() == 1
            provisioning_settings.put_settings("acme", {"apple_id": {"enabled": True}}, Actor("admin:k", "admin"))
            for uid, name in (("u" * 32, "Ann@example.com"), ("v" * 32, "Bob@example.com")):
                body = {"userName": name, "emails": [{"value": "ann@example.com", "primary": True}],
                        "name": {"givenName": "A", "familyName": "B"}}
                assert client.put(f"/internal/v1/tenants/acme/users/{uid}", json=body,
                                  headers=headers).status_code == 200
            # The unique index the step created holds for the old rows too.
            assert User.get_by_id("u" * 32).managed_apple_id == "ann@example.com"
            assert User.get_by_id("v" * 32).managed_apple_id is None
        else:
            body = {"userName": "ann@example.com", "emails": [{"value": "ann@example.com", "primary": True}],
                    "name": {"givenName": "Ann", "familyName": "Example"}}
            assert client.post("/internal/v1/tenants/acme/users", json=body, headers=headers).status_code == 201
    finally:
        if not db.is_closed():
            db.close()
        getattr(db.obj, "close_all", lambda: None)()


def test_the_migration_from_v4_counts_what_scim_sees_of_each_tenant(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "upgrade5")
    old = connect_url(url)
    try:
        assert migrate(old, STEPS, target=4) == [1, 2, 3, 4]
        p, now = old.param, utcnow()
        for tenant in ("acme", "globex", "empty"):
            insert_old_tenant(old, tenant, now)
        # acme: two live SCIM users, one deleted from Entra, one local; globex: one SCIM user; empty: none.
        for uid, tenant, source, deleted in (("a1", "acme", "scim", None), ("a2", "acme", "scim", None),
                                             ("a3", "acme", "scim", now), ("a4", "acme", "local", None),
                                             ("g1", "globex", "scim", None)):
            old.execute_sql("INSERT INTO users (id, tenant_id, user_name, user_name_key, active, source, deleted_at, "
                            f"created, last_modified, version, data) VALUES ({', '.join([p] * 11)})",
                            (uid, tenant, uid, uid, True, source, deleted, now, now, 1, "{}"))
        for gid, tenant, source in (("s1", "acme", "scim"), ("s2", "acme", "ldap")):
            old.execute_sql("INSERT INTO groups (id, tenant_id, display_name, display_name_key, source, created, "
                            f"last_modified, version) VALUES ({', '.join([p] * 8)})",
                            (gid, tenant, gid, gid, source, now, now, 1))
        assert migrate(old, STEPS, target=5) == [5]
        counts = old.execute_sql("SELECT id, scim_users, scim_groups FROM tenant ORDER BY id").fetchall()
        assert [tuple(row) for row in counts] == [("acme", 2, 1), ("empty", 0, 0), ("globex", 1, 0)]
    finally:
        old.close()
        getattr(old, "close_all", lambda: None)()


def test_the_migration_from_v5_gives_each_tenant_its_all_users_group_and_keeps_a_group_of_that_name(
        tmp_path: Path) -> None:
    """Seed 001: every tenant has the built-in "All Users" group; a provisioned group that already had the
    name keeps it and its members (Entra still manages it), and SCIM counts neither differently."""
    url = fresh_database_url(tmp_path, "upgrade6")
    old = connect_url(url)
    try:
        assert migrate(old, STEPS, target=5) == [1, 2, 3, 4, 5]
        p, now = old.param, utcnow()
        for tenant in ("acme", "globex"):
            insert_old_tenant(old, tenant, now)
        old.execute_sql("INSERT INTO groups (id, tenant_id, display_name, display_name_key, source, created, "
                        f"last_modified, version) VALUES ({', '.join([p] * 8)})",
                        ("s1", "acme", "All Users", "all users", "scim", now, now, 1))
        assert migrate(old, STEPS, target=6) == [6]
        rows = old.execute_sql("SELECT tenant_id, display_name, display_name_key, source FROM groups "
                               "ORDER BY tenant_id, source").fetchall()
        assert [tuple(r) for r in rows] == [("acme", "All Users", "all users BUILTIN", "builtin"),
                                            ("acme", "All Users", "all users", "scim"),
                                            ("globex", "All Users", "all users BUILTIN", "builtin")]
        counts = old.execute_sql("SELECT id, scim_groups FROM tenant ORDER BY id").fetchall()
        assert [tuple(r) for r in counts] == [("acme", 1), ("globex", 0)]
        assert migrate(old, STEPS, target=6) == []
    finally:
        old.close()
        getattr(old, "close_all", lambda: None)()


def test_the_migration_from_v6_lets_the_pull_sync_name_itself_as_an_audit_source(tmp_path: Path) -> None:
    """The Entra ID User Source's writer kind, entra_user_source, is 17 characters: longer than v3's column."""
    url = fresh_database_url(tmp_path, "upgrade7")
    old = connect_url(url)
    try:
        assert migrate(old, STEPS, target=6) == [1, 2, 3, 4, 5, 6]
        insert_old_tenant(old, "acme", utcnow())
        p = old.param
        old.execute_sql("INSERT INTO audit_events (tenant_id, time, actor, source, kind, subject_type, "
                        f"subject_id, changes) VALUES ({', '.join([p] * 8)})",
                        ("acme", utcnow(), "scim", "scim", "user.created", "user", "u0", "{}"))
        [(first,)] = old.execute_sql("SELECT id FROM audit_events").fetchall()
        assert migrate(old, STEPS) == [7]
        with old.bind_ctx([AuditEvent]):
            AuditEvent.create(tenant="acme", time=utcnow(), actor="entra_user_source", source="entra_user_source",
                              kind="user.created", subject_type="user", subject_id="u1")
            rows = [(e.id, e.source, e.subject_id) for e in AuditEvent.select().order_by(AuditEvent.id)]
        assert rows[0] == (first, "scim", "u0") and rows[1][0] > first
        assert rows[1][1:] == ("entra_user_source", "u1")
        assert {tuple(i.columns) for i in old.get_indexes("audit_events") if not i.unique} == {
            ("tenant_id", "id"), ("tenant_id", "kind", "id"), ("tenant_id", "subject_id", "id"),
            ("tenant_id", "member_id", "id")}
    finally:
        old.close()
        getattr(old, "close_all", lambda: None)()
