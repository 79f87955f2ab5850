"""storage_fault: which database errors are a 503 for the caller to retry, and which stay a 500 (a bug).

The read-only and full databases themselves are exercised on both engines by the directory's tests
(services/directory/tests/test_storage_faults.py); here are the server codes a test cannot easily cause:
a PostgreSQL that shuts down, a lost connection, an exhausted pool.
"""

from __future__ import annotations

import sqlite3

import peewee
import pytest
from flask import Flask
from playhouse.pool import MaxConnectionsExceeded

from shared.errors import install_error_handlers, storage_fault


class PgError(Exception):
    """What psycopg2 raises: the SQLSTATE in `pgcode` (None when no server answered)."""

    def __init__(self, pgcode: str | None) -> None:
        super().__init__(f"pg {pgcode}")
        self.pgcode = pgcode


def sqlite_error(message: str) -> peewee.PeeweeException:
    """The error SQLite itself raises for `message`'s statement, wrapped as peewee wraps it."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(message)
    except sqlite3.Error as exc:
        wrapper = peewee.OperationalError if isinstance(exc, sqlite3.OperationalError) else peewee.DatabaseError
        return wrapper(exc, *exc.args)
    raise AssertionError("the statement succeeded")


def readonly_sqlite_error() -> peewee.PeeweeException:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA query_only = ON")
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        return peewee.OperationalError(exc, *exc.args)
    raise AssertionError("the insert succeeded")


@pytest.mark.parametrize(("error", "reason"), [
    (peewee.InternalError(PgError("25006")), "read_only"),
    (peewee.OperationalError(PgError("53100")), "full"),
    (peewee.OperationalError(PgError("53200")), "full"),  # out of memory: class 53, insufficient resources
    (peewee.OperationalError(PgError("57P01")), "unreachable"),  # admin shutdown
    (peewee.OperationalError(PgError("08006")), "unreachable"),
    (peewee.OperationalError(PgError(None)), "unreachable"),  # server closed the connection unexpectedly
    (peewee.InterfaceError(PgError(None)), "unreachable"),  # connection already closed
    (peewee.OperationalError(PgError("40P01")), "busy"),  # deadlock detected: the retry goes through
    (MaxConnectionsExceeded("Exceeded maximum connections."), "busy"),
])
def test_storage_errors_are_a_503_naming_the_reason(error: Exception, reason: str) -> None:
    problem = storage_fault(error)
    assert problem is not None and problem.status == 503 and problem.extra["reason"] == reason
    assert int(problem.headers["Retry-After"]) > 0 and problem.code == "unavailable"


def test_sqlite_read_only_is_a_503() -> None:
    problem = storage_fault(readonly_sqlite_error())
    assert problem is not None and problem.extra["reason"] == "read_only"


def test_the_cause_is_found_behind_a_failed_rollback() -> None:
    """SQLITE_FULL rolls the transaction back itself; peewee's ROLLBACK then fails and raises instead."""
    try:
        try:
            raise peewee.OperationalError(PgError("53100"))
        except peewee.OperationalError:
            raise sqlite_error("ROLLBACK")  # noqa: B904 (as peewee's rollback raises it)
    except peewee.PeeweeException as exc:
        assert exc.__cause__ is None and exc.__context__ is not None
        problem = storage_fault(exc)
    assert problem is not None and problem.extra["reason"] == "full"


@pytest.mark.parametrize("error", [
    sqlite_error("SELECT * FROM missing"),  # a bug, not a fault of the storage
    peewee.IntegrityError(PgError("23505")),
    peewee.ProgrammingError(PgError("42P01")),
    peewee.DataError(PgError("22001")),
    ValueError("not a database error"),
])
def test_bugs_and_refusals_are_no_storage_fault(error: Exception) -> None:
    assert storage_fault(error) is None


def test_the_app_answers_a_storage_fault_503_without_the_driver_s_words() -> None:
    app = Flask(__name__)
    install_error_handlers(app)

    @app.get("/write")
    def write() -> str:
        raise readonly_sqlite_error()

    resp = app.test_client().get("/write")
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    body = resp.get_json()
    assert body["code"] == "unavailable" and body["reason"] == "read_only", body
    assert "readonly database" not in resp.get_data(as_text=True)
