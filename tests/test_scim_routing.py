"""SCIM routing and body media types through gunicorn and real sockets: the SCIMReferenceCode Postman
collection's '/users/' and '/Users/' route directly (no redirect), ids keep their case, and a body that is not
JSON by its Content-Type is a 415 that stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import urllib3

from shared.testing import System

pytestmark = pytest.mark.integration
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Client:
    def __init__(self, system: System) -> None:
        tenant = f"routing-{uuid.uuid4().hex[:10]}"
        assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
        issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
        self.system, self.token, self.base = system, issued["token"], issued["scim_url"]

    def __call__(self, method: str, path: str, doc: Any = None, content_type: str = "application/scim+json"
                 ) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": f"Bearer {self.token}"}
        if doc is not None:
            headers["Content-Type"] = content_type
        body = json.dumps(doc).encode() if doc is not None else None
        # redirect=False: a 3xx would be the answer itself, not followed; the server must route directly.
        resp = self.system.http.request(method, self.base + path, body=body, headers=headers, timeout=10.0,
                                        retries=False, redirect=False)
        assert resp.headers["Content-Type"].startswith("application/scim+json"), (method, path, resp.status)
        return resp

    def total(self, flt: str) -> int:
        resp = self("GET", f"/Users?filter={flt}")
        assert resp.status == 200
        return resp.json()["totalResults"]


def new_user(name: str) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": True,
            "name": {"givenName": "Ann", "familyName": "Lee"}, "emails": [{"value": name, "type": "work"}]}


@pytest.fixture(scope="module")
def scim(system: System) -> Client:
    return Client(system)


def test_postman_spellings_route_directly_and_ids_keep_their_case(scim: Client) -> None:
    name = f"{uuid.uuid4().hex[:8]}@contoso.com"
    created = scim("POST", "/users/", new_user(name), "application/json; charset=utf-8")
    assert created.status == 201, created.data[:500]
    user_id = created.json()["id"]
    assert created.headers["Location"] == f"{scim.base}/Users/{user_id}"
    assert scim("GET", f"/USERS/{user_id}/").json()["userName"] == name
    assert scim("GET", f'/Users/?filter=userName eq "{name}"').json()["totalResults"] == 1
    assert scim("GET", "/serviceproviderconfig/").status == 200
    missing = scim("GET", f"/users/{user_id.upper()}")
    assert missing.status == 404 and missing.json()["schemas"] == [ERROR]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_by_its_media_type_is_a_415_and_stores_nothing(scim: Client, content_type: str) -> None:
    name = f"{uuid.uuid4().hex[:8]}@contoso.com"
    resp = scim("POST", "/Users", new_user(name), content_type)
    doc = resp.json()
    assert resp.status == 415 and doc["schemas"] == [ERROR] and doc["status"] == "415", doc
    assert "application/scim+json" in doc["detail"]
    assert scim.total(f'userName eq "{name}"') == 0
