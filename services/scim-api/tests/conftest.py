"""Fixtures: the SCIM API with the real token service and the directory in-process behind their clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import directory
import scim_api
import token_service
from shared.testing import InProcessClient, fresh_database_url, local_env

DATA = Path(__file__).parent / "data"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IVANTI = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return local_env(tmp_path)


@pytest.fixture
def token_app(env: dict[str, str], tmp_path: Path) -> Flask:
    return token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "token-service")})


@pytest.fixture
def directory_app(env: dict[str, str], tmp_path: Path) -> Flask:
    """The real directory with a fresh database of the engine under test."""
    return directory.create_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "directory")})


@pytest.fixture
def define_custom_attribute(directory_app: Flask) -> Any:
    """Define a tenant's custom attribute (R-DIR-11) through the directory's domain module."""

    def define(tenant: str, name: str) -> None:
        from directory.tenants import define_custom_attribute as define_in_directory

        with directory_app.app_context():
            define_in_directory(tenant, name)

    return define


@pytest.fixture
def app(env: dict[str, str], token_app: Flask, directory_app: Flask) -> Flask:
    app = scim_api.create_app(env)
    app.extensions["token_verifier"].token_service = InProcessClient(token_app, env["INTERNAL_API_KEY"])
    app.extensions["directory"].transport = InProcessClient(directory_app, env["INTERNAL_API_KEY"])
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_client(token_app: Flask, env: dict[str, str]) -> FlaskClient:
    """The token service's admin API, authenticated as the deployment admin."""
    client = token_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {env['ADMIN_API_KEY']}"
    return client


@pytest.fixture
def make_token(admin_client: FlaskClient):
    """Create the tenant if needed and generate a token for it: returns the token service's answer."""

    def make(tenant: str) -> dict:
        admin_client.post("/admin/v1/tenants", json={"id": tenant})
        resp = admin_client.post(f"/admin/v1/tenants/{tenant}/tokens", json={})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return make


def load(name: str) -> Any:
    """A request body from tests/data, named after its source (docs/entra-behaviour.md, Sources)."""
    return json.loads((DATA / name).read_text())


class Scim:
    """SCIM calls as Entra makes them: bearer token, application/scim+json, paths under the Tenant URL."""

    def __init__(self, client: FlaskClient, tenant: str, token: str, query: str = "") -> None:
        self.client, self.base, self.token, self.query = client, f"/scim/v2/{tenant}", token, query

    def __call__(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                 raw: str | None = None) -> Any:
        url = self.base + path
        if self.query:  # the Tenant URL's own query string (?aadOptscim062020) rides along
            url += ("&" if "?" in url else "?") + self.query
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(url, method=method, data=data, headers=all_headers,
                                content_type="application/scim+json; charset=utf-8")

    def create_user(self, body: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
        resp = self("POST", "/Users", {**(body or load("tut-create-user.json")), **changes})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def create_group(self, name: str) -> dict[str, Any]:
        body = {**load("tut-create-group.json"), "displayName": name}
        resp = self("POST", "/Groups", body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()


@pytest.fixture
def scim(client: FlaskClient, make_token: Any) -> Iterator[Scim]:
    yield Scim(client, "acme", make_token("acme")["token"])


@pytest.fixture(params=["default", "aadOptscim062020"])
def dialect_scim(request: pytest.FixtureRequest, scim: Scim) -> Scim:
    """Both Entra dialects: the default one, and the Tenant URL with ?aadOptscim062020 (COMPAT)."""
    return Scim(scim.client, "acme", scim.token, "" if request.param == "default" else "aadOptscim062020")


def error(resp: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM error body (RFC 7644 §3.12) with the status as a string and a detail for an admin."""
    body = resp.get_json(force=True)
    assert resp.status_code == status, body
    assert resp.headers["Content-Type"].startswith("application/scim+json")
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and len(body["detail"]) > 10
    assert body.get("scimType") == scim_type
    return body


def find(scim: Scim, flt: str) -> dict[str, Any]:
    resp = scim("GET", f"/Users?filter={flt}")
    assert resp.status_code == 200
    return resp.get_json()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    """The token verifier's monotonic clock, frozen: its caches' bounds are crossed by moving it."""
    fake = Clock()
    app.extensions["token_verifier"].clock = fake
    return fake
