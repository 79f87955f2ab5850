"""Grouping and resolution (R-NOT-2/3/4): one live notification per tenant, kind and cause, with counts,
first and last seen and the latest affected users; it resolves itself when its cause goes away."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from notifications import rules
from notifications.models import Affected, db
from shared.db import connection

from .conftest import Outcomes, custom_drop, listing, only, refused_email

NESTED = {"attribute": "members", "reason": "nested_group", "detail": "member 'g-2' is the group 'Sales'"}


def test_a_refused_write_raises_all_not_synchronized_naming_user_reason_and_fix(
        outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """R-NOT-2 / R-DIR-1: a user without an email is refused whole."""
    outcomes(**refused_email("bob@example.com"))
    n = only(client, admin)
    assert (n["kind"], n["severity"], n["state"], n["count"]) == (rules.ALL_NOT_SYNCHRONIZED, "error", "open", 1)
    assert n["message"] == "Users without an email address were refused: email is mandatory."
    assert "emails[type eq \"work\"].value" in n["fix"]
    assert n["recent_subjects"][0]["name"] == "bob@example.com"
    assert "no email address" in n["recent_subjects"][0]["detail"]
    assert n["title"] == "All user attributes are not synchronized"


def test_blank_names_are_their_own_cause(outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """R-DIR-2 refusals do not merge with R-DIR-1 ones."""
    outcomes(**refused_email())
    outcomes("refused", operation="PUT /Users", refusal={"attribute": "name.givenName", "detail": "blank names"})
    items = listing(client, admin)["items"]
    assert len(items) == 2
    assert any("blank names" in n["message"] and "name.givenName" in n["fix"] for n in items)


def test_repeats_are_grouped_with_count_first_and_last_seen(outcomes: Outcomes, client: FlaskClient,
                                                            admin: dict[str, str]) -> None:
    first = outcomes(**refused_email("bob@example.com"))
    outcomes(**refused_email("bob@example.com"), minutes=40)
    last = outcomes(**refused_email("carl@example.com"), minutes=40)
    n = only(client, admin)
    assert n["count"] == 3 and n["affected_count"] == 2
    assert n["first_seen"] == first["time"].replace(".000000", "").replace("Z", ".000Z")
    assert n["last_seen"] == last["time"].replace("Z", ".000Z")
    assert [s["name"] for s in n["recent_subjects"]] == ["carl@example.com", "bob@example.com"]


def test_the_recent_affected_list_is_bounded(outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    outcomes.send(*[outcomes.make(**refused_email(f"u{i:02}@example.com")) for i in range(25)])
    n = only(client, admin)
    assert n["count"] == 25 and n["affected_count"] == 25
    assert len(n["recent_subjects"]) == rules.RECENT_SUBJECTS
    assert n["recent_subjects"][0]["name"] == "u24@example.com"


def test_a_refusal_resolves_when_every_affected_user_is_written(outcomes: Outcomes, client: FlaskClient,
                                                                admin: dict[str, str]) -> None:
    outcomes(**refused_email("bob@example.com"))
    outcomes(**refused_email("carl@example.com"))
    outcomes(user="bob@example.com", user_id="u-bob", operation="POST /Users")  # created once the email came
    n = only(client, admin)
    assert n["state"] == "open" and n["affected_count"] == 1
    outcomes(user="carl@example.com", user_id="u-carl", operation="POST /Users")
    n = only(client, admin)
    assert n["state"] == "resolved" and n["resolved_at"] is not None and n["affected_count"] == 0


def test_a_dropped_custom_attribute_raises_some_not_synchronized_per_attribute(
        outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """R-NOT-3 / R-DIR-11: one notification per dropped attribute, naming the mapping to fix."""
    unknown = {"attribute": "urn:example:foo", "reason": "unknown_attribute", "detail": None}
    outcomes("partial", dropped=[custom_drop("custAttr9"), unknown])
    outcomes("partial", user="carl@example.com", user_id="u-carl", dropped=[custom_drop("custAttr9")])
    items = {n["reason"]: n for n in listing(client, admin)["items"]}
    custom, other = items["undefined_custom_attribute"], items["unknown_attribute"]
    assert custom["kind"] == rules.SOME_NOT_SYNCHRONIZED and custom["severity"] == "warning"
    assert custom["attribute"] == "custAttr9" and custom["count"] == 2 and custom["affected_count"] == 2
    assert custom["fix"].startswith("Define custom attribute custAttr9 in the directory")
    assert "delete its mapping" in custom["fix"]
    assert other["fix"].startswith("Delete the mapping for urn:example:foo")


def test_a_dropped_attribute_resolves_once_it_is_stored(outcomes: Outcomes, client: FlaskClient,
                                                        admin: dict[str, str]) -> None:
    outcomes("partial", dropped=[custom_drop()])
    outcomes(stored=["userName", "emails"])  # a PATCH of something else proves nothing
    assert only(client, admin)["state"] == "open"
    outcomes(stored=["userName", "emails", "custom.custAttr9"])  # the admin defined custAttr9
    assert only(client, admin)["state"] == "resolved"


def test_a_whole_write_without_the_drop_resolves(outcomes: Outcomes, client: FlaskClient,
                                                 admin: dict[str, str]) -> None:
    """The admin deleted the mapping: Entra's next full write of the user no longer carries it."""
    outcomes("partial", dropped=[custom_drop()])
    outcomes(operation="PUT /Users")
    assert only(client, admin)["state"] == "resolved"


