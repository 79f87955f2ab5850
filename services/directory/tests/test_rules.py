"""The R-DIR rules as pure functions, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from directory import rules
from shared.admin_text import leaks
from shared.errors import Problem


def test_a_version_outside_if_match_is_412() -> None:
    rules.check_version(3, None)
    rules.check_version(3, {3})
    with pytest.raises(Problem) as caught:
        rules.check_version(3, {2})
    assert caught.value.status == 412 and caught.value.code == "version_mismatch"


@pytest.mark.parametrize(("user", "ok"), [
    ({"emails": [{"value": "a@x"}]}, True),
    ({"emails": [{"value": ""}, {"value": "b@x"}]}, True),
    ({"emails": [{"value": " "}]}, False),
    ({"emails": []}, False),
    ({}, False),
])
def test_email_is_mandatory_R_DIR_1(user: dict[str, Any], ok: bool) -> None:
    if ok:
        rules.require_email(user)
    else:
        with pytest.raises(Problem, match="An email address is required"):
            rules.require_email(user)


@pytest.mark.parametrize(("name", "ok"), [
    ({"formatted": "Ann"}, True), ({"givenName": "Ann", "familyName": "E"}, True),
    ({"givenName": "Ann"}, False), ({"formatted": "", "familyName": "E"}, False), (None, False),
])
def test_formatted_or_given_and_family_name_is_required_R_DIR_2(name: dict[str, str] | None, ok: bool) -> None:
    if ok:
        rules.require_name({"name": name})
    else:
        with pytest.raises(Problem, match=r"A user needs name\.formatted"):
            rules.require_name({"name": name})


def test_an_inactive_create_is_refused_R_DIR_3() -> None:
    rules.refuse_inactive_create({"active": True})
    with pytest.raises(Problem, match="cannot be provisioned inactive"):
        rules.refuse_inactive_create({"active": False})


def test_merge_keeps_blank_values_and_removes_left_out_ones_R_DIR_7() -> None:
    old = {"userName": "a", "title": "T", "nickName": "N", "name": {"givenName": "G", "familyName": "F"},
           "enterprise": {"manager": "m1", "department": "D"}, "custom": {"c1": "x", "c2": "y"},
           "emails": [{"value": "w@x", "type": "work", "primary": True}, {"value": "h@x", "type": "home"}]}
    new = {"userName": " ", "title": "", "nickName": None, "name": {"givenName": None, "familyName": "F2"},
           "enterprise": None, "custom": {"c1": ""}, "emails": [{"value": "", "type": "WORK", "primary": None}]}
    merged = rules.merge_replace(old, new)
    assert merged["userName"] == "a" and merged["title"] == "T" and merged["nickName"] is None
    assert merged["name"] == {"givenName": "G", "familyName": "F2"}
    assert merged["enterprise"] is None and merged["custom"] == {"c1": "x"}
    assert merged["emails"] == [{"value": "w@x", "type": "WORK", "primary": True}]
    assert merged["active"] is True


def test_merge_removes_a_left_out_sub_attribute_beside_kept_ones_R_DIR_7() -> None:
    """An explicit PATCH remove of name.givenName or the manager reaches the directory as a left-out key."""
    old = {"userName": "a", "name": {"givenName": "G", "familyName": "F", "formatted": "G F"},
           "enterprise": {"manager": "m1", "department": "D"}}
    new = {"userName": "a", "name": {"familyName": "F", "formatted": None}, "enterprise": {"department": ""}}
    merged = rules.merge_replace(old, new)
    assert merged["name"] == {"familyName": "F", "formatted": "G F"}
    assert merged["enterprise"] == {"department": "D"}


def test_clean_drops_blanks_and_elements_without_data() -> None:
    assert rules.clean({"a": "", "b": None, "c": {"x": " "}, "d": [{"type": "work"}, {"value": "v"}],
                        "e": False, "f": []}) == {"d": [{"value": "v"}], "e": False}


def test_custom_values_of_undefined_names_are_dropped_R_DIR_11() -> None:
    kept, dropped = rules.split_custom({"CustAttr1": "a", "other": "b"}, {"custattr1": "custAttr1"})
    assert kept == {"custAttr1": "a"}
    assert [(d["reason"], d["attribute"].rsplit(":", 1)[1]) for d in dropped] == [
        ("undefined_custom_attribute", "other")]


def test_only_users_become_members_R_DIR_10() -> None:
    kept, dropped = rules.member_drops(["u1", "g1", "u1", "zz"], users={"u1"}, groups={"g1": "Sales"})
    assert kept == ["u1"]
    assert [(d["reason"], d["value"]) for d in dropped] == [("nested_group", "g1"), ("unknown_member", "zz")]
    # The group by its name; the ids stay in `value`, out of the words an admin reads.
    assert "Group 'Sales' was not added" in dropped[0]["detail"]
    assert all(not leaks(d["detail"]) and d["value"] not in d["detail"] for d in dropped)


def test_user_names_fold_beyond_ascii() -> None:
    assert rules.fold("ANN@Example.COM") == "ann@example.com"
    assert rules.fold("STRASSE") == rules.fold("straße")
