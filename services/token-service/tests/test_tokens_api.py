"""The token admin API: generate, list, states, renew, remove, the limit of two (R-TOK-1..4)."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from token_service.models import Token

from .conftest import assert_problem, now, parse_time, sha256

TOKEN_FIELDS = {
    "id", "tenant", "slot", "state", "scim_url", "created_at", "created_by", "renewed_at", "expires_at",
    "last_used_at",
}


def tokens_url(tenant: str, token_id: str = "", action: str = "") -> str:
    url = f"/admin/v1/tenants/{tenant}/tokens"
    if token_id:
        url += f"/{token_id}"
    if action:
        url += f"/{action}"
    return url


def verify(app: Flask, client: FlaskClient, secret: str) -> dict:
    """The token's claims, checked against the published JWKS (signature, audience, issuer)."""
    jwks = client.get("/.well-known/jwks.json").get_json()
    kid = jwt.get_unverified_header(secret)["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(secret, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience="scim",
                      issuer=app.config["TOKEN_ISSUER"])


# --- generate -------------------------------------------------------------------------------------


def test_generate_returns_secret_once_with_fixed_scim_url(client: FlaskClient, admin: dict, tenant: str) -> None:
    """R-TOK-1, R-TOK-4."""
    created = client.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=admin)
    assert created.status_code == 201
    body = created.get_json()
    assert body["token"].count(".") == 2
    assert body["scim_url"] == "http://127.0.0.1:8000/scim/v2/acme"
    assert body["state"] == "Active"
    listed = client.get(f"/admin/v1/tenants/{tenant}/tokens", headers=admin).get_json()["items"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]


def test_generate_body_and_stored_row(app: Flask, client: FlaskClient, admin: dict, tenant: str) -> None:
    before = now() - dt.timedelta(seconds=1)
    resp = client.post(tokens_url(tenant), json={}, headers=admin)
    assert resp.status_code == 201
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == TOKEN_FIELDS | {"token"}
    assert len(body["id"]) == 32
    assert body["tenant"] == tenant
    assert body["slot"] == 1
    assert body["state"] == "Active"
    assert body["created_by"] == "deployment"
    assert body["renewed_at"] is None
    assert body["expires_at"] is None
    assert body["last_used_at"] is None
    assert before <= parse_time(body["created_at"]) <= now() + dt.timedelta(seconds=1)

    row = Token.get_by_id(body["id"])
    assert row.tenant_id == tenant
    assert row.slot == 1
    assert row.state == "Active"
    assert row.secret_hash == sha256(body["token"])
    assert row.expires_at is None

    claims = verify(app, client, body["token"])
    assert claims["sub"] == body["id"]
    assert claims["tid"] == tenant
    assert "exp" not in claims


def test_generate_without_a_body_is_allowed(client: FlaskClient, admin: dict, tenant: str) -> None:
    resp = client.post(tokens_url(tenant), headers=admin)
    assert resp.status_code == 201
    assert resp.get_json()["expires_at"] is None


def test_each_generate_yields_a_distinct_secret(generate, tenant: str) -> None:
    first, second = generate(tenant), generate(tenant)
    assert first["id"] != second["id"]
    assert first["token"] != second["token"]
    assert (first["slot"], second["slot"]) == (1, 2)


def test_generate_with_expiry(app: Flask, client: FlaskClient, generate, tenant: str) -> None:
    body = generate(tenant, expires_in_days=30)
    created = parse_time(body["created_at"])
    assert parse_time(body["expires_at"]) == created + dt.timedelta(days=30)
    row = Token.get_by_id(body["id"])
    assert row.lifetime_days == 30
    assert row.expires_at == created + dt.timedelta(days=30)
    claims = verify(app, client, body["token"])
    assert claims["exp"] == int(row.expires_at.replace(tzinfo=dt.UTC).timestamp())


def test_generate_expiry_null_means_never(generate, tenant: str) -> None:
    body = generate(tenant, expires_in_days=None)
    assert body["expires_at"] is None
    assert Token.get_by_id(body["id"]).lifetime_days is None


# --- list and get ---------------------------------------------------------------------------------


