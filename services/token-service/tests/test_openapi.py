"""The admin API's OpenAPI document at /admin/v1/openapi.json."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

ADMIN_ROUTES = {
    "/admin/v1/tenants": {"get", "post"},
    "/admin/v1/tenants/{tenant}": {"get"},
    "/admin/v1/tenants/{tenant}/tokens": {"get", "post"},
    "/admin/v1/tenants/{tenant}/tokens/{token_id}": {"get", "delete"},
    "/admin/v1/tenants/{tenant}/tokens/{token_id}/activate": {"post"},
    "/admin/v1/tenants/{tenant}/tokens/{token_id}/deactivate": {"post"},
    "/admin/v1/tenants/{tenant}/tokens/{token_id}/renew": {"post"},
    "/admin/v1/tenants/{tenant}/admin-keys": {"get", "post"},
    "/admin/v1/tenants/{tenant}/admin-keys/{key_id}": {"delete"},
    "/admin/v1/tenants/{tenant}/audit": {"get"},
}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: FlaskClient) -> dict:
    resp = client.get("/admin/v1/openapi.json")  # public: no admin key needed to read the contract
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    return resp.get_json()


def test_document_header(spec: dict) -> None:
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["version"] == "v1"
    assert "token service" in spec["info"]["title"]


def test_lists_exactly_the_admin_routes(spec: dict) -> None:
    routes = {path: {m for m in ops if m in METHODS} for path, ops in spec["paths"].items()}
    assert routes == ADMIN_ROUTES


def test_matches_the_app_routes(app, spec: dict) -> None:
    """Every admin URL rule the app serves is documented, with its methods."""
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            path = rule.rule.replace("<", "{").replace(">", "}")
            served.setdefault(path, set()).update(m.lower() for m in rule.methods if m.lower() in METHODS)
    assert served == ADMIN_ROUTES
    assert not any(p.startswith("/internal") or "jwks" in p for p in spec["paths"])


def test_admin_key_security(spec: dict) -> None:
    scheme = spec["components"]["securitySchemes"]["adminKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"adminKey": []}]


def test_documented_bodies_and_statuses(spec: dict) -> None:
    paths = spec["paths"]
    generate = paths["/admin/v1/tenants/{tenant}/tokens"]["post"]
    assert "201" in generate["responses"]
    assert "requestBody" in generate
    assert "204" in paths["/admin/v1/tenants/{tenant}/tokens/{token_id}"]["delete"]["responses"]
    assert "200" in paths["/admin/v1/tenants/{tenant}/tokens/{token_id}/renew"]["post"]["responses"]
    assert "201" in paths["/admin/v1/tenants"]["post"]["responses"]
    params = {p["name"] for p in paths["/admin/v1/tenants/{tenant}/audit"]["get"]["parameters"]}
    assert {"limit", "before"} <= params
    schemas = spec["components"]["schemas"]
    issued = next(s for name, s in schemas.items() if name.startswith("IssuedToken"))
    assert "token" in issued["properties"]
    listed = next(s for name, s in schemas.items() if name == "Token")
    assert "token" not in listed["properties"]
    assert set(schemas["TokenCreate"]["properties"]) == {"expires_in_days"}
    assert schemas["TokenCreate"]["properties"]["expires_in_days"]["minimum"] == 1
