"""What the SCIM API keeps between calls (R-TOK-5): token states refreshed ahead of their bound,
so a brief token service outage goes unnoticed, and published keys trusted for a bounded time, so a
retired key dropped from the token service stops verifying."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from scim_api import auth
from shared.http import ServiceClient
from shared.local_secrets import generate_signing_key_pem
from shared.testing import free_port
from token_service.signing import SigningKeys

from .conftest import Clock

USERS = "/scim/v2/acme/Users?filter=userName%20eq%20%22x%22"


def status(client: FlaskClient, token: str) -> int:
    return client.get(USERS, headers={"Authorization": f"Bearer {token}"}).status_code


def count_calls(app: Flask) -> list[str]:
    verifier = app.extensions["token_verifier"]
    calls: list[str] = []
    post, get = verifier.token_service.post, verifier.token_service.get
    verifier.token_service.post = lambda path, **kw: calls.append(path) or post(path, **kw)
    verifier.token_service.get = lambda path, **kw: calls.append(path) or get(path, **kw)
    return calls


def token_service_down(app: Flask) -> None:
    app.extensions["token_verifier"].token_service = ServiceClient(f"http://127.0.0.1:{free_port()}", "k",
                                                                   timeout=0.5, retries=0)


def test_a_state_in_use_is_asked_again_after_a_second_not_on_every_call(
        make_token, client: FlaskClient, admin_client: FlaskClient, app: Flask, clock: Clock) -> None:
    token = make_token("acme")["token"]
    calls = count_calls(app)
    assert [status(client, token) for _ in range(10)] == [200] * 10
    clock.now += auth.STATE_REFRESH_SECONDS + 0.1
    assert [status(client, token) for _ in range(10)] == [200] * 10
    assert calls.count("/internal/v1/introspect") == 2


def test_a_token_service_restart_within_the_bound_goes_unnoticed_then_503(
        make_token, client: FlaskClient, admin_client: FlaskClient, app: Flask, clock: Clock) -> None:
    token = make_token("acme")["token"]
    assert status(client, token) == 200
    token_service_down(app)
    for elapsed in (1.1, 2.5, 4.0, 4.9):  # past the refresh, and past the keys' age: both kept
        clock.now = 1000.0 + elapsed
        assert status(client, token) == 200, elapsed
    clock.now = 1000.0 + 5.1  # the bound: never trusted past it (tests/test_faults.py, through processes)
    assert status(client, token) == 503


def test_a_revocation_is_still_seen_within_the_bound(
        make_token, client: FlaskClient, admin_client: FlaskClient, clock: Clock) -> None:
    issued = make_token("acme")
    assert status(client, issued["token"]) == 200
    assert admin_client.post(f"/admin/v1/tenants/acme/tokens/{issued['id']}/deactivate", json={}).status_code == 200
    clock.now += auth.STATE_REFRESH_SECONDS + 0.1
    assert status(client, issued["token"]) == 401


def rotate(token_app: Flask) -> bytes:
    """What a restart of the token service with a new signing key and the old public key does to what it
    publishes and signs; returns the new private key."""
    new_key = generate_signing_key_pem()
    previous = (token_app.extensions["signing_keys"].public_pem(),)
    token_app.extensions["signing_keys"] = SigningKeys(new_key, "EdDSA", previous)
    return new_key


def test_after_a_rotation_a_new_token_works_at_once_and_a_dropped_key_stops_verifying(
        make_token, client: FlaskClient, admin_client: FlaskClient, token_app: Flask, clock: Clock) -> None:
    old_token = make_token("acme")["token"]
    assert status(client, old_token) == 200
    new_key = rotate(token_app)
    new = admin_client.post("/admin/v1/tenants/acme/tokens", json={}).get_json()["token"]
    assert status(client, new) == 200  # an unseen key id: the keys are fetched at once
    assert status(client, old_token) == 200
    token_app.extensions["signing_keys"] = SigningKeys(new_key, "EdDSA")  # the old public key dropped
    clock.now += 4.9
    assert status(client, old_token) == 200  # within the keys' age
    clock.now += auth.KEYS_MAX_AGE_SECONDS - 4.9 + 0.1
    assert status(client, old_token) == 401
    assert status(client, new) == 200


def test_forged_key_ids_fetch_the_keys_at_most_once_a_second(
        make_token, client: FlaskClient, admin_client: FlaskClient, app: Flask, clock: Clock) -> None:
    import jwt

    token = make_token("acme")["token"]
    assert status(client, token) == 200
    calls = count_calls(app)
    for n in range(20):
        forged = jwt.encode({"iss": "scim-target", "aud": "scim", "sub": "x", "tid": "acme", "jti": "j", "iat": 1},
                            generate_signing_key_pem(), algorithm="EdDSA", headers={"kid": f"made-up-{n}"})
        assert status(client, forged) == 401
        clock.now += 0.1
    assert calls.count("/.well-known/jwks.json") == 2


def test_a_token_signature_is_checked_once_per_worker_then_again_once_it_has_expired(
        admin_client: FlaskClient, client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    admin_client.post("/admin/v1/tenants", json={"id": "acme"})
    token = admin_client.post("/admin/v1/tenants/acme/tokens", json={"expires_in_days": 1}).get_json()["token"]
    decoded: list[str] = []
    real_decode = auth.jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **kw: decoded.append("x") or real_decode(*a, **kw))
    assert [status(client, token) for _ in range(5)] == [200] * 5
    assert len(decoded) == 1
    later = time.time() + 2 * 86_400  # past the token's exp: the cached claims are not trusted
    app.extensions["token_verifier"].wall_clock = lambda: later
    status(client, token)
    assert len(decoded) == 2
