"""The relay from the directory's outbox (R-NOT-4): every outcome arrives once, whatever stops when."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import directory
from directory.models import db as directory_db
from notifications import relay
from notifications.models import OutcomeSeen, RelayCursor
from shared.http import INTERNAL_KEY_HEADER
from shared.testing import InProcessClient

from .conftest import fresh_url

USER = {"userName": "ann@example.com", "active": True, "emails": [{"value": "ann@example.com", "type": "work"}],
        "name": {"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"}}


@pytest.fixture
def directory_app(env: dict[str, str], tmp_path: Path, postgres_database: str | None) -> Iterator[Flask]:
    app = directory.create_app({**env, "DATABASE_URL": fresh_url(tmp_path, postgres_database, "directory")})
    yield app
    close_all = getattr(directory_db.obj, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.fixture
def relayed(app: Flask, directory_app: Flask, env: dict[str, str], token_app: Flask) -> Callable[[], Any]:
    """The app's relay reading the in-process directory; tenant acme has a token, so it is relayed."""
    app.extensions["directory"] = InProcessClient(directory_app, env["INTERNAL_API_KEY"])
    admin = {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}
    token_app.test_client().post("/admin/v1/tenants", json={"id": "acme"}, headers=admin)
    token_app.test_client().post("/admin/v1/tenants/acme/tokens", json={}, headers=admin)

    def run() -> Any:
        with app.app_context():
            return app.extensions["relay"]()

    return run


def write(directory_app: Flask, env: dict[str, str], method: str, path: str, body: Any) -> Any:
    return directory_app.test_client().open(f"/internal/v1/tenants/acme{path}", method=method, json=body,
                                            headers={INTERNAL_KEY_HEADER: env["INTERNAL_API_KEY"]})


def kinds(app: Flask, env: dict[str, str]) -> list[tuple[str, str, int]]:
    resp = app.test_client().get("/admin/v1/tenants/acme/notifications",
                                  headers={"Authorization": f"Bearer {env['ADMIN_API_KEY']}"})
    return sorted((n["kind"], n["state"], n["count"]) for n in resp.get_json()["items"])


def test_refused_and_partial_writes_in_the_directory_become_notifications_R_NOT_2_R_NOT_3(
        app: Flask, directory_app: Flask, env: dict[str, str], relayed: Callable[[], Any]) -> None:
    bob = {**USER, "userName": "bob@example.com", "emails": [{"value": "bob@example.com"}]}
    assert write(directory_app, env, "POST", "/users", {**bob, "emails": []}).status_code == 400
    assert write(directory_app, env, "POST", "/users", {**USER, "custom": {"nope": "x"}}).status_code == 201
    report = relayed()
    assert (report.accepted, report.duplicates, report.tenants) == (2, 0, ["acme"])
    assert kinds(app, env) == [("all_not_synchronized", "open", 1), ("some_not_synchronized", "open", 1)]
    again = relayed()
    assert (again.accepted, again.duplicates) == (0, 0)  # the cursor moved: nothing is read twice
    assert write(directory_app, env, "POST", "/users", bob).status_code == 201  # the admin fixed the mapping
    assert relayed().accepted == 1
    assert kinds(app, env) == [("all_not_synchronized", "resolved", 1), ("some_not_synchronized", "open", 1)]


def test_a_relay_that_fails_before_commit_records_nothing_and_the_next_pass_everything_once(
        app: Flask, directory_app: Flask, env: dict[str, str], relayed: Callable[[], Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        write(directory_app, env, "POST", "/users", {**USER, "userName": f"u{i}@example.com"})

    def crash(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("the worker died between recording and moving the cursor")

    monkeypatch.setattr(relay, "_advance", crash)
    with pytest.raises(RuntimeError):
        relayed()
    with app.app_context():
        assert OutcomeSeen.select().count() == 0 and RelayCursor.select().count() == 0
    monkeypatch.undo()
    assert relayed().accepted == 3
    with app.app_context():
        assert OutcomeSeen.select().count() == 3 and relay.cursor_of("acme") > 0


def test_two_relays_reading_the_same_page_record_each_outcome_once(
        app: Flask, make_app: Callable[..., Flask], directory_app: Flask, env: dict[str, str],
        relayed: Callable[[], Any]) -> None:
    """A second worker or replica that read the same page before the first moved the cursor."""
    write(directory_app, env, "POST", "/users", {**USER, "custom": {"nope": "x"}})
    with app.app_context():
        page = relay._read(InProcessClient(directory_app, env["INTERNAL_API_KEY"]), "acme", 0)
    assert relayed().accepted == 1
    with app.app_context():
        late = relay.feed.record_outcomes("acme", page["items"], page["items"][0]["time"])
        relay._advance("acme", 0, page["items"][0]["time"])  # a slow reader never moves the cursor back
        assert (late.accepted, late.duplicates) == (0, 1) and relay.cursor_of("acme") == page["next_after"]
    assert kinds(app, env) == [("some_not_synchronized", "open", 1)]


def test_the_relay_waits_while_the_directory_is_down_and_catches_up(
        app: Flask, directory_app: Flask, env: dict[str, str], relayed: Callable[[], Any]) -> None:
    write(directory_app, env, "POST", "/users", {**USER, "emails": []})
    working = app.extensions["directory"]

    class Down:
        def get(self, *_a: Any, **_k: Any) -> Any:
            return type("R", (), {"status": 503, "data": None})()

    app.extensions["directory"] = Down()
    with pytest.raises(relay.ServiceUnavailable):
        relayed()
    app.extensions["directory"] = working
    assert relayed().accepted == 1
