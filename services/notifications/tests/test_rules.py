"""The rules of R-NOT-2/3 as pure functions: causes, fixes, and which later writes clear a cause."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from notifications import rules
from shared.admin_text import leaks

CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User:custAttr1"


def outcome(operation: str = "PATCH /Users", status: str = "ok", stored: tuple[str, ...] = (),
            dropped: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return {"id": 1, "time": dt.datetime(2026, 11, 23), "operation": operation, "subjectId": "u1",
            "subjectName": "ann", "status": status, "stored": list(stored),
            "dropped": [{"attribute": a, "reason": r} for a, r in dropped]}


@pytest.mark.parametrize(("reason", "fix"), [
    ("undefined_custom_attribute", "Define custom attribute custAttr1 in the directory, or delete its mapping"),
    ("unknown_attribute", "Delete the mapping for custAttr1"),
    ("nested_group", "Nested groups are not supported"),
    ("apple_id_conflict", "Managed Apple ID"),
    ("read_only", "Delete the mapping for custAttr1"),
])
def test_each_dropped_reason_names_the_admins_fix(reason: str, fix: str) -> None:
    cause = rules.dropped_cause(CUSTOM, reason)
    assert cause.kind == rules.SOME_NOT_SYNCHRONIZED and fix in cause.fix


@pytest.mark.parametrize(("attribute", "says"), [
    ("emails", "Users without an email address were refused: email is mandatory."),
    ("emails[type eq \"work\"].value", "Users without an email address were refused: email is mandatory."),
    ("name.formatted", "Users with blank names were refused: a name, or a given and family name, is required."),
    ("active", "Users sent as inactive were refused: an inactive user cannot be provisioned.")])
def test_refusals_say_the_rule_in_words(attribute: str, says: str) -> None:
    cause = rules.refused_cause(attribute, "invalid_value")
    assert cause.kind == rules.ALL_NOT_SYNCHRONIZED and cause.message == says


REFUSED = [("emails", "invalid_value"), ("name.givenName", "invalid_value"), ("active", "invalid_value"),
           ("userName", "uniqueness"), ("displayName", "uniqueness"), ("title", "invalid_value"), ("title", None)]
DROPPED = ["undefined_custom_attribute", "unknown_attribute", "nested_group", "unknown_member",
           "apple_id_conflict", "read_only", "something_new"]


@pytest.mark.parametrize("cause", [*(rules.refused_cause(a, r) for a, r in REFUSED),
                                   *(rules.dropped_cause(CUSTOM, r) for r in DROPPED)], ids=lambda c: c.key)
def test_no_notification_text_gives_away_ids_codes_or_service_names(cause: rules.Cause) -> None:
    for text in (cause.message, cause.fix, rules.KIND_TITLES[cause.kind]):
        assert leaks(text) == [], text


def test_one_cause_per_dropped_attribute_and_reason() -> None:
    causes = rules.causes_of(outcome(status="partial", dropped=((CUSTOM, "undefined_custom_attribute"),
                                                                (CUSTOM.lower(), "undefined_custom_attribute"),
                                                                ("members", "nested_group"))))
    assert [c.key for c in causes] == ["custom.custattr1:undefined_custom_attribute", "members:nested_group"]


@pytest.mark.parametrize(("later", "kind", "attribute", "reason", "cleared"), [
    (outcome(), rules.ALL_NOT_SYNCHRONIZED, "emails", None, True),
    (outcome(status="refused"), rules.ALL_NOT_SYNCHRONIZED, "emails", None, False),
    (outcome(stored=("custom.custAttr1",)), rules.SOME_NOT_SYNCHRONIZED, CUSTOM, "undefined_custom_attribute", True),
    (outcome(stored=("userName",)), rules.SOME_NOT_SYNCHRONIZED, CUSTOM, "undefined_custom_attribute", False),
    (outcome("PUT /Users"), rules.SOME_NOT_SYNCHRONIZED, CUSTOM, "undefined_custom_attribute", True),
    (outcome("PUT /Users", "partial", dropped=((CUSTOM, "undefined_custom_attribute"),)),
     rules.SOME_NOT_SYNCHRONIZED, CUSTOM, "undefined_custom_attribute", False),
    (outcome("PATCH /Groups", stored=("members",)), rules.SOME_NOT_SYNCHRONIZED, "members", "nested_group", False),
    (outcome("PUT /Groups", stored=("members",)), rules.SOME_NOT_SYNCHRONIZED, "members", "nested_group", True),
    (outcome("DELETE /Users", stored=()), rules.SOME_NOT_SYNCHRONIZED, CUSTOM, "undefined_custom_attribute", True),
])
def test_which_later_writes_clear_a_cause(later: dict, kind: str, attribute: str, reason: str | None,
                                          cleared: bool) -> None:
    assert rules.clears(later, kind, attribute, reason) is cleared


def test_a_refused_create_is_known_by_name_until_it_succeeds() -> None:
    refused = rules.subject_of({**outcome("POST /Users", "refused"), "subjectId": None, "subjectName": "Ann@X"})
    created = rules.subject_of(outcome("POST /Users") | {"subjectName": "ann@x"})
    assert refused.key in created.keys and refused.type == "user"
