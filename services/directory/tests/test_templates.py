"""R-DIR-11: `${attributeName}` templates in configuration fields, resolved for one user (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from directory.templates import (
    MAX_TEMPLATE_LENGTH,
    known_names,
    preferred_email,
    resolve_template,
)
from shared.errors import Problem
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA

CUSTOM = {"custattr1": "custAttr1", "badge": "Badge"}


def ann(**overrides: Any) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": "u1",
        "userName": "ann@example.com",
        "externalId": "ann",
        "displayName": "Ann Example",
        "nickName": "Annie",
        "title": "Engineer",
        "name": {"formatted": "Ann Example", "givenName": "Ann", "familyName": "Example"},
        "emails": [{"value": "ann@example.com", "type": "work", "primary": True}],
        "enterprise": {"department": "Sales", "employeeNumber": "42", "costCenter": "CC1",
                       "organization": "Acme", "division": "West", "manager": "u9"},
        "custom": {"custAttr1": "blue", "Badge": "B-7"},
    }
    user.update(overrides)
    return user


def test_resolves_the_admin_guide_example_r_dir_11() -> None:
    template = "${userName} in ${department} (${custAttr1})"
    assert resolve_template(template, ann(), CUSTOM) == "ann@example.com in Sales (blue)"


@pytest.mark.parametrize(("name", "expected"), [
    ("id", "u1"),
    ("userName", "ann@example.com"),
    ("displayName", "Ann Example"),
    ("externalId", "ann"),
    ("title", "Engineer"),
    ("nickName", "Annie"),
    ("name.givenName", "Ann"),
    ("name.familyName", "Example"),
    ("name.formatted", "Ann Example"),
    ("givenName", "Ann"),
    ("familyName", "Example"),
    ("email", "ann@example.com"),
    ("department", "Sales"),
    ("employeeNumber", "42"),
    ("costCenter", "CC1"),
    ("organization", "Acme"),
    ("division", "West"),
    ("manager", "u9"),
    ("manager.value", "u9"),
    ("enterprise.department", "Sales"),
    (f"{ENTERPRISE_USER_SCHEMA}:department", "Sales"),
    ("custAttr1", "blue"),
    ("custom.custAttr1", "blue"),
    (f"{CUSTOM_USER_SCHEMA}:custAttr1", "blue"),
    ("Badge", "B-7"),
])
def test_every_documented_name_resolves_r_dir_11(name: str, expected: str) -> None:
    assert resolve_template(f"<${{{name}}}>", ann(), CUSTOM) == f"<{expected}>"


@pytest.mark.parametrize("name", ["USERNAME", "username", "Department", "CUSTATTR1", "Name.GivenName", "EMAIL"])
def test_names_are_case_insensitive_like_scim_names_r_dir_11(name: str) -> None:
    assert resolve_template(f"${{{name}}}", ann(), CUSTOM) != ""


def test_custom_value_stored_under_another_case_still_resolves_r_dir_11() -> None:
    assert resolve_template("${custAttr1}", ann(custom={"CUSTATTR1": "red"}), CUSTOM) == "red"


def test_custom_names_given_as_spelling_to_spelling_also_work() -> None:
    assert resolve_template("${custAttr1}", ann(), {"custAttr1": "custAttr1"}) == "blue"


@pytest.mark.parametrize(("user", "template"), [
    (ann(title=None), "${title}"),
    (ann(title="   "), "${title}"),
    (ann(enterprise=None), "${department}"),
    (ann(enterprise={"department": None}), "${department}"),
    (ann(name=None), "${givenName}"),
    (ann(custom={}), "${custAttr1}"),
    (ann(custom=None), "${badge}"),
    (ann(emails=[]), "${email}"),
    ({"userName": "bob"}, "${nickName}"),
])
def test_known_attribute_without_a_value_resolves_to_empty_r_dir_11(user: dict, template: str) -> None:
    assert resolve_template(f"[{template}]", user, CUSTOM) == "[]"


@pytest.mark.parametrize(("emails", "expected"), [
    ([{"value": "home@x.org", "type": "home"}, {"value": "p@x.org", "type": "other", "primary": True}], "p@x.org"),
    ([{"value": "home@x.org", "type": "home"}, {"value": "w@x.org", "type": "Work"}], "w@x.org"),
    ([{"value": "first@x.org", "type": "home"}, {"value": "second@x.org"}], "first@x.org"),
    ([{"value": "", "type": "work", "primary": True}, {"value": "b@x.org", "type": "home"}], "b@x.org"),
    ([{"type": "work"}], None),
    ([], None),
])
def test_email_is_primary_else_work_else_first(emails: list, expected: str | None) -> None:
    assert preferred_email({"emails": emails}) == expected


def test_unknown_names_are_refused_listing_unknown_and_known_names_r_dir_11() -> None:
    with pytest.raises(Problem) as caught:
        resolve_template("${userName} ${custAttr2} ${Departmnet} ${custAttr2}", ann(), CUSTOM)
    problem = caught.value
    assert problem.status == 400
    assert problem.code == "unknown_attribute"
    assert problem.extra["unknown"] == ["custAttr2", "Departmnet"]
    assert "custAttr2, Departmnet" in problem.detail
    assert "userName" in problem.detail and "department" in problem.detail and "custAttr1" in problem.detail
    assert "custAttr1" in problem.extra["known"] and "Badge" in problem.extra["known"]


def test_a_custom_attribute_the_tenant_did_not_define_is_unknown_even_if_the_user_has_it_r_dir_11() -> None:
    with pytest.raises(Problem) as caught:
        resolve_template("${custAttr1}", ann(), {})
    assert caught.value.code == "unknown_attribute"


def test_core_names_win_over_a_custom_attribute_of_the_same_name() -> None:
    user = ann(custom={"title": "custom title"})
    names = {"title": "title"}
    assert resolve_template("${title}", user, names) == "Engineer"
    assert resolve_template("${custom.title}", user, names) == "custom title"


@pytest.mark.parametrize(("template", "expected"), [
    ("$${userName}", "${userName}"),
    ("$$${userName}", "$ann@example.com"),
    ("$$", "$"),
    ("US$ 5 and $x", "US$ 5 and $x"),
    ("cost: $", "cost: $"),
    ("{userName} }", "{userName} }"),
    ("${ userName }", "ann@example.com"),
    ("", ""),
    ("no placeholders", "no placeholders"),
    ("${userName}${userName}", "ann@example.comann@example.com"),
])
def test_escapes_and_literal_text(template: str, expected: str) -> None:
    assert resolve_template(template, ann(), CUSTOM) == expected


@pytest.mark.parametrize("template", ["${userName", "a ${", "${}", "${ }", "${1abc}", "${a b}", "${a{b}}",
                                      "${a$b}", "${user/name}"])
def test_malformed_placeholders_are_refused(template: str) -> None:
    with pytest.raises(Problem) as caught:
        resolve_template(template, ann(), CUSTOM)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_template"
    assert "$$" in caught.value.detail


def test_template_length_is_bounded() -> None:
    assert resolve_template("x" * MAX_TEMPLATE_LENGTH, ann(), CUSTOM) == "x" * MAX_TEMPLATE_LENGTH
    with pytest.raises(Problem) as caught:
        resolve_template("x" * (MAX_TEMPLATE_LENGTH + 1), ann(), CUSTOM)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_template"
    assert str(MAX_TEMPLATE_LENGTH) in caught.value.detail


def test_a_template_that_is_not_text_is_refused() -> None:
    with pytest.raises(Problem) as caught:
        resolve_template(None, ann(), CUSTOM)  # type: ignore[arg-type]
    assert caught.value.status == 400


def test_values_are_inserted_verbatim_not_reinterpreted() -> None:
    user = ann(displayName="${userName} <b>&", custom={"custAttr1": "$$"})
    assert resolve_template("${displayName}|${custAttr1}", user, CUSTOM) == "${userName} <b>&|$$"


def test_non_string_values_become_text() -> None:
    user = ann(custom={"custAttr1": 7}, externalId=True)
    assert resolve_template("${custAttr1} ${externalId}", user, CUSTOM) == "7 true"


def test_known_names_list_core_then_custom_without_urn_aliases() -> None:
    names = known_names(CUSTOM)
    assert names[-2:] == ["Badge", "custAttr1"]
    assert "email" in names and "name.givenName" in names
    assert not any(n.startswith("urn:") for n in names)


def test_a_custom_attribute_named_with_a_dash_is_templated_like_any_other() -> None:
    """One name rule (shared.catalogue.CUSTOM_NAME) for defining, storing, filtering, templating and offering."""
    custom = {"cost-center": "cost-center"}
    user = ann(custom={"cost-center": "CC-7"})
    assert resolve_template("${cost-center}/${custom.COST-CENTER}", user, custom) == "CC-7/CC-7"
