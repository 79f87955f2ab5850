"""R-DIR-12 Managed Apple ID on user writes: derived, stored under a unique index, conflicts reported."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from directory import provisioning_settings
from directory.audit import Actor
from directory.models import User, db
from directory.tenants import define_custom_attribute
from shared.http import INTERNAL_KEY_HEADER
from shared.schemas.users import UserSchema

from .conftest import TENANT, Api, user_body

ADMIN = Actor(name="admin:key-1", source="admin")


def turn_on(**apple_id: Any) -> None:
    provisioning_settings.put_settings(TENANT, {"apple_id": {"enabled": True, **apple_id}}, ADMIN)


def emails(address: str) -> list[dict[str, Any]]:
    return [{"value": address, "type": "work", "primary": True}]


def outcomes(api: Api) -> list[dict[str, Any]]:
    return api("GET", "/sync-outcomes").get_json()["items"]


def conflict_of(user: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in user.get("dropped", []) if d["reason"] == "apple_id_conflict"]


def test_managed_apple_id_is_off_by_default_R_DIR_12(make_user: Callable[..., dict]) -> None:
    user = make_user("ann@example.com")
    assert "managedAppleId" not in user and User.get_by_id(user["id"]).managed_apple_id is None


@pytest.mark.parametrize(("subdomain", "expected"), [(False, "ann.example@example.com"),
                                                     (True, "ann.example@appleid.example.com")])
def test_the_id_comes_from_the_user_email_optionally_on_the_appleid_subdomain_R_DIR_12(
        app: Flask, api: Api, make_user: Callable[..., dict], subdomain: bool, expected: str) -> None:
    turn_on(appleid_subdomain=subdomain)
    user = make_user("ann@example.com", emails=emails("Ann.Example@EXAMPLE.com"))
    assert user["managedAppleId"] == expected and user["dropped"] == []
    fetched = api("GET", f"/users/{user['id']}").get_json()
    assert fetched["managedAppleId"] == expected and UserSchema().validate(fetched) == {}
    assert outcomes(api)[-1]["status"] == "ok"


def test_the_id_comes_from_a_custom_attribute_holding_a_unique_email_R_DIR_12(
        app: Flask, make_user: Callable[..., dict]) -> None:
    define_custom_attribute(TENANT, "custAttr1")
    turn_on(source="custom", custom_attribute="custAttr1")
    user = make_user("ann@example.com", custom={"custAttr1": "Ann.Apple@Example.com"})
    assert user["managedAppleId"] == "ann.apple@example.com"


def test_an_id_held_by_another_user_is_not_taken_and_the_write_reports_the_conflict_R_DIR_12(
        app: Flask, api: Api, make_user: Callable[..., dict]) -> None:
    turn_on()
    ann = make_user("ann@example.com", emails=emails("team@example.com"))
    bob = make_user("bob@example.com", emails=emails("Team@example.com"))
    assert ann["managedAppleId"] == "team@example.com"
    assert "managedAppleId" not in bob
    (conflict,) = conflict_of(bob)
    assert conflict["attribute"] == "managedAppleId"
    assert "already ann@example.com's, so bob@example.com was not given it" in conflict["detail"]  # by userName
    assert ann["id"] not in conflict["detail"] and bob["id"] not in conflict["detail"]
    last = outcomes(api)[-1]  # reaches the sync outcome (R-NOT-3)
    assert last["subjectId"] == bob["id"] and last["status"] == "partial" and last["dropped"] == [conflict]
    assert User.get_by_id(ann["id"]).managed_apple_id == "team@example.com"  # never overwritten


def test_a_replace_follows_the_email_and_never_overwrites_a_holder_R_DIR_12(
        app: Flask, api: Api, make_user: Callable[..., dict]) -> None:
    turn_on()
    ann = make_user("ann@example.com")
    bob = make_user("bob@example.com")
    resp = api("PUT", f"/users/{bob['id']}", user_body("bob@example.com", emails=emails("ann@example.com")))
    assert resp.status_code == 200
    kept = resp.get_json()
    assert kept["managedAppleId"] == "bob@example.com" and len(conflict_of(kept)) == 1  # keeps its own ID
    assert User.get_by_id(ann["id"]).managed_apple_id == "ann@example.com"

    moved = api("PUT", f"/users/{bob['id']}", user_body("bob@example.com", emails=emails("robert@example.com")))
    assert moved.get_json()["managedAppleId"] == "robert@example.com"
    assert moved.get_json()["dropped"] == []


def test_an_id_change_alone_is_a_change_of_the_user_version_and_log_R_DIR_12_R_DIR_13(
        app: Flask, api: Api, make_user: Callable[..., dict]) -> None:
    user = make_user("ann@example.com")  # created while the setting was off: no ID yet
    turn_on(appleid_subdomain=True)
    resp = api("PUT", f"/users/{user['id']}", user_body("ann@example.com"))
    assert resp.get_json()["managedAppleId"] == "ann@appleid.example.com"
    assert resp.get_json()["version"] == user["version"] + 1
    (event,) = api("GET", f"/audit?subject={user['id']}&kind=user.updated").get_json()["items"]
    assert event["changes"] == {"managedAppleId": {"before": None, "after": "ann@appleid.example.com"}}
    again = api("PUT", f"/users/{user['id']}", user_body("ann@example.com")).get_json()
    assert again["version"] == user["version"] + 1  # nothing changed, nothing bumped


def test_the_created_event_carries_the_id_R_DIR_12_R_DIR_13(app: Flask, api: Api,
                                                            make_user: Callable[..., dict]) -> None:
    turn_on()
    user = make_user("ann@example.com")
    (event,) = api("GET", f"/audit?subject={user['id']}").get_json()["items"]
    assert event["changes"]["managedAppleId"] == {"before": None, "after": "ann@example.com"}


@pytest.mark.parametrize("value", ["not-an-email", "ann@", "   "])
def test_an_invalid_or_missing_source_sets_no_id_and_is_not_a_dropped_attribute_R_DIR_12(
        app: Flask, make_user: Callable[..., dict], value: str) -> None:
    """DroppedSchema has no reason for it (only apple_id_conflict), so the user simply holds no ID."""
    define_custom_attribute(TENANT, "custAttr1")
    turn_on(source="custom", custom_attribute="custAttr1")
    user = make_user("ann@example.com", custom={"custAttr1": value})
    assert "managedAppleId" not in user and conflict_of(user) == []


def test_a_source_that_goes_away_clears_the_users_own_id_R_DIR_12(app: Flask, api: Api,
                                                                  make_user: Callable[..., dict]) -> None:
    define_custom_attribute(TENANT, "custAttr1")
    turn_on(source="custom", custom_attribute="custAttr1")
    user = make_user("ann@example.com", custom={"custAttr1": "ann.apple@example.com"})
    resp = api("PUT", f"/users/{user['id']}", user_body("ann@example.com"))  # custAttr1 left out: removed
    assert "managedAppleId" not in resp.get_json()
    # …and the freed ID can go to someone else.
    assert make_user("bob@example.com", custom={"custAttr1": "ann.apple@example.com"})["managedAppleId"] == \
        "ann.apple@example.com"


def test_turning_the_setting_off_keeps_the_ids_handed_out_R_DIR_12(app: Flask, api: Api,
                                                                   make_user: Callable[..., dict]) -> None:
    turn_on()
    user = make_user("ann@example.com")
    provisioning_settings.put_settings(TENANT, {}, ADMIN)
    resp = api("PUT", f"/users/{user['id']}", user_body("ann@example.com", emails=emails("new@example.com")))
    assert resp.get_json()["managedAppleId"] == "ann@example.com"


def test_concurrent_creates_deriving_one_id_give_it_to_exactly_one_user_R_DIR_12(
        app: Flask, env: dict[str, str]) -> None:
    """On PostgreSQL the losers wait on the unique index for the winner's commit, then report the conflict;
    on SQLite writers are serialised and the losers see the holder first. Every create succeeds."""
    turn_on()
    n = 8
    barrier = threading.Barrier(n)

    def create(i: int) -> tuple[int, dict[str, Any]]:
        client = app.test_client()
        barrier.wait()
        try:
            resp = client.post(f"/internal/v1/tenants/{TENANT}/users", headers={INTERNAL_KEY_HEADER: env[
                "INTERNAL_API_KEY"]}, json=user_body(f"user{i}@example.com", emails=emails("shared@example.com")))
            return resp.status_code, resp.get_json()
        finally:
            if not db.is_closed():
                db.close()

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(create, range(n)))
    assert [status for status, _ in results] == [201] * n
    holders = [body for _, body in results if body.get("managedAppleId") == "shared@example.com"]
    assert len(holders) == 1 and conflict_of(holders[0]) == []
    assert all(len(conflict_of(body)) == 1 for _, body in results if body is not holders[0])
    assert User.select().where(User.managed_apple_id == "shared@example.com").count() == 1


def test_when_the_read_misses_a_concurrent_holder_the_unique_index_refuses_and_the_write_survives_R_DIR_12(
        app: Flask, api: Api, make_user: Callable[..., dict], monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the concurrent test may or may not hit, forced: the pre-check sees no holder (as when the
    holder commits just after it), the UPDATE hits the unique index inside a savepoint, the create commits."""
    from directory import apple_id_assignment

    turn_on()
    ann = make_user("ann@example.com", emails=emails("team@example.com"))
    real = apple_id_assignment._holder
    calls: list[tuple[str, str] | None] = []

    def late(row: Any, value: str) -> tuple[str, str] | None:
        calls.append(None if not calls else real(row, value))
        return calls[-1]

    monkeypatch.setattr(apple_id_assignment, "_holder", late)
    bob = make_user("bob@example.com", emails=emails("team@example.com"))
    assert len(calls) == 2 and calls[1] == (ann["id"], "ann@example.com")
    assert "managedAppleId" not in bob and "already ann@example.com's" in conflict_of(bob)[0]["detail"]
    assert api("GET", f"/users/{bob['id']}").status_code == 200  # the user itself was stored
    assert outcomes(api)[-1]["dropped"] == conflict_of(bob)
