"""Fixtures: the notifications service with the real token service in-process behind its client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import notifications
import token_service
from notifications.models import db
from shared.testing import InProcessClient, engine, fresh_database_url, fresh_schema_url, local_env
from token_service.models import db as token_db

PROBLEM = "application/problem+json"
T0 = dt.datetime(2026, 11, 23, 8, 0, 0)


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """On PostgreSQL, one database for the session; None on SQLite."""
    if engine() != "postgresql":
        return None
    return fresh_database_url(tmp_path_factory.mktemp("pg"), "notifications")


def fresh_url(tmp_path: Path, postgres_database: str | None, name: str) -> str:
    return fresh_schema_url(tmp_path, postgres_database, name)


@pytest.fixture
def env(tmp_path: Path, postgres_database: str | None) -> dict[str, str]:
    return local_env(tmp_path, DATABASE_URL=fresh_url(tmp_path, postgres_database, "notifications"),
                     SILENCE_CHECK_SECONDS="0", RELAY_SECONDS="0")


@pytest.fixture
def token_app(env: dict[str, str], tmp_path: Path, postgres_database: str | None) -> Iterator[Flask]:
    app = token_service.create_app({**env, "DATABASE_URL": fresh_url(tmp_path, postgres_database, "token-service")})
    yield app
    close_all = getattr(token_db.obj, "close_all", None)
    if close_all is not None:
        close_all()


def wire(app: Flask, token_app: Flask, env: dict[str, str]) -> Flask:
    """Point the notifications app's token service client (admin keys, activity) at the in-process app."""
    client = InProcessClient(token_app, env["INTERNAL_API_KEY"])
    app.extensions["token_service"] = client
    app.extensions["admin_verifier"].token_service = client
    app.extensions["webhooks"].backoff = 0.01
    return app


@pytest.fixture
def make_app(env: dict[str, str], token_app: Flask) -> Iterator[Callable[..., Flask]]:
    """Build a notifications app on the test's database (again: a restart), with extra settings."""
    apps: list[Flask] = []

    def make(**overrides: str) -> Flask:
        app = wire(notifications.create_app({**env, **overrides}), token_app, env)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["silence_watcher"].stop()
        app.extensions["relay_worker"].stop()
        app.extensions["webhooks"].stop()
    close_all = getattr(db.obj, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def internal(env: dict[str, str]) -> dict[str, str]:
    return {"X-Internal-Key": env["INTERNAL_API_KEY"]}


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    """Headers of the deployment admin."""
    return {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}


@pytest.fixture
def token_admin(token_app: Flask, admin: dict[str, str]) -> FlaskClient:
    client = token_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = admin["Authorization"]
    return client


@pytest.fixture
def tenant_key(token_admin: FlaskClient) -> Callable[[str], dict[str, str]]:
    """Create the tenant on the token service and an admin key for it: its headers."""

    def make(tenant: str) -> dict[str, str]:
        token_admin.post("/admin/v1/tenants", json={"id": tenant})
        resp = token_admin.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": "ops"})
        assert resp.status_code == 201, resp.get_json()
        return {"Authorization": f"Bearer {resp.get_json()['key']}"}

    return make


class Outcomes:
    """Sync outcomes as the directory's relay sends them, with increasing ids and times."""

    def __init__(self, client: FlaskClient, internal: dict[str, str], tenant: str = "acme") -> None:
        self.client, self.internal, self.tenant = client, internal, tenant
        self.next_id = 1
        self.clock = T0

    def make(self, status: str = "ok", *, user: str = "ann@example.com", user_id: str | None = "u-ann",
             operation: str = "PATCH /Users", stored: list[str] | None = None, dropped: list[dict] | None = None,
             refusal: dict | None = None, minutes: int = 1) -> dict[str, Any]:
        self.clock += dt.timedelta(minutes=minutes)
        item = {"id": self.next_id, "time": self.clock.isoformat() + "Z", "operation": operation,
                "subjectId": user_id, "subjectName": user, "status": status,
                "stored": stored if stored is not None else ["userName", "emails", "name"],
                "dropped": dropped or []}
        if refusal is not None:
            item["refusal"] = refusal
        self.next_id += 1
        return item

    def send(self, *items: dict[str, Any], tenant: str | None = None) -> dict[str, Any]:
        resp = self.client.post(f"/internal/v1/tenants/{tenant or self.tenant}/outcomes", json={"items": list(items)},
                                headers=self.internal)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def __call__(self, *args: Any, **kw: Any) -> dict[str, Any]:
        """Make one outcome and send it."""
        item = self.make(*args, **kw)
        self.send(item)
        return item


@pytest.fixture
def outcomes(client: FlaskClient, internal: dict[str, str]) -> Outcomes:
    return Outcomes(client, internal)


def refused_email(user: str = "bob@example.com", user_id: str | None = None) -> dict[str, Any]:
    return {"status": "refused", "user": user, "user_id": user_id, "operation": "POST /Users", "stored": [],
            "refusal": {"attribute": "emails", "detail": f"User '{user}' has no email address.",
                        "reason": "invalid_value"}}


def custom_drop(name: str = "custAttr9") -> dict[str, Any]:
    return {"attribute": f"urn:ietf:params:scim:schemas:extension:ivanti:2.0:User:{name}",
            "reason": "undefined_custom_attribute", "detail": f"{name} is not defined"}


def listing(client: FlaskClient, admin: dict[str, str], tenant: str = "acme", **query: Any) -> dict[str, Any]:
    resp = client.get(f"/admin/v1/tenants/{tenant}/notifications", query_string=query, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def only(client: FlaskClient, admin: dict[str, str], **query: Any) -> dict[str, Any]:
    items = listing(client, admin, **query)["items"]
    assert len(items) == 1, items
    return items[0]


def assert_problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    if code is not None:
        assert body["code"] == code
    return body
