"""R-NOT-1: "Entra ID service is unreachable" when Entra has not called a set-up tenant for longer than the
threshold (2 h by default, cycles run about every 40 minutes); it resolves itself when Entra calls again."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifications import rules
from notifications.silence import unreachable
from notifications.worker import Periodic
from shared.testing import wait_until

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


THRESHOLD = 2 * H  # ENTRA_SILENCE_THRESHOLD_SECONDS by default
MS = dt.timedelta(milliseconds=1)  # the token service reports times to the millisecond


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


class Entra:
    """Entra's calls as the token service sees them, through its API only: each SCIM request introspects the
    tenant's token (POST /internal/v1/introspect), which records when the tenant was last heard from, and
    GET /internal/v1/activity tells it, as the notifications service asks it. The token service's clock is
    the real one: the checks' times are set from what it recorded."""

    def __init__(self, token_admin: FlaskClient, token_app: Flask, internal: dict[str, str]) -> None:
        token_app.config["LAST_USED_RESOLUTION_SECONDS"] = 0.0  # as LAST_USED_RESOLUTION_SECONDS=0: every call
        self.admin, self.internal, self.headers = token_admin, token_app.test_client(), internal
        self.tokens: dict[str, dict[str, Any]] = {}

    def set_up(self, tenant: str) -> str:
        """The tenant with an Active token, which Entra has not used yet; returns the token's id."""
        assert self.admin.post("/admin/v1/tenants", json={"id": tenant}).status_code == 201
        resp = self.admin.post(f"/admin/v1/tenants/{tenant}/tokens", json={})
        assert resp.status_code == 201, resp.get_json()
        self.tokens[tenant] = resp.get_json()
        return self.tokens[tenant]["id"]

    def calls(self, tenant: str) -> dt.datetime:
        """One SCIM request of Entra's with the tenant's token (set up first if need be): when it was heard."""
        if tenant not in self.tokens:
            self.set_up(tenant)
        token_hash = hashlib.sha256(self.tokens[tenant]["token"].encode()).hexdigest()
        resp = self.internal.post("/internal/v1/introspect", json={"token_hash": token_hash}, headers=self.headers)
        assert resp.status_code == 200 and resp.get_json()["active"] is True, resp.get_json()
        return self.last_heard(tenant)

    def calls_after(self, tenant: str, moment: dt.datetime) -> dt.datetime:
        """Entra calls again, polled until the token service has heard it later than `moment`."""
        heard = wait_until(lambda: (last := self.calls(tenant)) > moment and last, 5.0, interval=0.001)
        assert heard, f"no call of {tenant} recorded after {moment}"
        return heard

    def last_heard(self, tenant: str) -> dt.datetime:
        resp = self.internal.get("/internal/v1/activity", headers=self.headers)
        assert resp.status_code == 200, resp.get_json()
        [item] = [i for i in resp.get_json()["items"] if i["tenant"] == tenant]
        return dt.datetime.fromisoformat(item["last_used_at"].removesuffix("Z"))


@pytest.fixture
def entra(token_admin: FlaskClient, token_app: Flask, internal: dict[str, str]) -> Entra:
    return Entra(token_admin, token_app, internal)


def check(app: Flask, now: dt.datetime) -> Any:
    with app.app_context():
        return app.extensions["check_silence"](now)


def unreachable_items(client: FlaskClient, admin: dict[str, str], tenant: str = "acme") -> list[dict]:
    return listing(client, admin, tenant=tenant, kind=rules.UNREACHABLE)["items"]


def test_silence_raises_once_and_resolves_when_entra_calls_again(app: Flask, client: FlaskClient,
                                                                 admin: dict[str, str], entra: Entra) -> None:
    heard = entra.calls("acme")
    entra.set_up("quiet")  # has a token, Entra never called
    now = heard + THRESHOLD + MS  # silent just longer than the threshold
    report = check(app, now)
    assert len(report.raised) == 1
    [n] = unreachable_items(client, admin)
    assert (n["state"], n["severity"], n["title"]) == ("open", "error", "Entra ID service is unreachable")
    assert f"since {heard:%Y-%m-%d %H:%M} UTC (2.0 hours)" in n["message"] and "Provisioning Status is On" in n["fix"]
    assert unreachable_items(client, admin, "quiet") == []
    later = check(app, now + MS)
    assert later.raised == [] and len(unreachable_items(client, admin)) == 1  # checked again: not raised twice
    assert unreachable_items(client, admin)[0]["last_seen"] == stamp(now + MS)
    again = entra.calls_after("acme", heard + MS)  # so `resolved_at` below comes after the checks above
    resolved_at = again + THRESHOLD  # silent exactly the threshold, which is not longer than it
    assert len(check(app, resolved_at).resolved) == 1
    [n] = unreachable_items(client, admin)
    assert n["state"] == "resolved" and n["resolved_at"] == stamp(resolved_at)


def test_the_threshold_is_configurable(app: Flask, make_app: Callable[..., Flask], entra: Entra) -> None:
    heard = entra.calls("acme")
    assert check(app, heard + 20 * dt.timedelta(minutes=1)).raised == []  # within the default 2 h
    shorter = make_app(ENTRA_SILENCE_THRESHOLD_SECONDS="600")
    assert len(check(shorter, heard + 20 * dt.timedelta(minutes=1)).raised) == 1


def test_removing_the_tokens_resolves_it(app: Flask, client: FlaskClient, admin: dict[str, str], entra: Entra,
                                         token_admin: FlaskClient) -> None:
    heard = entra.calls("acme")
    assert len(check(app, heard + 3 * H).raised) == 1
    token_id = entra.tokens["acme"]["id"]
    assert token_admin.delete(f"/admin/v1/tenants/acme/tokens/{token_id}").status_code == 204
    assert len(check(app, heard + 4 * H).resolved) == 1
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
