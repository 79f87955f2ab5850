"""PATCH /users/<id>: a change applied by the directory to the stored user, under its lock and its rules."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api


def op(name: str, attribute: str | None, value: Any = None, **more: Any) -> dict[str, Any]:
    return {"op": name, "attribute": attribute, "value": value, **more}


def change(api: Api, user_id: str, *ops: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return api("PATCH", f"/users/{user_id}", {"operations": list(ops)}, headers)


def test_a_change_is_applied_to_the_stored_user_and_answers_it_with_a_new_version(api: Api, make_user: Any) -> None:
    user = make_user(title="Engineer")
    resp = change(api, user["id"], op("replace", "nickName", "Annie"),
                  op("replace", "emails", "x@example.com", filter=["cmp", "type", "eq", "work"], sub="value"),
                  op("replace", "department", "Tour", container="enterprise"))
    assert resp.status_code == 200, resp.get_json()
    got = resp.get_json()
    assert got["nickName"] == "Annie" and got["title"] == "Engineer" and got["version"] == user["version"] + 1
    assert [e["value"] for e in got["emails"] if e.get("type") == "work"] == ["x@example.com"]
    assert got["enterprise"]["department"] == "Tour"
    assert api("GET", f"/users/{user['id']}").get_json()["nickName"] == "Annie"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_keeps_the_stored_value_R_DIR_7(api: Api, make_user: Any, blank: Any) -> None:
    user = make_user(title="Engineer")
    resp = change(api, user["id"], op("replace", "title", blank), op("replace", "manager", blank,
                                                                      container="enterprise"))
    assert resp.status_code == 200 and resp.get_json()["title"] == "Engineer"
    assert resp.get_json()["version"] == user["version"]  # nothing changed: no new version


def test_an_explicit_remove_removes(api: Api, make_user: Any) -> None:
    user = make_user(title="Engineer")
    resp = change(api, user["id"], op("remove", "title"))
    assert resp.status_code == 200 and "title" not in resp.get_json()


def test_a_change_that_breaks_a_rule_is_refused_whole_and_leaves_a_refused_outcome(api: Api, make_user: Any) -> None:
    user = make_user(title="Engineer")
    resp = change(api, user["id"], op("replace", "title", "Boss"), op("remove", "emails"))
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_value"
    assert api("GET", f"/users/{user['id']}").get_json()["title"] == "Engineer"  # nothing of it stored
    last = api("GET", "/sync-outcomes").get_json()["items"][-1]
    assert (last["operation"], last["subjectId"], last["status"]) == ("PATCH /Users", user["id"], "refused")


@pytest.mark.parametrize(("operation", "named"), [
    (op("replace", "title", {"not": "text"}), "title"),
    (op("replace", "emails", ["a@example.com"]), "emails"),
    (op("replace", "department", {"not": "text"}, container="enterprise"), "department"),
])
def test_a_change_of_a_wrong_type_names_the_attribute(api: Api, make_user: Any, operation: dict, named: str) -> None:
    """Only what the change altered is checked, and that is checked whatever part of the user it is in."""
    user = make_user(title="Engineer")
    resp = change(api, user["id"], operation)
    assert resp.status_code == 400 and named in resp.get_json()["detail"], resp.get_json()
    assert api("GET", f"/users/{user['id']}").get_json()["version"] == user["version"]


def test_a_filter_that_matches_nothing_and_describes_no_value_is_no_target(api: Api, make_user: Any) -> None:
    user = make_user()
    resp = change(api, user["id"], op("replace", "emails", "y", filter=["cmp", "value", "co", "zzz"], sub="value"))
    assert resp.status_code == 400 and resp.get_json()["code"] == "no_target"


def test_if_match_guards_the_change_in_its_transaction(api: Api, make_user: Any) -> None:
    user = make_user()
    stale = change(api, user["id"], op("replace", "title", "Boss"), headers={"If-Match": str(user["version"] + 5)})
    assert stale.status_code == 412
    fresh = change(api, user["id"], op("replace", "title", "Boss"), headers={"If-Match": str(user["version"])})
    assert fresh.status_code == 200 and fresh.get_json()["title"] == "Boss"
