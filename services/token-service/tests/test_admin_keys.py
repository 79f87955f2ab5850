"""Admin authentication (R-TOK-6): the deployment key, tenant admin keys and their scope."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from token_service.models import AdminKey, Tenant, Token

from .conftest import assert_problem, sha256

KEY_FIELDS = {"id", "tenant", "name", "created_at", "created_by", "revoked_at"}


def assert_401(resp) -> None:
    body = assert_problem(resp, 401, "unauthorized")
    assert "Authorization: Bearer" in body["detail"]
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="admin"'


# --- 401 ------------------------------------------------------------------------------------------


WRONG_AUTHORIZATIONS = [
    None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic YWRtaW46YWRtaW4=", "Token {key}", "{key}", "Bearer {key}x",
    "Bearer x{key}", "Bearer sta_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
]


def test_missing_or_wrong_admin_key_is_401(client: FlaskClient, env: dict, tenant: str,
                                           subtests: pytest.Subtests) -> None:
    for authorization in WRONG_AUTHORIZATIONS:
        with subtests.test(authorization=authorization):
            headers = {} if authorization is None else {
                "Authorization": authorization.format(key=env["ADMIN_API_KEY"])}
            assert_401(client.get("/admin/v1/tenants", headers=headers))
            assert_401(client.post("/admin/v1/tenants", json={"id": "other"}, headers=headers))
            assert_401(client.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=headers))
            assert_401(client.get(f"/admin/v1/tenants/{tenant}/audit", headers=headers))
    assert Tenant.select().count() == 1
    assert Token.select().count() == 0


def test_401_comes_before_body_validation(client: FlaskClient) -> None:
    assert_401(client.post("/admin/v1/tenants", data="{not json", content_type="application/json"))


def test_bearer_scheme_is_case_insensitive(client: FlaskClient, env: dict, tenant: str) -> None:
    resp = client.get("/admin/v1/tenants", headers={"Authorization": f"bearer {env['ADMIN_API_KEY']}"})
    assert resp.status_code == 200
    assert [t["id"] for t in resp.get_json()["items"]] == [tenant]


def test_a_scim_token_is_not_an_admin_key(client: FlaskClient, generate, tenant: str) -> None:
    secret = generate(tenant)["token"]
    assert_401(client.get(f"/admin/v1/tenants/{tenant}/tokens", headers={"Authorization": f"Bearer {secret}"}))


def test_the_internal_credential_is_not_an_admin_key(client: FlaskClient, env: dict, tenant: str) -> None:
    assert_401(client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {env['INTERNAL_API_KEY']}"}))
    assert_401(client.get("/admin/v1/tenants", headers={"X-Internal-Key": env["INTERNAL_API_KEY"]}))


# --- creating, listing and revoking admin keys ----------------------------------------------------


def test_create_admin_key(client: FlaskClient, admin: dict, tenant: str) -> None:
    resp = client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": "Acme IT"}, headers=admin)
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == KEY_FIELDS | {"key"}
    assert body["tenant"] == tenant
    assert body["name"] == "Acme IT"
    assert body["created_by"] == "deployment"
    assert body["revoked_at"] is None
    assert body["key"].startswith("sta_")
    assert len(body["key"]) > 40
    row = AdminKey.get_by_id(body["id"])
    assert row.key_hash == sha256(body["key"])
    assert row.tenant_id == tenant


def test_list_admin_keys_hides_the_secret(client: FlaskClient, admin: dict, tenant_admin, tenant: str) -> None:
    _, first = tenant_admin(tenant, "one")
    _, second = tenant_admin(tenant, "two")
    resp = client.get(f"/admin/v1/tenants/{tenant}/admin-keys", headers=admin)
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert {k["id"]: k["name"] for k in items} == {first["id"]: "one", second["id"]: "two"}
    assert all(set(k) == KEY_FIELDS for k in items)
    text = resp.get_data(as_text=True)
    assert first["key"] not in text
    assert second["key"] not in text


def test_admin_keys_are_listed_per_tenant(client: FlaskClient, admin: dict, tenant_admin, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    _, acme_key = tenant_admin("acme")
    items = client.get("/admin/v1/tenants/globex/admin-keys", headers=admin).get_json()["items"]
    assert items == []
    assert [k["id"] for k in client.get("/admin/v1/tenants/acme/admin-keys", headers=admin).get_json()["items"]] \
        == [acme_key["id"]]


def test_revoked_admin_key_is_refused(client: FlaskClient, admin: dict, tenant_admin, tenant: str) -> None:
    headers, key = tenant_admin(tenant)
    assert client.get("/admin/v1/tenants", headers=headers).status_code == 200
    resp = client.delete(f"/admin/v1/tenants/{tenant}/admin-keys/{key['id']}", headers=admin)
    assert resp.status_code == 204
    assert AdminKey.get_by_id(key["id"]).revoked_at is not None
    assert_401(client.get("/admin/v1/tenants", headers=headers))
    listed = client.get(f"/admin/v1/tenants/{tenant}/admin-keys", headers=admin).get_json()["items"]
    assert listed[0]["revoked_at"] is not None
    # Revoking again changes nothing and is still a success.
    revoked_at = AdminKey.get_by_id(key["id"]).revoked_at
    assert client.delete(f"/admin/v1/tenants/{tenant}/admin-keys/{key['id']}", headers=admin).status_code == 204
    assert AdminKey.get_by_id(key["id"]).revoked_at == revoked_at


def test_revoking_an_unknown_key_is_404(client: FlaskClient, admin: dict, tenant_admin, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    _, key = tenant_admin("acme")
    assert_problem(client.delete("/admin/v1/tenants/acme/admin-keys/nope", headers=admin), 404,
                   "admin_key_not_found")
    # A key is only found under its own tenant.
    assert_problem(client.delete(f"/admin/v1/tenants/globex/admin-keys/{key['id']}", headers=admin), 404,
                   "admin_key_not_found")
    assert AdminKey.get_by_id(key["id"]).revoked_at is None


def test_admin_key_name_is_validated(client: FlaskClient, admin: dict, tenant: str, subtests: pytest.Subtests) -> None:
    for body in ({}, {"name": ""}, {"name": "x" * 101}, {"name": 5}, {"name": None}):
        with subtests.test(body=body):
            resp = client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json=body, headers=admin)
            problem = assert_problem(resp, 422, "unprocessable_entity")
            assert "name" in problem["errors"]["json"]
    assert AdminKey.select().count() == 0
    resp = client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": "x" * 100}, headers=admin)
    assert resp.status_code == 201


# --- what a tenant admin key may do ---------------------------------------------------------------


@pytest.fixture
def two_tenants(create_tenant) -> tuple[str, str]:
    return create_tenant("acme"), create_tenant("globex")


def test_tenant_admin_manages_its_own_tokens(client: FlaskClient, tenant_admin, introspect,
                                             two_tenants: tuple[str, str]) -> None:
    headers, key = tenant_admin("acme")
    created = client.post("/admin/v1/tenants/acme/tokens", json={}, headers=headers)
    assert created.status_code == 201
    issued = created.get_json()
    assert issued["created_by"] == f"admin-key:{key['id']}"
    assert Token.get_by_id(issued["id"]).created_by == f"admin-key:{key['id']}"
    base = f"/admin/v1/tenants/acme/tokens/{issued['id']}"
    assert client.get("/admin/v1/tenants/acme/tokens", headers=headers).status_code == 200
    assert client.get(base, headers=headers).status_code == 200
    assert client.post(base + "/deactivate", headers=headers).get_json()["state"] == "Inactive"
    assert client.post(base + "/activate", headers=headers).get_json()["state"] == "Active"
    renewed = client.post(base + "/renew", json={}, headers=headers)
    assert renewed.status_code == 200
    assert introspect(renewed.get_json()["token"])["active"] is True
    assert client.get("/admin/v1/tenants/acme/audit", headers=headers).status_code == 200
    assert client.get("/admin/v1/tenants/acme/admin-keys", headers=headers).status_code == 200
    assert client.delete(base, headers=headers).status_code == 204


def test_tenant_admin_sees_only_its_tenant(client: FlaskClient, tenant_admin, two_tenants: tuple[str, str]) -> None:
    headers, _ = tenant_admin("acme")
    listed = client.get("/admin/v1/tenants", headers=headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.get_json()["items"]] == ["acme"]
    assert client.get("/admin/v1/tenants/acme", headers=headers).status_code == 200
    other = assert_problem(client.get("/admin/v1/tenants/globex", headers=headers), 404, "tenant_not_found")
    missing = assert_problem(client.get("/admin/v1/tenants/nope", headers=headers), 404, "tenant_not_found")
    # Another tenant's existence is not disclosed: it looks exactly like a missing one.
    assert other["detail"].replace("globex", "X") == missing["detail"].replace("nope", "X")


def test_tenant_admin_cannot_touch_another_tenant(client: FlaskClient, admin: dict, generate, tenant_admin,
                                                  introspect, two_tenants: tuple[str, str]) -> None:
    headers, _ = tenant_admin("acme")
    _, globex_key = tenant_admin("globex")
    theirs = generate("globex")
    base = f"/admin/v1/tenants/globex/tokens/{theirs['id']}"
    calls = [
        client.get("/admin/v1/tenants/globex/tokens", headers=headers),
        client.post("/admin/v1/tenants/globex/tokens", json={}, headers=headers),
        client.get(base, headers=headers),
        client.post(base + "/deactivate", headers=headers),
        client.post(base + "/activate", headers=headers),
        client.post(base + "/renew", json={}, headers=headers),
        client.delete(base, headers=headers),
        client.get("/admin/v1/tenants/globex/audit", headers=headers),
        client.get("/admin/v1/tenants/globex/admin-keys", headers=headers),
    ]
    for resp in calls:
        assert_problem(resp, 404, "tenant_not_found")
    # Through its own tenant's URL it cannot reach the other tenant's token either.
    for resp in (client.get(f"/admin/v1/tenants/acme/tokens/{theirs['id']}", headers=headers),
                 client.delete(f"/admin/v1/tenants/acme/tokens/{theirs['id']}", headers=headers),
                 client.post(f"/admin/v1/tenants/acme/tokens/{theirs['id']}/deactivate", headers=headers)):
        assert_problem(resp, 404, "token_not_found")
    row = Token.get_by_id(theirs["id"])
    assert (row.state, row.secret_hash) == ("Active", sha256(theirs["token"]))
    assert Token.select().where(Token.tenant == "globex").count() == 1
    assert introspect(theirs["token"])["active"] is True
    assert AdminKey.get_by_id(globex_key["id"]).revoked_at is None


def test_tenant_admin_cannot_create_tenants_or_keys(client: FlaskClient, tenant_admin,
                                                    two_tenants: tuple[str, str]) -> None:
    headers, key = tenant_admin("acme")
    body = assert_problem(client.post("/admin/v1/tenants", json={"id": "newco"}, headers=headers), 403, "forbidden")
    assert "deployment admin key" in body["detail"]
    assert Tenant.get_or_none(Tenant.id == "newco") is None
    for tenant in ("acme", "globex"):
        assert_problem(client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": "me"}, headers=headers),
                       403, "forbidden")
    assert_problem(client.delete(f"/admin/v1/tenants/acme/admin-keys/{key['id']}", headers=headers), 403,
                   "forbidden")
    assert AdminKey.select().count() == 1
    assert AdminKey.get_by_id(key["id"]).revoked_at is None


def test_tenant_admin_key_dies_with_revocation_only_for_that_key(client: FlaskClient, admin: dict, tenant_admin,
                                                                 tenant: str) -> None:
    first_headers, first = tenant_admin(tenant, "first")
    second_headers, _ = tenant_admin(tenant, "second")
    client.delete(f"/admin/v1/tenants/{tenant}/admin-keys/{first['id']}", headers=admin)
    assert_401(client.get("/admin/v1/tenants", headers=first_headers))
    assert client.get("/admin/v1/tenants", headers=second_headers).status_code == 200
