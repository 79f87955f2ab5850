"""The directory's admin API: the token service's admin keys, users and groups by source and status,
disable / re-enable / delete for good (R-DIR-4), custom attributes and templates (R-DIR-11), the audit
log with the admin as actor (R-DIR-13), sources for migration clean-up (R-DIR-14)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import Api, user_body

CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"


@pytest.fixture
def tenant_key(token_app: Flask, env: dict[str, str]) -> str:
    """An admin key of tenant acme, created on the token service with the deployment key."""
    client: FlaskClient = token_app.test_client()
    deployment = {"Authorization": f"Bearer {env['ADMIN_API_KEY']}"}
    for tenant in ("acme", "zeta"):
        assert client.post("/admin/v1/tenants", json={"id": tenant}, headers=deployment).status_code == 201
    resp = client.post("/admin/v1/tenants/acme/admin-keys", json={"name": "ops"}, headers=deployment)
    assert resp.status_code == 201
    return resp.get_json()["key"]


def test_admin_keys_of_the_token_service_work_here_and_only_on_their_tenant(admin: Any, tenant_key: str,
                                                                           make_user: Any) -> None:
    make_user()
    assert admin("GET", "/users").status_code == 200  # deployment key: every tenant
    assert admin("GET", "/users", tenant="zeta").status_code == 200
    assert admin("GET", "/users", key=tenant_key).get_json()["items"][0]["userName"] == "ann@example.com"
    other = admin("GET", "/users", key=tenant_key, tenant="zeta")
    assert other.status_code == 404 and other.get_json()["code"] == "not_found"
    for key in ("sta_wrong", "x"):
        resp = admin("GET", "/users", key=key)
        assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_users_are_listed_by_source_status_and_prefix_page_by_page_R_DIR_14(admin: Any, api: Api,
                                                                         make_user: Any) -> None:
    ids = [make_user(f"user{i}@example.com")["id"] for i in range(5)]
    assert api("DELETE", f"/users/{ids[0]}").status_code == 204
    api("PUT", f"/users/{ids[1]}", user_body("user1@example.com", active=False))
    seen, after = [], None
    while True:
        page = admin("GET", "/users", query_string={"limit": 2, **({"after": after} if after else {})}).get_json()
        seen += [u["id"] for u in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    statuses = {u["id"]: u["status"] for u in admin("GET", "/users").get_json()["items"]}
    assert statuses[ids[0]] == "deleted" and statuses[ids[1]] == "disabled" and statuses[ids[2]] == "active"
    assert [u["id"] for u in admin("GET", "/users?status=deleted").get_json()["items"]] == [ids[0]]
    assert {u["source"] for u in admin("GET", "/users?source=scim").get_json()["items"]} == {"scim"}
    assert admin("GET", "/users?source=ldap").get_json()["items"] == []
    assert [u["userName"] for u in admin("GET", "/users?q=USER3").get_json()["items"]] == ["user3@example.com"]
    assert admin("GET", "/users?status=gone").status_code == 422


def test_an_admin_sees_a_user_deleted_from_entra_and_can_re_enable_it_R_DIR_4(admin: Any, api: Api,
                                                                            make_user: Any) -> None:
    user = make_user()
    assert api("DELETE", f"/users/{user['id']}").status_code == 204
    assert api("GET", f"/users/{user['id']}").status_code == 404  # gone for SCIM
    seen = admin("GET", f"/users/{user['id']}").get_json()
    assert seen["status"] == "deleted" and seen["active"] is False and seen["emails"][0]["value"] == "ann@example.com"
    enabled = admin("POST", f"/users/{user['id']}/enable").get_json()
    assert enabled["status"] == "active"
    assert api("GET", f"/users/{user['id']}").get_json()["active"] is True


def test_disable_then_delete_for_good_is_logged_with_the_admin_as_actor_R_DIR_4_R_DIR_13(
        admin: Any, api: Api, make_user: Any) -> None:
    user = make_user()
    group = api("POST", "/groups", {"displayName": "Staff", "members": [{"value": user["id"]}]}).get_json()
    assert admin("POST", f"/users/{user['id']}/disable").get_json()["status"] == "disabled"
    assert api("GET", f"/users/{user['id']}").get_json()["active"] is False
    assert admin("DELETE", f"/users/{user['id']}").status_code == 204
    assert admin("GET", f"/users/{user['id']}").status_code == 404
    assert admin("GET", f"/groups/{group['id']}").get_json()["members"] == []
    events = admin("GET", f"/audit?subject={user['id']}").get_json()["items"]
    assert [(e["kind"], e["actor"], e["source"]) for e in events][:2] == [
        ("user.deleted", "admin:deployment", "admin"), ("user.disabled", "admin:deployment", "admin")]
    assert admin("DELETE", f"/users/{user['id']}").status_code == 404


def test_groups_are_listed_and_read_with_their_members(admin: Any, api: Api, make_user: Any) -> None:
    user = make_user()
    for name in ("Sales", "Staff", "Support"):
        api("POST", "/groups", {"displayName": name, "members": [{"value": user["id"]}]})
    page = admin("GET", "/groups?q=st").get_json()
    assert [g["displayName"] for g in page["items"]] == ["Staff"] and page["next_after"] is None
    group = admin("GET", f"/groups/{page['items'][0]['id']}").get_json()
    assert [m["value"] for m in group["members"]] == [user["id"]]
    assert admin("GET", "/groups/nope").status_code == 404


def test_custom_attributes_are_added_used_and_deleted_R_DIR_11(admin: Any, api: Api) -> None:
    created = admin("POST", "/custom-attributes", {"name": "custAttr1"})
    assert created.status_code == 201 and created.get_json()["type"] == "idp"
    assert admin("POST", "/custom-attributes", {"name": "CUSTATTR1"}).status_code == 409
    assert admin("POST", "/custom-attributes", {"name": "9bad"}).status_code == 400
    assert [a["name"] for a in admin("GET", "/custom-attributes").get_json()["items"]] == ["custAttr1"]
    user = api("POST", "/users", user_body(custom={"custAttr1": "blue"})).get_json()
    assert user["custom"] == {"custAttr1": "blue"}
    resolved = admin("POST", f"/users/{user['id']}/resolve-template", {"template": "${userName}/${custAttr1}"})
    assert resolved.get_json() == {"value": "ann@example.com/blue"}
    unknown = admin("POST", f"/users/{user['id']}/resolve-template", {"template": "${nope}"})
    assert unknown.status_code == 400 and "nope" in unknown.get_json()["detail"]
    assert admin("DELETE", "/custom-attributes/custattr1").status_code == 204
    assert admin("DELETE", "/custom-attributes/custAttr1").status_code == 404
    assert admin("GET", "/custom-attributes").get_json()["items"] == []


def test_the_openapi_document_lists_the_admin_routes(app: Flask) -> None:
    paths = app.test_client().get("/admin/v1/openapi.json").get_json()["paths"]
    assert {"/admin/v1/tenants/{tenant}/users", "/admin/v1/tenants/{tenant}/users/{user_id}/disable",
            "/admin/v1/tenants/{tenant}/audit", "/admin/v1/tenants/{tenant}/custom-attributes"} <= set(paths)


def test_the_audit_log_is_filtered_by_kind_subject_and_time_range_R_DIR_13(admin: Any, api: Api,
                                                                          make_user: Any) -> None:
    first = make_user("first@example.com")
    events = admin("GET", "/audit").get_json()["items"]
    cut = events[0]["time"]
    second = make_user("second@example.com")
    admin("POST", f"/users/{second['id']}/disable")
    later = admin("GET", "/audit", query_string={"since": cut}).get_json()["items"]
    assert {e["subjectId"] for e in later} >= {second["id"]}
    newer = [e for e in later if e["subjectId"] == first["id"]]
    assert all(e["time"] >= cut for e in newer)
    before = admin("GET", "/audit", query_string={"until": cut}).get_json()["items"]
    assert second["id"] not in {e["subjectId"] for e in before}
    only = admin("GET", "/audit", query_string={"kind": "user.disabled", "subject": second["id"]}).get_json()
    assert [(e["kind"], e["actor"]) for e in only["items"]] == [("user.disabled", "admin:deployment")]
    assert admin("GET", "/audit", query_string={"since": "yesterday"}).status_code == 422


def test_users_from_other_sources_are_added_then_found_and_removed_after_a_migration_R_DIR_14(
        admin: Any, api: Api, make_user: Any) -> None:
    local = admin("POST", "/users", {**user_body("local@example.com"), "source": "local"})
    assert local.status_code == 201 and local.get_json()["source"] == "local"
    ldap = admin("POST", "/users", {**user_body("ldap@example.com"), "source": "ldap"}).get_json()
    assert admin("POST", "/users", {**user_body("LOCAL@example.com"), "source": "local"}).status_code == 409
    assert admin("POST", "/users", {**user_body("x@example.com"), "source": "scim"}).status_code == 422
    provisioned = make_user("entra@example.com")
    from directory.models import Group

    Group.create(id="g-ldap", tenant="acme", display_name="LDAP staff", display_name_key="ldap staff",
                 source="ldap", created=dt.datetime(2026, 1, 1), last_modified=dt.datetime(2026, 1, 1))
    since = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    left = admin("GET", "/migration/leftovers", query_string={"since": since}).get_json()["items"]
    assert sorted(u["userName"] for u in left) == ["ldap@example.com", "local@example.com"]
    assert [g["id"] for g in admin("GET", "/migration/leftovers", query_string={"since": since, "kind": "groups"}
                                   ).get_json()["items"]] == ["g-ldap"]
    earlier = admin("GET", "/migration/leftovers", query_string={"since": "2020-01-01T00:00:00Z"}).get_json()
    assert earlier["items"] == []  # created after that time: not a leftover of that migration
    removed = admin("POST", "/migration/leftovers/remove", {"kind": "users", "since": since}).get_json()
    assert removed == {"removed": 2}
    assert admin("GET", f"/users/{ldap['id']}").status_code == 404
    assert admin("GET", f"/users/{provisioned['id']}").status_code == 200
    assert admin("POST", "/migration/leftovers/remove", {"kind": "groups", "since": since}).get_json() == {
        "removed": 1}
    kinds = [(e["kind"], e["subjectId"]) for e in admin("GET", "/audit?kind=user.deleted").get_json()["items"]]
    assert ("user.deleted", ldap["id"]) in kinds


def test_settings_are_read_and_written_and_the_change_is_logged_R_DIR_12(admin: Any, api: Api,
                                                                        tenant_key: str) -> None:
    assert admin("GET", "/settings").get_json() == {
        "auto_invite": False, "apple_id": {"enabled": False, "source": "email", "custom_attribute": None,
                                           "appleid_subdomain": False}, "updated_at": None, "updated_by": None}
    saved = admin("PUT", "/settings", {"auto_invite": True, "apple_id": {"enabled": True, "appleid_subdomain": True}},
                  key=tenant_key)
    assert saved.status_code == 200 and saved.get_json()["auto_invite"] is True
    user = api("POST", "/users", user_body("ann@example.com")).get_json()
    assert user["managedAppleId"] == "ann@appleid.example.com"
    bad = admin("PUT", "/settings", {"apple_id": {"enabled": True, "source": "custom", "custom_attribute": "nope"}})
    assert bad.status_code == 400 and "nope" in bad.get_json()["detail"]
    assert admin("PUT", "/settings", {"auto_invite": "sometimes"}).status_code == 422
    event = admin("GET", "/audit?kind=settings.updated").get_json()["items"][0]
    assert event["subjectType"] == "tenant" and event["actor"].startswith("admin:admin-key:")
    assert event["changes"]["auto_invite"] == {"before": False, "after": True}


def test_custom_attribute_changes_are_admin_actions_in_the_audit_log_R_DIR_13(admin: Any) -> None:
    admin("POST", "/custom-attributes", {"name": "custAttr1"})
    admin("DELETE", "/custom-attributes/custAttr1")
    events = admin("GET", "/audit").get_json()["items"]
    assert [(e["kind"], e["subjectType"], e["changes"]) for e in events] == [
        ("custom_attribute.deleted", "tenant", {"custAttr1": {"before": "idp", "after": None}}),
        ("custom_attribute.added", "tenant", {"custAttr1": {"before": None, "after": "idp"}})]


@pytest.mark.parametrize("country", ["\x00", "a\u0000b", "\ud800"])
def test_text_no_database_stores_is_a_400_on_every_engine(admin: Any, country: str) -> None:
    """PostgreSQL refuses U+0000 and unpaired surrogates: the admin API says so instead of failing (500)."""
    body = {"source": "ldap", "userName": "ann@example.com", "emails": [{"value": "ann@example.com"}],
            "name": {"formatted": "Ann"}, "addresses": [{"country": country}]}
    resp = admin("POST", "/users", body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["code"] == "invalid_value"
    assert admin("GET", "/users?q=ann").get_json()["items"] == []
