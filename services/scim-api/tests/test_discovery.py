"""The discovery documents (RFC 7643 §5-7; R-SCIM-2, R-SCIM-3) are valid and describe what this server does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scim2_models import Context, Extension, Resource, ResourceType, Schema, ServiceProviderConfig

from scim_api import discovery
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA

BASE = "https://scim.example.com/scim/v2/acme"
DATA = Path(__file__).parent / "data"

# RFC 7643 §7: the characteristics of an attribute and their allowed values.
CHARACTERISTICS = {"name", "type", "multiValued", "description", "required", "caseExact", "mutability",
                   "returned", "uniqueness"}
OPTIONAL_CHARACTERISTICS = {"subAttributes", "canonicalValues", "referenceTypes"}
TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"}  # binary: §2.3.6
MUTABILITY = {"readOnly", "readWrite", "immutable", "writeOnly"}
RETURNED = {"always", "never", "default", "request"}
UNIQUENESS = {"none", "server", "global"}
ATTRNAME = re.compile(r"^(\$ref|[A-Za-z][A-Za-z0-9_-]*)$")  # RFC 7643 §2.1 ATTRNAME, plus "$ref" (§2.3.7)


def _schemas(custom: list[str] | None = None) -> dict[str, dict[str, Any]]:
    return {doc["id"]: doc for doc in discovery.schemas(BASE, custom if custom is not None else ["custAttr1"])}


def _walk(attributes: list[dict[str, Any]], parent: str = "") -> Iterator[tuple[str, dict[str, Any], int]]:
    for attribute in attributes:
        path = f"{parent}{attribute['name']}"
        yield path, attribute, parent.count(".")
        yield from _walk(attribute.get("subAttributes", []), f"{path}.")


def _attribute(schema_id: str, path: str) -> dict[str, Any]:
    return next(a for p, a, _ in _walk(_schemas()[schema_id]["attributes"]) if p == path)


def _names(attributes: list[dict[str, Any]]) -> list[str]:
    return [a["name"] for a in attributes]


@pytest.mark.parametrize("schema_id", [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA, GROUP_SCHEMA])
def test_every_attribute_has_every_characteristic_with_an_allowed_value(schema_id: str) -> None:
    """RFC 7643 §7: each attribute states its characteristics; values come from the RFC's lists."""
    walked = list(_walk(_schemas()[schema_id]["attributes"]))
    assert walked
    for path, a, _ in walked:
        assert CHARACTERISTICS <= a.keys() <= CHARACTERISTICS | OPTIONAL_CHARACTERISTICS, path
        assert ATTRNAME.match(a["name"]), path
        assert a["type"] in TYPES and a["mutability"] in MUTABILITY, path
        assert a["returned"] in RETURNED and a["uniqueness"] in UNIQUENESS, path
        assert all(isinstance(a[k], bool) for k in ("multiValued", "required", "caseExact")), path
        assert isinstance(a["description"], str) and a["description"].strip(), path
        assert all(isinstance(v, str) for v in a.get("canonicalValues", [])), path


@pytest.mark.parametrize("schema_id", [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA, GROUP_SCHEMA])
def test_sub_attributes_only_on_complex_and_reference_types_only_on_references(schema_id: str) -> None:
    """RFC 7643 §2.3.8: complex attributes have sub-attributes, one level deep; §7: referenceTypes on references."""
    for path, a, depth in _walk(_schemas()[schema_id]["attributes"]):
        assert ("subAttributes" in a) == (a["type"] == "complex"), path
        assert a.get("subAttributes", [None]), f"{path} is complex without sub-attributes"
        assert depth == 0 or a["type"] != "complex", f"{path}: a complex attribute inside a complex one"
        assert ("referenceTypes" in a) == (a["type"] == "reference"), path
        if a["type"] == "reference":
            assert a["referenceTypes"] and all(isinstance(t, str) for t in a["referenceTypes"]), path


@pytest.mark.parametrize("schema_id", [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA, GROUP_SCHEMA])
def test_attribute_names_are_unique_without_regard_to_case(schema_id: str) -> None:
    """RFC 7643 §2.1: attribute names are case-insensitive, so two names differing in case would clash."""
    levels: dict[str, list[str]] = {}
    for path, _, _ in _walk(_schemas()[schema_id]["attributes"]):
        parent, _, name = path.rpartition(".")
        levels.setdefault(parent, []).append(name.lower())
    assert all(len(names) == len(set(names)) for names in levels.values())


