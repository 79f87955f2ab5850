"""Fixtures: a token service app on a fresh database of the engine under test."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.testing import engine, fresh_database_url, fresh_schema_url, local_env
from token_service import create_app
from token_service.models import db

PROBLEM = "application/problem+json"


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """On PostgreSQL, one database for the session (per xdist worker); None on SQLite."""
    if engine() != "postgresql":
        return None
    return fresh_database_url(tmp_path_factory.mktemp("pg"), "token-service")


def fresh_url(tmp_path: Path, postgres_database: str | None) -> str:
    return fresh_schema_url(tmp_path, postgres_database, "token-service")


@pytest.fixture
def env(tmp_path: Path, postgres_database: str | None) -> dict[str, str]:
    return local_env(tmp_path, DATABASE_URL=fresh_url(tmp_path, postgres_database))


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Flask]:
    yield create_app(env)
    # Hand back this test's connections now rather than whenever the app is garbage-collected.
    close_all = getattr(db.obj, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    """Headers of the deployment admin."""
    return {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}


@pytest.fixture
def tenant(client: FlaskClient, admin: dict[str, str]) -> str:
    assert client.post("/admin/v1/tenants", json={"id": "acme"}, headers=admin).status_code == 201
    return "acme"


@pytest.fixture
def internal(env: dict[str, str]) -> dict[str, str]:
    """Headers of another service calling the internal API."""
    return {"X-Internal-Key": env["INTERNAL_API_KEY"]}


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_time(value: str) -> dt.datetime:
    """An API timestamp ('…Z') as naive UTC, the way the database stores it."""
    assert value.endswith("Z"), value
    return dt.datetime.fromisoformat(value[:-1])


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def assert_problem(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem body with the given status (and code); returns the body."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == resp.headers["X-Request-Id"]
    if code is not None:
        assert body["code"] == code
    return body


@pytest.fixture
def create_tenant(client: FlaskClient, admin: dict[str, str]) -> Callable[[str], str]:
    def create(tenant_id: str) -> str:
        resp = client.post("/admin/v1/tenants", json={"id": tenant_id}, headers=admin)
        assert resp.status_code == 201, resp.get_json()
        return tenant_id

    return create


@pytest.fixture
def generate(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Generate a token (201 expected); keyword arguments are the request body."""

    def gen(tenant_id: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
        resp = client.post(f"/admin/v1/tenants/{tenant_id}/tokens", json=body, headers=headers or admin)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return gen


@pytest.fixture
def introspect(client: FlaskClient, internal: dict[str, str]) -> Callable[[str], dict[str, Any]]:
    """What the SCIM API would learn about a presented token secret."""

    def ask(secret: str) -> dict[str, Any]:
        resp = client.post("/internal/v1/introspect", json={"token_hash": sha256(secret)}, headers=internal)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    return ask


@pytest.fixture
def tenant_admin(client: FlaskClient, admin: dict[str, str]) -> Callable[[str], tuple[dict[str, str], dict]]:
    """Create an admin key for a tenant with the deployment key: (its headers, the 201 body)."""

    def make(tenant_id: str, name: str = "ops") -> tuple[dict[str, str], dict]:
        resp = client.post(f"/admin/v1/tenants/{tenant_id}/admin-keys", json={"name": name}, headers=admin)
        assert resp.status_code == 201, resp.get_json()
        body = resp.get_json()
        return {"Authorization": f"Bearer {body['key']}"}, body

    return make
