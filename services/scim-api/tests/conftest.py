"""Fixtures: the SCIM API with the real token service running in-process behind its client."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import scim_api
import token_service
from shared.testing import InProcessClient, fresh_database_url, local_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return local_env(tmp_path)


@pytest.fixture
def token_app(env: dict[str, str], tmp_path: Path) -> Flask:
    return token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "token-service")})


@pytest.fixture
def app(env: dict[str, str], token_app: Flask) -> Flask:
    app = scim_api.create_app(env)
    app.extensions["token_verifier"].token_service = InProcessClient(token_app, env["INTERNAL_API_KEY"])
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