def test_nested_groups_resolve_on_a_whole_write_or_delete_not_on_a_patch(outcomes: Outcomes, client: FlaskClient,
                                                                         admin: dict[str, str]) -> None:
    """R-DIR-10: membership arrives as deltas; a later PATCH adding a user says nothing about the nested group."""
    group = {"user": "Engineering", "user_id": "g-1"}
    outcomes("partial", operation="PATCH /Groups", dropped=[NESTED], stored=["displayName", "members"], **group)
    n = only(client, admin)
    assert "Nested groups are not supported" in n["fix"] and n["recent_subjects"][0]["type"] == "group"
    assert "Sales" in n["recent_subjects"][0]["detail"]
    outcomes(operation="PATCH /Groups", stored=["displayName", "members"], **group)
    assert only(client, admin)["state"] == "open"
    outcomes(operation="DELETE /Groups", stored=[], **group)
    assert only(client, admin)["state"] == "resolved"


def test_a_resolved_cause_that_comes_back_is_a_new_notification(outcomes: Outcomes, client: FlaskClient,
                                                                admin: dict[str, str]) -> None:
    outcomes("partial", dropped=[custom_drop()])
    outcomes(operation="PUT /Users")
    outcomes("partial", dropped=[custom_drop()])
    items = listing(client, admin)["items"]
    assert [n["state"] for n in items] == ["open", "resolved"]  # open first; history kept
    assert items[0]["count"] == 1


def test_an_acknowledged_notification_keeps_counting_and_still_resolves(outcomes: Outcomes, client: FlaskClient,
                                                                        admin: dict[str, str]) -> None:
    outcomes(**refused_email())
    n = only(client, admin)
    client.post(f"/admin/v1/tenants/acme/notifications/{n['id']}/acknowledge", headers=admin)
    outcomes(**refused_email())
    n = only(client, admin)
    assert n["state"] == "acknowledged" and n["count"] == 2
    outcomes(user="bob@example.com", user_id="u-bob", operation="POST /Users")
    n = only(client, admin)
    assert n["state"] == "resolved" and n["acknowledged_by"] == "deployment"


def test_a_write_that_still_drops_keeps_the_cause_open(outcomes: Outcomes, client: FlaskClient,
                                                       admin: dict[str, str]) -> None:
    outcomes("partial", dropped=[custom_drop()], operation="PUT /Users")
    outcomes("partial", dropped=[custom_drop()], operation="PUT /Users")
    n = only(client, admin)
    assert n["state"] == "open" and n["count"] == 2 and n["affected_count"] == 1


def test_a_refused_duplicate_user_stays_open_while_the_holder_of_the_name_is_written(
        outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """R-NOT-4: the existing user's writes say nothing about the refused create; a create of the name does."""
    clash = {"attribute": "userName", "detail": "Another user already has userName ann@example.com.",
             "reason": "uniqueness"}
    outcomes("refused", user="ann@example.com", user_id=None, operation="POST /Users", stored=[], refusal=clash)
    outcomes(user="ann@example.com", user_id="u-holder", operation="PATCH /Users")
    outcomes(user="ann@example.com", user_id="u-holder", operation="PUT /Users")
    assert only(client, admin)["state"] == "open"
    outcomes(user="ann@example.com", user_id="u-holder", operation="DELETE /Users", stored=[])
    assert only(client, admin)["state"] == "open"
    outcomes(user="ann@example.com", user_id="u-new", operation="POST /Users")  # created once the clash was gone
    assert only(client, admin)["state"] == "resolved"


def test_a_refused_duplicate_group_stays_open_while_the_existing_group_gets_members(
        outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    clash = {"attribute": "displayName", "detail": "Another group is already named Sales.", "reason": "uniqueness"}
    outcomes("refused", user="Sales", user_id=None, operation="POST /Groups", stored=[], refusal=clash)
    outcomes(user="Sales", user_id="g-holder", operation="PATCH /Groups", stored=["displayName", "members"])
    assert only(client, admin)["state"] == "open"
    outcomes(user="sales ", user_id="g-new", operation="POST /Groups", stored=["displayName"])
    assert only(client, admin)["state"] == "resolved"


def test_an_undefined_custom_attribute_stays_open_through_an_unrelated_patch(
        outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """The case an admin met: custAttr7 dropped, then a PATCH of the same user's title 0.1 s later."""
    outcomes("partial", operation="POST /Users", dropped=[custom_drop("custAttr7")])
    outcomes(operation="PATCH /Users", stored=["userName", "emails", "name", "title"])
    n = only(client, admin)
    assert n["state"] == "open" and n["attribute"] == "custAttr7"
    assert [s["action"] for s in n["recent_subjects"]] == ["created"]
    outcomes("partial", operation="PATCH /Users", dropped=[custom_drop("custAttr7")])
    assert [s["action"] for s in only(client, admin)["recent_subjects"]] == ["updated"]


def test_a_refused_create_recorded_before_the_new_keys_still_resolves_only_on_a_create(
        app: Flask, outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    """Rows written before refused creates were keyed as new: the bare name, which a create still answers to."""
    outcomes(**refused_email("bob@example.com"))
    with app.app_context(), connection(db):
        moved = Affected.update(subject_key="user:name:bob@example.com").execute()
    assert moved == 1
    outcomes(user="bob@example.com", user_id="u-holder", operation="PATCH /Users")
    assert only(client, admin)["state"] == "open"
    outcomes(user="bob@example.com", user_id="u-bob", operation="POST /Users")
    assert only(client, admin)["state"] == "resolved"
