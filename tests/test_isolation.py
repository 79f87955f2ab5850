"""Tenant isolation through real processes: tenant A's SCIM token and A's admin key get
nothing of tenant B on any route of any service, and B looks exactly like a tenant that does not exist;
internal endpoints want the service credential even from loopback."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3

from shared.testing import System

pytestmark = pytest.mark.integration
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
REQUEST_ID = re.compile(r'"request_id"\s*:\s*"[0-9a-zA-Z-]*"')


@dataclass
class Tenant:
    name: str
    token: str
    token_id: str
    admin_key: str
    admin_key_id: str
    user_id: str
    user_name: str
    group_id: str
    group_name: str


def make_tenant(system: System, prefix: str) -> Tenant:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    assert system.admin("POST", "/admin/v1/tenants", {"id": name}).status == 201
    issued = system.admin("POST", f"/admin/v1/tenants/{name}/tokens", {}).json()
    key = system.admin("POST", f"/admin/v1/tenants/{name}/admin-keys", {"name": "ops"})
    assert key.status == 201, key.data
    base = issued["scim_url"]
    user_name = f"secret-user-{uuid.uuid4().hex[:8]}@{name}.example"
    user = system.request("POST", base + "/Users", token=issued["token"], json_body={
        "schemas": [USER], "userName": user_name, "name": {"givenName": "Bea", "familyName": "Zqxsecret"},
        "emails": [{"value": user_name, "type": "work", "primary": True}]})
    group_name = f"secret-group-{uuid.uuid4().hex[:8]}"
    group = system.request("POST", base + "/Groups", token=issued["token"],
                           json_body={"schemas": [GROUP], "displayName": group_name})
    assert user.status == 201 and group.status == 201, (user.data, group.data)
    return Tenant(name, issued["token"], issued["id"], key.json()["key"], key.json()["id"], user.json()["id"],
                  user_name, group.json()["id"], group_name)


@pytest.fixture(scope="module")
def tenants(system: System) -> Iterator[tuple[Tenant, Tenant]]:
    yield make_tenant(system, "iso-a"), make_tenant(system, "iso-b")


def secrets_of(b: Tenant) -> list[str]:
    return [b.user_id, b.user_name, b.group_id, b.group_name, b.token_id, b.admin_key_id, "Zqxsecret"]


def call(system: System, method: str, url: str, *, token: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    encoded = None
    if body is not None:
        encoded = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    resp = system.http.request(method, url, body=encoded, headers=all_headers, timeout=10.0, retries=False,
                               redirect=False)
    assert resp.status < 500, (method, url, resp.status, resp.data[:300])
    return resp


def normalised(resp: urllib3.BaseHTTPResponse, *names: str) -> str:
    text = REQUEST_ID.sub('"request_id":""', resp.data.decode(errors="replace"))
    for name in names:
        text = text.replace(name, "TENANT")
    return text


def scim_routes(b: Tenant) -> list[tuple[str, str, Any]]:
    user = {"schemas": [USER], "userName": "intruder@contoso.com", "name": {"familyName": "I"},
            "emails": [{"value": "intruder@contoso.com", "type": "work"}]}
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "owned"}]}
    remove_all = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}
    return [
        ("GET", "/Users", None), ("GET", f'/Users?filter=userName%20eq%20%22{b.user_name}%22', None),
        ("POST", "/Users", user), ("POST", "/Users/.search", {"schemas": [SEARCH]}),
        ("GET", f"/Users/{b.user_id}", None), ("PUT", f"/Users/{b.user_id}", user),
        ("PATCH", f"/Users/{b.user_id}", patch), ("DELETE", f"/Users/{b.user_id}", None),
        ("GET", "/Groups", None), ("POST", "/Groups", {"schemas": [GROUP], "displayName": "intruders"}),
        ("POST", "/Groups/.search", {"schemas": [SEARCH]}),
        ("GET", f"/Groups/{b.group_id}", None), ("PUT", f"/Groups/{b.group_id}", {"schemas": [GROUP],
                                                                                  "displayName": "owned"}),
        ("PATCH", f"/Groups/{b.group_id}", remove_all), ("DELETE", f"/Groups/{b.group_id}", None),
        ("POST", "/.search", {"schemas": [SEARCH]}),
        ("GET", "/ServiceProviderConfig", None), ("GET", "/Schemas", None),
        ("GET", f"/Schemas/{USER}", None), ("GET", "/ResourceTypes", None), ("GET", "/ResourceTypes/User", None),
        ("GET", "/nothing-here", None),
    ]


def test_a_scim_token_of_tenant_a_gets_401_and_nothing_of_b_on_every_route(system: System,
                                                                          tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    scim = system.url("scim-api") + "/scim/v2/"
    missing = f"iso-none-{uuid.uuid4().hex[:6]}"
    for method, path, body in scim_routes(b):
        for query in ("", "?aadOptscim062020"):
            other = call(system, method, scim + b.name + path + query, token=a.token, body=body)
            nobody = call(system, method, scim + missing + path + query, token=a.token, body=body)
            assert other.status == 401, (method, path, other.status, other.data[:300])
            assert other.headers["Content-Type"].startswith("application/scim+json")
            assert normalised(other, b.name) == normalised(nobody, missing), (method, path)
            for secret in secrets_of(b):
                assert secret not in other.data.decode(errors="replace"), (method, path, secret)
    # And B is untouched: its user and group are as they were, its token still works.
    user = system.request("GET", f"{scim}{b.name}/Users/{b.user_id}", token=b.token)
    group = system.request("GET", f"{scim}{b.name}/Groups/{b.group_id}", token=b.token)
    assert user.status == 200 and user.json()["userName"] == b.user_name and user.json()["active"] is True
    assert group.status == 200 and group.json()["displayName"] == b.group_name
    total = system.request("GET", f"{scim}{b.name}/Users", token=b.token).json()["totalResults"]
    assert total == 1


def admin_routes(system: System, b: Tenant) -> list[tuple[str, str, Any]]:
    """(method, URL with {t} for the tenant, body) of every admin route that names a tenant."""
    tok, dirs, notes = (system.url("token-service") + "/admin/v1/tenants/{t}",
                        system.url("directory") + "/admin/v1/tenants/{t}",
                        system.url("notifications") + "/admin/v1/tenants/{t}")
    user = {"userName": "intruder@contoso.com", "source": "local", "emails": [{"value": "intruder@contoso.com"}],
            "name": {"givenName": "I", "familyName": "I"}}
    return [
        ("GET", tok, None), ("GET", tok + "/tokens", None), ("POST", tok + "/tokens", {}),
        ("GET", tok + f"/tokens/{b.token_id}", None),
        ("POST", tok + f"/tokens/{b.token_id}/deactivate", {}), ("POST", tok + f"/tokens/{b.token_id}/renew", {}),
        ("POST", tok + f"/tokens/{b.token_id}/activate", {}), ("DELETE", tok + f"/tokens/{b.token_id}", None),
        ("GET", tok + "/admin-keys", None), ("POST", tok + "/admin-keys", {"name": "x"}),
        ("DELETE", tok + f"/admin-keys/{b.admin_key_id}", None), ("GET", tok + "/audit", None),
        ("GET", dirs + "/users", None), ("POST", dirs + "/users", user),
        ("GET", dirs + f"/users/{b.user_id}", None), ("DELETE", dirs + f"/users/{b.user_id}", None),
        ("POST", dirs + f"/users/{b.user_id}/disable", {}), ("POST", dirs + f"/users/{b.user_id}/enable", {}),
        ("POST", dirs + f"/users/{b.user_id}/resolve-template", {"template": "${userName}"}),
        ("GET", dirs + "/groups", None), ("GET", dirs + f"/groups/{b.group_id}", None),
        ("GET", dirs + "/audit", None), ("GET", dirs + "/custom-attributes", None),
        ("POST", dirs + "/custom-attributes", {"name": "custAttr1"}),
        ("DELETE", dirs + "/custom-attributes/custAttr1", None),
        ("GET", dirs + "/migration/leftovers?kind=users&since=2026-01-01T00:00:00Z", None),
        ("GET", notes + "/notifications", None), ("GET", notes + "/notifications/1", None),
        ("POST", notes + "/notifications/1/acknowledge", {}), ("GET", notes + "/webhook", None),
        ("PUT", notes + "/webhook", {"url": "http://127.0.0.1:9/hook"}), ("DELETE", notes + "/webhook", None),
        ("GET", system.url("notifications") + "/tenants/{t}/notifications", None),
    ]


def test_an_admin_key_of_tenant_a_finds_b_exactly_as_missing_on_every_admin_route(
        system: System, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    missing = f"iso-none-{uuid.uuid4().hex[:6]}"
    for method, template, body in admin_routes(system, b):
        other = call(system, method, template.format(t=b.name), token=a.admin_key, body=body)
        nobody = call(system, method, template.format(t=missing), token=a.admin_key, body=body)
        # Creating and revoking admin keys is the deployment key's alone: 403 for any tenant, existing or not.
        expected = 403 if "/admin-keys" in template and method in ("POST", "DELETE") else 404
        assert other.status == expected, (method, template, other.status, other.data[:300])
        assert (other.status, other.headers.get("Content-Type")) == (nobody.status, nobody.headers.get("Content-Type"))
        assert normalised(other, b.name) == normalised(nobody, missing), (method, template)
        for secret in secrets_of(b):
            assert secret not in other.data.decode(errors="replace"), (method, template, secret)
    # A's own tenant answers (the key works), and B's token and data are untouched.
    own = call(system, "GET", system.url("token-service") + f"/admin/v1/tenants/{a.name}/tokens", token=a.admin_key)
    assert own.status == 200
    scim = system.url("scim-api") + f"/scim/v2/{b.name}"
    user = system.request("GET", f"{scim}/Users/{b.user_id}", token=b.token)
    assert user.status == 200 and user.json()["active"] is True
    tokens = system.admin("GET", f"/admin/v1/tenants/{b.name}/tokens").json()
    items = tokens["items"] if isinstance(tokens, dict) else tokens
    assert [t["id"] for t in items] == [b.token_id] and items[0]["state"] == "Active", items
    keys = system.admin("GET", f"/admin/v1/tenants/{b.name}/admin-keys").json()
    keys = keys["items"] if isinstance(keys, dict) else keys
    assert [k["id"] for k in keys] == [b.admin_key_id]


def internal_routes(system: System, b: Tenant) -> list[tuple[str, str, Any]]:
    tok, dirs, notes = system.url("token-service"), system.url("directory"), system.url("notifications")
    d = dirs + f"/internal/v1/tenants/{b.name}"
    user = {"userName": "intruder@contoso.com", "emails": [{"value": "intruder@contoso.com"}],
            "name": {"familyName": "I"}}
    return [
        ("POST", tok + "/internal/v1/introspect", {"token_hash": "0" * 64}),
        ("POST", tok + "/internal/v1/admin-keys/check", {"key_hash": "0" * 64}),
        ("GET", tok + "/internal/v1/activity", None),
        ("POST", d + "/users", user), ("GET", d + f"/users/{b.user_id}", None),
        ("PUT", d + f"/users/{b.user_id}", user), ("DELETE", d + f"/users/{b.user_id}", None),
        ("POST", d + "/users/search", {}), ("POST", d + "/groups", {"displayName": "intruders"}),
        ("GET", d + f"/groups/{b.group_id}", None), ("PUT", d + f"/groups/{b.group_id}", {"displayName": "x"}),
        ("PATCH", d + f"/groups/{b.group_id}", {}), ("DELETE", d + f"/groups/{b.group_id}", None),
        ("POST", d + "/groups/search", {}), ("GET", d + "/custom-attributes", None), ("GET", d + "/audit", None),
        ("GET", d + "/sync-outcomes", None),
        ("POST", notes + f"/internal/v1/tenants/{b.name}/outcomes", {"items": []}),
    ]


def test_internal_endpoints_refuse_calls_without_the_service_credential(
        system: System, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    for method, url, body in internal_routes(system, b):
        for headers in ({}, {"X-Internal-Key": "wrong"}, {"X-Internal-Key": ""}):
            for token in (None, a.admin_key, system.admin_key):  # no other credential stands in for it
                resp = call(system, method, url, token=token, body=body, headers=headers)
                assert resp.status == 401, (method, url, headers, token is not None, resp.status, resp.data[:200])
                for secret in secrets_of(b):
                    assert secret not in resp.data.decode(errors="replace")
    scim = system.url("scim-api") + f"/scim/v2/{b.name}"
    user = system.request("GET", f"{scim}/Users/{b.user_id}", token=b.token)
    assert user.status == 200 and user.json()["active"] is True
    group = system.request("GET", f"{scim}/Groups/{b.group_id}", token=b.token)
    assert group.status == 200 and group.json()["displayName"] == b.group_name
