"""Fixtures: a token service app on a fresh database of the engine under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.testing import fresh_database_url, local_env
from token_service import create_app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return local_env(tmp_path, DATABASE_URL=fresh_database_url(tmp_path, "token-service"))


@pytest.fixture
def app(env: dict[str, str]) -> Flask:
    return create_app(env)


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
