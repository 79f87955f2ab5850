"""Fixtures: a directory app on a fresh database of the engine under test, and a tenant-scoped client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from directory import create_app
from directory.models import db
from shared.http import INTERNAL_KEY_HEADER
from shared.testing import InProcessClient, fresh_database_url, local_env
from token_service import create_app as create_token_app
from token_service.models import db as token_db

TENANT = "acme"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return local_env(tmp_path, DATABASE_URL=fresh_database_url(tmp_path, "directory"))


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Flask]:
    app = create_app(env)
    yield app
    if not db.is_closed():
        db.close()
    close_all = getattr(db.obj, "close_all", None)
    if close_all is not None:  # PostgreSQL pool: free the connections so the test database can go
        close_all()


@pytest.fixture
def token_app(env: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    app = create_token_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "token-service")})
    yield app
    close_all = getattr(token_db.obj, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.fixture
def admin(app: Flask, token_app: Flask, env: dict[str, str]) -> Any:
    """Calls the directory's admin API for tenant acme with the deployment key (or `key=`)."""
    app.extensions["admin_verifier"].token_service = InProcessClient(token_app, env["INTERNAL_API_KEY"])
    client = app.test_client()

    def call(method: str, path: str, json: Any = None, key: str | None = None, tenant: str = "acme",
             **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {key or env['ADMIN_API_KEY']}"}
        return client.open(f"/admin/v1/tenants/{tenant}{path}", method=method, json=json, headers=headers, **kw)

    return call


class Api:
    """Calls /internal/v1/tenants/<tenant>/… with the service credential."""

    def __init__(self, client: FlaskClient, key: str, tenant: str = TENANT) -> None:
        self.client, self.key, self.tenant = client, key, tenant

    def __call__(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> Any:
        resp = self.client.open(f"/internal/v1/tenants/{self.tenant}{path}", method=method, json=json,
                                headers={INTERNAL_KEY_HEADER: self.key, **(headers or {})}, buffered=True, **kwargs)
        resp.close()  # as a WSGI server does once the answer is sent: runs the view's call_on_close work
        return resp

    def for_tenant(self, tenant: str) -> Api:
        return Api(self.client, self.key, tenant)


@pytest.fixture
def api(app: Flask, env: dict[str, str]) -> Api:
    return Api(app.test_client(), env["INTERNAL_API_KEY"])


def user_body(user_name: str = "ann@example.com", **overrides: Any) -> dict[str, Any]:
    """A user as Entra typically creates one (docs/entra-behaviour.md, Users), in the contract's shape."""
    body: dict[str, Any] = {
        "userName": user_name,
        "externalId": user_name.split("@")[0],
        "active": True,
        "displayName": "Ann Example",
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "name": {"formatted": "Ann Example", "givenName": "Ann", "familyName": "Example"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_user(api: Api) -> Any:
    def make(user_name: str = "ann@example.com", **overrides: Any) -> dict[str, Any]:
        resp = api("POST", "/users", user_body(user_name, **overrides))
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return make


@pytest.fixture
def make_group(api: Api) -> Any:
    def make(display_name: str = "Sales", members: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"displayName": display_name, "members": [{"value": m} for m in members or []], **overrides}
        resp = api("POST", "/groups", body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return make


class QueryLog:
    """Every SQL statement the database runs while installed (hot paths guard their query count)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def clear(self) -> None:
        self.statements.clear()

    def mentioning(self, word: str) -> list[str]:
        return [s for s in self.statements if word in s]


@pytest.fixture
def query_log(app: Flask, monkeypatch: pytest.MonkeyPatch) -> QueryLog:
    log = QueryLog()
    real = db.obj.execute_sql

    def recording(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        log.statements.append(sql)
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(db.obj, "execute_sql", recording)
    return log


def insert_old_tenant(database: Any, tenant: str, now: Any) -> None:
    """A tenant row in a database migrated to an older version: Tenant.create would also write the columns
    that later migrations add (the counts of migration 5)."""
    database.execute_sql(f"INSERT INTO tenant (id, created_at) VALUES ({database.param}, {database.param})",
                         (tenant, now))
