"""SCIM JSON ⇄ the directory's shapes, and the attributes/excludedAttributes projection (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from scim_api.attributes import GROUP, USER
from scim_api.entra import normalise
from scim_api.errors import ScimError
from scim_api.projection import project
from scim_api.resources import group_to_scim, group_write, user_to_scim, user_write
from shared.schemas.users import UserSchema

from .conftest import load

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IVANTI = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
BASE = "https://scim.example.com/scim/v2/acme"
STORED: dict[str, Any] = {
    "id": "u1", "userName": "ann@contoso.com", "active": True, "externalId": None, "title": "Eng",
    "name": {"givenName": "Ann", "familyName": "Lee", "formatted": None},
    "emails": [{"value": "ann@contoso.com", "type": "work", "primary": True, "display": None}],
    "phoneNumbers": [], "enterprise": {"manager": "m1", "department": "Tour", "costCenter": None},
    "custom": {"custAttr1": "blue"}, "groups": [{"value": "g1", "display": "Staff"}], "source": "scim",
    "created": "2026-01-01T00:00:00.000Z", "lastModified": "2026-01-02T00:00:00.000Z", "version": 3,
}


def write_of(name: str) -> dict[str, Any]:
    return user_write(normalise(load(name), USER))


def test_tut_create_user_maps_to_a_valid_user_write() -> None:
    write = write_of("tut-create-user.json")
    assert write["userName"] == "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    assert write["emails"] == [{"primary": True, "type": "work",
                                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}]
    assert write["roles"] == [] and write["dropped"] == []
    assert "meta" not in write and "schemas" not in write  # read-only input ignored (RFC 7644 §3.5.1)


def test_string_booleans_and_capitalised_names_on_create() -> None:
    """COMPAT, REF: "True" on POST; 'UserName' in any case (RFC 7643 §2.1)."""
    write = write_of("entra-scim-create-user-string-booleans.json")
    assert write["userName"] == "Babs.Jensen@contoso.com" and write["active"] is True
    assert write["emails"][0]["primary"] is True
    assert write["name"] == {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"}
    assert write["enterprise"] == {"manager": "", "department": "Tour"}
    assert write["custom"] == {"custAttr1": "blue"}
    assert write["phoneNumbers"] == [{"type": "mobile", "value": "55555555555"}]  # stored exactly as sent


def test_ref_enterprise_user_keeps_values_as_sent() -> None:
    write = write_of("ref-user-enterprise.json")
    assert write["enterprise"] == {"department": "some department"}
    assert [e["value"] for e in write["emails"]] == ["anna33@gmail.com", "anna33@example.com"]
    assert write["phoneNumbers"][0]["value"] == "312-320-0500"


@pytest.mark.parametrize("manager", ["m2", {"value": "m2"}, {"value": "m2", "$ref": "../Users/m2",
                                                             "displayName": "Boss"}])
def test_manager_in_as_string_or_object(manager: Any) -> None:
    write = user_write(normalise({"userName": "a", ENT: {"manager": manager}}, USER))
    assert write["enterprise"] == {"manager": "m2"}


def test_manager_out_always_as_an_object() -> None:
    """docs/entra-behaviour.md, Manager: another shape makes Entra fail to read the user; RFC 7643 §8.7.1
    requires $ref."""
    assert user_to_scim(STORED, BASE)[ENT]["manager"] == {"value": "m1", "$ref": f"{BASE}/Users/m1"}


def test_unknown_attributes_are_dropped_not_refused() -> None:
    write = user_write(normalise({"userName": "a", "password": "x", "emails": [{"value": "a@x", "foo": 1}],
                                  "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": 1},
                                  ENT: {"building": "B"}, IVANTI: {"nested": {"a": 1}}}, USER))
    assert {d["attribute"] for d in write["dropped"]} == {
        "password", "emails.foo", "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
        f"{ENT}:building", f"{IVANTI}:nested"}
    assert {d["reason"] for d in write["dropped"]} == {"unknown_attribute"}


def test_invalid_values_are_a_400_naming_the_attribute() -> None:
    with pytest.raises(ScimError) as info:
        user_write(normalise({"userName": "a", "active": "maybe", "title": 5}, USER))
    assert info.value.status == 400 and info.value.code == "invalidValue"
    assert "active" in info.value.detail and "title" in info.value.detail


def test_missing_user_name_is_a_400_for_the_admin() -> None:
    with pytest.raises(ScimError) as info:
        user_write(normalise({"emails": [{"value": "a@x"}]}, USER))
    assert info.value.code == "invalidValue" and "userName is required" in info.value.detail


def test_replace_turns_a_top_level_null_into_a_blank_that_keeps() -> None:
    """R-DIR-7: null keeps the stored value; the contract says so with "" (top-level null removes)."""
    write = user_write(normalise({"userName": "a", "title": None}, USER), replace=True)
    assert write["title"] == ""


def test_user_out_has_envelope_and_no_nulls() -> None:
    doc = user_to_scim(STORED, BASE)
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", ENT, IVANTI]
    assert doc["meta"] == {"resourceType": "User", "created": "2026-01-01T00:00:00.000Z",
                           "lastModified": "2026-01-02T00:00:00.000Z", "location": f"{BASE}/Users/u1",
                           "version": 'W/"3"'}
    assert "externalId" not in doc and "phoneNumbers" not in doc and "formatted" not in doc["name"]
    assert doc["groups"] == [{"value": "g1", "display": "Staff", "type": "direct", "$ref": f"{BASE}/Groups/g1"}]
    assert doc[IVANTI] == {"custAttr1": "blue"}


def test_user_round_trip_through_the_contract_schema() -> None:
    dumped = UserSchema().dump(UserSchema().load(STORED))
    assert user_write(user_to_scim(dumped, BASE), replace=True)["enterprise"] == {"manager": "m1",
                                                                                   "department": "Tour"}


def test_group_with_microsoft_schema_urn_is_accepted() -> None:
    write = group_write(normalise(load("tut-create-group.json"), GROUP))
    assert write == {"displayName": "displayName", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                     "dropped": []}


def test_group_members_in_and_out() -> None:
    write = group_write(normalise({"displayName": "G", "members": [{"value": "u1", "$ref": None, "type": "User"}]},
                                  GROUP))
    assert write["members"] == [{"value": "u1", "type": "User"}]
    group = {"id": "g1", "displayName": "G", "externalId": None, "members": [{"value": "u1", "display": "Ann"}],
             "created": "c", "lastModified": "m", "version": 2}
    assert group_to_scim(group, BASE)["members"] == [
        {"value": "u1", "type": "User", "$ref": f"{BASE}/Users/u1"}]
    assert "members" not in group_to_scim({**group, "members": None}, BASE)


@pytest.mark.parametrize("attributes, excluded, keys", [
    (["userName"], [], {"schemas", "id", "meta", "userName"}),
    (["USERNAME", "name.givenName"], [], {"schemas", "id", "meta", "userName", "name"}),
    ([f"{ENT}:manager"], [], {"schemas", "id", "meta", ENT}),
    ([], ["groups", "name", "id", "meta"], {"schemas", "id", "meta", "userName", "active", "title", "emails", ENT,
                                            IVANTI}),
    ([], [ENT], {"schemas", "id", "meta", "userName", "active", "title", "name", "emails", "groups", IVANTI}),
])
def test_projection_rfc7644_3_4_2_5(attributes: list[str], excluded: list[str], keys: set[str]) -> None:
    """id, schemas and meta are always returned; sub-attribute and URN-qualified names work."""
    assert set(project(user_to_scim(STORED, BASE), USER, attributes, excluded)) == keys


def test_projection_of_sub_attributes() -> None:
    doc = project(user_to_scim(STORED, BASE), USER, ["name.givenName", "emails.value", f"{ENT}:manager"])
    assert doc["name"] == {"givenName": "Ann"} and doc["emails"] == [{"value": "ann@contoso.com"}]
    assert doc[ENT] == {"manager": {"value": "m1", "$ref": f"{BASE}/Users/m1"}}
    doc = project(user_to_scim(STORED, BASE), USER, [], ["emails.primary", "name.familyName"])
    assert doc["emails"] == [{"value": "ann@contoso.com", "type": "work"}] and "familyName" not in doc["name"]
