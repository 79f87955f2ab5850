"""shared.locks: every advisory lock id named once, distinct, and taken until the transaction ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from playhouse.pool import PooledDatabase

from shared import locks
from shared.db import connect_url
from shared.testing import engine, fresh_database_url

IDS = {"MIGRATIONS": locks.MIGRATIONS, "SYNC_OUTCOMES": locks.SYNC_OUTCOMES,
       "NOTIFICATION_FEED": locks.NOTIFICATION_FEED}


def test_no_lock_id_serves_two_purposes() -> None:
    assert len(set(IDS.values())) == len(IDS)
    assert all(isinstance(v, int) and 0 < v < 2**31 for v in IDS.values())  # fits the int key of two-key locks


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[peewee.Database, peewee.Database]]:
    url = fresh_database_url(tmp_path, "locks")
    mine, other = connect_url(url), connect_url(url)
    yield mine, other
    for db in (mine, other):
        if isinstance(db, PooledDatabase):
            db.close_all()
        else:
            db.close()


def _free(db: peewee.Database, lock: int, tenant: str | None = None) -> bool:
    """Could another session take the lock now? (a try-lock, released again at its own commit)"""
    with db.atomic():
        if tenant is None:
            return db.execute_sql("SELECT pg_try_advisory_xact_lock(%s)", (lock,)).fetchone()[0]
        return db.execute_sql("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", (lock, tenant)).fetchone()[0]


def _sqlite_writer_free(db: peewee.Database) -> bool:
    """Could another connection begin a write now? SQLite's IMMEDIATE transactions are its writer lock."""
    db.execute_sql("PRAGMA busy_timeout = 0")  # answer at once instead of queueing
    try:
        with db.atomic():
            return True
    except peewee.OperationalError:
        return False


def test_a_tenant_lock_is_held_for_that_tenant_until_commit(databases: tuple[peewee.Database, ...]) -> None:
    """PostgreSQL: the advisory lock of that class and tenant only. SQLite has no advisory locks (a statement
    sent would fail the transaction), so xact_lock sends nothing and the writer lock serialises instead."""
    mine, other = databases
    if engine() != "postgresql":
        with mine.atomic():
            locks.xact_lock(mine, locks.NOTIFICATION_FEED, "acme")
            locks.xact_lock(mine, locks.MIGRATIONS)
            mine.execute_sql("CREATE TABLE t (x INTEGER)")  # the transaction is still usable
            assert not _sqlite_writer_free(other)
        assert "t" in mine.get_tables() and _sqlite_writer_free(other)
        return
    with mine.atomic():
        locks.xact_lock(mine, locks.NOTIFICATION_FEED, "acme")
        assert not _free(other, locks.NOTIFICATION_FEED, "acme")
        assert _free(other, locks.NOTIFICATION_FEED, "globex")  # other tenants go on
        assert _free(other, locks.SYNC_OUTCOMES, "acme")  # and so do other classes
    assert _free(other, locks.NOTIFICATION_FEED, "acme")


def test_a_one_key_lock_is_held_until_rollback_and_apart_from_the_two_key_classes(
        databases: tuple[peewee.Database, ...]) -> None:
    mine, other = databases
    postgres = engine() == "postgresql"
    with pytest.raises(RuntimeError), mine.atomic():
        locks.xact_lock(mine, locks.MIGRATIONS)
        if postgres:
            assert not _free(other, locks.MIGRATIONS)
            assert _free(other, locks.MIGRATIONS, "acme")
        else:
            assert not _sqlite_writer_free(other)
        raise RuntimeError("roll back")
    assert _free(other, locks.MIGRATIONS) if postgres else _sqlite_writer_free(other)
