"""Discovery (RFC 7644 §4, R-SCIM-2), the root /.search, and the directory being down."""

from __future__ import annotations

from typing import Any

from shared.http import ServiceClient
from shared.testing import free_port

from .conftest import Scim, error

CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"


def test_service_provider_config(scim: Scim) -> None:
    resp = scim("GET", "/ServiceProviderConfig")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/scim+json"
    assert resp.get_json()["patch"]["supported"] is True


def test_resource_types_list_and_by_id(scim: Scim) -> None:
    listed = scim("GET", "/ResourceTypes").get_json()
    assert {r["id"] for r in listed["Resources"]} >= {"User", "Group"}
    assert scim("GET", "/ResourceTypes/User").get_json()["id"] == "User"
    error(scim("GET", "/ResourceTypes/Printer"), 404)


def test_schemas_list_the_tenants_custom_attributes(scim: Scim, define_custom_attribute: Any) -> None:
    """R-SCIM-2/3: the ivanti extension describes one sub-attribute per custom attribute of the tenant."""
    define_custom_attribute("acme", "custAttr1")
    schemas = scim("GET", "/Schemas").get_json()["Resources"]
    custom = next(s for s in schemas if s["id"] == CUSTOM)
    assert "custAttr1" in [a["name"] for a in custom["attributes"]]
    by_id = scim("GET", f"/Schemas/{CUSTOM.upper()}")
    assert by_id.status_code == 200 and by_id.get_json()["id"] == CUSTOM
    error(scim("GET", "/Schemas/urn:nothing"), 404)


def test_root_search_pages_across_users_then_groups(scim: Scim) -> None:
    """RFC 7644 §3.4.3: POST /.search at the root covers every resource type."""
    for i in range(2):
        scim.create_user(userName=f"u{i}@contoso.com", externalId=f"e{i}", displayName=f"Shared {i}")
    scim.create_group("Shared group")
    everything = scim("POST", "/.search", {"count": 10}).get_json()
    assert everything["totalResults"] == 3 and everything["itemsPerPage"] == 3
    second_page = scim("POST", "/.search", {"startIndex": 2, "count": 2}).get_json()
    assert [r["meta"]["resourceType"] for r in second_page["Resources"]] == ["User", "Group"]
    by_user_name = scim("POST", "/.search", {"filter": 'userName eq "u0@contoso.com"'}).get_json()
    assert by_user_name["totalResults"] == 1  # groups have no userName: nothing of theirs matches
    error(scim("POST", "/.search", {"filter": "userName zz 1"}), 400, "invalidFilter")


def test_directory_down_is_a_503_with_retry_after(scim: Scim, app: Any) -> None:
    """Never a 4xx or a bare 500 for a dependency failure: Entra retries a 503 later (QUAR)."""
    app.extensions["directory"].transport = ServiceClient(f"http://127.0.0.1:{free_port()}", "k", timeout=0.5,
                                                          retries=0)
    resp = scim("GET", '/Users?filter=userName eq "x"')
    assert error(resp, 503) and resp.headers["Retry-After"].isdigit()
