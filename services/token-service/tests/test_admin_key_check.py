"""Other services' admin APIs take the same admin keys: the check endpoint and shared.admin_auth over it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g, jsonify
from flask.testing import FlaskClient

from shared.admin_auth import AdminVerifier, require_admin
from shared.errors import install_error_handlers
from shared.testing import InProcessClient

from .conftest import assert_problem, sha256

CHECK = "/internal/v1/admin-keys/check"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingClient(InProcessClient):
    calls = 0

    def request(self, method: str, path: str, **kw: Any) -> Any:
        CountingClient.calls += 1
        return super().request(method, path, **kw)


@pytest.fixture
def tenant_key(client: FlaskClient, admin: dict[str, str], tenant: str) -> dict[str, Any]:
    resp = client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": "ops"}, headers=admin)
    assert resp.status_code == 201
    return resp.get_json()


@pytest.fixture
def guarded(app: Flask, env: dict[str, str]) -> FlaskClient:
    """Another service's admin route behind require_admin, asking this token service."""
    other = Flask("other")
    CountingClient.calls = 0
    other.extensions["admin_verifier"] = AdminVerifier(CountingClient(app, env["INTERNAL_API_KEY"]))

    @other.get("/admin/v1/tenants/<tenant>/things")
    @require_admin
    def things(tenant: str) -> Any:
        return jsonify(admin=g.admin.admin_id, tenant=tenant)

    install_error_handlers(other)
    return other.test_client()


def test_the_check_names_the_deployment_admin_and_tenant_keys(client: FlaskClient, internal: dict[str, str],
                                                               env: dict[str, str], tenant_key: dict) -> None:
    deployment = client.post(CHECK, json={"key_hash": sha256(env["ADMIN_API_KEY"])}, headers=internal).get_json()
    assert deployment["valid"] is True and deployment["tenant"] is None and deployment["admin_id"] == "deployment"
    own = client.post(CHECK, json={"key_hash": sha256(tenant_key["key"])}, headers=internal).get_json()
    assert own["valid"] is True and own["tenant"] == "acme" and own["admin_id"] == f"admin-key:{tenant_key['id']}"
    unknown = client.post(CHECK, json={"key_hash": sha256("sta_nope")}, headers=internal).get_json()
    assert unknown == {"valid": False, "admin_id": None, "tenant": None, "cache_seconds": unknown["cache_seconds"]}
    assert 0 < unknown["cache_seconds"] <= 5


def test_the_check_needs_the_service_credential_and_a_hash(client: FlaskClient, internal: dict[str, str],
                                                          env: dict[str, str]) -> None:
    assert_problem(client.post(CHECK, json={"key_hash": sha256(env["ADMIN_API_KEY"])}), 401)
    assert_problem(client.post(CHECK, json={"key_hash": env["ADMIN_API_KEY"]}, headers=internal), 400, "invalid")


def test_require_admin_lets_each_key_act_where_the_token_service_would(guarded: FlaskClient, env: dict[str, str],
                                                                      tenant_key: dict) -> None:
    deployment = {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}
    own = {"Authorization": f"Bearer {tenant_key['key']}"}
    assert guarded.get("/admin/v1/tenants/zeta/things", headers=deployment).get_json()["admin"] == "deployment"
    assert guarded.get("/admin/v1/tenants/acme/things", headers=own).status_code == 200
    assert guarded.get("/admin/v1/tenants/zeta/things", headers=own).status_code == 404
    for headers in ({}, {"Authorization": "Bearer sta_wrong"}, {"Authorization": "Basic eDp5"}):
        resp = guarded.get("/admin/v1/tenants/acme/things", headers=headers)
        assert resp.status_code == 401 and resp.get_json()["code"] == "unauthorized"


def test_answers_are_cached_and_a_revoked_key_stops_after_the_cache(
        guarded: FlaskClient, client: FlaskClient, admin: dict[str, str], tenant_key: dict) -> None:
    clock = Clock()
    guarded.application.extensions["admin_verifier"].clock = clock
    own = {"Authorization": f"Bearer {tenant_key['key']}"}
    for _ in range(5):
        assert guarded.get("/admin/v1/tenants/acme/things", headers=own).status_code == 200
    assert CountingClient.calls == 1
    assert client.delete(f"/admin/v1/tenants/acme/admin-keys/{tenant_key['id']}", headers=admin).status_code == 204
    clock.now += 4.99  # inside the cache's bound: the answer cached before the revocation
    assert guarded.get("/admin/v1/tenants/acme/things", headers=own).status_code == 200
    assert CountingClient.calls == 1
    clock.now += 0.02  # past it: asked again, and refused
    assert guarded.get("/admin/v1/tenants/acme/things", headers=own).status_code == 401
    assert CountingClient.calls == 2
