"""Tokens end to end through real processes: the README's flow, revocation within the bound, no leaks."""

from __future__ import annotations

import time

import pytest

from shared.testing import System, wait_until

REVOCATION_BOUND_S = 5.0  # documented in the README (R-TOK-5)
pytestmark = pytest.mark.integration


def scim_users(system: System, tenant: str, token: str) -> int:
    url = system.url("scim-api") + f"/scim/v2/{tenant}/Users"
    resp = system.request("GET", url, token=token, fields={"filter": 'userName eq "x"'})
    assert resp.headers["Content-Type"] == "application/scim+json"
    return resp.status


def new_tenant_token(system: System, tenant: str) -> dict:
    assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    resp = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {})
    assert resp.status == 201, resp.data
    return resp.json()


def seconds_until_refused(system: System, tenant: str, token: str, limit: float) -> float:
    """Poll (not sleep blindly) until the SCIM API answers 401; fail past `limit` seconds."""
    start = time.monotonic()
    assert wait_until(lambda: scim_users(system, tenant, token) == 401, limit, interval=0.1), \
        f"token still accepted {limit:.1f}s after it was revoked"
    return time.monotonic() - start


def test_readme_flow_generates_a_token_that_authenticates_at_the_scim_url(system: System) -> None:
    """From the README: generate a token, then Test Connection's query for a user is answered 200."""
    issued = new_tenant_token(system, "readme")
    assert issued["scim_url"] == system.url("scim-api") + "/scim/v2/readme"
    assert scim_users(system, "readme", issued["token"]) == 200


@pytest.mark.parametrize("action", ["deactivate", "renew", "remove"])
def test_revoked_token_is_refused_by_every_worker_within_the_bound(system: System, action: str) -> None:
    """R-TOK-5 with real processes: the SCIM API runs several workers, each with its own cache."""
    tenant = f"revoke-{action}"
    issued = new_tenant_token(system, tenant)
    for _ in range(8):  # warm the caches of every worker and thread
        assert scim_users(system, tenant, issued["token"]) == 200
    path = f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}"
    resp = system.admin("DELETE", path) if action == "remove" else system.admin("POST", f"{path}/{action}", {})
    assert resp.status == (204 if action == "remove" else 200), resp.data[:300]
    seconds_until_refused(system, tenant, issued["token"], REVOCATION_BOUND_S + 1.0)
    for _ in range(8):  # and refused by all of them, not just the first one asked
        assert scim_users(system, tenant, issued["token"]) == 401


def test_tokens_and_admin_keys_of_one_tenant_do_not_reach_another(system: System) -> None:
    """R-TOK-5, R-TOK-6: tenant isolation of SCIM tokens and tenant admin keys."""
    a = new_tenant_token(system, "iso-a")
    new_tenant_token(system, "iso-b")
    assert scim_users(system, "iso-b", a["token"]) == 401
    key = system.admin("POST", "/admin/v1/tenants/iso-a/admin-keys", {"name": "ops"}).json()["key"]
    base = system.url("token-service")
    own = system.request("GET", f"{base}/admin/v1/tenants/iso-a/tokens", token=key)
    other = system.request("GET", f"{base}/admin/v1/tenants/iso-b/tokens", token=key)
    missing = system.request("GET", f"{base}/admin/v1/tenants/nope/tokens", token=key)
    assert own.status == 200
    assert other.status == missing.status == 404
    assert other.json()["detail"].replace("iso-b", "X") == missing.json()["detail"].replace("nope", "X")
    assert system.request("GET", f"{base}/admin/v1/tenants/iso-a/tokens", token=a["token"]).status == 401


def test_internal_endpoints_refuse_calls_without_the_service_credential(system: System) -> None:
    """Loopback is not trust: introspection needs the internal credential."""
    url = system.url("token-service") + "/internal/v1/introspect"
    body = {"token_hash": "0" * 64}
    assert system.request("POST", url, json_body=body).status == 401
    assert system.request("POST", url, json_body=body, headers={"X-Internal-Key": "wrong"}).status == 401
    assert system.request("POST", url, json_body=body, headers={"X-Internal-Key": system.env["INTERNAL_API_KEY"]}
                          ).status == 200


def test_every_service_answers_healthz(system: System) -> None:
    for name in system.processes:
        resp = system.request("GET", system.url(name) + "/healthz")
        assert resp.status == 200 and resp.json()["status"] == "ok"


def test_secrets_never_appear_in_any_log(system: System) -> None:
    """Runs last in this module: everything above has been logged by then."""
    issued = new_tenant_token(system, "leak")
    scim_users(system, "leak", issued["token"])
    scim_users(system, "leak", "Bearer-garbage-" + issued["token"][::-1])
    logs = system.logs()
    assert "scim-api" in logs and "token-service" in logs  # the logs are really there
    for secret in (issued["token"], system.admin_key, system.env["INTERNAL_API_KEY"]):
        assert secret not in logs
    assert issued["token"].split(".")[2] not in logs  # not even the signature part
