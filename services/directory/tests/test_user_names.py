"""A userName held only by a user deleted from Entra (R-DIR-4) never blocks a live user: Entra's filter cannot
find that user, so a 409 could never be resolved there. The deleted user releases the name and keeps its record."""

from __future__ import annotations

from typing import Any

import pytest

from directory import admin_actions
from directory.audit import Actor
from directory.models import User

from .conftest import TENANT, Api, user_body

ADMIN = Actor(name="admin:key-1", source="admin")


def by_name(api: Api, user_name: str) -> list[str]:
    found = api("POST", "/users/search", {"filter": {"op": "eq", "attr": "userName", "value": user_name}})
    assert found.status_code == 200
    return [u["id"] for u in found.get_json()["items"]]


def rename(api: Api, user: dict[str, Any], user_name: str, how: str) -> Any:
    """PUT sends the whole user; a SCIM PATCH of userName reaches the directory as the PUT of the patched user."""
    if how == "put":
        return api("PUT", f"/users/{user['id']}", user_body(user_name, title="Renamed"))
    current = api("GET", f"/users/{user['id']}").get_json()
    patched = {k: v for k, v in current.items()
               if k not in {"id", "groups", "source", "created", "lastModified", "version", "managedAppleId"}}
    return api("PUT", f"/users/{user['id']}", {**patched, "userName": user_name},
               headers={"If-Match": f'W/"{current["version"]}"'})


@pytest.mark.parametrize("how", ["put", "patch"])
def test_a_rename_onto_the_name_of_a_user_deleted_from_entra_succeeds_and_the_deleted_user_keeps_its_record(
        api: Api, make_user: Any, how: str) -> None:
    gone = make_user("ann@example.com")
    assert api("DELETE", f"/users/{gone['id']}").status_code == 204
    bob = make_user("bob@example.com")
    resp = rename(api, bob, "ANN@example.com", how)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["userName"] == "ANN@example.com"
    assert by_name(api, "ann@example.com") == [bob["id"]]  # Entra's filter finds the live user

    held = admin_actions.get_user(TENANT, gone["id"])  # the deleted one: still there for admins, with its data
    assert held["status"] == "deleted" and held["emails"] == gone["emails"] and held["name"] == gone["name"]
    assert held["releasedUserName"] == "ann@example.com"
    assert held["userName"] == f"ann@example.com (deleted {gone['id']})"
    listed = admin_actions.list_users(TENANT, limit=10, q="ann@")["items"]
    assert [u["id"] for u in listed] == sorted([gone["id"], bob["id"]])
    assert api("GET", f"/users/{gone['id']}").status_code == 404  # still invisible to SCIM

    event = api("GET", f"/audit?subject={gone['id']}&kind=user.updated").get_json()["items"][0]
    assert event["changes"]["userName"] == {"before": "ann@example.com", "after": held["userName"]}
    assert event["changes"]["takenBy"] == {"before": None, "after": bob["id"]} and event["actor"] == "scim"
    assert User.select().count() == 2


def test_a_rename_onto_a_live_user_s_name_is_still_a_409_naming_it(api: Api, make_user: Any) -> None:
    make_user("ann@example.com")
    bob = make_user("bob@example.com")
    resp = api("PUT", f"/users/{bob['id']}", user_body("Ann@Example.com"))
    assert resp.status_code == 409 and resp.get_json()["code"] == "uniqueness"
    assert "ann@example.com" in resp.get_json()["detail"] and "R-DIR" not in resp.get_json()["detail"]
    local = admin_actions.create_user(TENANT, user_body("carol@example.com"), "local", ADMIN)  # live, of another source
    assert api("PUT", f"/users/{bob['id']}", user_body("carol@example.com")).status_code == 409
    assert admin_actions.get_user(TENANT, local["id"])["userName"] == "carol@example.com"


def test_a_create_of_a_deleted_user_s_name_still_revives_it(api: Api, make_user: Any) -> None:
    gone = make_user("ann@example.com")
    api("DELETE", f"/users/{gone['id']}")
    revived = api("POST", "/users", user_body("ann@example.com", title="Back"))
    assert revived.status_code == 201 and revived.get_json()["id"] == gone["id"]
    assert revived.get_json()["title"] == "Back"


def test_a_create_of_a_released_name_a_live_user_now_holds_is_a_409_against_the_live_user(
        api: Api, make_user: Any) -> None:
    gone = make_user("ann@example.com")
    api("DELETE", f"/users/{gone['id']}")
    bob = make_user("bob@example.com")
    assert api("PUT", f"/users/{bob['id']}", user_body("ann@example.com")).status_code == 200
    resp = api("POST", "/users", user_body("Ann@example.com"))
    assert resp.status_code == 409 and resp.get_json()["code"] == "uniqueness"
    assert admin_actions.get_user(TENANT, gone["id"])["status"] == "deleted"  # the live user wins; nobody is revived


def test_once_the_live_user_leaves_the_name_a_create_of_it_revives_the_user_that_released_it(
        api: Api, make_user: Any) -> None:
    gone = make_user("ann@example.com")
    api("DELETE", f"/users/{gone['id']}")
    bob = make_user("bob@example.com")
    assert api("PUT", f"/users/{bob['id']}", user_body("ann@example.com")).status_code == 200
    assert api("PUT", f"/users/{bob['id']}", user_body("bob@example.com")).status_code == 200
    revived = api("POST", "/users", user_body("ann@example.com"))
    assert revived.status_code == 201 and revived.get_json()["id"] == gone["id"]
    assert revived.get_json()["userName"] == "ann@example.com"
    assert "releasedUserName" not in admin_actions.get_user(TENANT, gone["id"])
    assert User.select().count() == 2


def test_a_second_deleted_holder_of_the_name_releases_it_as_well(api: Api, make_user: Any) -> None:
    """Two users deleted from Entra, each once holding the name: each gets its own released name."""
    first = make_user("ann@example.com")
    api("DELETE", f"/users/{first['id']}")
    bob = make_user("bob@example.com")
    assert api("PUT", f"/users/{bob['id']}", user_body("ann@example.com")).status_code == 200
    api("DELETE", f"/users/{bob['id']}")
    carol = make_user("carol@example.com")
    assert api("PUT", f"/users/{carol['id']}", user_body("ann@example.com")).status_code == 200
    names = {u["id"]: u["userName"] for u in admin_actions.list_users(TENANT, limit=10)["items"]}
    assert names == {first["id"]: f"ann@example.com (deleted {first['id']})",
                     bob["id"]: f"ann@example.com (deleted {bob['id']})", carol["id"]: "ann@example.com"}
