"""RFC 7644 §3.5.2 PATCH with every Entra form: translated by scim-api (patch.user_change) and applied by the
directory's change (directory.changes.apply) to a user, without HTTP or a database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directory import changes
from scim_api.attributes import USER as USER_SPEC
from scim_api.entra import normalise
from scim_api.errors import ScimError
from scim_api.group_patch import group_delta
from scim_api.patch import user_change
from scim_api.resources import user_write
from shared.errors import Problem

from .conftest import load

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IVANTI = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
    "id": "u1", "userName": "ann@contoso.com", "active": True, "title": "Engineer", "nickName": "Annie",
    "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
    "emails": [{"value": "ann@contoso.com", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "555", "type": "work"}, {"value": "556", "type": "fax"}],
    ENT: {"department": "Tour", "manager": {"value": "m1"}, "employeeNumber": "7"},
    IVANTI: {"custAttr1": "blue"},
    "meta": {"resourceType": "User"},
}


def apply_user_patch(doc: dict[str, Any], body: Any) -> dict[str, Any]:
    """The SCIM document after the PATCH: translated, applied to the contract's user, shown as SCIM again."""
    user = {k: v for k, v in user_write(normalise(doc, USER_SPEC)).items() if k != "dropped"}
    operations = user_change(body)["operations"]  # scim-api's own refusals are SCIM errors already
    try:
        new = changes.apply(user, operations)
    except Problem as exc:  # the directory's refusal, as scim-api passes it on (directory_client)
        raise ScimError(400, exc.detail, {"no_target": "noTarget"}.get(exc.code, "invalidValue")) from None
    out = {k: doc[k] for k in ("schemas", "id", "meta") if k in doc}
    out.update({k: v for k, v in new.items() if k not in ("enterprise", "custom") and v not in (None, [], {})})
    enterprise = dict(new.get("enterprise") or {})
    if enterprise.get("manager"):
        enterprise["manager"] = {"value": enterprise["manager"]}
    if enterprise:
        out[ENT] = enterprise
    if "custom" in new:
        out[IVANTI] = new["custom"]
    return out


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(ops)}