def test_core_user_lists_the_rfc_attributes() -> None:
    """RFC 7643 §4.1 / §8.7.1 but password (never kept here); the common attributes id, externalId and meta are
    not part of a schema (§3.1)."""
    assert _names(_schemas()[USER_SCHEMA]["attributes"]) == [
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
        "locale", "timezone", "active", "emails", "phoneNumbers", "ims", "photos", "addresses",
        "groups", "entitlements", "roles", "x509Certificates"]
    assert _names(_attribute(USER_SCHEMA, "name")["subAttributes"]) == [
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]


def test_user_name_is_required_case_insensitive_and_unique_on_the_server() -> None:
    """Entra matches userName without regard to case (docs/entra-behaviour.md, Users; RFC 7643 §4.1.1)."""
    user_name = _attribute(USER_SCHEMA, "userName")
    assert (user_name["required"], user_name["caseExact"], user_name["uniqueness"]) == (True, False, "server")
    assert user_name["type"] == "string" and user_name["multiValued"] is False


def test_password_is_not_offered_because_it_is_never_kept() -> None:
    """No password is set from Entra here: /Schemas must not offer an attribute that a write would drop."""
    assert "password" not in _names(_schemas()[USER_SCHEMA]["attributes"])


def test_groups_of_a_user_are_read_only_down_to_every_sub_attribute() -> None:
    """RFC 7643 §4.1.2: membership changes go through the Group resource."""
    groups = _attribute(USER_SCHEMA, "groups")
    assert groups["mutability"] == "readOnly" and groups["multiValued"] is True
    assert {s["mutability"] for s in groups["subAttributes"]} == {"readOnly"}
    assert _attribute(USER_SCHEMA, "groups.$ref")["referenceTypes"] == ["Group"]


@pytest.mark.parametrize(("path", "canonical"), [
    ("emails.type", ["work", "home", "other"]),
    ("phoneNumbers.type", ["work", "home", "mobile", "fax", "pager", "other"]),
    ("addresses.type", ["work", "home", "other"]),
    ("photos.type", ["photo", "thumbnail"]),
    ("groups.type", ["direct", "indirect"]),
])
def test_canonical_type_values_are_the_rfcs(path: str, canonical: list[str]) -> None:
    """RFC 7643 §8.7.1; Entra's filtered paths use 'work', 'mobile' and 'fax' (docs/entra-behaviour.md, PATCH)."""
    assert _attribute(USER_SCHEMA, path)["canonicalValues"] == canonical


def test_addresses_have_the_sub_attributes_entra_maps() -> None:
    """Entra maps addresses[type eq "work"].formatted, streetAddress, locality, region, postalCode, country."""
    subs = _names(_attribute(USER_SCHEMA, "addresses")["subAttributes"])
    assert subs == ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"]


def test_group_display_name_is_required_and_members_are_users_only() -> None:
    """RFC 7643 §4.2; nested groups are not supported (R-DIR-10), and the description says so."""
    display_name = _attribute(GROUP_SCHEMA, "displayName")
    assert display_name["required"] is True and display_name["caseExact"] is False
    members = _attribute(GROUP_SCHEMA, "members")
    assert members["multiValued"] is True and "nested groups are not supported" in members["description"]
    assert _names(members["subAttributes"]) == ["value", "$ref", "type"]
    assert _attribute(GROUP_SCHEMA, "members.type")["canonicalValues"] == ["User"]
    assert _attribute(GROUP_SCHEMA, "members.$ref")["referenceTypes"] == ["User"]


def test_enterprise_user_has_the_rfc_attributes_and_a_complex_manager_with_value() -> None:
    """RFC 7643 §4.3; the manager comes back as {"value": id} (docs/entra-behaviour.md, Manager)."""
    assert _names(_schemas()[ENTERPRISE_USER_SCHEMA]["attributes"]) == [
        "employeeNumber", "costCenter", "organization", "division", "department", "manager"]
    manager = _attribute(ENTERPRISE_USER_SCHEMA, "manager")
    assert manager["type"] == "complex" and manager["multiValued"] is False
    assert _names(manager["subAttributes"]) == ["value", "$ref", "displayName"]
    value = _attribute(ENTERPRISE_USER_SCHEMA, "manager.value")
    assert value["type"] == "string" and value["required"] is True
    # Never returned, so not required: a required $ref would promise a shape Entra cannot read.
    assert _attribute(ENTERPRISE_USER_SCHEMA, "manager.$ref")["required"] is False
    assert _attribute(ENTERPRISE_USER_SCHEMA, "manager.displayName")["mutability"] == "readOnly"


