"""The token service's admin API limits failed admin keys per client and tenant."""

from __future__ import annotations

from pathlib import Path

import token_service
from shared.testing import fresh_database_url, local_env


def test_past_the_limit_a_wrong_admin_key_is_a_429_problem_and_the_right_one_still_works(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    app = token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "token-service"),
                                    "AUTH_FAILURE_LIMIT": "2 per minute"})
    client = app.test_client()
    wrong, good = {"Authorization": "Bearer sta_wrong"}, {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}
    assert client.post("/admin/v1/tenants", json={"id": "acme"}, headers=good).status_code == 201
    statuses = [client.get("/admin/v1/tenants/acme/tokens", headers=wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    resp = client.get("/admin/v1/tenants/acme/tokens", headers=wrong)
    body = resp.get_json()
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert (body["status"], body["code"]) == (429, "too_many_failed_attempts")
    assert all(client.get("/admin/v1/tenants/acme/tokens", headers=good).status_code == 200 for _ in range(20))
    # A SCIM token is not an admin key, and another tenant's count is its own.
    assert client.get("/admin/v1/tenants/contoso/tokens", headers=wrong).status_code == 401
    assert client.get("/admin/v1/tenants", headers=wrong).status_code == 401
    assert client.get("/admin/v1/tenants/acme/tokens", headers=wrong,
                      environ_overrides={"REMOTE_ADDR": "10.0.0.2"}).status_code == 401