def apply(*ops: dict[str, Any], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_user_patch(copy.deepcopy(doc or USER), patch(*ops))


def scim_type(body: dict[str, Any], target: Any = apply_user_patch) -> str | None:
    with pytest.raises(ScimError) as info:
        target(copy.deepcopy(USER), body) if target is apply_user_patch else target(body)
    assert info.value.status == 400
    return info.value.code


@pytest.mark.parametrize("op", ["Replace", "replace", "REPLACE"])
@pytest.mark.parametrize("value", [False, "False", "false"])
def test_disable_in_both_dialects(op: str, value: Any) -> None:
    """COMPAT: 'Replace'/"False" by default, 'replace'/false with aadOptscim062020."""
    assert apply({"op": op, "path": "active", "value": value})["active"] is False


@pytest.mark.parametrize("path", ["userName", "UserName", "urn:ietf:params:scim:schemas:core:2.0:User:userName"])
def test_simple_paths_in_any_case(path: str) -> None:
    assert apply({"op": "Replace", "path": path, "value": "new@contoso.com"})["userName"] == "new@contoso.com"


def test_sub_attribute_path() -> None:
    assert apply({"op": "Replace", "path": "name.givenName", "value": "Anna"})["name"] == {
        "givenName": "Anna", "familyName": "Lee", "formatted": "Ann Lee"}


@pytest.mark.parametrize("path, key, value", [
    (f"{ENT}:department", "department", "Sales"),
    (f"{ENT.upper()}:Department", "department", "Sales"),
    (f"{ENT}:employeeNumber", "employeeNumber", "8"),
])
def test_enterprise_extension_paths(path: str, key: str, value: str) -> None:
    assert apply({"op": "Replace", "path": path, "value": value})[ENT][key] == value


def test_custom_extension_path() -> None:
    assert apply({"op": "Add", "path": f"{IVANTI}:custAttr1", "value": "red"})[IVANTI] == {"custAttr1": "red"}


@pytest.mark.parametrize("op", ["Add", "Replace"])
@pytest.mark.parametrize("value", ["m2", {"value": "m2"}])
def test_manager_as_bare_string_or_object(op: str, value: Any) -> None:
    """HOW, SCIM-SDK issue 686: Entra sends the manager id as a bare string."""
    assert apply({"op": op, "path": f"{ENT}:manager", "value": value})[ENT]["manager"] == {"value": "m2"}


@pytest.mark.parametrize("value", ["", None])
def test_manager_replaced_with_blank_is_kept(value: Any) -> None:
    """R-DIR-7: Entra's replace with "" for a manager keeps the stored manager."""
    assert apply({"op": "Replace", "path": f"{ENT}:manager", "value": value})[ENT]["manager"] == {"value": "m1"}


@pytest.mark.parametrize("path", ["title", "name.givenName", f"{ENT}:department", 'emails[type eq "work"].value',
                                  f"{IVANTI}:custAttr1"])
@pytest.mark.parametrize("value", ["", None])
def test_blank_or_null_keeps_the_old_value(path: str, value: Any) -> None:
    """R-DIR-7 (docs/entra-behaviour.md, Blank values): blank and null change nothing."""
    assert apply({"op": "Replace", "path": path, "value": value}) == USER


def test_pathless_blank_values_are_kept_too() -> None:
    assert apply({"op": "replace", "value": {"title": "", "name.givenName": None}}) == USER


@pytest.mark.parametrize("path, gone", [
    ("title", lambda d: "title" not in d),
    ("name.givenName", lambda d: "givenName" not in d["name"]),
    (f"{ENT}:manager", lambda d: "manager" not in d[ENT]),
    ('phoneNumbers[type eq "fax"]', lambda d: [p["type"] for p in d["phoneNumbers"]] == ["work"]),
    ('phoneNumbers[type eq "fax"].value', lambda d: [p["type"] for p in d["phoneNumbers"]] == ["work"]),
    ("phoneNumbers", lambda d: "phoneNumbers" not in d),
    (f"{IVANTI}:custAttr1", lambda d: d[IVANTI] == {}),
])
def test_explicit_remove_removes(path: str, gone: Any) -> None:
    """RFC 7644 §3.5.2.2, R-DIR-7: an explicit remove is not a blank; it removes."""
    assert gone(apply({"op": "Remove", "path": path}))


def test_remove_of_something_absent_is_not_an_error() -> None:
    """Entra re-sends: every write must be idempotent."""
    assert apply({"op": "Remove", "path": 'emails[type eq "home"]'}) == USER


@pytest.mark.parametrize("path, attr, element", [
    ('emails[type eq "home"].value', "emails", {"type": "home", "value": "x"}),
    ('addresses[type eq "work"].streetAddress', "addresses", {"type": "work", "streetAddress": "x"}),
    ('phoneNumbers[type eq "mobile"].value', "phoneNumbers", {"type": "mobile", "value": "x"}),
    ('phoneNumbers[Type EQ "mobile"].Value', "phoneNumbers", {"type": "mobile", "value": "x"}),
])
@pytest.mark.parametrize("op", ["Add", "Replace"])
def test_filtered_path_without_a_match_creates_the_element(op: str, path: str, attr: str, element: dict) -> None:
    """SCIM-SDK issue 416, SCIMReferenceCode issue 48: Entra expects the element created, not noTarget."""
    assert element in apply({"op": op, "path": path, "value": "x"})[attr]


def test_filtered_path_updates_only_the_matching_element() -> None:
    doc = apply({"op": "Replace", "path": 'phoneNumbers[type eq "fax"].value', "value": "(555) 555-0100"})
    assert doc["phoneNumbers"] == [{"value": "555", "type": "work"}, {"value": "(555) 555-0100", "type": "fax"}]


def test_filter_type_compares_without_case() -> None:
    doc = apply({"op": "Replace", "path": 'emails[type eq "WORK"].value', "value": "b@x"})
    assert doc["emails"] == [{"value": "b@x", "type": "work", "primary": True}]


def test_compat_replace_multiple_default_dialect() -> None:
    doc = apply_user_patch(copy.deepcopy(USER), load("compat-replace-multiple-default.json"))
    assert (doc["displayName"], doc["name"]["givenName"], doc["name"]["familyName"], doc["externalId"]) == (
        "Pvlo", "Gtfd", "Pkqf", "Eqpj")
    assert doc["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert doc[ENT]["employeeNumber"] == "Eqpj"


def test_compat_replace_multiple_pathless_dotted_and_urn_keys() -> None:
    """COMPAT with aadOptscim062020: a path-less replace whose keys are dotted and URN-qualified."""
    doc = apply_user_patch(copy.deepcopy(USER), load("compat-replace-multiple-aadoptscim062020.json"))
    assert (doc["displayName"], doc["name"]["givenName"], doc["name"]["familyName"]) == ("Bjfe", "Kkom", "Unua")
    assert doc["name"]["formatted"] == "Ann Lee"  # RFC 7644 §3.5.2.3: sub-attributes not named stay
    assert doc[ENT]["employeeNumber"] == "Aklq" and doc[ENT]["department"] == "Tour"
    assert doc["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"


def test_pathless_add_with_a_whole_extension_object() -> None:
    doc = apply({"op": "add", "value": {ENT: {"Department": "Sales", "manager": "m9"}, "NickName": "A"}})
    assert doc[ENT]["department"] == "Sales" and doc[ENT]["manager"] == {"value": "m9"} and doc["nickName"] == "A"


def test_add_to_multi_valued_merges_by_type_and_keeps_one_primary() -> None:
    doc = apply({"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "home", "primary": "True"}]})
    assert doc["emails"] == [{"value": "ann@contoso.com", "type": "work", "primary": False},
                             {"value": "b@x", "type": "home", "primary": True}]
    doc = apply({"op": "add", "path": "emails", "value": [{"value": "c@x", "type": "work"}]})
    assert doc["emails"] == [{"value": "c@x", "type": "work", "primary": True}]


def test_replace_of_a_multi_valued_attribute_replaces_the_list() -> None:
    doc = apply({"op": "replace", "path": "phoneNumbers", "value": [{"value": "1", "type": "mobile"}]})
    assert doc["phoneNumbers"] == [{"value": "1", "type": "mobile"}]


def test_unknown_attributes_are_reported_dropped_and_change_nothing() -> None:
    unknown = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag"
    body = patch({"op": "add", "path": unknown, "value": "x"}, {"op": "replace", "path": "favouriteColour",
                                                                 "value": "red"},
                 {"op": "replace", "path": "name.nickname", "value": "Ann"})
    change = user_change(body)
    assert change["operations"] == []
    assert [d["attribute"] for d in change["dropped"]] == [unknown, "favouriteColour", "name.nickname"]
    assert {d["reason"] for d in change["dropped"]} == {"unknown_attribute"}
    assert apply_user_patch(copy.deepcopy(USER), body) == USER


@pytest.mark.parametrize("body, expected", [
    ({"Operations": [{"op": "remove"}]}, "noTarget"),  # RFC 7644 §3.5.2.2
    ({"Operations": [{"op": "add", "path": "title"}]}, "invalidValue"),  # §3.5.2.1: value required
    ({"Operations": [{"op": "add", "value": "x"}]}, "invalidValue"),  # path-less needs an object
    ({"Operations": [{"op": "copy", "path": "title", "value": "x"}]}, "invalidSyntax"),
    ({"Operations": []}, "invalidSyntax"),
    ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}, "invalidSyntax"),
    ({"Operations": ["add"]}, "invalidSyntax"),
    ({"Operations": [{"op": "add", "path": "emails[type eq]", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "add", "path": "title[type eq \"x\"]", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "add", "path": "userName.first", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}, "mutability"),
    ({"Operations": [{"op": "replace", "path": "meta.created", "value": "x"}]}, "mutability"),
    ({"Operations": [{"op": "replace", "path": 'emails[value co "x"].value', "value": "y"}]}, "noTarget"),
    ({"Operations": [{"op": "replace", "path": "name", "value": "Ann"}]}, "invalidValue"),
])
def test_invalid_user_patches_name_the_rfc_error(body: dict[str, Any], expected: str) -> None:
    assert scim_type(body) == expected


# --- groups --------------------------------------------------------------------------------------


def test_group_members_add_as_entra_sends_it() -> None:
    delta = group_delta(load("tut-patch-group-add-members.json"))
    assert delta == {"addMembers": ["f648f8d5ea4e4cd38e9c"], "removeMembers": [], "dropped": []}


@pytest.mark.parametrize("name, removed", [
    ("tut-patch-group-remove-members.json", ["f648f8d5ea4e4cd38e9c"]),
    ("compat-remove-member-default.json", ["u1091"]),
    ("compat-remove-member-aadoptscim062020.json", ["7f4bc1a3-285e-48ae-8202-5accb43efb0e"]),
])
def test_group_member_removal_in_both_dialects_removes_only_those(name: str, removed: list[str]) -> None:
    """COMPAT; SCIMReferenceCode issue 10: the default-mode remove with a value is not 'remove all'."""
    delta = group_delta(load(name))
    assert delta["removeMembers"] == removed and "replaceMembers" not in delta


def test_group_remove_members_without_value_removes_all() -> None:
    assert group_delta(patch({"op": "Remove", "path": "members"}))["replaceMembers"] == []


def test_group_replace_members_and_later_ops_apply_in_order() -> None:
    delta = group_delta(patch({"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
                              {"op": "add", "path": "members", "value": [{"value": "c"}]},
                              {"op": "remove", "path": 'members[value eq "a"]'}))
    assert delta["replaceMembers"] == ["b", "c"] and delta["addMembers"] == [] and delta["removeMembers"] == []


def test_group_add_then_remove_of_one_member_cancels() -> None:
    delta = group_delta(patch({"op": "add", "path": "members", "value": [{"value": "a"}]},
                              {"op": "remove", "path": "members", "value": [{"value": "a"}]}))
    assert delta["addMembers"] == [] and delta["removeMembers"] == ["a"]


@pytest.mark.parametrize("body", [
    load("tut-patch-group-displayname.json"),
    patch({"op": "replace", "value": {"DisplayName": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}}),
])
def test_group_rename_with_or_without_path(body: dict[str, Any]) -> None:
    assert group_delta(body)["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_group_external_id_replace_and_remove() -> None:
    assert group_delta(patch({"op": "Replace", "path": "externalId", "value": "e1"}))["externalId"] == "e1"
    assert group_delta(patch({"op": "Remove", "path": "externalId"}))["removeExternalId"] is True


def test_group_blank_rename_keeps_the_name() -> None:
    assert "displayName" not in group_delta(patch({"op": "Replace", "path": "displayName", "value": ""}))


def test_group_unknown_attribute_is_dropped() -> None:
    assert group_delta(patch({"op": "add", "path": "description", "value": "x"}))["dropped"][0]["attribute"] == \
        "description"


@pytest.mark.parametrize("body, expected", [
    (patch({"op": "remove", "path": "displayName"}), "invalidValue"),
    (patch({"op": "add", "path": "members", "value": [{"display": "no id"}]}), "invalidValue"),
    (patch({"op": "remove", "path": 'members[display eq "Ann"]'}), "invalidPath"),
    (patch({"op": "add", "path": 'members[value eq "a"]', "value": "x"}), "invalidPath"),
    (patch({"op": "replace", "path": "id", "value": "x"}), "mutability"),
    (patch({"op": "remove"}), "noTarget"),
    ({"Operations": "x"}, "invalidSyntax"),
])
def test_invalid_group_patches_name_the_rfc_error(body: dict[str, Any], expected: str) -> None:
    assert scim_type(body, group_delta) == expected