@pytest.mark.parametrize("custom", [["custAttr1"], ["custAttr1", "cost-center", "badge_id"]])
def test_custom_extension_lists_exactly_the_tenants_custom_attributes(custom: list[str]) -> None:
    """R-SCIM-3, R-DIR-11: one optional, read-write, single-valued string per custom attribute."""
    extension = _schemas(custom)[CUSTOM_USER_SCHEMA]
    assert extension["name"] and extension["attributes"] is not None
    assert _names(extension["attributes"]) == custom
    for a in extension["attributes"]:
        assert {k: v for k, v in a.items() if k not in ("name", "description")} == {
            "type": "string", "multiValued": False, "required": False, "caseExact": False,
            "mutability": "readWrite", "returned": "default", "uniqueness": "none"}


def test_custom_attribute_defined_twice_in_two_cases_is_listed_once() -> None:
    """RFC 7643 §2.1: names are case-insensitive, so 'custAttr1' and 'CUSTATTR1' are one attribute."""
    assert _names(_schemas(["custAttr1", "CUSTATTR1", "other"])[CUSTOM_USER_SCHEMA]["attributes"]) == [
        "custAttr1", "other"]


def test_one_tenants_custom_attributes_never_show_in_the_next_call() -> None:
    """The documents are built per call: editing one (or another tenant's list) leaves the next untouched."""
    first = _schemas(["custAttr1"])
    first[USER_SCHEMA]["attributes"][0]["required"] = False
    first[CUSTOM_USER_SCHEMA]["attributes"].append({"name": "leak"})
    again = _schemas(["other"])
    assert _names(again[CUSTOM_USER_SCHEMA]["attributes"]) == ["other"]
    assert again[USER_SCHEMA]["attributes"][0]["required"] is True


def test_a_tenant_without_custom_attributes_is_offered_no_custom_extension() -> None:
    """An empty extension would invite writes into it that no name can satisfy (scim2-tester's add and replace
    checks write there): neither /Schemas nor the User resource type lists it until an attribute is defined."""
    assert CUSTOM_USER_SCHEMA not in _schemas([])
    user = discovery.resource_type_by_id(BASE, [], "User")
    assert [e["schema"] for e in user["schemaExtensions"]] == [ENTERPRISE_USER_SCHEMA]
    assert discovery.schema_by_id(BASE, [], CUSTOM_USER_SCHEMA) is None
    defined = discovery.resource_type_by_id(BASE, ["custAttr1"], "User")
    assert [e["schema"] for e in defined["schemaExtensions"]] == [ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA]


def test_schema_documents_carry_the_schema_urn_and_their_location() -> None:
    """RFC 7643 §7, §8.7.1: id, name, description, attributes and meta with resourceType 'Schema'."""
    for schema_id, doc in _schemas().items():
        assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert doc.keys() == {"schemas", "id", "name", "description", "attributes", "meta"}
        assert doc["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{schema_id}"}
    assert list(_schemas()) == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA, GROUP_SCHEMA]


