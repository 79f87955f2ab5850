"""Operator commands: `flask create-tenant` and `flask generate-token` print JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from token_service.models import Tenant, Token

from .conftest import now, sha256


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def printed(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_tenant(runner: FlaskCliRunner) -> None:
    assert printed(runner.invoke(args=["create-tenant", "acme"])) == {
        "id": "acme", "scim_url": "http://127.0.0.1:8000/scim/v2/acme", "created": True}
    row = Tenant.get_by_id("acme")
    assert row.created_by == "operator-cli"


def test_create_existing_tenant_fails(runner: FlaskCliRunner) -> None:
    runner.invoke(args=["create-tenant", "acme"])
    created_at = Tenant.get_by_id("acme").created_at
    result = runner.invoke(args=["create-tenant", "acme"])
    assert result.exit_code == 1
    assert "Tenant 'acme' already exists." in result.output
    assert result.stdout == ""
    assert Tenant.get_by_id("acme").created_at == created_at


def test_create_tenant_if_missing(runner: FlaskCliRunner) -> None:
    assert printed(runner.invoke(args=["create-tenant", "acme", "--if-missing"]))["created"] is True
    again = printed(runner.invoke(args=["create-tenant", "acme", "--if-missing"]))
    assert again == {"id": "acme", "scim_url": "http://127.0.0.1:8000/scim/v2/acme", "created": False}
    assert Tenant.select().count() == 1


@pytest.mark.parametrize("flags", [[], ["--if-missing"]])
def test_create_tenant_with_bad_id_fails(runner: FlaskCliRunner, flags: list[str]) -> None:
    result = runner.invoke(args=["create-tenant", "Not Valid", *flags])
    assert result.exit_code == 1
    assert "lowercase letters" in result.output
    assert Tenant.select().count() == 0


def test_cli_and_api_agree(runner: FlaskCliRunner, client, admin: dict) -> None:
    printed(runner.invoke(args=["create-tenant", "acme"]))
    resp = client.post("/admin/v1/tenants", json={"id": "acme"}, headers=admin)
    assert resp.status_code == 409
    shown = client.get("/admin/v1/tenants/acme", headers=admin).get_json()
    assert shown["scim_url"] == "http://127.0.0.1:8000/scim/v2/acme"


def test_generate_token(runner: FlaskCliRunner, introspect, client, admin: dict) -> None:
    printed(runner.invoke(args=["create-tenant", "acme"]))
    before = now() - dt.timedelta(seconds=1)
    out = printed(runner.invoke(args=["generate-token", "acme"]))
    assert set(out) == {"id", "token", "state", "scim_url", "created_at", "expires_at"}
    assert out["state"] == "Active"
    assert out["scim_url"] == "http://127.0.0.1:8000/scim/v2/acme"
    assert out["expires_at"] is None
    assert before <= dt.datetime.fromisoformat(out["created_at"]) <= now() + dt.timedelta(seconds=1)
    row = Token.get_by_id(out["id"])
    assert row.secret_hash == sha256(out["token"])
    assert row.created_by == "operator-cli"
    assert introspect(out["token"])["active"] is True
    listed = client.get("/admin/v1/tenants/acme/tokens", headers=admin).get_json()["items"]
    assert [t["id"] for t in listed] == [out["id"]]


def test_generate_token_with_expiry(runner: FlaskCliRunner, introspect) -> None:
    printed(runner.invoke(args=["create-tenant", "acme"]))
    out = printed(runner.invoke(args=["generate-token", "acme", "--expires-in-days", "7"]))
    row = Token.get_by_id(out["id"])
    assert row.lifetime_days == 7
    assert row.expires_at == row.created_at + dt.timedelta(days=7)
    assert dt.datetime.fromisoformat(out["expires_at"]) == row.expires_at
    assert introspect(out["token"])["active"] is True


def test_generate_token_refuses_a_bad_lifetime(runner: FlaskCliRunner, subtests: pytest.Subtests) -> None:
    """Same bounds as the API: a lifetime of 0 days would hand out a token that is already dead."""
    printed(runner.invoke(args=["create-tenant", "acme"]))
    for days in ("0", "-1", "3651", "100000", "soon"):
        with subtests.test(days=days):
            result = runner.invoke(args=["generate-token", "acme", "--expires-in-days", days])
            assert result.exit_code == 2
            assert "--expires-in-days" in result.output
            assert result.stdout == ""
    assert Token.select().count() == 0
    assert printed(runner.invoke(args=["generate-token", "acme", "--expires-in-days", "3650"]))["expires_at"]


def test_generate_token_for_unknown_tenant(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["generate-token", "nope"])
    assert result.exit_code == 1
    assert "Tenant 'nope' was not found." in result.output
    assert result.stdout == ""


def test_generate_token_respects_the_limit(runner: FlaskCliRunner) -> None:
    printed(runner.invoke(args=["create-tenant", "acme"]))
    first = printed(runner.invoke(args=["generate-token", "acme"]))
    second = printed(runner.invoke(args=["generate-token", "acme"]))
    assert first["token"] != second["token"]
    result = runner.invoke(args=["generate-token", "acme"])
    assert result.exit_code == 1
    assert "already has 2 tokens" in result.output
    assert Token.select().count() == 2


def test_commands_are_listed(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["--help"])
    assert "create-tenant" in result.output
    assert "generate-token" in result.output
