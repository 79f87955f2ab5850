"""R-NOT-1: "Entra ID service is unreachable" when Entra has not called a set-up tenant for longer than the
threshold (2 h by default, cycles run about every 40 minutes); it resolves itself when Entra calls again."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifications import rules
from notifications.silence import unreachable
from notifications.worker import Periodic
from token_service.models import Token

from .conftest import listing

H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 11, 23, 12, 0, 0)


@pytest.mark.parametrize(("has_token", "last", "expected"), [
    (True, NOW - 3 * H, True),
    (True, NOW - H, False),  # within the threshold
    (True, NOW - 2 * H, False),  # exactly the threshold is not longer than it
    (True, None, False),  # Entra never called: provisioning is not set up yet
    (False, NOW - 30 * H, False),  # no Active token: provisioning was switched off here
])
def test_unreachable_needs_a_token_a_first_call_and_a_long_silence(has_token: bool, last: dt.datetime | None,
                                                                   expected: bool) -> None:
    assert unreachable(has_token, last, NOW, 2 * H) is expected


@pytest.fixture
def entra(token_admin: FlaskClient, token_app: Flask) -> Callable[[str, dt.datetime | None], str]:
    """Set a tenant up with a token and pretend Entra last called at `last` (None: never)."""
    ids: dict[str, str] = {}

    def called(tenant: str, last: dt.datetime | None) -> str:
        if tenant not in ids:
            token_admin.post("/admin/v1/tenants", json={"id": tenant})
            resp = token_admin.post(f"/admin/v1/tenants/{tenant}/tokens", json={})
            ids[tenant] = resp.get_json()["id"]
        with token_app.app_context():
            Token.update(last_used_at=last).where(Token.id == ids[tenant]).execute()
        return ids[tenant]

    return called


def check(app: Flask, now: dt.datetime) -> Any:
    with app.app_context():
        return app.extensions["check_silence"](now)


def unreachable_items(client: FlaskClient, admin: dict[str, str], tenant: str = "acme") -> list[dict]:
    return listing(client, admin, tenant=tenant, kind=rules.UNREACHABLE)["items"]


def test_silence_raises_once_and_resolves_when_entra_calls_again(app: Flask, client: FlaskClient,
                                                                 admin: dict[str, str], entra: Any) -> None:
    entra("acme", NOW - 3 * H)
    entra("quiet", None)  # has a token, Entra never called
    report = check(app, NOW)
    assert len(report.raised) == 1
    [n] = unreachable_items(client, admin)
    assert (n["state"], n["severity"], n["title"]) == ("open", "error", "Entra ID service is unreachable")
    assert "since 2026-11-23 09:00 UTC" in n["message"] and "Provisioning Status is On" in n["fix"]
    assert unreachable_items(client, admin, "quiet") == []
    later = check(app, NOW + dt.timedelta(minutes=1))
    assert later.raised == [] and len(unreachable_items(client, admin)) == 1  # checked again: not raised twice
    assert unreachable_items(client, admin)[0]["last_seen"] == "2026-11-23T12:01:00.000Z"
    entra("acme", NOW + dt.timedelta(minutes=2))
    assert len(check(app, NOW + dt.timedelta(minutes=3)).resolved) == 1
    [n] = unreachable_items(client, admin)
    assert n["state"] == "resolved" and n["resolved_at"] == "2026-11-23T12:03:00.000Z"


def test_the_threshold_is_configurable(make_app: Callable[..., Flask], client: FlaskClient, admin: dict[str, str],
                                       entra: Any) -> None:
    entra("acme", NOW - 20 * dt.timedelta(minutes=1))
    app = make_app(ENTRA_SILENCE_THRESHOLD_SECONDS="600")
    assert len(check(app, NOW).raised) == 1


def test_removing_the_tokens_resolves_it(app: Flask, client: FlaskClient, admin: dict[str, str], entra: Any,
                                         token_admin: FlaskClient) -> None:
    token_id = entra("acme", NOW - 3 * H)
    check(app, NOW)
    token_admin.delete(f"/admin/v1/tenants/acme/tokens/{token_id}")
    check(app, NOW + H)
    assert unreachable_items(client, admin)[0]["state"] == "resolved"


def test_the_watcher_runs_in_the_background_and_stops() -> None:
    ran = threading.Event()
    watcher = Periodic("test", ran.set, 0.01)
    watcher.start()
    assert ran.wait(5)
    watcher.stop()
    assert not watcher.running


def test_the_watcher_starts_lazily_and_zero_disables_it(make_app: Callable[..., Flask]) -> None:
    off = make_app(SILENCE_CHECK_SECONDS="0")
    off.test_client().get("/healthz")
    assert not off.extensions["silence_watcher"].running
    on = make_app(SILENCE_CHECK_SECONDS="3600")
    assert not on.extensions["silence_watcher"].running  # nothing at start-up (gunicorn forks after)
    on.test_client().get("/healthz")
    assert on.extensions["silence_watcher"].running
