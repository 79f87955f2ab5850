"""The token admin API: generate, list, states, renew, remove, the limit of two (R-TOK-1..3)."""

from flask.testing import FlaskClient


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
