"""Versioned schema migrations: an ordered list of steps, applied once each, under a lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import peewee
import tenacity

from .locks import MIGRATIONS, xact_lock


@dataclass(frozen=True)
class Step:
    """One migration: `version` increases by one per step; `apply` gets the database."""

    version: int
    name: str
    apply: Callable[[peewee.Database], None]


def applied_versions(db: peewee.Database) -> list[int]:
    if "schema_migrations" not in db.get_tables():
        return []
    return [row[0] for row in db.execute_sql("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(db: peewee.Database, steps: Sequence[Step], target: int | None = None) -> list[int]:
    """Apply the missing steps up to `target` in one transaction; return the versions applied.

    Several workers and replicas start at once: the lock (an advisory lock on PostgreSQL, the
    IMMEDIATE write lock on SQLite) lets exactly one of them migrate while the others wait.
    """
    versions = [s.version for s in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise ValueError(f"migration versions must be 1..n in order, got {versions}")
    done: list[int] = []
    with db.atomic():
        xact_lock(db, MIGRATIONS)
        db.execute_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at VARCHAR(40) NOT NULL)"
        )
        current = set(applied_versions(db))
        for step in steps:
            if step.version in current or (target is not None and step.version > target):
                continue
            step.apply(db)
            ph = db.param
            db.execute_sql(
                f"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({ph}, {ph}, {ph})",
                (step.version, step.name, dt.datetime.now(dt.UTC).isoformat()),
            )
            done.append(step.version)
    return done


def create_frozen(db: peewee.Database, *models: type[peewee.Model]) -> None:
    """Create tables for models declared inside a migration step (a frozen copy of that version)."""
    with db.bind_ctx(models):
        db.create_tables(models, safe=False)


def open_database(proxy: peewee.DatabaseProxy, url: str, steps: Sequence[Step]) -> peewee.Database:
    """Bind a service's DatabaseProxy to `url` and bring its schema up to date."""
    from .db import connect_url

    proxy.initialize(connect_url(url))
    _migrate_when_unlocked(proxy.obj, steps)
    return proxy.obj


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, peewee.OperationalError) and "locked" in str(exc)


@tenacity.retry(retry=tenacity.retry_if_exception(_is_locked), stop=tenacity.stop_after_delay(30),
                wait=tenacity.wait_random_exponential(multiplier=0.05, max=1), reraise=True)
def _migrate_when_unlocked(db: peewee.Database, steps: Sequence[Step]) -> None:
    """Workers booting together on a new SQLite file can deadlock while one switches it to WAL and
    another migrates; SQLite then fails one of them at once instead of waiting, so it tries again."""
    if not db.is_closed():
        db.close()
    migrate(db, steps)
