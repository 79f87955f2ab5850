"""The directory's admin API across real processes: the admin keys the token service issues work there,
and an admin sees what Entra provisioned through SCIM (R-DIR-4, R-DIR-14)."""

from __future__ import annotations

import pytest

from shared.testing import System

pytestmark = pytest.mark.integration


def test_a_tenant_admin_key_reads_and_disables_what_entra_provisioned(system: System) -> None:
    for tenant in ("dir-admin-a", "dir-admin-b"):
        assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    key = system.admin("POST", "/admin/v1/tenants/dir-admin-a/admin-keys", {"name": "ops"}).json()["key"]
    issued = system.admin("POST", "/admin/v1/tenants/dir-admin-a/tokens", {}).json()
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@contoso.com",
            "active": True, "emails": [{"value": "ann@contoso.com", "type": "work", "primary": True}],
            "name": {"formatted": "Ann", "givenName": "Ann", "familyName": "Lee"}}
    created = system.request("POST", issued["scim_url"] + "/Users", json_body=user, token=issued["token"]).json()
    admin_url = system.url("directory") + "/admin/v1/tenants"

    listed = system.request("GET", f"{admin_url}/dir-admin-a/users?source=scim", token=key)
    assert listed.status == 200 and [u["id"] for u in listed.json()["items"]] == [created["id"]]
    assert system.request("GET", f"{admin_url}/dir-admin-b/users", token=key).status == 404
    assert system.request("GET", f"{admin_url}/dir-admin-a/users", token="sta_wrong").status == 401
    disabled = system.request("POST", f"{admin_url}/dir-admin-a/users/{created['id']}/disable", token=key)
    assert disabled.json()["status"] == "disabled"
    scim_view = system.request("GET", f"{issued['scim_url']}/Users/{created['id']}", token=issued["token"]).json()
    assert scim_view["active"] is False