def test_resource_types_describe_users_with_both_extensions_and_groups() -> None:
    """RFC 7643 §6; neither User extension is required (Entra sends them only when mapped)."""
    user, group = discovery.resource_types(BASE, ["custAttr1"])
    assert (user["id"], user["name"], user["endpoint"], user["schema"]) == ("User", "User", "/Users", USER_SCHEMA)
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE_USER_SCHEMA, "required": False},
                                        {"schema": CUSTOM_USER_SCHEMA, "required": False}]
    assert (group["id"], group["name"], group["endpoint"], group["schema"]) == (
        "Group", "Group", "/Groups", GROUP_SCHEMA)
    assert group["schemaExtensions"] == []
    for doc in (user, group):
        assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]
        assert doc["meta"] == {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/{doc['id']}"}


@pytest.mark.parametrize("custom", [[], ["custAttr1"]])
def test_every_schema_a_resource_type_names_is_served(custom: list[str]) -> None:
    """RFC 7644 §4: a client follows a resource type's schema URNs to /Schemas; none may dangle."""
    served = set(_schemas(custom))
    for resource_type in discovery.resource_types(BASE, custom):
        named = {resource_type["schema"], *(e["schema"] for e in resource_type["schemaExtensions"])}
        assert named <= served, resource_type["id"]


def test_service_provider_config_states_what_is_supported() -> None:
    """RFC 7643 §5: PATCH, filter (200 results at most), sort and ETag; no bulk, no password change."""
    config = discovery.service_provider_config(BASE)
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": True} and config["etag"] == {"supported": True}
    [scheme] = config["authenticationSchemes"]
    assert (scheme["type"], scheme["primary"]) == ("oauthbearertoken", True)
    assert scheme["name"] and scheme["description"]
    assert config["meta"] == {"resourceType": "ServiceProviderConfig", "location": f"{BASE}/ServiceProviderConfig"}


@pytest.mark.parametrize("base", [BASE, f"{BASE}/"])
def test_locations_are_built_from_the_base_url_without_a_double_slash(base: str) -> None:
    locations = [discovery.service_provider_config(base)["meta"]["location"],
                 *(d["meta"]["location"] for d in discovery.resource_types(base, ["custAttr1"])),
                 *(d["meta"]["location"] for d in discovery.schemas(base, []))]
    assert all(loc.startswith(f"{BASE}/") and "//" not in loc.removeprefix("https://") for loc in locations)


def test_schema_by_id_finds_a_schema_without_regard_to_case_and_none_for_unknown_ids() -> None:
    found = discovery.schema_by_id(BASE, ["custAttr1"], CUSTOM_USER_SCHEMA.upper())
    assert found is not None and found["id"] == CUSTOM_USER_SCHEMA
    assert _names(found["attributes"]) == ["custAttr1"]
    assert discovery.schema_by_id(BASE, [], GROUP_SCHEMA) == _schemas([])[GROUP_SCHEMA]
    assert discovery.schema_by_id(BASE, [], "urn:nothing") is None
    assert discovery.schema_by_id(BASE, [], "") is None


def test_resource_type_by_id_finds_user_and_group_and_none_for_unknown_ids() -> None:
    custom = ["custAttr1"]
    user = discovery.resource_type_by_id(BASE, custom, "User")
    group = discovery.resource_type_by_id(BASE, custom, "group")
    assert user is not None and user["endpoint"] == "/Users"
    assert group is not None and group["endpoint"] == "/Groups"
    assert discovery.resource_type_by_id(BASE, ["custAttr1"], "Printer") is None


@pytest.mark.parametrize("count", [0, 1, 4])
def test_list_response_wraps_the_documents_in_one_page(count: int) -> None:
    """RFC 7644 §3.4.2: totalResults, startIndex 1, itemsPerPage and Resources."""
    resources = discovery.schemas(BASE, ["custAttr1"])[:count]
    assert discovery.list_response(resources) == {
        "schemas": [LIST_RESPONSE_SCHEMA], "totalResults": count, "startIndex": 1, "itemsPerPage": count,
        "Resources": resources}


# scim2-models refuses unknown keys and wrong values, so it checks the documents against its own reading of
# RFC 7643 §5-7, independently of the checks above.
@pytest.mark.parametrize("custom", [[], ["custAttr1", "costCode"]])
def test_scim2_models_loads_every_document(custom: list[str]) -> None:
    ctx = Context.RESOURCE_QUERY_RESPONSE
    config = ServiceProviderConfig.model_validate(discovery.service_provider_config(BASE), scim_ctx=ctx)
    assert config.filter.max_results == 200 and config.bulk.supported is False
    types = [ResourceType.model_validate(d, scim_ctx=ctx) for d in discovery.resource_types(BASE, ["custAttr1"])]
    assert [t.id for t in types] == ["User", "Group"]
    loaded = [Schema.model_validate(d, scim_ctx=ctx) for d in discovery.schemas(BASE, custom)]
    assert [s.id for s in loaded] == list(_schemas(custom))


def test_a_user_model_built_from_the_schemas_accepts_entras_create_body_and_refuses_undefined_attributes() -> None:
    """The schemas describe what Entra sends (TUT create body, manager as {"value"}), custom attributes included."""
    loaded = {d["id"]: Schema.model_validate(d) for d in discovery.schemas(BASE, ["custAttr1"])}
    user_model = Resource.from_schema(loaded[USER_SCHEMA])
    model = user_model[Extension.from_schema(loaded[ENTERPRISE_USER_SCHEMA])
                       | Extension.from_schema(loaded[CUSTOM_USER_SCHEMA])]  # type: ignore[index]
    body = json.loads((DATA / "tut-create-user.json").read_text())
    body["schemas"].append(CUSTOM_USER_SCHEMA)
    body[ENTERPRISE_USER_SCHEMA] = {"department": "Sales", "manager": {"value": "m-1"}}
    body[CUSTOM_USER_SCHEMA] = {"custAttr1": "blue"}
    user = model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    assert user.user_name == body["userName"]
    body[CUSTOM_USER_SCHEMA] = {"custAttr2": "undefined"}
    with pytest.raises(ValueError, match="custAttr2"):
        model.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
