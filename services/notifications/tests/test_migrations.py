"""Migrations upgrade a v1 notifications database in place: tenants stay, the new tables arrive."""

from __future__ import annotations

import datetime as dt

from notifications.migrations import STEPS
from notifications.models import MODELS, Tenant
from shared.db import connect_url
from shared.migrations import applied_versions, migrate


def test_every_later_step_upgrades_a_v1_database(env: dict[str, str]) -> None:
    database = connect_url(env["DATABASE_URL"])
    try:
        assert migrate(database, STEPS, target=1) == [1]
        with database.bind_ctx([Tenant]):
            Tenant.create(id="acme", created_at=dt.datetime(2026, 1, 1))
        later = [step.version for step in STEPS[1:]]
        assert migrate(database, STEPS) == later
        assert applied_versions(database) == [1, *later]
        assert {m._meta.table_name for m in MODELS} <= set(database.get_tables())
        with database.bind_ctx([Tenant]):
            assert [t.id for t in Tenant.select()] == ["acme"]
    finally:
        database.close()
        getattr(database, "close_all", lambda: None)()
