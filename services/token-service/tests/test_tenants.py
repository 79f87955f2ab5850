"""Tenants: created by the deployment admin key only, with a slug id and a fixed Target SCIM URL."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from token_service.models import Tenant

from .conftest import assert_problem, now, parse_time


def test_create_tenant(client: FlaskClient, admin: dict) -> None:
    before = now() - dt.timedelta(seconds=1)
    resp = client.post("/admin/v1/tenants", json={"id": "acme"}, headers=admin)
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == {"id", "created_at", "scim_url"}
    assert body["id"] == "acme"
    assert body["scim_url"] == "http://127.0.0.1:8000/scim/v2/acme"
    assert before <= parse_time(body["created_at"]) <= now() + dt.timedelta(seconds=1)
    row = Tenant.get_by_id("acme")
    assert row.created_by == "deployment"


def test_scim_url_follows_public_base_url(env: dict) -> None:
    from token_service import create_app

    app = create_app({**env, "PUBLIC_BASE_URL": "https://scim.example.com/"})
    resp = app.test_client().post("/admin/v1/tenants", json={"id": "acme"},
                                  headers={"Authorization": f"Bearer {env['ADMIN_API_KEY']}"})
    assert resp.status_code == 201
    assert resp.get_json()["scim_url"] == "https://scim.example.com/scim/v2/acme"


def test_duplicate_tenant_is_409(client: FlaskClient, admin: dict, tenant: str) -> None:
    created_at = Tenant.get_by_id(tenant).created_at
    body = assert_problem(client.post("/admin/v1/tenants", json={"id": tenant}, headers=admin), 409, "tenant_exists")
    assert "'acme' already exists" in body["detail"]
    assert Tenant.select().count() == 1
    assert Tenant.get_by_id(tenant).created_at == created_at


BAD_IDS = ["", "Acme", "ac me", "acme_corp", "-acme", "acme-", "a" * 33, "acme\n", "\nacme", "acmé", "acme/x", "../x"]
GOOD_IDS = ["a", "7", "acme", "acme-corp-2", "a" * 32, "a-b"]


def test_bad_tenant_id_is_400(client: FlaskClient, admin: dict, subtests: pytest.Subtests) -> None:
    for tenant_id in BAD_IDS:
        with subtests.test(tenant_id=tenant_id):
            body = assert_problem(client.post("/admin/v1/tenants", json={"id": tenant_id}, headers=admin), 400,
                                  "invalid_tenant_id")
            assert "lowercase letters" in body["detail"]
    assert Tenant.select().count() == 0


def test_good_tenant_ids(client: FlaskClient, admin: dict, subtests: pytest.Subtests) -> None:
    for tenant_id in GOOD_IDS:
        with subtests.test(tenant_id=tenant_id):
            resp = client.post("/admin/v1/tenants", json={"id": tenant_id}, headers=admin)
            assert resp.status_code == 201, resp.get_json()
            assert Tenant.get_by_id(tenant_id).id == tenant_id
    assert Tenant.select().count() == len(GOOD_IDS)


def test_list_and_get_tenants(client: FlaskClient, admin: dict, create_tenant) -> None:
    for name in ("globex", "acme", "initech"):
        create_tenant(name)
    resp = client.get("/admin/v1/tenants", headers=admin)
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [t["id"] for t in items] == ["acme", "globex", "initech"]
    assert items[0]["scim_url"] == "http://127.0.0.1:8000/scim/v2/acme"
    one = client.get("/admin/v1/tenants/globex", headers=admin)
    assert one.status_code == 200
    assert one.get_json() == items[1]


def test_unknown_tenant_is_404(client: FlaskClient, admin: dict) -> None:
    body = assert_problem(client.get("/admin/v1/tenants/nope", headers=admin), 404, "tenant_not_found")
    assert "'nope'" in body["detail"]
