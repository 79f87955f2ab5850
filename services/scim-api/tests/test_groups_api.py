"""/Groups over HTTP as Entra uses it: lookup, create, members by delta in both dialects (R-SCIM-1, R-DIR-9/10)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Scim, error, load


def members_of(scim: Scim, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim("GET", f"/Groups/{group_id}").get_json().get("members", []))


def member_patch(name: str, *ids: str) -> dict[str, Any]:
    """A member body from the sources with its example ids replaced by real ones."""
    body = load(name)
    op = body["Operations"][0]
    if "value" in op:
        op["value"] = [{**op["value"][0], "value": i} for i in ids]
    else:
        op["path"] = f'members[value eq "{ids[0]}"]'
    return body


@pytest.fixture
def people(scim: Scim) -> list[str]:
    return [scim.create_user(userName=f"p{i}@contoso.com", externalId=f"p{i}")["id"] for i in range(3)]


def test_test_connection_group_probe_is_an_empty_list_response(dialect_scim: Scim) -> None:
    """TUT: GET /Groups?excludedAttributes=members&filter=displayName eq "<random>" → 200, empty."""
    resp = dialect_scim("GET", f'/Groups?excludedAttributes=members&filter=displayName eq "{uuid.uuid4()}"')
    assert resp.status_code == 200
    assert resp.get_json()["totalResults"] == 0 and resp.get_json()["Resources"] == []


def test_create_group_with_the_microsoft_schema_urn(scim: Scim) -> None:
    """TUT: Entra adds http://schemas.microsoft.com/.../ADSCIM/2.0/Group; it must be accepted."""
    resp = scim("POST", "/Groups", load("tut-create-group.json"))
    group = resp.get_json()
    assert resp.status_code == 201, group
    assert group["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    assert group["displayName"] == "displayName" and group["members"] == []
    assert resp.headers["Location"] == group["meta"]["location"]
    assert resp.headers["Location"].endswith(f"/scim/v2/acme/Groups/{group['id']}")
    assert resp.headers["ETag"] == group["meta"]["version"]


def test_group_lookup_excluding_members_as_entra_does(scim: Scim, people: list[str], app: Any) -> None:
    """docs/entra-behaviour.md, Groups: excludedAttributes=members must not pay for the members
    (members=false downstream)."""
    group = scim.create_group("Staff")
    scim("PATCH", f"/Groups/{group['id']}", member_patch("tut-patch-group-add-members.json", *people))
    seen: list[dict] = []
    directory = app.extensions["directory"]
    search, get = directory.search_groups, directory.get_group
    directory.search_groups = lambda tenant, body: seen.append(body) or search(tenant, body)
    found = scim("GET", '/Groups?excludedAttributes=members&filter=displayName eq "staff"').get_json()
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    assert seen[0]["members"] is False
    directory.get_group = lambda tenant, gid, members=True: seen.append({"get": members}) or get(
        tenant, gid, members=members)
    one = scim("GET", f"/Groups/{group['id']}?excludedAttributes=members").get_json()
    assert "members" not in one and seen[-1] == {"get": False}
    assert len(scim("GET", f"/Groups/{group['id']}").get_json()["members"]) == 3


def test_duplicate_display_name_is_409(scim: Scim) -> None:
    """R-DIR-9, TUT: displayName unique (case-insensitive) so Entra can match groups."""
    scim.create_group("Staff")
    error(scim("POST", "/Groups", {**load("tut-create-group.json"), "displayName": "STAFF"}), 409, "uniqueness")


def test_members_added_in_batches_and_readding_is_not_an_error(scim: Scim, people: list[str]) -> None:
    group = scim.create_group("Staff")
    body = member_patch("tut-patch-group-add-members.json", *people[:2])
    for _ in range(2):  # Entra re-sends: idempotent
        resp = scim("PATCH", f"/Groups/{group['id']}", body)
        # RFC 7644 §3.5.2: 200 with the group as it now is, and its ETag.
        assert resp.status_code == 200 and resp.headers["ETag"].startswith('W/"')
        assert sorted(m["value"] for m in resp.get_json()["members"]) == sorted(people[:2])
    assert members_of(scim, group["id"]) == sorted(people[:2])


@pytest.mark.parametrize("name", ["tut-patch-group-remove-members.json", "compat-remove-member-default.json",
                                  "compat-remove-member-aadoptscim062020.json"])
def test_member_removal_in_both_dialects_removes_only_that_member(dialect_scim: Scim, people: list[str],
                                                                  name: str) -> None:
    """COMPAT, SCIMReferenceCode issue 10: only the named member goes; removing it twice is fine."""
    group = dialect_scim.create_group("Staff")
    dialect_scim("PATCH", f"/Groups/{group['id']}", member_patch("tut-patch-group-add-members.json", *people))
    for _ in range(2):
        assert dialect_scim("PATCH", f"/Groups/{group['id']}", member_patch(name, people[0])).status_code == 200
    assert members_of(dialect_scim, group["id"]) == sorted(people[1:])


def test_remove_members_without_value_removes_all(scim: Scim, people: list[str]) -> None:
    group = scim.create_group("Staff")
    scim("PATCH", f"/Groups/{group['id']}", member_patch("tut-patch-group-add-members.json", *people))
    assert scim("PATCH", f"/Groups/{group['id']}", {"Operations": [{"op": "Remove", "path": "members"}]}
                ).status_code == 200
    assert members_of(scim, group["id"]) == []


def test_replace_members(scim: Scim, people: list[str]) -> None:
    group = scim.create_group("Staff")
    scim("PATCH", f"/Groups/{group['id']}", member_patch("tut-patch-group-add-members.json", *people[:2]))
    body = {"Operations": [{"op": "Replace", "path": "members", "value": [{"value": people[2]}]}]}
    assert scim("PATCH", f"/Groups/{group['id']}", body).status_code == 200
    assert members_of(scim, group["id"]) == [people[2]]


def test_nested_group_and_unknown_member_are_not_added(scim: Scim, people: list[str]) -> None:
    """R-DIR-10: a member that is a group is not added (reported by the directory), never a 5xx."""
    group, other = scim.create_group("Staff"), scim.create_group("Other")
    body = member_patch("tut-patch-group-add-members.json", people[0], other["id"], "no-such-user")
    assert scim("PATCH", f"/Groups/{group['id']}", body).status_code == 200
    assert members_of(scim, group["id"]) == [people[0]]


@pytest.mark.parametrize("body", [
    load("tut-patch-group-displayname.json"),
    {"Operations": [{"op": "replace", "value": {"displayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
                                                "externalId": "x-1"}}]},
])
def test_rename_with_or_without_path_answers_the_renamed_group(scim: Scim, body: dict[str, Any]) -> None:
    group = scim.create_group("Staff")
    resp = scim("PATCH", f"/Groups/{group['id']}", body)
    assert resp.status_code == 200
    assert resp.get_json()["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    assert scim("GET", f"/Groups/{group['id']}").get_json()["displayName"] == \
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_group_if_match_and_if_none_match(scim: Scim) -> None:
    group = scim.create_group("Staff")
    tag = group["meta"]["version"]
    assert scim("GET", f"/Groups/{group['id']}", headers={"If-None-Match": tag}).status_code == 304
    error(scim("PATCH", f"/Groups/{group['id']}", load("tut-patch-group-displayname.json"),
               {"If-Match": 'W/"99"'}), 412)
    assert scim("PATCH", f"/Groups/{group['id']}", load("tut-patch-group-displayname.json"),
                {"If-Match": tag}).status_code == 200


def test_put_group_replaces_membership(scim: Scim, people: list[str]) -> None:
    group = scim.create_group("Staff")
    resp = scim("PUT", f"/Groups/{group['id']}", {"displayName": "Staff", "members": [{"value": people[1]}]})
    assert resp.status_code == 200 and [m["value"] for m in resp.get_json()["members"]] == [people[1]]


def test_invalid_group_patch_is_a_400(scim: Scim) -> None:
    group = scim.create_group("Staff")
    error(scim("PATCH", f"/Groups/{group['id']}", {"Operations": [{"op": "Remove", "path": "displayName"}]}),
          400, "invalidValue")
    error(scim("PATCH", f"/Groups/{group['id']}", {"Operations": [{"op": "remove", "path": "members[x]"}]}),
          400, "invalidPath")
    error(scim("PATCH", "/Groups/nope", load("tut-patch-group-displayname.json")), 404)


def test_delete_group_is_204_then_404(scim: Scim) -> None:
    group = scim.create_group("Staff")
    assert scim("DELETE", f"/Groups/{group['id']}").status_code == 204
    error(scim("GET", f"/Groups/{group['id']}"), 404)
    assert scim("GET", '/Groups?filter=displayName eq "Staff"').get_json()["totalResults"] == 0


def test_group_search_with_post(scim: Scim) -> None:
    scim.create_group("Staff")
    resp = scim("POST", "/Groups/.search", {"filter": 'displayName eq "Staff"', "excludedAttributes": ["members"]})
    assert resp.get_json()["totalResults"] == 1 and "members" not in resp.get_json()["Resources"][0]


def test_patch_with_excluded_members_answers_without_reading_them(scim: Scim, people: list[str]) -> None:
    """A PATCH honours excludedAttributes (RFC 7644 §3.5.2), so a client can keep big groups' PATCHes cheap."""
    group = scim.create_group("Staff")
    body = member_patch("tut-patch-group-add-members.json", *people)
    resp = scim("PATCH", f"/Groups/{group['id']}?excludedAttributes=members", body)
    assert resp.status_code == 200 and "members" not in resp.get_json()
    assert members_of(scim, group["id"]) == sorted(people)


def test_patch_of_a_group_bigger_than_the_shown_limit_is_204(scim: Scim, people: list[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 7644 §3.5.2 allows 200 or 204: past PATCH_MEMBERS_SHOWN members a member add answers 204, so its
    cost does not grow with the group."""
    from scim_api.api import groups as api

    monkeypatch.setattr(api, "PATCH_MEMBERS_SHOWN", 2)
    group = scim.create_group("Staff")
    add = member_patch("tut-patch-group-add-members.json", *people[:2])
    resp = scim("PATCH", f"/Groups/{group['id']}", add)
    assert resp.status_code == 200 and len(resp.get_json()["members"]) == 2
    resp = scim("PATCH", f"/Groups/{group['id']}", member_patch("tut-patch-group-add-members.json", people[2]))
    assert resp.status_code == 204 and resp.data == b"" and resp.headers["ETag"].startswith('W/"')
    assert members_of(scim, group["id"]) == sorted(people[:3])
