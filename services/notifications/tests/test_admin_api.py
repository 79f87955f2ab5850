"""GET /admin/v1/tenants/{tenant}/notifications and friends: the same data as the page, for programs, behind
the same admin keys as the token service (R-NOT-4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from notifications import rules

from .conftest import Outcomes, assert_problem, custom_drop, listing, refused_email

BASE = "/admin/v1/tenants/acme/notifications"


@pytest.fixture
def mixed(outcomes: Outcomes) -> None:
    """Three notifications: two R-NOT-3 causes and one R-NOT-2."""
    outcomes("partial", dropped=[custom_drop("custAttr1")])
    outcomes("partial", dropped=[custom_drop("custAttr2")])
    outcomes(**refused_email())


def test_the_api_needs_an_admin_key(client: FlaskClient) -> None:
    resp = client.get(BASE)
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get(BASE, headers={"Authorization": "Bearer sta_wrong"}), 401)


def test_a_tenant_key_sees_its_tenant_and_no_other(client: FlaskClient, tenant_key: Callable[[str], dict],
                                                   mixed: None) -> None:
    own = tenant_key("acme")
    assert listing(client, own)["total"] == 3
    other = tenant_key("globex")
    assert_problem(client.get(BASE, headers=other), 404, "not_found")


def test_filters_by_kind_and_state(client: FlaskClient, admin: dict[str, str], mixed: None) -> None:
    some = listing(client, admin, kind=rules.SOME_NOT_SYNCHRONIZED)
    assert some["total"] == 2 and {n["kind"] for n in some["items"]} == {rules.SOME_NOT_SYNCHRONIZED}
    first = some["items"][0]
    client.post(f"{BASE}/{first['id']}/acknowledge", headers=admin)
    assert [n["id"] for n in listing(client, admin, state="acknowledged")["items"]] == [first["id"]]
    assert listing(client, admin, state=["open", "acknowledged"])["total"] == 3
    assert listing(client, admin, kind=rules.UNREACHABLE)["total"] == 0
    assert_problem(client.get(BASE, query_string={"state": "closed"}, headers=admin), 422)


def test_open_notifications_come_first_then_newest(client: FlaskClient, admin: dict[str, str], mixed: None) -> None:
    items = listing(client, admin)["items"]
    assert [n["attribute"] for n in items] == ["emails", "custAttr2", "custAttr1"]
    client.post(f"{BASE}/{items[0]['id']}/acknowledge", headers=admin)
    assert [n["attribute"] for n in listing(client, admin)["items"]] == ["custAttr2", "custAttr1", "emails"]


def test_pages(client: FlaskClient, admin: dict[str, str], mixed: None) -> None:
    first = listing(client, admin, per_page=2)
    assert (len(first["items"]), first["total"], first["next_page"]) == (2, 3, 2)
    second = listing(client, admin, per_page=2, page=2)
    assert len(second["items"]) == 1 and second["next_page"] is None
    assert {n["id"] for n in first["items"]}.isdisjoint(n["id"] for n in second["items"])
    assert_problem(client.get(BASE, query_string={"per_page": 500}, headers=admin), 422)


def test_acknowledge_records_who_and_is_idempotent(client: FlaskClient, admin: dict[str, str], mixed: None,
                                                   tenant_key: Callable[[str], dict]) -> None:
    target = listing(client, admin)["items"][0]
    key = tenant_key("acme")
    resp = client.post(f"{BASE}/{target['id']}/acknowledge", headers=key)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"].startswith("admin-key:")
    again = client.post(f"{BASE}/{target['id']}/acknowledge", headers=admin).get_json()
    assert again["acknowledged_at"] == body["acknowledged_at"] and again["acknowledged_by"] == body["acknowledged_by"]
    assert client.get(f"{BASE}/{target['id']}", headers=admin).get_json() == again
    assert_problem(client.post(f"{BASE}/999999/acknowledge", headers=admin), 404, "not_found")


def test_a_notification_of_another_tenant_is_not_found(client: FlaskClient, admin: dict[str, str],
                                                       outcomes: Outcomes) -> None:
    outcomes.send(outcomes.make(**refused_email()), tenant="globex")
    other = listing(client, admin, tenant="globex")["items"][0]
    assert_problem(client.get(f"{BASE}/{other['id']}", headers=admin), 404)
    assert_problem(client.post(f"{BASE}/{other['id']}/acknowledge", headers=admin), 404)


def test_webhook_set_show_and_delete(client: FlaskClient, admin: dict[str, str]) -> None:
    hook = "/admin/v1/tenants/acme/webhook"
    assert_problem(client.get(hook, headers=admin), 404)
    resp = client.put(hook, json={"url": "https://hooks.example.com/scim"}, headers=admin)
    assert resp.status_code == 200
    assert resp.get_json()["secret"].startswith("whs_")
    shown = client.get(hook, headers=admin).get_json()
    assert shown["url"] == "https://hooks.example.com/scim" and "secret" not in shown
    assert_problem(client.put(hook, json={"url": "ftp://x"}, headers=admin), 400, "invalid_value")
    assert client.delete(hook, headers=admin).status_code == 204
    assert_problem(client.delete(hook, headers=admin), 404)


def test_the_openapi_document_lists_the_admin_api(client: FlaskClient) -> None:
    doc = client.get("/admin/v1/openapi.json").get_json()
    assert "/admin/v1/tenants/{tenant}/notifications" in doc["paths"]
    assert "/admin/v1/tenants/{tenant}/notifications/{notification_id}/acknowledge" in doc["paths"]
    assert doc["components"]["securitySchemes"]["adminKey"]["scheme"] == "bearer"
    assert not any(p.startswith("/internal") for p in doc["paths"])
