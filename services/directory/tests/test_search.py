"""Searches: every filter operator and combination in SQL on both engines, sorting, paging, indexes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from directory import tenants
from directory.models import User
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA

from .conftest import TENANT, Api, QueryLog

ENT = ENTERPRISE_USER_SCHEMA


def eq(attr: str, value: Any) -> dict[str, Any]:
    return {"op": "eq", "attr": attr, "value": value}


@pytest.fixture
def people(api: Api, make_user: Any, make_group: Any) -> dict[str, str]:
    """ann, Bob (disabled), cid, eve and dan (deleted from Entra); userName → id, plus the group ids."""
    tenants.define_custom_attribute(TENANT, "custAttr1")
    bob = make_user("Bob@Example.com", externalId="Bob", title="Manager", displayName="Bob Builder",
                    enterprise={"department": "Sales"},
                    name={"givenName": "Bob", "familyName": "Builder"})
    ann = make_user("ann@example.com", title="Engineer", enterprise={"department": "R&D", "manager": bob["id"]},
                    custom={"custAttr1": "blue"}, phoneNumbers=[{"value": "+1 555", "type": "work"}],
                    emails=[{"value": "ann@example.com", "type": "work", "primary": True},
                            {"value": "ann@home.org", "type": "home"}])
    cid = make_user("cid@corp.test", externalId=None, displayName="Cid", name={"formatted": "Cid"},
                    emails=[{"value": "cid@corp.test", "type": "work"}],
                    addresses=[{"locality": "Paris", "type": "work"}])
    eve = make_user("eve@corp.test", externalId="eve", title="engineer", displayName="Eve",
                    name={"givenName": "Eve", "familyName": "Adams"},
                    emails=[{"value": "eve@corp.test", "type": "work", "primary": False}])
    dan = make_user("dan@example.com", title="Engineer")
    api("PUT", f"/users/{bob['id']}", {**_body_of(bob), "active": False})
    api("DELETE", f"/users/{dan['id']}")
    ids = {u["userName"]: u["id"] for u in (ann, bob, cid, eve, dan)}
    for day, name in enumerate(["ann@example.com", "Bob@Example.com", "cid@corp.test", "eve@corp.test"], 1):
        User.update(created=dt.datetime(2026, 1, day, 12)).where(User.id == ids[name]).execute()
    ids["group:Sales"] = make_group("Sales", [eve["id"]], externalId="g-1")["id"]
    ids["group:Admins"] = make_group("Admins")["id"]
    return ids


def _body_of(user: dict[str, Any]) -> dict[str, Any]:
    read_only = {"id", "groups", "created", "lastModified", "version", "source", "dropped"}
    return {k: v for k, v in user.items() if k not in read_only}


def names(api: Api, flt: Any, **search: Any) -> list[str]:
    resp = api("POST", "/users/search", {"filter": flt, **search})
    assert resp.status_code == 200, resp.get_json()
    return [u["userName"] for u in resp.get_json()["items"]]


ANN, BOB, CID, EVE = "ann@example.com", "Bob@Example.com", "cid@corp.test", "eve@corp.test"

CASES = [
    ("userName eq, any case", eq("userName", "ANN@EXAMPLE.COM"), {ANN}),
    ("userName eq, stored mixed case", eq("userName", "bob@example.com"), {BOB}),
    ("userName ne", {"op": "ne", "attr": "userName", "value": "ANN@example.com"}, {BOB, CID, EVE}),
    ("userName co", {"op": "co", "attr": "userName", "value": "EXAMPLE"}, {ANN, BOB}),
    ("userName sw", {"op": "sw", "attr": "userName", "value": "C"}, {CID}),
    ("userName ew", {"op": "ew", "attr": "userName", "value": ".TEST"}, {CID, EVE}),
    ("userName ew longer than any", {"op": "ew", "attr": "userName", "value": "x" * 40 + ".test"}, set()),
    ("userName gt", {"op": "gt", "attr": "userName", "value": "c"}, {CID, EVE}),
    ("userName ge", {"op": "ge", "attr": "userName", "value": "CID@corp.test"}, {CID, EVE}),
    ("userName lt", {"op": "lt", "attr": "userName", "value": "bob@example.com"}, {ANN}),
    ("userName le", {"op": "le", "attr": "userName", "value": "BOB@example.com"}, {ANN, BOB}),
    ("title eq ignores case", eq("title", "ENGINEER"), {ANN, EVE}),
    ("title ne includes users without one", {"op": "ne", "attr": "title", "value": "engineer"}, {BOB, CID}),
    ("title pr", {"op": "pr", "attr": "title"}, {ANN, BOB, EVE}),
    ("not title pr", {"op": "not", "arg": {"op": "pr", "attr": "title"}}, {CID}),
    ("title eq null", eq("title", None), {CID}),
    ("title ne null", {"op": "ne", "attr": "title", "value": None}, {ANN, BOB, EVE}),
    ("externalId is caseExact", eq("externalId", "bob"), set()),
    ("externalId eq", eq("externalId", "Bob"), {BOB}),
    ("displayName co", {"op": "co", "attr": "displayName", "value": "EXAMPLE"}, {ANN}),
    ("active eq false", eq("active", False), {BOB}),
    ("active ne true", {"op": "ne", "attr": "active", "value": True}, {BOB}),
    ("emails ew", {"op": "ew", "attr": "emails.value", "value": "@CORP.test"}, {CID, EVE}),
    ("emails co, no sub-attribute", {"op": "co", "attr": "emails", "value": "home"}, {ANN}),
    ("emails.type eq", eq("emails.type", "HOME"), {ANN}),
    ("emails.primary eq true", eq("emails.primary", True), {ANN, BOB}),
    ("emails.primary eq false", eq("emails.primary", False), {EVE}),
    ("emails[type eq work and value eq]", {"op": "has", "attr": "emails", "filter": {"op": "and", "args": [
        eq("type", "work"), eq("value", "ANN@example.com")]}}, {ANN}),
    ("emails[...] matches within one element", {"op": "has", "attr": "emails", "filter": {"op": "and", "args": [
        eq("type", "home"), eq("value", "ann@example.com")]}}, set()),
    ("emails[not(primary eq true)]", {"op": "has", "attr": "emails", "filter": {
        "op": "not", "arg": eq("primary", True)}}, {ANN, CID, EVE}),
    ("addresses.locality eq", eq("addresses.locality", "paris"), {CID}),
    ("addresses pr", {"op": "pr", "attr": "addresses"}, {CID}),
    ("phoneNumbers.value pr", {"op": "pr", "attr": "phoneNumbers.value"}, {ANN}),
    ("name.givenName sw", {"op": "sw", "attr": "name.givenName", "value": "an"}, {ANN}),
    ("name.familyName pr", {"op": "pr", "attr": "name.familyName"}, {ANN, BOB, EVE}),
    ("name pr", {"op": "pr", "attr": "name"}, {ANN, BOB, CID, EVE}),
    ("enterprise department", eq(f"{ENT}:department", "r&d"), {ANN}),
    ("or", {"op": "or", "args": [eq("userName", ANN), eq("userName", CID)]}, {ANN, CID}),
    ("and", {"op": "and", "args": [eq("title", "engineer"), {"op": "ew", "attr": "emails", "value": ".test"}]},
     {EVE}),
    ("not of or", {"op": "not", "arg": {"op": "or", "args": [eq("title", "engineer"), eq("active", False)]}},
     {CID}),
    ("no filter", None, {ANN, BOB, CID, EVE}),
    ("deleted users never match", eq("userName", "dan@example.com"), set()),
    ("meta.created gt", {"op": "gt", "attr": "meta.created", "value": "2026-01-02T12:00:00Z"}, {CID, EVE}),
    ("meta.created ge", {"op": "ge", "attr": "meta.created", "value": "2026-01-02T12:00:00Z"}, {BOB, CID, EVE}),
    ("meta.created lt", {"op": "lt", "attr": "meta.created", "value": "2026-01-02T13:00:00+01:00"}, {ANN}),
    ("meta.created le", {"op": "le", "attr": "meta.created", "value": "2026-01-02T12:00:00.000Z"}, {ANN, BOB}),
    ("meta.created eq", eq("meta.created", "2026-01-03T12:00:00Z"), {CID}),
    ("meta.lastModified gt", {"op": "gt", "attr": "meta.lastModified", "value": "2000-01-01T00:00:00Z"},
     {ANN, BOB, CID, EVE}),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filters_select_exactly_the_matching_users(api: Api, people: dict[str, str], flt: Any,
                                                   expected: set[str]) -> None:
    assert set(names(api, flt)) == expected


def test_id_manager_custom_and_group_filters(api: Api, people: dict[str, str]) -> None:
    assert names(api, eq("id", people[CID])) == [CID]
    assert names(api, eq(f"{ENT}:manager.value", people[BOB])) == [ANN]
    assert names(api, eq(f"{ENT}:manager", people[BOB].upper())) == []  # ids are caseExact
    assert names(api, eq(f"{CUSTOM_USER_SCHEMA}:CUSTATTR1", "BLUE")) == [ANN]
    assert names(api, eq("groups.value", people["group:Sales"])) == [EVE]
    assert set(names(api, {"op": "not", "arg": {"op": "pr", "attr": "groups"}})) == {ANN, BOB, CID}


# Refused for their shape (by shared.schemas.filters.load_filter, whose wording is its own).
MALFORMED = [
    ("unknown operator", {"op": "xx", "attr": "userName", "value": "x"}),
    ("and of one", {"op": "and", "args": [eq("userName", "x")]}),
    ("no value", {"op": "eq", "attr": "userName"}),
    ("not an object", "userName eq \"x\""),
    ("core schema URN (not canonical)", eq("urn:ietf:params:scim:schemas:core:2.0:User:title", "x")),
    ("nested has", {"op": "has", "attr": "emails", "filter": {"op": "has", "attr": "x", "filter": eq("a", "b")}}),
]

# Well formed, but not something users have: the directory names the attribute or the problem.
UNEVALUABLE = [
    ("unknown attribute", eq("bogus", "x"), "bogus"),
    ("boolean with gt", {"op": "gt", "attr": "active", "value": True}, "active"),
    ("boolean with a string", eq("active", "yes"), "active"),
    ("bad date-time", eq("meta.created", "yesterday"), "yesterday"),
    ("date-time with co", {"op": "co", "attr": "meta.created", "value": "2026"}, "meta.created"),
    ("string with a number", eq("userName", 5), "userName"),
    ("undefined custom attribute", eq(f"{CUSTOM_USER_SCHEMA}:custAttr9", "x"), "custAttr9"),
    ("has on a simple attribute", {"op": "has", "attr": "title", "filter": eq("value", "x")}, "multi-valued"),
    ("unknown sub-attribute", {"op": "has", "attr": "emails", "filter": eq("colour", "x")}, "colour"),
    ("complex attribute compared", eq("name", "x"), "name"),
    ("group attribute on users", eq("members.value", "x"), "members.value"),
]


@pytest.mark.parametrize("flt", [c[1] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_filter_is_400_invalid_filter(api: Api, people: dict[str, str], flt: Any) -> None:
    resp = api("POST", "/users/search", {"filter": flt})
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_filter", resp.get_json()


@pytest.mark.parametrize(("flt", "named"), [c[1:] for c in UNEVALUABLE], ids=[c[0] for c in UNEVALUABLE])
def test_a_filter_on_what_users_do_not_have_is_400_invalid_filter_naming_it(api: Api, people: dict[str, str],
                                                                            flt: Any, named: str) -> None:
    resp = api("POST", "/users/search", {"filter": flt})
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_filter", resp.get_json()
    assert named in resp.get_json()["detail"]


def test_a_filter_nested_too_deep_is_400_not_500(api: Api) -> None:
    flt: dict[str, Any] = eq("userName", "x")
    for _ in range(200):
        flt = {"op": "not", "arg": flt}
    assert api("POST", "/users/search", {"filter": flt}).get_json()["code"] == "invalid_filter"


def test_sorting_by_indexed_and_json_attributes(api: Api, people: dict[str, str]) -> None:
    assert names(api, None) == [ANN, BOB, CID, EVE]  # userName order by default
    assert names(api, None, sortBy="userName", sortOrder="descending") == [EVE, CID, BOB, ANN]
    assert names(api, None, sortBy="meta.created", sortOrder="descending") == [EVE, CID, BOB, ANN]
    by_title = names(api, None, sortBy="title")
    assert set(by_title[:2]) == {ANN, EVE} and by_title[2:] == [BOB, CID]  # no value sorts last
    by_title_down = names(api, None, sortBy="title", sortOrder="descending")
    assert by_title_down[0] == BOB and set(by_title_down[1:3]) == {ANN, EVE} and by_title_down[3] == CID
    assert names(api, None, sortBy="externalId")[-1] == CID
    assert names(api, None, sortBy="name.givenName") == [ANN, BOB, EVE, CID]


@pytest.mark.parametrize("sort_by", ["emails", "bogus", "name"])
def test_sorting_by_a_multi_valued_complex_or_unknown_attribute_is_400(api: Api, sort_by: str) -> None:
    resp = api("POST", "/users/search", {"sortBy": sort_by})
    assert resp.status_code == 400 and resp.get_json()["attribute"] == "sortBy"


@pytest.mark.parametrize(("start", "count", "expected"), [
    (1, 2, [ANN, BOB]), (3, 2, [CID, EVE]), (4, 2, [EVE]), (10, 2, []), (1, 0, []), (2, 100, [BOB, CID, EVE]),
])
def test_paging_is_one_based_and_counts_every_match(api: Api, people: dict[str, str], start: int, count: int,
                                                    expected: list[str]) -> None:
    resp = api("POST", "/users/search", {"startIndex": start, "count": count}).get_json()
    assert [u["userName"] for u in resp["items"]] == expected
    assert resp["totalResults"] == 4 and resp["startIndex"] == start


@pytest.mark.parametrize("search", [{"count": 201}, {"startIndex": 0}, {"sortOrder": "up"}, {"colour": 1}])
def test_a_search_the_contract_refuses_is_400_invalid_value(api: Api, search: dict[str, Any]) -> None:
    resp = api("POST", "/users/search", search)
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_value"


def test_entras_test_connection_probe_is_an_empty_page_in_one_query(api: Api, people: dict[str, str],
                                                                    query_log: QueryLog) -> None:
    query_log.clear()
    resp = api("POST", "/users/search", {"filter": eq("userName", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")})
    assert resp.get_json() == {"totalResults": 0, "startIndex": 1, "items": []}
    assert len(query_log) == 1


def group_names(api: Api, flt: Any, **search: Any) -> list[str]:
    resp = api("POST", "/groups/search", {"filter": flt, **search})
    assert resp.status_code == 200, resp.get_json()
    return [g["displayName"] for g in resp.get_json()["items"]]


def test_group_filters(api: Api, people: dict[str, str]) -> None:
    assert group_names(api, eq("displayName", "SALES")) == ["Sales"]
    assert group_names(api, {"op": "sw", "attr": "displayName", "value": "ad"}) == ["Admins"]
    assert group_names(api, eq("externalId", "g-1")) == ["Sales"]
    assert group_names(api, eq("members.value", people[EVE])) == ["Sales"]
    assert group_names(api, {"op": "has", "attr": "members", "filter": eq("value", people[EVE])}) == ["Sales"]
    assert group_names(api, {"op": "pr", "attr": "members"}) == ["Sales"]
    assert group_names(api, {"op": "not", "arg": {"op": "pr", "attr": "members"}}) == ["Admins"]
    assert group_names(api, eq("id", people["group:Admins"])) == ["Admins"]
    assert group_names(api, None, sortBy="displayName", sortOrder="descending") == ["Sales", "Admins"]


def test_group_search_includes_members_only_when_asked(api: Api, people: dict[str, str]) -> None:
    without = api("POST", "/groups/search", {"filter": eq("displayName", "sales")}).get_json()["items"][0]
    assert "members" not in without
    with_members = api("POST", "/groups/search", {"filter": eq("displayName", "sales"), "members": True})
    assert [m["value"] for m in with_members.get_json()["items"][0]["members"]] == [people[EVE]]


@pytest.mark.parametrize("flt", [eq("userName", "x"), eq("members.display", "x"), {"op": "has", "attr": "members",
                                                                                   "filter": eq("type", "User")}])
def test_a_group_filter_on_what_groups_do_not_have_is_400_invalid_filter(api: Api, flt: dict[str, Any]) -> None:
    resp = api("POST", "/groups/search", {"filter": flt})
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_filter"


@pytest.mark.parametrize("search", [
    {"filter": eq("userName", "BOB@example.COM")}, {"filter": eq("userName", "dan@example.com")},
    {"filter": eq("externalId", "Bob")}, {"filter": eq("externalId", "bob")}, {"filter": eq("EXTERNALID", "eve")},
    {"filter": eq("id", "nobody")}, {"filter": eq("displayName", "Eve")}, {"filter": eq("userName", "x"), "count": 1},
    {"filter": eq("userName", "ann@example.com"), "count": 1},
    {"filter": eq("userName", "ann@example.com"), "count": 0},
], ids=["userName-case", "deleted", "externalId", "externalId-case", "attr-case", "id-none", "displayName",
        "count-1-none", "count-1-one", "count-0"])
def test_the_prepared_eq_lookup_answers_as_the_general_search(api: Api, people: dict[str, str],
                                                             search: dict[str, Any]) -> None:
    """Entra's lookups take a prepared statement (queries._eq_page); a sort sends the same search down the
    compiled path, which must agree with it."""
    fast = api("POST", "/users/search", search).get_json()
    general = api("POST", "/users/search", {**search, "sortBy": "id"}).get_json()
    assert fast == general


def test_the_prepared_group_eq_lookup_answers_as_the_general_search(api: Api, people: dict[str, str]) -> None:
    for flt in (eq("displayName", "SALES"), eq("externalId", "g-1"), eq("externalId", "G-1"), eq("id", "x")):
        fast = api("POST", "/groups/search", {"filter": flt}).get_json()
        assert fast == api("POST", "/groups/search", {"filter": flt, "sortBy": "id"}).get_json()
    assert [g["displayName"] for g in api("POST", "/groups/search", {"filter": eq("displayName", "sales")})
            .get_json()["items"]] == ["Sales"]
