"""R-TOK-6: every admin action is in the tenant's audit trail, with who, when, and which token."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient

from token_service.models import AuditEvent

from .conftest import assert_problem, now, parse_time

EVENT_FIELDS = {"id", "at", "tenant", "actor", "action", "token_id", "detail"}


def audit(client: FlaskClient, headers: dict, tenant: str, **query: object) -> dict:
    resp = client.get(f"/admin/v1/tenants/{tenant}/audit", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_every_action_is_recorded(client: FlaskClient, admin: dict, generate, tenant_admin) -> None:
    start = now() - dt.timedelta(seconds=1)
    assert client.post("/admin/v1/tenants", json={"id": "acme"}, headers=admin).status_code == 201
    key_headers, key = tenant_admin("acme", "Acme IT")
    issued = generate("acme", expires_in_days=2)
    base = f"/admin/v1/tenants/acme/tokens/{issued['id']}"
    assert client.post(base + "/deactivate", headers=key_headers).status_code == 200
    assert client.post(base + "/activate", headers=admin).status_code == 200
    assert client.post(base + "/renew", json={}, headers=key_headers).status_code == 200
    assert client.delete(base, headers=admin).status_code == 204
    assert client.delete(f"/admin/v1/tenants/acme/admin-keys/{key['id']}", headers=admin).status_code == 204
    end = now() + dt.timedelta(seconds=1)

    page = audit(client, admin, "acme")
    assert page["next_before"] is None
    items = page["items"]
    key_actor = f"admin-key:{key['id']}"
    assert [(e["action"], e["actor"], e["token_id"]) for e in items] == [
        ("admin_key.revoke", "deployment", None),
        ("token.remove", "deployment", issued["id"]),
        ("token.renew", key_actor, issued["id"]),
        ("token.activate", "deployment", issued["id"]),
        ("token.deactivate", key_actor, issued["id"]),
        ("token.generate", "deployment", issued["id"]),
        ("admin_key.create", "deployment", None),
        ("tenant.create", "deployment", None),
    ]
    for event in items:
        assert set(event) == EVENT_FIELDS
        assert event["tenant"] == "acme"
        assert start <= parse_time(event["at"]) <= end
    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True)
    ats = [parse_time(e["at"]) for e in items]
    assert ats == sorted(ats, reverse=True)

    by_action = {e["action"]: e["detail"] for e in items}
    assert by_action["token.generate"]["slot"] == 1
    assert by_action["token.generate"]["expires_at"] is not None
    assert by_action["token.deactivate"] == {"before": "Active", "after": "Inactive"}
    assert by_action["token.activate"] == {"before": "Inactive", "after": "Active"}
    assert by_action["token.remove"] == {"slot": 1}
    assert by_action["admin_key.create"] == {"admin_key_id": key["id"], "name": "Acme IT"}
    assert by_action["admin_key.revoke"] == {"admin_key_id": key["id"]}
    # No secret, nor its hash, in the trail.
    assert issued["token"] not in str(items)
    assert key["key"] not in str(items)


def test_audit_rows_are_in_the_database(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    row = AuditEvent.get((AuditEvent.action == "token.generate") & (AuditEvent.token_id == issued["id"]))
    assert (row.tenant, row.actor) == (tenant, "deployment")
    api = [e for e in audit(client, admin, tenant)["items"] if e["action"] == "token.generate"]
    assert [e["id"] for e in api] == [row.id]


def test_no_change_no_event(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    """Idempotent calls and refused calls leave nothing in the trail."""
    issued = generate(tenant)
    generate(tenant)
    count = AuditEvent.select().count()
    base = f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}"
    assert client.post(base + "/activate", headers=admin).status_code == 200  # already Active
    assert client.post(f"/admin/v1/tenants/{tenant}/tokens", json={}, headers=admin).status_code == 409
    assert client.post(base + "/nope", headers=admin).status_code == 404
    assert client.delete(f"/admin/v1/tenants/{tenant}/tokens/unknown", headers=admin).status_code == 404
    assert client.post("/admin/v1/tenants", json={"id": tenant}, headers=admin).status_code == 409
    assert client.post("/admin/v1/tenants", json={"id": "Bad"}, headers=admin).status_code == 400
    assert AuditEvent.select().count() == count


def test_cross_tenant_attempts_leave_no_event(client: FlaskClient, generate, tenant_admin, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    headers, _ = tenant_admin("acme")
    theirs = generate("globex")
    count = AuditEvent.select().count()
    client.post(f"/admin/v1/tenants/globex/tokens/{theirs['id']}/deactivate", headers=headers)
    client.post("/admin/v1/tenants", json={"id": "newco"}, headers=headers)
    assert AuditEvent.select().count() == count


def test_the_trail_is_per_tenant(client: FlaskClient, admin: dict, generate, tenant_admin, create_tenant) -> None:
    create_tenant("acme")
    create_tenant("globex")
    acme_token = generate("acme")
    globex_token = generate("globex")
    acme = audit(client, admin, "acme")["items"]
    assert {e["tenant"] for e in acme} == {"acme"}
    assert globex_token["id"] not in {e["token_id"] for e in acme}
    assert acme_token["id"] in {e["token_id"] for e in acme}
    headers, _ = tenant_admin("acme")
    assert audit(client, headers, "acme")["items"][0]["action"] == "admin_key.create"
    assert_problem(client.get("/admin/v1/tenants/globex/audit", headers=headers), 404, "tenant_not_found")


def test_cli_actions_are_recorded_as_the_operator(app, client: FlaskClient, admin: dict) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-tenant", "acme"]).exit_code == 0
    assert runner.invoke(args=["generate-token", "acme"]).exit_code == 0
    items = audit(client, admin, "acme")["items"]
    assert [(e["action"], e["actor"]) for e in items] == [("token.generate", "operator-cli"),
                                                          ("tenant.create", "operator-cli")]


# --- pagination -----------------------------------------------------------------------------------


@pytest.fixture
def many_events(client: FlaskClient, admin: dict, generate, tenant: str) -> list[int]:
    """tenant.create, token.generate and 10 state changes: 12 events; their ids, newest first."""
    issued = generate(tenant)
    base = f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}"
    for _ in range(5):
        assert client.post(base + "/deactivate", headers=admin).status_code == 200
        assert client.post(base + "/activate", headers=admin).status_code == 200
    ids = [e.id for e in AuditEvent.select().where(AuditEvent.tenant == tenant).order_by(AuditEvent.id.desc())]
    assert len(ids) == 12
    return ids


def walk(client: FlaskClient, admin: dict, tenant: str, limit: int) -> tuple[list[int], int]:
    """Follow next_before from the first page to the last: (event ids seen, number of pages)."""
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        query = {"limit": limit} if before is None else {"limit": limit, "before": before}
        page = audit(client, admin, tenant, **query)
        pages += 1
        assert len(page["items"]) <= limit
        seen.extend(e["id"] for e in page["items"])
        if page["next_before"] is None:
            assert len(page["items"]) < limit  # a short page is the last one
            return seen, pages
        assert len(page["items"]) == limit
        assert page["next_before"] == page["items"][-1]["id"]
        before = page["next_before"]
        assert pages < 20


def test_pages_cover_the_trail_once(client: FlaskClient, admin: dict, tenant: str, many_events: list[int],
                                    subtests: pytest.Subtests) -> None:
    for limit in (1, 5, 7, 12, 13, 500):
        with subtests.test(limit=limit):
            seen, pages = walk(client, admin, tenant, limit)
            assert seen == many_events
            # As implemented, a full last page still offers a next_before, which then yields an empty page.
            assert pages == len(many_events) // limit + 1


def test_before_is_exclusive(client: FlaskClient, admin: dict, tenant: str, many_events: list[int]) -> None:
    page = audit(client, admin, tenant, limit=3, before=many_events[4])
    assert [e["id"] for e in page["items"]] == many_events[5:8]
    assert page["next_before"] == many_events[7]


def test_default_limit_is_50(client: FlaskClient, admin: dict, generate, tenant: str) -> None:
    issued = generate(tenant)
    base = f"/admin/v1/tenants/{tenant}/tokens/{issued['id']}"
    for _ in range(25):  # 50 events + tenant.create + token.generate = 52
        client.post(base + "/deactivate", headers=admin)
        client.post(base + "/activate", headers=admin)
    page = audit(client, admin, tenant)
    assert len(page["items"]) == 50
    rest = audit(client, admin, tenant, before=page["next_before"])
    assert [e["action"] for e in rest["items"]] == ["token.generate", "tenant.create"]
    assert rest["next_before"] is None


def test_bad_paging_is_422(client: FlaskClient, admin: dict, tenant: str, subtests: pytest.Subtests) -> None:
    for query in ({"limit": 0}, {"limit": 501}, {"limit": -1}, {"limit": "ten"}, {"before": "x"}, {"limit": "1.5"},
                  {"limit": 0, "before": "x"}):
        with subtests.test(query=query):
            resp = client.get(f"/admin/v1/tenants/{tenant}/audit", query_string=query, headers=admin)
            body = assert_problem(resp, 422, "unprocessable_entity")
            assert set(body["errors"]["query"]) == set(query)


def test_audit_of_unknown_tenant_is_404(client: FlaskClient, admin: dict) -> None:
    assert_problem(client.get("/admin/v1/tenants/nope/audit", headers=admin), 404, "tenant_not_found")
