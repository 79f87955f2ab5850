"""How many directory calls a SCIM request costs: the hop is the dominant cost of a request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from shared.scim import PATCH_OP_SCHEMA

from .conftest import Scim, error


class Counting:
    """The directory's transport, counting the calls made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, []

    def request(self, method: str, path: str, **kw: Any) -> Any:
        self.calls.append((method, path.rsplit("/", 1)[-1] if "/users/" in path or "/groups/" in path else path))
        return self.inner.request(method, path, **kw)


@pytest.fixture
def calls(app: Flask) -> Counting:
    counting = Counting(app.extensions["directory"].transport)
    app.extensions["directory"].transport = counting
    return counting


def _members_patch(op: str, user_id: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": op, "path": "members", "value": [{"value": user_id}]}]}


def test_a_group_patch_is_one_call_that_answers_the_group_with_its_members(scim: Scim, calls: Counting) -> None:
    user, group = scim.create_user(), scim.create_group("Sales")
    calls.calls.clear()
    resp = scim("PATCH", f"/Groups/{group['id']}", _members_patch("add", user["id"]))
    assert resp.status_code == 200
    assert [m["value"] for m in resp.get_json()["members"]] == [user["id"]]
    assert resp.headers["ETag"] != group["meta"]["version"]  # the new version, read in the same call
    assert calls.calls == [("PATCH", group["id"])]


def test_a_group_patch_without_members_shown_is_one_call_too(scim: Scim, calls: Counting) -> None:
    user, group = scim.create_user(), scim.create_group("Sales")
    calls.calls.clear()
    resp = scim("PATCH", f"/Groups/{group['id']}?excludedAttributes=members", _members_patch("add", user["id"]))
    assert resp.status_code == 200 and "members" not in resp.get_json()
    assert calls.calls == [("PATCH", group["id"])]


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_a_delete_with_if_match_is_one_guarded_call(scim: Scim, calls: Counting, resource: str) -> None:
    made = scim.create_user() if resource == "Users" else scim.create_group("Sales")
    calls.calls.clear()
    error(scim("DELETE", f"/{resource}/{made['id']}", headers={"If-Match": 'W/"99"'}), 412)
    assert scim("GET", f"/{resource}/{made['id']}").status_code == 200  # nothing deleted
    calls.calls.clear()
    assert scim("DELETE", f"/{resource}/{made['id']}", headers={"If-Match": made["meta"]["version"]}).status_code == 204
    assert calls.calls == [("DELETE", made["id"])]
    assert scim("GET", f"/{resource}/{made['id']}").status_code == 404
