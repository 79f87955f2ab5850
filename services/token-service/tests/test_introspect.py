"""The internal API: token introspection (credential required), expiry, last use, and the JWKS."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from token_service import tokens
from token_service.models import Token

from .conftest import assert_problem, now, parse_time, sha256

INTROSPECT = "/internal/v1/introspect"


# --- the credential -------------------------------------------------------------------------------


WRONG_CREDENTIALS = [
    {}, {"X-Internal-Key": ""}, {"X-Internal-Key": "wrong"}, {"Authorization": "Bearer {internal}"},
    {"X-Internal-Key": "{admin}"}, {"X-Internal-Key": "{internal}x"}, {"X-Internal-Key": "x{internal}"},
    {"X-Internal-Key": "{internal_upper}"},
]


def test_introspection_needs_the_internal_credential(client: FlaskClient, env: dict, generate, tenant: str,
                                                     subtests: pytest.Subtests) -> None:
    issued = generate(tenant)
    values = {"internal": env["INTERNAL_API_KEY"], "admin": env["ADMIN_API_KEY"],
              "internal_upper": env["INTERNAL_API_KEY"].swapcase()}
    for template in WRONG_CREDENTIALS:
        with subtests.test(headers=template):
            headers = {k: v.format(**values) for k, v in template.items()}
            resp = client.post(INTROSPECT, json={"token_hash": sha256(issued["token"])}, headers=headers)
            body = assert_problem(resp, 401, "unauthorized")
            assert "active" not in body
            assert resp.headers["WWW-Authenticate"].startswith("Internal")
    assert Token.get_by_id(issued["id"]).last_used_at is None


def test_the_admin_key_does_not_open_introspection(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    secret = generate(tenant)["token"]
    assert_problem(client.post(INTROSPECT, json={"token_hash": sha256(secret)}, headers=admin), 401, "unauthorized")


BAD_BODIES = [
    None, {}, {"token_hash": ""}, {"token_hash": "abc"}, {"token_hash": "A" * 64}, {"token_hash": "0" * 63},
    {"token_hash": "0" * 65}, {"token_hash": "0" * 64 + "\n"}, {"token_hash": 5}, {"token_hash": None},
    ["0" * 64], {"token": "x"}, {"token_hash": "0" * 64, "extra": 1},
]


def test_bad_introspection_body_is_400(client: FlaskClient, internal: dict, subtests: pytest.Subtests) -> None:
    for body in BAD_BODIES:
        with subtests.test(body=body):
            problem = assert_problem(client.post(INTROSPECT, json=body, headers=internal), 400, "invalid")
            assert "token_hash" in problem["detail"]


def test_invalid_json_is_400(client: FlaskClient, internal: dict) -> None:
    resp = client.post(INTROSPECT, data="{nope", content_type="application/json", headers=internal)
    assert_problem(resp, 400, "invalid")


def test_the_secret_itself_is_not_accepted_in_place_of_its_hash(client: FlaskClient, internal: dict, generate,
                                                                tenant: str) -> None:
    secret = generate(tenant)["token"]
    assert_problem(client.post(INTROSPECT, json={"token_hash": secret}, headers=internal), 400, "invalid")


# --- answers --------------------------------------------------------------------------------------


def test_unknown_hash(client: FlaskClient, internal: dict) -> None:
    resp = client.post(INTROSPECT, json={"token_hash": "0" * 64}, headers=internal)
    assert resp.status_code == 200
    assert resp.get_json() == {"active": False, "tenant": None, "token_id": None, "expires_at": None,
                               "cache_seconds": 5.0}


def test_active_token(introspect, generate, tenant: str) -> None:
    issued = generate(tenant)
    assert introspect(issued["token"]) == {"active": True, "tenant": tenant, "token_id": issued["id"],
                                           "expires_at": None, "cache_seconds": 5.0}


def test_cache_seconds_come_from_the_settings(env: dict, generate, tenant: str) -> None:
    from token_service import create_app

    issued = generate(tenant)
    other = create_app({**env, "TOKEN_STATE_CACHE_SECONDS": "1.5"})
    resp = other.test_client().post(INTROSPECT, json={"token_hash": sha256(issued["token"])},
                                    headers={"X-Internal-Key": env["INTERNAL_API_KEY"]})
    assert resp.get_json()["cache_seconds"] == 1.5
    assert resp.get_json()["active"] is True


def test_inactive_token_is_not_active_but_named(client: FlaskClient, admin: dict, introspect, generate,
                                                tenant: str) -> None:
    issued = generate(tenant)
    client.post(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/deactivate", headers=admin)
    state = introspect(issued["token"])
    assert state["active"] is False
    assert (state["tenant"], state["token_id"]) == (tenant, issued["id"])


def test_a_tampered_secret_names_no_token(introspect, generate, tenant: str) -> None:
    secret = generate(tenant)["token"]
    assert introspect(secret[:-1] + ("A" if secret[-1] != "A" else "B"))["token_id"] is None


# --- expiry ---------------------------------------------------------------------------------------


def test_token_with_expiry_is_active_until_then(introspect, generate, tenant: str) -> None:
    issued = generate(tenant, expires_in_days=1)
    state = introspect(issued["token"])
    assert state["active"] is True
    assert state["expires_at"] == issued["expires_at"]


def test_expired_token_is_refused(client: FlaskClient, admin: dict, introspect, generate, tenant: str,
                                  monkeypatch: pytest.MonkeyPatch, subtests: pytest.Subtests) -> None:
    issued = generate(tenant, expires_in_days=1)
    expires_at = Token.get_by_id(issued["id"]).expires_at
    for late in (dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(days=3)):
        with subtests.test(after_expiry=str(late)):
            monkeypatch.setattr(tokens, "utcnow", lambda late=late: expires_at + late)
            state = introspect(issued["token"])
            assert state["active"] is False
            assert (state["tenant"], state["token_id"]) == (tenant, issued["id"])
            assert parse_time(state["expires_at"]) == expires_at
    # Refusal leaves last use alone; the token is still listed (with its expiry) until removed.
    assert Token.get_by_id(issued["id"]).last_used_at is None
    listed = client.get(f"/admin/v1/tenants/{tenant}/tokens", headers=admin).get_json()["items"]
    assert [t["expires_at"] for t in listed] == [issued["expires_at"]]


def test_one_millisecond_before_expiry_is_still_active(introspect, generate, tenant: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    issued = generate(tenant, expires_in_days=1)
    moment = Token.get_by_id(issued["id"]).expires_at - dt.timedelta(milliseconds=1)
    monkeypatch.setattr(tokens, "utcnow", lambda: moment)
    assert introspect(issued["token"])["active"] is True


def test_expiry_stored_in_the_past_is_refused(introspect, generate, tenant: str) -> None:
    """The same, through the database: an expiry that has passed, on the engine under test."""
    issued = generate(tenant, expires_in_days=5)
    Token.update(expires_at=now() - dt.timedelta(seconds=2)).where(Token.id == issued["id"]).execute()
    assert introspect(issued["token"])["active"] is False


def test_token_without_expiry_never_expires(introspect, generate, tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = generate(tenant)
    monkeypatch.setattr(tokens, "utcnow", lambda: now() + dt.timedelta(days=365 * 50))
    assert introspect(issued["token"])["active"] is True


# --- last use -------------------------------------------------------------------------------------


def test_introspection_records_last_use(client: FlaskClient, admin: dict, introspect, generate, tenant: str) -> None:
    issued = generate(tenant)
    before = now() - dt.timedelta(seconds=1)
    introspect(issued["token"])
    used = Token.get_by_id(issued["id"]).last_used_at
    assert used is not None
    assert before <= used <= now() + dt.timedelta(seconds=1)
    shown = client.get(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}", headers=admin).get_json()
    assert parse_time(shown["last_used_at"]) == used


def test_last_use_is_written_at_most_once_a_minute(introspect, generate, tenant: str) -> None:
    issued = generate(tenant)
    recent = now() - dt.timedelta(seconds=30)
    recent = recent.replace(microsecond=recent.microsecond // 1000 * 1000)
    Token.update(last_used_at=recent).where(Token.id == issued["id"]).execute()
    introspect(issued["token"])
    assert Token.get_by_id(issued["id"]).last_used_at == recent

    old = recent - dt.timedelta(seconds=61)
    Token.update(last_used_at=old).where(Token.id == issued["id"]).execute()
    introspect(issued["token"])
    assert Token.get_by_id(issued["id"]).last_used_at > recent


def test_refused_tokens_do_not_record_use(client: FlaskClient, admin: dict, introspect, generate,
                                          tenant: str) -> None:
    issued = generate(tenant)
    client.post(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/deactivate", headers=admin)
    introspect(issued["token"])
    assert Token.get_by_id(issued["id"]).last_used_at is None


def test_last_use_is_per_token(introspect, generate, tenant: str) -> None:
    first, second = generate(tenant), generate(tenant)
    introspect(second["token"])
    assert Token.get_by_id(first["id"]).last_used_at is None
    assert Token.get_by_id(second["id"]).last_used_at is not None


# --- JWKS -----------------------------------------------------------------------------------------


def test_jwks_is_public_and_verifies_tokens(app: Flask, client: FlaskClient, generate, tenant: str) -> None:
    secret = generate(tenant)["token"]
    resp = client.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    keys = resp.get_json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["kid"] == jwt.get_unverified_header(secret)["kid"]
    assert (key["use"], key["alg"]) == ("sig", "EdDSA")
    assert "d" not in key  # the public half only
    claims = jwt.decode(secret, jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="scim",
                        issuer=app.config["TOKEN_ISSUER"])
    assert claims["tid"] == tenant
