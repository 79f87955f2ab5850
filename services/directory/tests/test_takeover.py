"""R-DIR-8 takeover of Local and LDAP users by SCIM, the LDAP custom attributes it leaves alone,
and R-DIR-9 for groups of other sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

from directory import admin_actions, tenants
from directory.audit import Actor
from directory.models import Group, User

from .conftest import TENANT, Api, user_body

ADMIN = Actor(name="admin:deployment", source="admin")


def test_a_local_user_is_invisible_to_scim_until_entra_posts_it_then_taken_over_R_DIR_8(api: Api) -> None:
    local = admin_actions.create_user(TENANT, user_body("Ann@Example.com", title="Local title"), "local", ADMIN)
    found = api("POST", "/users/search", {"filter": {"op": "eq", "attr": "userName", "value": "ann@example.com"}})
    assert found.get_json()["totalResults"] == 0  # Entra's filter finds nothing, so it POSTs
    assert api("GET", f"/users/{local['id']}").status_code == 404
    taken = api("POST", "/users", user_body("ann@example.com", title="Engineer"))
    assert taken.status_code == 201
    body = taken.get_json()
    assert body["id"] == local["id"] and body["title"] == "Engineer" and body["source"] == "scim"
    assert User.select().where(User.tenant == TENANT).count() == 1  # no duplicate
    event = api("GET", f"/audit?subject={local['id']}&kind=user.takeover").get_json()["items"][0]
    assert event["changes"]["source"] == {"before": "local", "after": "scim"}
    assert api("POST", "/users", user_body("ANN@example.com")).status_code == 409  # now it is SCIM's


def test_ldap_custom_attributes_keep_their_values_after_a_takeover_while_idp_ones_update(api: Api) -> None:
    tenants.define_custom_attribute(TENANT, "ldapAttr", "ldap")
    tenants.define_custom_attribute(TENANT, "custAttr1")
    ldap = admin_actions.create_user(TENANT, user_body(custom={"ldapAttr": "from-ldap", "custAttr1": "old"}), "ldap",
                                     ADMIN)
    assert ldap["custom"] == {"ldapAttr": "from-ldap", "custAttr1": "old"}
    taken = api("POST", "/users", user_body(custom={"ldapAttr": "from-entra", "custAttr1": "new"})).get_json()
    assert taken["custom"] == {"ldapAttr": "from-ldap", "custAttr1": "new"}
    assert [(d["attribute"].rsplit(":", 1)[-1], d["reason"]) for d in taken["dropped"]] == [("ldapAttr", "read_only")]
    replaced = api("PUT", f"/users/{taken['id']}", user_body(custom={"custAttr1": "newer"})).get_json()
    assert replaced["custom"] == {"ldapAttr": "from-ldap", "custAttr1": "newer"}  # left out: still kept


def test_a_group_of_another_source_is_not_scim_s_and_a_scim_duplicate_is_a_409_R_DIR_9(api: Api) -> None:
    now = dt.datetime(2026, 1, 1)
    tenants.ensure_tenant(TENANT, now)
    Group.create(id="g-ldap", tenant=TENANT, display_name="Sales", display_name_key="sales", source="ldap",
                 created=now, last_modified=now)
    search = api("POST", "/groups/search", {"filter": {"op": "eq", "attr": "displayName", "value": "Sales"}})
    assert search.get_json()["totalResults"] == 0 and api("GET", "/groups/g-ldap").status_code == 404
    duplicate = api("POST", "/groups", {"displayName": "SALES"})
    assert duplicate.status_code == 409 and duplicate.get_json()["code"] == "uniqueness"
    assert admin_actions.get_group(TENANT, "g-ldap")["source"] == "ldap"


def test_admins_still_see_and_manage_users_of_every_source(api: Api, make_user: Any) -> None:
    local = admin_actions.create_user(TENANT, user_body("local@example.com"), "local", ADMIN)
    make_user("scim@example.com")
    by_source = {u["userName"]: u["source"] for u in admin_actions.list_users(TENANT, limit=10)["items"]}
    assert by_source == {"local@example.com": "local", "scim@example.com": "scim"}
    assert admin_actions.set_active(TENANT, local["id"], False, ADMIN)["status"] == "disabled"