def test_list_is_metadata_only_ordered_by_slot(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    first, second = generate(tenant), generate(tenant, expires_in_days=5)
    resp = client.get(tokens_url(tenant), headers=admin)
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [t["id"] for t in items] == [first["id"], second["id"]]
    for item, issued in zip(items, (first, second), strict=True):
        assert set(item) == TOKEN_FIELDS
        assert {k: v for k, v in issued.items() if k != "token"} == item
    assert first["token"] not in resp.get_data(as_text=True)
    assert second["token"] not in resp.get_data(as_text=True)


def test_list_is_empty_for_a_new_tenant(client: FlaskClient, admin: dict, tenant: str) -> None:
    resp = client.get(tokens_url(tenant), headers=admin)
    assert resp.status_code == 200
    assert resp.get_json() == {"items": []}


def test_get_one_token(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    resp = client.get(tokens_url(tenant, issued["id"]), headers=admin)
    assert resp.status_code == 200
    body = resp.get_json()
    assert "token" not in body
    assert body == {k: v for k, v in issued.items() if k != "token"}


def test_tokens_are_listed_per_tenant(client: FlaskClient, admin: dict, generate, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    acme, globex = generate("acme"), generate("globex")
    assert [t["id"] for t in client.get(tokens_url("acme"), headers=admin).get_json()["items"]] == [acme["id"]]
    assert [t["id"] for t in client.get(tokens_url("globex"), headers=admin).get_json()["items"]] == [globex["id"]]
    # A token id is only found under its own tenant.
    assert_problem(client.get(tokens_url("globex", acme["id"]), headers=admin), 404, "token_not_found")
    assert_problem(client.delete(tokens_url("globex", acme["id"]), headers=admin), 404, "token_not_found")
    assert Token.get_or_none(Token.id == acme["id"]) is not None


# --- Set to Inactive / Set to Active --------------------------------------------------------------


def test_deactivate_then_activate(client: FlaskClient, admin: dict, generate, introspect, tenant: str) -> None:
    """R-TOK-2: the state is stored, shown, and decides introspection."""
    issued = generate(tenant)
    resp = client.post(tokens_url(tenant, issued["id"], "deactivate"), headers=admin)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["state"] == "Inactive"
    assert body["id"] == issued["id"]
    assert "token" not in body
    assert Token.get_by_id(issued["id"]).state == "Inactive"
    assert client.get(tokens_url(tenant, issued["id"]), headers=admin).get_json()["state"] == "Inactive"
    assert introspect(issued["token"])["active"] is False

    resp = client.post(tokens_url(tenant, issued["id"], "activate"), headers=admin)
    assert resp.status_code == 200
    assert resp.get_json()["state"] == "Active"
    assert Token.get_by_id(issued["id"]).state == "Active"
    # The same secret works again: activation does not change it.
    assert Token.get_by_id(issued["id"]).secret_hash == sha256(issued["token"])
    assert introspect(issued["token"])["active"] is True


def test_state_changes_are_idempotent(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    for _ in range(2):
        resp = client.post(tokens_url(tenant, issued["id"], "activate"), headers=admin)
        assert resp.status_code == 200
        assert resp.get_json()["state"] == "Active"
    for _ in range(2):
        resp = client.post(tokens_url(tenant, issued["id"], "deactivate"), headers=admin)
        assert resp.status_code == 200
        assert resp.get_json()["state"] == "Inactive"


def test_deactivating_one_token_leaves_the_other(generate, client: FlaskClient, admin: dict, introspect,
                                                 tenant: str) -> None:
    first, second = generate(tenant), generate(tenant)
    assert client.post(tokens_url(tenant, first["id"], "deactivate"), headers=admin).status_code == 200
    assert introspect(first["token"])["active"] is False
    assert introspect(second["token"])["active"] is True
    assert Token.get_by_id(second["id"]).state == "Active"


# --- Renew ----------------------------------------------------------------------------------------


def test_renew_replaces_the_secret_in_the_same_slot(app: Flask, client: FlaskClient, admin: dict, generate,
                                                    introspect, tenant: str) -> None:
    """R-TOK-2: a new secret for the same token id and slot; the old secret is refused at once."""
    issued = generate(tenant)
    assert introspect(issued["token"])["active"] is True
    resp = client.post(tokens_url(tenant, issued["id"], "renew"), json={}, headers=admin)
    assert resp.status_code == 200
    renewed = resp.get_json()
    assert set(renewed) == TOKEN_FIELDS | {"token"}
    assert renewed["token"] != issued["token"]
    assert renewed["id"] == issued["id"]
    assert renewed["slot"] == issued["slot"]
    assert renewed["state"] == "Active"
    assert renewed["created_at"] == issued["created_at"]
    assert renewed["scim_url"] == issued["scim_url"]  # R-TOK-4
    assert renewed["renewed_at"] is not None
    assert parse_time(renewed["renewed_at"]) >= parse_time(issued["created_at"])

    old = introspect(issued["token"])
    assert old["active"] is False
    assert old["token_id"] is None  # its hash is gone: the old secret names no token any more
    new = introspect(renewed["token"])
    assert new["active"] is True
    assert new["token_id"] == issued["id"]
    assert new["tenant"] == tenant

    row = Token.get_by_id(issued["id"])
    assert row.secret_hash == sha256(renewed["token"])
    assert Token.select().where(Token.tenant == tenant).count() == 1
    assert verify(app, client, renewed["token"])["sub"] == issued["id"]


def test_renew_without_a_body(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    resp = client.post(tokens_url(tenant, issued["id"], "renew"), headers=admin)
    assert resp.status_code == 200
    assert resp.get_json()["token"] != issued["token"]


def test_renew_twice_kills_both_earlier_secrets(client: FlaskClient, admin: dict, generate, introspect,
                                                tenant: str) -> None:
    issued = generate(tenant)
    second = client.post(tokens_url(tenant, issued["id"], "renew"), json={}, headers=admin).get_json()
    third = client.post(tokens_url(tenant, issued["id"], "renew"), json={}, headers=admin).get_json()
    assert len({issued["token"], second["token"], third["token"]}) == 3
    assert [introspect(s)["active"] for s in (issued["token"], second["token"], third["token"])] == [
        False, False, True]


def test_renew_sets_a_new_lifetime(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    renewed = client.post(tokens_url(tenant, issued["id"], "renew"), json={"expires_in_days": 7},
                          headers=admin).get_json()
    assert parse_time(renewed["expires_at"]) == parse_time(renewed["renewed_at"]) + dt.timedelta(days=7)
    assert Token.get_by_id(issued["id"]).lifetime_days == 7


def test_renew_keeps_the_lifetime_and_restarts_it(client: FlaskClient, admin: dict, generate, introspect,
                                                  tenant: str) -> None:
    """Without expires_in_days, a renewed token gets the lifetime it had, counted from the renewal."""
    issued = generate(tenant, expires_in_days=10)
    Token.update(expires_at=now() - dt.timedelta(minutes=1)).where(Token.id == issued["id"]).execute()
    assert introspect(issued["token"])["active"] is False
    renewed = client.post(tokens_url(tenant, issued["id"], "renew"), json={}, headers=admin).get_json()
    assert parse_time(renewed["expires_at"]) == parse_time(renewed["renewed_at"]) + dt.timedelta(days=10)
    assert introspect(renewed["token"])["active"] is True


def test_renewing_an_inactive_token_keeps_it_inactive(client: FlaskClient, admin: dict, generate, introspect,
                                                      tenant: str) -> None:
    """As implemented: Renew changes the secret only; the state stays what the admin set."""
    issued = generate(tenant)
    client.post(tokens_url(tenant, issued["id"], "deactivate"), headers=admin)
    renewed = client.post(tokens_url(tenant, issued["id"], "renew"), json={}, headers=admin).get_json()
    assert renewed["state"] == "Inactive"
    assert introspect(renewed["token"])["active"] is False
    client.post(tokens_url(tenant, issued["id"], "activate"), headers=admin)
    assert introspect(renewed["token"])["active"] is True
    assert introspect(issued["token"])["active"] is False


# --- Remove ---------------------------------------------------------------------------------------


def test_remove(client: FlaskClient, admin: dict, generate, introspect, tenant: str) -> None:
    """R-TOK-2: the token is gone from the API and the database, and refused."""
    issued = generate(tenant)
    resp = client.delete(tokens_url(tenant, issued["id"]), headers=admin)
    assert resp.status_code == 204
    assert resp.get_data() == b""
    assert Token.get_or_none(Token.id == issued["id"]) is None
    assert client.get(tokens_url(tenant), headers=admin).get_json()["items"] == []
    assert_problem(client.get(tokens_url(tenant, issued["id"]), headers=admin), 404, "token_not_found")
    assert introspect(issued["token"]) == {
        "active": False, "tenant": None, "token_id": None, "expires_at": None, "cache_seconds": 5.0}
    # A second remove, and every other action on the removed id, is a 404.
    assert_problem(client.delete(tokens_url(tenant, issued["id"]), headers=admin), 404, "token_not_found")
    for action in ("activate", "deactivate", "renew"):
        assert_problem(client.post(tokens_url(tenant, issued["id"], action), headers=admin), 404,
                       "token_not_found")


def test_remove_one_keeps_the_other(client: FlaskClient, admin: dict, generate, introspect, tenant: str) -> None:
    first, second = generate(tenant), generate(tenant)
    assert client.delete(tokens_url(tenant, first["id"]), headers=admin).status_code == 204
    assert [t["id"] for t in client.get(tokens_url(tenant), headers=admin).get_json()["items"]] == [second["id"]]
    assert introspect(second["token"])["active"] is True


# --- at most two tokens (R-TOK-3) -----------------------------------------------------------------


def test_a_third_token_is_refused(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    generate(tenant)
    generate(tenant)
    resp = client.post(tokens_url(tenant), json={}, headers=admin)
    body = assert_problem(resp, 409, "token_limit")
    assert "already has 2 tokens" in body["detail"]
    assert tenant in body["detail"]
    assert "token" not in body
    assert Token.select().where(Token.tenant == tenant).count() == 2


def test_inactive_tokens_count_towards_the_limit(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    first, second = generate(tenant), generate(tenant)
    for issued in (first, second):
        client.post(tokens_url(tenant, issued["id"], "deactivate"), headers=admin)
    assert_problem(client.post(tokens_url(tenant), json={}, headers=admin), 409, "token_limit")


def test_renew_is_allowed_at_the_limit(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    first, _ = generate(tenant), generate(tenant)
    assert client.post(tokens_url(tenant, first["id"], "renew"), json={}, headers=admin).status_code == 200
    assert Token.select().where(Token.tenant == tenant).count() == 2


@pytest.mark.parametrize("removed", [0, 1])
def test_removing_one_frees_its_slot(client: FlaskClient, admin: dict, generate, introspect, tenant: str,
                                     removed: int) -> None:
    issued = [generate(tenant), generate(tenant)]
    assert client.delete(tokens_url(tenant, issued[removed]["id"]), headers=admin).status_code == 204
    third = generate(tenant)
    assert third["slot"] == issued[removed]["slot"]
    assert third["id"] not in {t["id"] for t in issued}
    assert third["scim_url"] == issued[0]["scim_url"]  # R-TOK-4
    assert introspect(third["token"])["active"] is True
    assert_problem(client.post(tokens_url(tenant), json={}, headers=admin), 409, "token_limit")
    slots = sorted(t.slot for t in Token.select().where(Token.tenant == tenant))
    assert slots == [1, 2]


def test_the_limit_is_per_tenant(generate, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    generate("acme")
    generate("acme")
    assert generate("globex")["slot"] == 1
    assert generate("globex")["slot"] == 2


def test_scim_url_never_changes(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    """R-TOK-4: generate, renew and remove leave the tenant's Target SCIM URL alone."""
    url = client.get(f"/admin/v1/tenants/{tenant}", headers=admin).get_json()["scim_url"]
    first = generate(tenant)
    renewed = client.post(tokens_url(tenant, first["id"], "renew"), json={}, headers=admin).get_json()
    client.delete(tokens_url(tenant, first["id"]), headers=admin)
    second = generate(tenant)
    assert {first["scim_url"], renewed["scim_url"], second["scim_url"]} == {url}
    assert client.get(f"/admin/v1/tenants/{tenant}", headers=admin).get_json()["scim_url"] == url
