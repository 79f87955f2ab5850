"""Storage faults: a database that refuses writes, read-only or full, is a 503 and leaves nothing.

Entra retries what answers 503 and quarantines a job that keeps getting 5xx for what it sends
(docs/entra-behaviour.md, Retries and quarantine): a storage fault is a 503 with Retry-After and a problem
body that says what is wrong, never a 500 with a stack trace; the write it hit leaves no row (no user
without its audit event or outcome, R-DIR-13); reads go on; and the same write succeeds once the fault
is gone. The faults are the engines' own errors, raised on the connection the app uses:
- read-only: SQLite's SQLITE_READONLY through `PRAGMA query_only` (the code a read-only file gives; chmod
  would not stop root, nor a connection opened before); PostgreSQL's read_only_sql_transaction through
  `default_transaction_read_only` on the database, as a read-only replica or an operator's switch gives.
- full: SQLite's SQLITE_FULL through `PRAGMA max_page_count` at the current size; PostgreSQL's disk_full
  (SQLSTATE 53100) raised when the audit event is inserted, after the user row, so the rollback must undo it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from directory.models import AuditEvent, Group, Invitation, Membership, SyncOutcome, Tenant, User, db
from shared.db import is_postgres
from shared.testing import read_only_database

from .conftest import Api, user_body

MODELS = (Tenant, User, Group, Membership, AuditEvent, SyncOutcome, Invitation)
# Bigger than a page: its row must grow the file, however much room the pages already hold.
LARGE = "x" * 20_000


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a write touches."""
    return {model.__name__: sorted(map(tuple, model.select().tuples()), key=repr) for model in MODELS}


@contextmanager
def full() -> Iterator[None]:
    if is_postgres(db.obj):
        db.execute_sql("CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';"
                       " END $$")
        db.execute_sql("CREATE TRIGGER disk_full BEFORE INSERT ON audit_events FOR EACH ROW "
                       "EXECUTE FUNCTION disk_full()")
        try:
            yield
        finally:
            db.execute_sql("DROP TRIGGER disk_full ON audit_events")
        return
    db.execute_sql("VACUUM")  # no free pages left to reuse
    (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
    db.execute_sql(f"PRAGMA max_page_count = {pages}")
    try:
        yield
    finally:
        db.execute_sql("PRAGMA max_page_count = 1073741823")


def assert_unavailable(resp: Any, reason: str) -> None:
    assert resp.status_code == 503, resp.get_json()
    assert int(resp.headers["Retry-After"]) > 0
    problem = resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert problem["code"] == "unavailable" and problem["reason"] == reason, problem
    assert "nothing was changed" in problem["detail"]
    text = resp.get_data(as_text=True).lower()
    assert not any(word in text for word in ("traceback", "sqlite", "psycopg", "peewee", "select ", "insert ")), text


def assert_reads_work(api: Api, user_id: str, group_id: str) -> None:
    assert api("GET", f"/users/{user_id}").status_code == 200
    found = api("POST", "/users/search", {"filter": {"op": "eq", "attr": "userName", "value": "ann@example.com"}})
    assert found.status_code == 200, found.get_json()
    assert [u["id"] for u in found.get_json()["items"]] == [user_id]
    assert api("GET", f"/groups/{group_id}").status_code == 200
    assert api("GET", "/audit").status_code == 200
    assert api("GET", "/sync-outcomes").status_code == 200
    assert api.client.get("/healthz").status_code == 200


Write = Callable[[str, str], tuple[str, str, Any]]
WRITES: dict[str, Write] = {
    "create user": lambda user, group: ("POST", "/users", user_body("bob@example.com")),
    "replace user": lambda user, group: ("PUT", f"/users/{user}", user_body(title="Manager")),
    "delete user": lambda user, group: ("DELETE", f"/users/{user}", None),
    "create group": lambda user, group: ("POST", "/groups", {"displayName": "Ops"}),
    "add a member": lambda user, group: ("PATCH", f"/groups/{group}", {"addMembers": [user]}),
    "rename group": lambda user, group: ("PATCH", f"/groups/{group}", {"displayName": "Sales EMEA"}),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_a_write_to_a_read_only_database_is_a_503_that_leaves_nothing_and_reads_go_on_R_DIR_13(
        api: Api, make_user: Any, make_group: Any, write: str) -> None:
    user_id, group_id = make_user()["id"], make_group()["id"]
    method, path, body = WRITES[write](user_id, group_id)
    before = snapshot()
    with read_only_database(db):
        assert_unavailable(api(method, path, body), "read_only")
        assert snapshot() == before
        assert_reads_work(api, user_id, group_id)
    retry = api(method, path, body)  # once writable again
    assert retry.status_code == {"POST": 201, "DELETE": 204}.get(method, 200), retry.get_json()
    assert snapshot() != before


def test_a_create_in_a_full_database_is_a_503_that_leaves_no_user_without_its_audit_event_R_DIR_13(
        api: Api, make_user: Any, make_group: Any) -> None:
    user_id, group_id = make_user()["id"], make_group()["id"]
    body = user_body("bob@example.com", displayName=LARGE)
    before = snapshot()
    with full():
        assert_unavailable(api("POST", "/users", body), "full")
        assert snapshot() == before
        assert_reads_work(api, user_id, group_id)
    created = api("POST", "/users", body)
    assert created.status_code == 201, created.get_json()
    bob = created.get_json()["id"]
    assert [e["kind"] for e in api("GET", f"/audit?subject={bob}").get_json()["items"]] == ["user.created"]
    outcomes = api("GET", "/sync-outcomes").get_json()["items"]
    assert [o["operation"] for o in outcomes if o["subjectId"] == bob] == ["POST /Users"]
