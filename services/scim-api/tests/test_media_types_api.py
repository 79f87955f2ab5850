"""Request bodies are JSON by their Content-Type (RFC 7644 §3.8, §8.1): application/scim+json or application/json,
in any case and with parameters; a body labelled anything else is a 415 SCIM error and changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from .conftest import Scim, error, find, load

# What Entra sends (docs/entra-behaviour.md, Transport), what Postman and other tools send, and the same in other cases.
ACCEPTED = ["application/scim+json", "application/scim+json; charset=utf-8", "application/json",
            "application/json; charset=utf-8", "Application/SCIM+JSON;Charset=UTF-8", "APPLICATION/JSON"]
# curl -d without -H sends form-urlencoded; a form post or a text box sends the others.
REFUSED = ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
           "multipart/form-data; boundary=x", "application/xml", "TEXT/PLAIN"]


def send(scim: Scim, method: str, path: str, body: Any, content_type: str | None) -> Any:
    """A JSON body labelled `content_type` (None: no Content-Type header at all)."""
    headers = {"Authorization": f"Bearer {scim.token}"}
    return scim.client.open(scim.base + path, method=method, data=json.dumps(body).encode(), headers=headers,
                            content_type=content_type)


def refused(resp: Any, content_type: str) -> None:
    body = error(resp, 415)
    detail = body["detail"]
    assert content_type.split(";")[0].lower() in detail
    assert "application/scim+json" in detail and "application/json" in detail and "nothing" in detail


def new_user(name: str | None = None) -> dict[str, Any]:
    name = name or f"{uuid.uuid4().hex[:8]}@contoso.com"
    return {**load("tut-create-user.json"), "userName": name, "emails": [{"type": "work", "value": name}]}


@pytest.mark.parametrize("content_type", ACCEPTED)
def test_json_media_types_in_any_case_and_with_parameters_create(scim: Scim, content_type: str) -> None:
    user = send(scim, "POST", "/Users", new_user(), content_type)
    assert user.status_code == 201, user.get_json()
    group = send(scim, "POST", "/Groups", {**load("tut-create-group.json"), "displayName": "g"}, content_type)
    assert group.status_code == 201, group.get_json()


def test_a_body_without_content_type_is_read_as_json(scim: Scim) -> None:
    """RFC 9110 §8.3: without a Content-Type the recipient may examine the data; it is JSON, so it is read."""
    resp = send(scim, "POST", "/Users", new_user(), None)
    assert "Content-Type" not in resp.request.headers
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("content_type", REFUSED)
def test_post_users_with_another_media_type_is_415_and_creates_nothing(scim: Scim, content_type: str) -> None:
    body = new_user("ann@contoso.com")
    refused(send(scim, "POST", "/Users", body, content_type), content_type)
    assert find(scim, 'userName eq "ann@contoso.com"')["totalResults"] == 0


@pytest.mark.parametrize("content_type", REFUSED)
def test_post_groups_with_another_media_type_is_415_and_creates_nothing(scim: Scim, content_type: str) -> None:
    refused(send(scim, "POST", "/Groups", {**load("tut-create-group.json"), "displayName": "Sales"}, content_type),
            content_type)
    assert scim("GET", '/Groups?filter=displayName eq "Sales"').get_json()["totalResults"] == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("resource", ["Users", "Groups"])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_with_another_media_type_are_415_and_change_nothing(
        scim: Scim, method: str, resource: str, content_type: str) -> None:
    made = scim.create_user() if resource == "Users" else scim.create_group("Sales")
    path = f"/{resource}/{made['id']}"
    if method == "PATCH":
        body: dict[str, Any] = {"Operations": [{"op": "Replace", "path": "displayName", "value": "changed"}]}
    else:
        body = {**(new_user(made["userName"]) if resource == "Users" else load("tut-create-group.json")),
                "displayName": "changed"}
    refused(send(scim, method, path, body, content_type), content_type)
    after = scim("GET", path).get_json()
    assert after["meta"]["version"] == made["meta"]["version"] and after.get("displayName") != "changed"


def test_a_real_form_post_is_415(scim: Scim) -> None:
    """Fields posted as a form, not JSON labelled as one."""
    resp = scim.client.post(scim.base + "/Users", data={"userName": "ann@contoso.com"},
                            headers={"Authorization": f"Bearer {scim.token}"})
    assert resp.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    refused(resp, "application/x-www-form-urlencoded")
    assert find(scim, 'userName eq "ann@contoso.com"')["totalResults"] == 0


@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
def test_searches_with_another_media_type_are_415(scim: Scim, path: str) -> None:
    refused(send(scim, "POST", path, {"filter": 'userName eq "x"'}, "text/plain"), "text/plain")


def test_a_bad_token_is_still_401_before_the_media_type_is_looked_at(scim: Scim) -> None:
    resp = scim.client.post(scim.base + "/Users", data="x", content_type="text/plain",
                            headers={"Authorization": "Bearer wrong"})
    error(resp, 401)


def test_delete_ignores_a_body_of_any_media_type(scim: Scim) -> None:
    """A DELETE has no body to read (RFC 9110 §9.3.5), so its label does not matter."""
    user = scim.create_user()
    assert send(scim, "DELETE", f"/Users/{user['id']}", {}, "text/plain").status_code == 204
