"""Database connections: SQLite with WAL pragmas, PostgreSQL with a pool, and per-request hooks."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import peewee
from flask import Flask
from playhouse.db_url import connect
from playhouse.pool import PooledDatabase

# WAL lets readers run beside the single writer; NORMAL sync is durable across process crashes
# (only an OS crash may lose the last commits). busy_timeout makes writers queue instead of failing.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "cache_size": -32_000,
}


def connect_url(url: str, *, pool_size: int = 8) -> peewee.Database:
    """Open the database named by `url` (sqlite:///path or postgresql://…)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # IMMEDIATE takes the write lock at BEGIN: a deferred transaction that reads first fails
        # with SQLITE_BUSY when it upgrades, whatever the busy timeout.
        return connect(url, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    if scheme in {"postgres", "postgresql"}:
        pooled = url.replace(f"{scheme}://", "postgresql+pool://", 1)
        return connect(pooled, max_connections=pool_size, stale_timeout=300, timeout=10)
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def is_postgres(db: peewee.Database) -> bool:
    return isinstance(db, peewee.PostgresqlDatabase)


def install_request_hooks(app: Flask, db: peewee.Database) -> None:
    """Open a connection per request thread; return pooled ones at teardown, keep SQLite ones open.

    Re-opening SQLite per request costs two thirds of an insert endpoint's throughput here.
    """

    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)

    if isinstance(db, PooledDatabase):

        @app.teardown_request
        def _release(_exc: BaseException | None) -> None:
            if not db.is_closed():
                db.close()


def database_ok(db: peewee.Database) -> bool:
    """True when a trivial query succeeds; used by /healthz."""
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1").fetchone()
        return True
    except peewee.PeeweeException:
        return False
    except Exception:
        return False
