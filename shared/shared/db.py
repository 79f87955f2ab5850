"""Database connections: SQLite with WAL pragmas, PostgreSQL with a pool, and per-request hooks."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
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
    # 8 MB of page cache per connection (one per request thread): the hot index pages of a million users
    # fit, and four threads of two workers stay far below the 150 MiB a process may use.
    "cache_size": -8_000,
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


@contextlib.contextmanager
def connection(db: peewee.Database) -> Iterator[None]:
    """A connection for work outside a request (after the answer has gone), kept as the request hooks keep
    them: the thread's SQLite connection stays open for its next request (peewee's connection_context would
    close it, and re-opening costs more than the work), a pooled one goes back to the pool."""
    db.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if isinstance(getattr(db, "obj", db), PooledDatabase) and not db.is_closed():
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


# --- statements built once ------------------------------------------------------------------------------


class _Slot:
    """Where a Prepared statement takes a value at each run, converted as the column would store it."""

    __slots__ = ("convert", "name")

    def __init__(self, name: str, convert: Callable[[Any], Any] | None) -> None:
        self.name, self.convert = name, convert


def slot(name: str, field: peewee.Field | None = None) -> peewee.Node:
    """A placeholder of a Prepared statement (converter off: the slot object itself becomes the parameter).
    Call it inside the statement's build function: a JSON column's SQL depends on the engine bound."""
    if isinstance(field, peewee.JSONField) and isinstance(field.db_value({}), peewee.Node):
        # SQLite stores JSON through json(?): the function stays in the SQL, the text is the parameter.
        return peewee.fn.json(peewee.Value(_Slot(name, json.dumps), converter=False))
    return peewee.Value(_Slot(name, None if field is None else field.db_value), converter=False)


class Prepared:
    """A statement whose SQL peewee builds once per engine, then run with new values for its slots.

    Building the SQL is most of what peewee costs on a hot path (about 160 µs of a 240 µs `Model.get`,
    measured on a 2-core machine): the lookups every SCIM request makes are built once and executed many times."""

    def __init__(self, build: Callable[[], peewee.Query]) -> None:
        self._build = build
        self._built: dict[type, tuple[str, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def _statement(self, database: peewee.Database) -> tuple[str, tuple[Any, ...]]:
        if isinstance(database, peewee.DatabaseProxy):
            database = database.obj
        key = type(database)  # the SQL depends on the dialect only
        if key not in self._built:
            with self._lock:
                query = self._build()
                sql, params = database.get_sql_context().sql(query).query()
                self._built[key] = (sql, tuple(params))
        return self._built[key]

    def bind(self, database: peewee.Database, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, params = self._statement(database)
        return sql, [_fill(p, values) for p in params]

    def execute(self, database: peewee.Database, **values: Any) -> Any:
        """Run the statement; returns the DB-API cursor."""
        return database.execute_sql(*self.bind(database, values))

    def rows(self, database: peewee.Database, **values: Any) -> list[tuple[Any, ...]]:
        return self.execute(database, **values).fetchall()

    def models(self, model: type[peewee.Model], **values: Any) -> Iterator[peewee.Model]:
        """Model instances of a select of whole rows, each column converted by its field."""
        sql, params = self.bind(model._meta.database, values)
        return iter(model.raw(sql, *params))

    def first(self, model: type[peewee.Model], **values: Any) -> peewee.Model | None:
        """The first model instance the select finds, or None."""
        return next(self.models(model, **values), None)


def column_slots(model: type[peewee.Model], names: Sequence[str]) -> dict[peewee.Field, peewee.Node]:
    """{field: slot} for an INSERT of these columns, each slot named and converted as its field."""
    return {getattr(model, name): slot(name, getattr(model, name)) for name in names}


def _fill(param: Any, values: Mapping[str, Any]) -> Any:
    if not isinstance(param, _Slot):
        return param
    value = values[param.name]
    return param.convert(value) if param.convert is not None else value
