"""R-TOK-1: token secrets and admin keys are never stored in clear, nor written to a log."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from token_service.models import db

from .conftest import sha256

TABLES = {"tenant", "token", "adminkey", "auditevent", "schema_migrations"}


def database_text() -> str:
    """Every value of every row of every table of the service's database, as one string."""
    tables = set(db.get_tables())
    assert tables >= TABLES, tables  # the scan below really covers the service's tables
    cells = []
    for table in sorted(tables):
        for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():
            cells.extend(str(value) for value in row)
    return "\n".join(cells)


def fragments(secret: str) -> list[str]:
    """The secret and the parts of it that alone would be as good as (or reveal) the secret."""
    parts = [secret]
    if secret.count(".") == 2:  # a JWT: its signature is unique to this secret
        parts.append(secret.rsplit(".", 1)[1])
    if secret.startswith("sta_"):
        parts.append(secret[4:])
    return parts


@pytest.fixture
def everything(client: FlaskClient, admin: dict, generate, tenant_admin, introspect, tenant: str) -> list[str]:
    """Run every action that handles a secret; return all secrets that were handed out."""
    key_headers, key = tenant_admin(tenant)
    first = generate(tenant, expires_in_days=3)
    second = generate(tenant, headers=key_headers)
    base = f"/admin/v1/tenants/{tenant}/tokens/{first['id']}"
    renewed = client.post(base + "/renew", json={"expires_in_days": 9}, headers=key_headers).get_json()
    for secret in (first["token"], second["token"], renewed["token"]):
        introspect(secret)
    client.post(base + "/deactivate", headers=admin)
    client.post(base + "/activate", headers=admin)
    client.get(f"/admin/v1/tenants/{tenant}/audit", headers=key_headers)
    # Failures too: the limit, a wrong key, a SCIM token presented as an admin key.
    assert client.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=admin).status_code == 409
    client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {second['token']}"})
    client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {key['key']}x"})
    return [first["token"], second["token"], renewed["token"], key["key"]]


def test_no_secret_is_stored_in_clear(env: dict, everything: list[str]) -> None:
    text = database_text()
    secrets = [*everything, env["ADMIN_API_KEY"], env["INTERNAL_API_KEY"]]
    for secret in secrets:
        for fragment in fragments(secret):
            assert fragment not in text
    # Only the hashes of the live secrets are kept (the first token's was replaced by its renewal).
    first, second, renewed, admin_key = everything
    assert sha256(second) in text
    assert sha256(renewed) in text
    assert sha256(admin_key) in text
    assert sha256(first) not in text


def test_no_secret_is_logged(env: dict, client: FlaskClient, admin: dict, generate, tenant_admin, introspect,
                             tenant: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # includes every SQL statement and its parameters (peewee)
    key_headers, key = tenant_admin(tenant)
    issued = generate(tenant, headers=key_headers)
    renewed = client.post(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/renew", json={},
                          headers=admin).get_json()
    introspect(renewed["token"])
    client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {renewed['token']}"})
    assert any(r.name == "peewee" for r in caplog.records)  # the capture really sees the queries
    text = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    for secret in (issued["token"], renewed["token"], key["key"], env["ADMIN_API_KEY"], env["INTERNAL_API_KEY"]):
        for fragment in fragments(secret):
            assert fragment not in text


def test_unexpected_errors_log_no_secret(env: dict, app, client: FlaskClient, admin: dict, tenant: str,
                                         monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A 500 logs a traceback; it must carry neither the request's key nor details to the client."""
    from token_service import tokens

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(tokens, "generate_token", broken)
    caplog.set_level(logging.INFO)
    resp = client.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=admin)
    assert resp.status_code == 500
    assert resp.mimetype == "application/problem+json"
    assert "on fire" not in resp.get_data(as_text=True)
    assert "unhandled error" in caplog.text
    assert "database on fire" in caplog.text
    assert env["ADMIN_API_KEY"] not in caplog.text
