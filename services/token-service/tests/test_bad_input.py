"""Bad requests to the admin API get clear 4xx problem+json answers and change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from token_service.models import AuditEvent, Tenant, Token

from .conftest import assert_problem, parse_time, sha256

UNKNOWN_TENANT_CALLS = [
    ("GET", "/admin/v1/tenants/nope", None),
    ("GET", "/admin/v1/tenants/nope/tokens", None),
    ("POST", "/admin/v1/tenants/nope/tokens", {}),
    ("GET", "/admin/v1/tenants/nope/tokens/abc", None),
    ("POST", "/admin/v1/tenants/nope/tokens/abc/activate", None),
    ("POST", "/admin/v1/tenants/nope/tokens/abc/deactivate", None),
    ("POST", "/admin/v1/tenants/nope/tokens/abc/renew", {}),
    ("DELETE", "/admin/v1/tenants/nope/tokens/abc", None),
    ("GET", "/admin/v1/tenants/nope/admin-keys", None),
    ("POST", "/admin/v1/tenants/nope/admin-keys", {"name": "x"}),
    ("DELETE", "/admin/v1/tenants/nope/admin-keys/abc", None),
    ("GET", "/admin/v1/tenants/nope/audit", None),
]


def test_unknown_tenant_is_404(client: FlaskClient, admin: dict, tenant: str, subtests: pytest.Subtests) -> None:
    for method, path, body in UNKNOWN_TENANT_CALLS:
        with subtests.test(method=method, path=path):
            resp = client.open(path, method=method, json=body, headers=admin)
            problem = assert_problem(resp, 404, "tenant_not_found")
            assert problem["detail"] == "Tenant 'nope' was not found."
    assert Tenant.select().count() == 1
    assert Token.select().count() == 0
    assert AuditEvent.select().count() == 1  # tenant.create only


def test_unknown_token_is_404(client: FlaskClient, admin: dict, generate, tenant: str,
                              subtests: pytest.Subtests) -> None:
    existing = generate(tenant)
    for method, suffix in [("GET", ""), ("POST", "/activate"), ("POST", "/deactivate"), ("POST", "/renew"),
                           ("DELETE", "")]:
        with subtests.test(method=method, suffix=suffix):
            resp = client.open(f"/admin/v1/tenants/{tenant}/tokens/0123456789abcdef{suffix}", method=method,
                               headers=admin)
            problem = assert_problem(resp, 404, "token_not_found")
            assert "'0123456789abcdef'" in problem["detail"]
            assert f"'{tenant}'" in problem["detail"]
    row = Token.get_by_id(existing["id"])
    assert (row.state, row.renewed_at) == ("Active", None)


def test_unknown_action_is_404(client: FlaskClient, admin: dict, generate, tenant: str,
                               subtests: pytest.Subtests) -> None:
    issued = generate(tenant)
    for action in ("frobnicate", "enable", "Activate", "revoke", "remove", "activate/x"):
        with subtests.test(action=action):
            resp = client.post(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/{action}", headers=admin)
            assert_problem(resp, 404, "not_found")
    assert Token.get_by_id(issued["id"]).state == "Active"


def test_wrong_method_is_405_with_allow(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    resp = client.get(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/activate", headers=admin)
    assert_problem(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]
    resp = client.put(f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}", json={}, headers=admin)
    assert_problem(resp, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "DELETE"}


def test_malformed_json_is_400(client: FlaskClient, admin: dict, generate, tenant: str,
                               subtests: pytest.Subtests) -> None:
    issued = generate(tenant)
    paths = ["/admin/v1/tenants", f"/admin/v1/tenants/{tenant}/tokens",
             f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/renew", f"/admin/v1/tenants/{tenant}/admin-keys"]
    for path in paths:
        for raw in ("{not json", '{"id": "x",}', "[", "nul", "{'id': 'x'}"):
            with subtests.test(path=path, raw=raw):
                resp = client.post(path, data=raw, content_type="application/json", headers=admin)
                problem = assert_problem(resp, 400, "bad_request")
                assert problem["errors"] == {"json": ["Invalid JSON body."]}
    assert Tenant.select().count() == 1
    assert Token.select().count() == 1
    assert Token.get_by_id(issued["id"]).renewed_at is None


WRONG_TENANT_BODIES = [
    ({"id": 5}, "id"),
    ({"id": None}, "id"),
    ({"id": ["acme"]}, "id"),
    ({}, "id"),
    ({"name": "acme"}, "name"),
    ({"id": "acme", "extra": True}, "extra"),
    ([], "_schema"),
    ("acme", "_schema"),
]


def test_wrong_tenant_body_is_422(client: FlaskClient, admin: dict, subtests: pytest.Subtests) -> None:
    for body, field in WRONG_TENANT_BODIES:
        with subtests.test(body=body):
            resp = client.post("/admin/v1/tenants", json=body, headers=admin)
            problem = assert_problem(resp, 422, "unprocessable_entity")
            assert field in problem["errors"]["json"]
            assert "errors" in problem["detail"]
    assert Tenant.select().count() == 0


WRONG_TOKEN_BODIES = [
    {"expires_in_days": "abc"}, {"expires_in_days": 0}, {"expires_in_days": -1}, {"expires_in_days": 3651},
    {"expires_in_days": True}, {"expires_in_days": [1]}, {"expires_in_days": {"days": 1}}, {"expires": 1},
    [1], 7,
]


def test_wrong_token_body_is_422(client: FlaskClient, admin: dict, generate, tenant: str,
                                 subtests: pytest.Subtests) -> None:
    issued = generate(tenant)
    count = AuditEvent.select().count()
    for path in (f"/admin/v1/tenants/{tenant}/tokens", f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}/renew"):
        for body in WRONG_TOKEN_BODIES:
            with subtests.test(path=path, body=body):
                problem = assert_problem(client.post(path, json=body, headers=admin), 422, "unprocessable_entity")
                assert problem["errors"]["json"]
    assert Token.select().count() == 1
    row = Token.get_by_id(issued["id"])
    assert (row.renewed_at, row.secret_hash) == (None, sha256(issued["token"]))
    assert AuditEvent.select().count() == count


def test_expiry_bounds_are_inclusive(generate, tenant: str) -> None:
    shortest, longest = generate(tenant, expires_in_days=1), generate(tenant, expires_in_days=3650)
    assert parse_time(shortest["expires_at"]) == parse_time(shortest["created_at"]) + dt.timedelta(days=1)
    assert parse_time(longest["expires_at"]) == parse_time(longest["created_at"]) + dt.timedelta(days=3650)


def test_unknown_path_is_404_problem(client: FlaskClient, admin: dict) -> None:
    assert_problem(client.get("/admin/v1/nothing-here", headers=admin), 404, "not_found")
    assert_problem(client.get("/admin/v2/tenants", headers=admin), 404, "not_found")


def test_body_too_large_is_413(env: dict, client: FlaskClient, admin: dict) -> None:
    limit = int(env.get("MAX_CONTENT_LENGTH", 1_048_576))
    resp = client.post("/admin/v1/tenants", data='{"id": "' + "a" * limit + '"}', content_type="application/json",
                       headers=admin)
    assert_problem(resp, 413)
    assert Tenant.select().count() == 0


@pytest.mark.parametrize("name", ["ops\x00", "\ud800"])
def test_text_no_database_stores_is_a_400_after_authentication(client: FlaskClient, admin: dict, tenant: str,
                                                               name: str) -> None:
    """U+0000 and unpaired surrogates: a 400 naming what to remove, on every engine; unauthenticated, still 401."""
    body = assert_problem(client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": name},
                                      headers=admin), 400, "invalid_value")
    assert "remove it" in body["detail"]
    assert_problem(client.post(f"/admin/v1/tenants/{tenant}/admin-keys", json={"name": name}), 401)
    assert client.get(f"/admin/v1/tenants/{tenant}/admin-keys", headers=admin).get_json()["items"] == []
