"""Entra's dialect normalised once: names in any case, URN keys, string booleans, op names, the flag."""

from __future__ import annotations

import pytest

from scim_api import entra
from scim_api.attributes import GROUP, USER

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IVANTI = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"


@pytest.mark.parametrize("raw", ["Add", "add", "ADD", " Replace ", "remove", "Remove"])
def test_op_names_are_accepted_in_any_case(raw: str) -> None:
    """TUT: Entra sends Add/Replace/Remove; RFC 7644 §3.5.2 spells them in lower case."""
    assert entra.op_name(raw) == raw.strip().lower()


@pytest.mark.parametrize("raw", ["copy", "", None, 1, "move"])
def test_unknown_op_names_are_refused(raw: object) -> None:
    assert entra.op_name(raw) is None


@pytest.mark.parametrize("sent, canonical", [
    ("UserName", "userName"), ("USERNAME", "userName"), ("externalid", "externalId"),
    ("DisplayName", "displayName"), ("PhoneNumbers", "phoneNumbers"), ("X509Certificates", "x509Certificates"),
])
def test_core_attribute_names_are_case_insensitive(sent: str, canonical: str) -> None:
    """Entra tools send 'UserName'; RFC 7643 §2.1 names are case-insensitive."""
    assert canonical in entra.normalise({sent: "x"}, USER)


def test_sub_attribute_names_are_case_insensitive() -> None:
    body = entra.normalise({"Name": {"GivenName": "Ann", "FAMILYNAME": "Lee"},
                            "Emails": [{"Value": "a@x", "Type": "work", "Primary": "True"}]}, USER)
    assert body == {"name": {"givenName": "Ann", "familyName": "Lee"},
                    "emails": [{"value": "a@x", "type": "work", "primary": True}]}


@pytest.mark.parametrize("key", [ENT, ENT.upper(), ENT.lower()])
def test_extension_urn_keys_are_case_insensitive(key: str) -> None:
    body = entra.normalise({key: {"Department": "Tour", "MANAGER": {"value": "m1"}}}, USER)
    assert body == {ENT: {"department": "Tour", "manager": {"value": "m1"}}}


@pytest.mark.parametrize("key", [f"{ENT}:department", f"{ENT.upper()}:Department"])
def test_urn_qualified_attribute_keys_fold_into_their_extension(key: str) -> None:
    """RFC 7644 §3.10: an attribute may be written with its schema URN in front."""
    assert entra.normalise({key: "Tour"}, USER) == {ENT: {"department": "Tour"}}


def test_core_urn_prefix_is_optional() -> None:
    key = "urn:ietf:params:scim:schemas:core:2.0:User:UserName"
    assert entra.normalise({key: "ann"}, USER) == {"userName": "ann"}


def test_custom_extension_keeps_the_names_the_tenant_defined() -> None:
    """Custom attribute names belong to the tenant; the directory matches them (R-DIR-11)."""
    assert entra.normalise({IVANTI.upper(): {"custAttr1": "blue"}}, USER) == {IVANTI: {"custAttr1": "blue"}}


@pytest.mark.parametrize("sent, expected", [("True", True), ("False", False), ("true", True), ("FALSE", False),
                                            (True, True), (False, False), ("yes", "yes")])
def test_string_booleans_become_booleans(sent: object, expected: object) -> None:
    """COMPAT, REF: the default dialect sends "True"/"False", on PATCH and on POST."""
    assert entra.normalise({"active": sent}, USER) == {"active": expected}


def test_string_booleans_inside_multi_valued_attributes() -> None:
    body = entra.normalise({"emails": [{"primary": "False", "value": "a@x"}]}, USER)
    assert body["emails"][0]["primary"] is False


def test_unknown_attributes_are_kept_as_sent_for_the_dropped_report() -> None:
    assert entra.normalise({"Password": "x", "urn:other:Thing:tag": 1}, USER) == {
        "Password": "x", "urn:other:Thing:tag": 1}


def test_group_names_are_case_insensitive() -> None:
    body = entra.normalise({"DisplayName": "G", "Members": [{"Value": "u1", "$Ref": None}]}, GROUP)
    assert body == {"displayName": "G", "members": [{"value": "u1", "$ref": None}]}


def test_query_parameter_names_are_case_insensitive_and_the_flag_is_ignored() -> None:
    args = [("aadOptscim062020", ""), ("Filter", 'userName eq "a"'), ("STARTINDEX", "2"),
            ("excludedattributes", "members"), ("other", "x")]
    assert entra.query_args(args) == {"filter": 'userName eq "a"', "startIndex": "2",
                                      "excludedAttributes": "members"}


def _call(path: str, query: str) -> tuple[str, str]:
    seen: dict[str, str] = {}

    def app(environ: dict, _start: object) -> list[bytes]:
        seen.update(path=environ["PATH_INFO"], query=environ["QUERY_STRING"])
        return []

    entra.TenantUrlFlag(app)({"PATH_INFO": path, "QUERY_STRING": query}, None)
    return seen["path"], seen["query"]


@pytest.mark.parametrize("path, query, expected", [
    ("/scim/v2/acme/Users", "aadOptscim062020&filter=x", ("/scim/v2/acme/Users", "aadOptscim062020&filter=x")),
    ("/scim/v2/acme", "aadOptscim062020/Users?filter=x", ("/scim/v2/acme/Users", "filter=x")),
    ("/scim/v2/acme/", "aadOptscim062020/Users/a%20b", ("/scim/v2/acme/Users/a b", "")),
    ("/scim/v2/acme", "aadoptscim062020/Groups&excludedAttributes=members",
     ("/scim/v2/acme/Groups", "excludedAttributes=members")),
])
def test_the_flag_on_the_tenant_url_never_breaks_routing(path: str, query: str, expected: tuple) -> None:
    """COMPAT: the admin may append ?aadOptscim062020 to the Tenant URL."""
    assert _call(path, query) == expected
