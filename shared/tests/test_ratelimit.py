"""Failed authentication is limited per client and tenant; known admin keys are never throttled."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from werkzeug.test import EnvironBuilder

from shared import ratelimit
from shared.admin_auth import AdminVerifier, require_admin
from shared.config import ConfigError
from shared.credentials import secret_hash
from shared.errors import install_error_handlers
from shared.http import ServiceResponse
from shared.ratelimit import AuthFailureLimiter


class Clock:
    """The limiter's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_failures_within_the_limit_pass_then_the_wait_is_given_in_seconds(clock: Clock) -> None:
    limiter = AuthFailureLimiter("3 per 10 seconds", clock=clock)
    assert [limiter.failed("10.0.0.1", "acme") for _ in range(3)] == [None, None, None]
    clock.now += 4
    assert limiter.failed("10.0.0.1", "acme") == 6  # the first failure leaves the window in 6 s
    assert limiter.failed("10.0.0.1", "acme") == 6  # refusals are not counted: the wait does not grow


def test_each_client_and_tenant_has_its_own_count(clock: Clock) -> None:
    limiter = AuthFailureLimiter("2 per minute", clock=clock)
    for _ in range(2):
        limiter.failed("10.0.0.1", "acme")
    assert limiter.failed("10.0.0.1", "acme") is not None
    assert limiter.failed("10.0.0.2", "acme") is None
    assert limiter.failed("10.0.0.1", "contoso") is None
    assert limiter.failed("10.0.0.1", "") is None


def test_the_window_moves_on(clock: Clock) -> None:
    limiter = AuthFailureLimiter("2 per 2 seconds", clock=clock)
    limiter.failed("10.0.0.1", "acme")
    clock.now += 1
    limiter.failed("10.0.0.1", "acme")
    assert limiter.failed("10.0.0.1", "acme") == 1
    clock.now += 1.01  # the first failure has left the window, the second has not
    assert limiter.failed("10.0.0.1", "acme") is None
    assert limiter.failed("10.0.0.1", "acme") == 1


def test_an_empty_limit_switches_it_off(clock: Clock) -> None:
    limiter = AuthFailureLimiter.from_env({"AUTH_FAILURE_LIMIT": " "})
    assert all(limiter.failed("10.0.0.1", "acme") is None for _ in range(1_000))


def test_settings_come_from_the_environment_with_defaults() -> None:
    default = AuthFailureLimiter.from_env({})
    assert (default.limit.amount, default.limit.get_expiry(), default.trusted_proxies) == (60, 60, 0)
    custom = AuthFailureLimiter.from_env({"AUTH_FAILURE_LIMIT": "5 per 2 seconds",
                                          "AUTH_FAILURE_TRUSTED_PROXIES": "1"})
    assert (custom.limit.amount, custom.limit.get_expiry(), custom.trusted_proxies) == (5, 2, 1)


@pytest.mark.parametrize("env", [{"AUTH_FAILURE_LIMIT": "lots"}, {"AUTH_FAILURE_LIMIT": "5 per fortnight"},
                                 {"AUTH_FAILURE_TRUSTED_PROXIES": "one"}])
def test_a_malformed_setting_stops_the_service_from_starting(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        AuthFailureLimiter.from_env(env)


@pytest.mark.parametrize(("proxies", "forwarded", "client"), [
    (0, "203.0.113.9", "10.0.0.1"),  # no proxy trusted: a client cannot pick its own bucket
    (1, "203.0.113.9", "203.0.113.9"),
    (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the left value is the client's own claim
    (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
    (2, "203.0.113.9", "10.0.0.1"),  # fewer values than proxies: not from the proxies, use the peer
    (1, "", "10.0.0.1"),
])
def test_the_client_is_the_peer_or_what_the_trusted_proxies_saw(proxies: int, forwarded: str, client: str) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    req = EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_request()
    assert AuthFailureLimiter(trusted_proxies=proxies).client_of(req) == client


def test_memory_stays_bounded_under_a_spray_of_clients(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 50)
    limiter = AuthFailureLimiter("1 per minute", clock=clock)
    for n in range(500):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", "acme")
        assert len(limiter._failures) <= 50
    limiter.failed("10.9.9.9", "acme")
    assert limiter.failed("10.9.9.9", "acme") is not None  # still limiting after a reset


class KeyCheck:
    """The token service's admin-key check: one key is known."""

    def __init__(self, known: str) -> None:
        self.known = secret_hash(known)

    def post(self, _path: str, *, json_body: dict[str, Any]) -> ServiceResponse:
        valid = json_body["key_hash"] == self.known
        return ServiceResponse(200, {"valid": valid, "admin_id": "adm-1" if valid else None,
                                     "tenant": None, "cache_seconds": 5.0}, {})


@pytest.fixture
def admin_app() -> Flask:
    app = Flask(__name__)
    install_error_handlers(app)
    app.extensions["admin_verifier"] = AdminVerifier(KeyCheck("sta_good"),  # type: ignore[arg-type]
                                                     limiter=AuthFailureLimiter("3 per minute"))

    @app.get("/admin/v1/tenants/<tenant>/things")
    @require_admin
    def things(tenant: str) -> dict[str, str]:
        return {"admin": g.admin.admin_id, "tenant": tenant}

    return app


def test_admin_api_answers_429_as_a_problem_past_the_limit_and_a_known_key_still_works(admin_app: Flask) -> None:
    client = admin_app.test_client()
    wrong = {"Authorization": "Bearer sta_wrong"}
    statuses = [client.get("/admin/v1/tenants/acme/things", headers=wrong).status_code for _ in range(3)]
    statuses.append(client.get("/admin/v1/tenants/acme/things").status_code)  # no key at all counts too
    assert statuses == [401, 401, 401, 429]
    resp = client.get("/admin/v1/tenants/acme/things", headers=wrong)
    body = resp.get_json()
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert (body["status"], body["code"]) == (429, "too_many_failed_attempts")
    assert "admin key" in body["detail"]
    good = {"Authorization": "Bearer sta_good"}
    assert all(client.get("/admin/v1/tenants/acme/things", headers=good).status_code == 200 for _ in range(20))
    assert client.get("/admin/v1/tenants/contoso/things", headers=wrong).status_code == 401
    other_client = client.get("/admin/v1/tenants/acme/things", headers=wrong,
                              environ_overrides={"REMOTE_ADDR": "10.0.0.2"})
    assert other_client.status_code == 401


def test_a_stale_session_hash_is_not_a_failed_attempt(admin_app: Flask) -> None:
    """identify_hash serves signed-in sessions (the Notifications page): a revoked key there is no session."""
    verifier = admin_app.extensions["admin_verifier"]
    with admin_app.test_request_context("/admin/v1/tenants/acme/things"):
        assert all(verifier.identify_hash(secret_hash("sta_revoked")) is None for _ in range(10))
