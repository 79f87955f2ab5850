"""Bearer token checks on the SCIM endpoint (R-SCIM-4, R-TOK-5)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import Clock

USERS = "/scim/v2/{tenant}/Users?filter=userName%20eq%20%22x%22"


def scim_get(client: FlaskClient, tenant: str, token: str | None) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = client.get(USERS.format(tenant=tenant), headers=headers)
    return resp.status_code, resp.get_json(force=True), dict(resp.headers)


def test_active_token_of_the_tenant_is_accepted(make_token, client: FlaskClient, admin_client: FlaskClient) -> None:
    """R-SCIM-4: Test Connection with a valid Active token: its probe for a random user finds nothing, a 200."""
    token = make_token("acme")["token"]
    status, body, headers = scim_get(client, "acme", token)
    assert status == 200, body
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"] and body["totalResults"] == 0
    assert headers["Content-Type"] == "application/scim+json"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJ0aWQiOiJhY21lIn0.",
    ],
)
def test_missing_or_malformed_token_is_a_scim_401(client: FlaskClient, header: str | None) -> None:
    """R-SCIM-5: 401 with a SCIM error body and WWW-Authenticate."""
    resp = client.get(USERS.format(tenant="acme"), headers={"Authorization": header} if header is not None else {})
    body = resp.get_json(force=True)
    assert resp.status_code == 401
    assert resp.headers["Content-Type"] == "application/scim+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "401"
    assert "token" in body["detail"]


def test_token_of_another_tenant_is_refused(make_token, client: FlaskClient, admin_client: FlaskClient) -> None:
    """R-TOK-5: a token of tenant A never reaches tenant B."""
    token_a = make_token("tenant-a")["token"]
    make_token("tenant-b")
    assert scim_get(client, "tenant-b", token_a)[0] == 401
    assert scim_get(client, "no-such-tenant", token_a)[0] == 401


def test_token_signed_by_another_key_is_refused(client: FlaskClient) -> None:
    """A token minted with a key the token service never published is refused without a lookup."""
    import jwt

    from shared.local_secrets import generate_signing_key_pem

    forged = jwt.encode(
        {"iss": "scim-target", "aud": "scim", "sub": "x", "tid": "acme", "jti": "j", "iat": 1},
        generate_signing_key_pem(),
        algorithm="EdDSA",
        headers={"kid": "made-up"},
    )
    assert scim_get(client, "acme", forged)[0] == 401


def _set(admin_client: FlaskClient, tenant: str, token_id: str, action: str) -> None:
    path = f"/admin/v1/tenants/{tenant}/tokens/{token_id}"
    resp = admin_client.delete(path) if action == "remove" else admin_client.post(f"{path}/{action}", json={})
    assert resp.status_code == (204 if action == "remove" else 200), resp.get_json()


@pytest.mark.parametrize("action", ["deactivate", "renew", "remove"])
def test_revoked_token_is_refused_once_the_cached_state_expires(
    make_token, client: FlaskClient, admin_client: FlaskClient, clock: Clock, action: str
) -> None:
    """R-TOK-5: Inactive, renewed-away and removed tokens are refused within the 5 s bound: the state verified
    before the change is served at once, and asked for again once it is STATE_REFRESH_SECONDS old."""
    issued = make_token("acme")
    assert scim_get(client, "acme", issued["token"])[0] == 200
    _set(admin_client, "acme", issued["id"], action)
    assert scim_get(client, "acme", issued["token"])[0] == 200  # no time has passed: the cached state
    clock.now += 4.9  # still inside the bound, past the refresh: refused already
    assert scim_get(client, "acme", issued["token"])[0] == 401


def test_renewed_secret_works_and_reactivated_token_works_again(
    make_token, client: FlaskClient, admin_client: FlaskClient, clock: Clock
) -> None:
    """R-TOK-2: Renew gives a working secret in the same slot; Set to Active restores a token."""
    issued = make_token("acme")
    renewed = admin_client.post(f"/admin/v1/tenants/acme/tokens/{issued['id']}/renew", json={}).get_json()
    assert renewed["id"] == issued["id"] and renewed["token"] != issued["token"]
    assert scim_get(client, "acme", renewed["token"])[0] == 200
    _set(admin_client, "acme", issued["id"], "deactivate")
    clock.now += 5.1
    assert scim_get(client, "acme", renewed["token"])[0] == 401
    _set(admin_client, "acme", issued["id"], "activate")
    clock.now += 5.1
    assert scim_get(client, "acme", renewed["token"])[0] == 200


def test_token_state_is_cached_so_requests_do_not_pay_a_hop(
    make_token, client: FlaskClient, admin_client: FlaskClient, clock: Clock, app
) -> None:
    """One introspection per token per worker per interval, not one per request."""
    issued = make_token("acme")
    verifier = app.extensions["token_verifier"]
    calls = []
    original = verifier.token_service.post
    verifier.token_service.post = lambda path, **kw: calls.append(path) or original(path, **kw)
    for _ in range(20):
        assert scim_get(client, "acme", issued["token"])[0] == 200
    assert calls == ["/internal/v1/introspect"]


def test_token_service_down_is_a_503_with_retry_after(
    make_token, client: FlaskClient, admin_client: FlaskClient, app
) -> None:
    """Never a 401 for a good token because a dependency is down; never a 500 either."""
    from shared.http import ServiceClient
    from shared.testing import free_port

    issued = make_token("acme")
    app.extensions["token_verifier"].token_service = ServiceClient(
        f"http://127.0.0.1:{free_port()}", "k", timeout=0.5, retries=0
    )
    status, body, headers = scim_get(client, "acme", issued["token"])
    assert status == 503
    assert headers["Retry-After"].isdigit()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
