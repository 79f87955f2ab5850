"""Failed SCIM authentication is limited per client and tenant: 429 as a SCIM error past the
limit, and a valid token is never throttled (Entra sends bursts of valid calls)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.ratelimit import AuthFailureLimiter

USERS = "/scim/v2/{tenant}/Users?filter=userName%20eq%20%22x%22"
LIMIT = 3


@pytest.fixture
def limited(app: Flask) -> FlaskClient:
    app.extensions["token_verifier"].limiter = AuthFailureLimiter(f"{LIMIT} per minute")
    return app.test_client()


def get(client: FlaskClient, tenant: str, token: str | None, addr: str = "127.0.0.1") -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = client.get(USERS.format(tenant=tenant), headers=headers, environ_overrides={"REMOTE_ADDR": addr})
    return resp.status_code, resp.get_json(force=True), dict(resp.headers)


def test_past_the_limit_a_failure_is_a_scim_429_with_retry_after(make_token, limited: FlaskClient,
                                                                  admin_client: FlaskClient) -> None:
    make_token("acme")
    statuses = [get(limited, "acme", "not-a-jwt")[0] for _ in range(LIMIT)]
    status, body, headers = get(limited, "acme", None)  # a missing token is a failure too
    assert statuses == [401] * LIMIT and status == 429
    assert headers["Content-Type"] == "application/scim+json"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "429" and "scimType" not in body
    assert "Secret Token" in body["detail"]  # what the admin reading Entra's log has to fix
    assert "WWW-Authenticate" not in headers


def test_a_valid_token_is_served_however_often_its_client_failed(make_token, limited: FlaskClient,
                                                                 admin_client: FlaskClient) -> None:
    token = make_token("acme")["token"]
    other_tenant_token = make_token("contoso")["token"]
    for _ in range(LIMIT + 1):
        get(limited, "acme", other_tenant_token)  # a genuine token, for the wrong tenant: refused
    assert get(limited, "acme", other_tenant_token)[0] == 429
    assert [get(limited, "acme", token)[0] for _ in range(50)] == [200] * 50


def test_another_client_or_tenant_is_not_affected(make_token, limited: FlaskClient,
                                                  admin_client: FlaskClient) -> None:
    for _ in range(LIMIT + 1):
        get(limited, "acme", "not-a-jwt")
    assert get(limited, "acme", "not-a-jwt")[0] == 429
    assert get(limited, "acme", "not-a-jwt", addr="10.1.2.3")[0] == 401
    assert get(limited, "contoso", "not-a-jwt")[0] == 401


def test_token_service_down_is_not_a_failed_attempt(make_token, limited: FlaskClient, app: Flask,
                                                    admin_client: FlaskClient) -> None:
    """A 503 says nothing about the token: the client is not held responsible for it."""
    from shared.http import ServiceClient
    from shared.testing import free_port

    token = make_token("acme")["token"]
    app.extensions["token_verifier"].token_service = ServiceClient(f"http://127.0.0.1:{free_port()}", "k",
                                                                   timeout=0.5, retries=0)
    assert [get(limited, "acme", token)[0] for _ in range(LIMIT + 2)] == [503] * (LIMIT + 2)
    assert get(limited, "acme", "not-a-jwt")[0] == 401
