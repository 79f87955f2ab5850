"""A whole Entra ID provisioning cycle against real processes, with the exact bodies Entra
sends (services/scim-api/tests/data/, named after their source: docs/entra-behaviour.md, Sources), in both dialects."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from shared.testing import System

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "services" / "scim-api" / "tests" / "data"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"


def body(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / name).read_text()))


def with_members(name: str, *ids: str) -> dict[str, Any]:
    patch = body(name)
    patch["Operations"][0]["value"] = [{"$ref": None, "value": i} for i in ids]
    return patch


class Entra:
    """Speaks to the Target SCIM URL the way Entra's provisioning service does."""

    def __init__(self, system: System, tenant: str, dialect: str) -> None:
        assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
        issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
        self.system, self.token, self.tenant = system, issued["token"], tenant
        self.base = issued["scim_url"]
        self.query = "?aadOptscim062020" if dialect == "aadOptscim062020" else ""

    def call(self, method: str, path: str, json_body: Any = None, **params: str) -> tuple[int, Any]:
        url = self.base + path
        if params:
            from urllib.parse import urlencode

            url += "?" + urlencode(params)
        elif self.query and method == "GET":
            url += self.query
        headers = {"Content-Type": "application/scim+json; charset=utf-8"} if json_body is not None else {}
        resp = self.system.request(method, url, json_body=json_body, token=self.token, headers=headers)
        assert resp.headers["Content-Type"].startswith("application/scim+json"), (method, path, resp.status)
        assert resp.status < 500, resp.data
        return resp.status, (resp.json() if resp.data else None)

    def find_user(self, user_name: str) -> list[dict]:
        status, page = self.call("GET", "/Users", filter=f'userName eq "{user_name}"')
        assert status == 200
        return page["Resources"] if page["totalResults"] else []

    def create_user(self, user_name: str, **extra: Any) -> dict:
        """Filter first, then POST when nothing matched, as Entra does."""
        assert self.find_user(user_name) == []
        user = body("tut-create-user.json")
        user.update(userName=user_name, externalId=user_name.split("@")[0], **extra)
        user["emails"][0]["value"] = user_name
        status, created = self.call("POST", "/Users", user)
        assert status == 201, created
        return created


@pytest.fixture(params=["default", "aadOptscim062020"])
def entra(system: System, request: pytest.FixtureRequest) -> Entra:
    # One tenant per test: each issues a token, and a tenant holds at most two (R-TOK).
    return Entra(system, f"cycle-{request.param.lower()[:8]}-{uuid.uuid4().hex[:10]}", request.param)


def test_test_connection_finds_nothing_and_answers_200(entra: Entra) -> None:
    """R-SCIM-4: Entra's Test Connection probes a random user and a random group."""
    assert entra.find_user(str(uuid.uuid4())) == []
    status, page = entra.call("GET", "/Groups", excludedAttributes="members", filter=f'displayName eq "{uuid.uuid4()}"')
    assert status == 200 and page["totalResults"] == 0 and not page.get("Resources")


def test_users_are_created_linked_updated_disabled_restored_and_deleted(entra: Entra) -> None:
    """R-SCIM-1 with R-DIR-4 and R-DIR-7, through one cycle."""
    ann = entra.create_user("ann@contoso.com", title="Engineer", displayName="Ann")
    boss = entra.create_user("boss@contoso.com")
    # Manager linking, as a bare string in and {"value": id} out.
    patch = body("how-add-manager.json")
    patch["Operations"][0]["value"] = boss["id"]
    assert entra.call("PATCH", f"/Users/{ann['id']}", patch)[0] == 200
    user = entra.call("GET", f"/Users/{ann['id']}")[1]
    assert user[ENTERPRISE]["manager"]["value"] == boss["id"]
    # Clearing the manager with "" keeps it (R-DIR-7).
    assert entra.call("PATCH", f"/Users/{ann['id']}", body("how-clear-manager.json"))[0] == 200
    assert entra.call("GET", f"/Users/{ann['id']}")[1][ENTERPRISE]["manager"]["value"] == boss["id"]
    # Multi-valued and sub-attribute updates.
    assert entra.call("PATCH", f"/Users/{ann['id']}", body("tut-patch-user-multi-valued.json"))[0] == 200
    user = entra.call("GET", f"/Users/{ann['id']}")[1]
    assert user["name"]["familyName"] == "updatedFamilyName"
    assert [e["value"] for e in user["emails"] if e.get("type") == "work"] == ["updatedEmail@microsoft.com"]
    # Disable (both dialects' boolean forms), still found with active false; then restore.
    disable = "compat-disable-user-default.json" if not entra.query else "compat-disable-user-aadoptscim062020.json"
    assert entra.call("PATCH", f"/Users/{ann['id']}", body(disable))[0] == 200
    found = entra.find_user("ANN@contoso.com")  # userName is case-insensitive
    assert [u["id"] for u in found] == [ann["id"]] and found[0]["active"] is False
    restore = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert entra.call("PATCH", f"/Users/{ann['id']}", restore)[0] == 200
    assert entra.call("GET", f"/Users/{ann['id']}")[1]["active"] is True
    # Delete: 204, then 404, and the filter finds nothing (R-DIR-4).
    assert entra.call("DELETE", f"/Users/{ann['id']}")[0] == 204
    assert entra.call("GET", f"/Users/{ann['id']}")[0] == 404
    assert entra.find_user("ann@contoso.com") == []


def test_duplicate_user_name_in_another_case_is_a_409(entra: Entra) -> None:
    entra.create_user("dup@contoso.com")
    user = body("tut-create-user.json")
    user["userName"] = "DUP@Contoso.com"
    status, error = entra.call("POST", "/Users", user)
    assert status == 409 and error["scimType"] == "uniqueness"


def test_a_rename_onto_the_name_of_a_user_deleted_from_entra_succeeds_by_patch_and_by_put(entra: Entra) -> None:
    """R-DIR-4: Entra's filter cannot find a deleted user, so its userName must not block a live one."""
    rename = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "Replace", "path": "userName", "value": "ann@contoso.com"}]}
    for how in ("PATCH", "PUT"):
        gone = entra.create_user("ann@contoso.com")
        assert entra.call("DELETE", f"/Users/{gone['id']}")[0] == 204
        bob = entra.create_user(f"bob-{how.lower()}@contoso.com")
        if how == "PATCH":
            assert entra.call("PATCH", f"/Users/{bob['id']}", rename)[0] == 200
        else:
            replaced = {k: v for k, v in bob.items() if k not in {"id", "meta", "groups"}}
            status, answer = entra.call("PUT", f"/Users/{bob['id']}", {**replaced, "userName": "ann@contoso.com"})
            assert status == 200, answer
        assert [u["id"] for u in entra.find_user("ann@contoso.com")] == [bob["id"]]
        assert entra.call("GET", f"/Users/{gone['id']}")[0] == 404
        user = body("tut-create-user.json")
        user["userName"] = "ANN@contoso.com"
        assert entra.call("POST", "/Users", user)[0] == 409  # the live user has it
        assert entra.call("DELETE", f"/Users/{bob['id']}")[0] == 204  # and frees it for the next round


def test_the_built_in_all_users_group_is_invisible_and_its_name_is_a_409(entra: Entra) -> None:
    """Seed 001, R-DIR-9: the tenant's own "All Users" group is not Entra's to list, create or rename to."""
    entra.create_user("member@contoso.com")
    status, page = entra.call("GET", "/Groups", excludedAttributes="members", filter='displayName eq "All Users"')
    assert status == 200 and page["totalResults"] == 0
    group = body("tut-create-group.json")
    group["displayName"] = "all users"
    status, error = entra.call("POST", "/Groups", group)
    assert status == 409 and error["scimType"] == "uniqueness" and "All Users" in error["detail"]
    assert entra.call("GET", "/Groups")[1]["totalResults"] == 0


def test_create_without_email_is_refused_naming_the_attribute(entra: Entra) -> None:
    """R-DIR-1."""
    user = body("tut-create-user.json")
    user["userName"] = "no-mail@contoso.com"
    del user["emails"]
    status, error = entra.call("POST", "/Users", user)
    assert status == 400 and "email" in error["detail"].lower()


def test_groups_are_created_filled_emptied_renamed_and_deleted(entra: Entra) -> None:
    """R-SCIM-1, R-DIR-9: group creation with the Microsoft schema URN, batch member adds, both
    removal dialects, idempotent re-adds and removals, rename, delete."""
    members = [entra.create_user(f"member{i}@contoso.com")["id"] for i in range(3)]
    assert entra.call("GET", "/Groups", excludedAttributes="members", filter='displayName eq "Sales"')[1][
        "totalResults"] == 0
    group = body("tut-create-group.json")
    group["displayName"] = "Sales"
    status, created = entra.call("POST", "/Groups", group)
    assert status == 201
    gid = created["id"]
    assert entra.call("POST", "/Groups", group)[0] == 409  # R-DIR-9
    add = with_members("tut-patch-group-add-members.json", *members)
    assert entra.call("PATCH", f"/Groups/{gid}", add)[0] == 200
    assert entra.call("PATCH", f"/Groups/{gid}", add)[0] == 200  # re-adding is not an error
    got = entra.call("GET", f"/Groups/{gid}")[1]
    assert sorted(m["value"] for m in got["members"]) == sorted(members)
    if entra.query:
        remove = body("compat-remove-member-aadoptscim062020.json")
        remove["Operations"][0]["path"] = f'members[value eq "{members[0]}"]'
    else:
        remove = with_members("compat-remove-member-default.json", members[0])
    assert entra.call("PATCH", f"/Groups/{gid}", remove)[0] == 200
    assert entra.call("PATCH", f"/Groups/{gid}", remove)[0] == 200  # removing a non-member too
    got = entra.call("GET", f"/Groups/{gid}")[1]
    assert sorted(m["value"] for m in got["members"]) == sorted(members[1:])
    without = entra.call("GET", f"/Groups/{gid}", excludedAttributes="members")[1]
    assert "members" not in without
    rename = body("tut-patch-group-displayname.json")
    assert entra.call("PATCH", f"/Groups/{gid}", rename)[0] == 200
    assert entra.call("GET", f"/Groups/{gid}")[1]["displayName"] == rename["Operations"][0]["value"]
    assert entra.call("DELETE", f"/Groups/{gid}")[0] == 204
    assert entra.call("GET", f"/Groups/{gid}")[0] == 404


def test_create_with_every_default_mapping_enterprise_and_custom_attributes(
        entra: Entra, define_custom_attributes: Callable[..., None]) -> None:
    """docs/entra-behaviour.md, Users: Entra's default mappings plus the enterprise extension and an admin-added
    custom attribute (R-SCIM-3, R-DIR-11), in any case of attribute names and with string booleans."""
    define_custom_attributes(entra.tenant, "custAttr1")
    user = body("entra-scim-create-user-string-booleans.json")
    user[CUSTOM]["undefinedAttr"] = "dropped"
    assert entra.find_user(user["UserName"]) == []
    status, created = entra.call("POST", "/Users", user)
    assert status == 201, created
    got = entra.call("GET", f"/Users/{created['id']}")[1]
    assert got["userName"] == "Babs.Jensen@contoso.com" and got["active"] is True and got["externalId"] == "bjensen"
    assert got["name"] == {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"}
    assert got["emails"] == [{"value": "babs@contoso.com", "type": "work", "primary": True}]
    assert got["phoneNumbers"] == [{"value": "55555555555", "type": "mobile"}]
    assert got[ENTERPRISE] == {"department": "Tour"}  # the blank manager is not a manager
    assert got[CUSTOM] == {"custAttr1": "blue"}  # an undefined custom attribute is not stored (R-DIR-11)
    assert set(got["schemas"]) == {"urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, CUSTOM}
    # Entra's later updates address extension attributes by URN-qualified paths.
    assert entra.call("PATCH", f"/Users/{created['id']}", body("entra-scim-patch-extension-paths.json"))[0] == 200
    got = entra.call("GET", f"/Users/{created['id']}")[1]
    assert got[ENTERPRISE]["department"] == "Finance" and got[CUSTOM] == {"custAttr1": "blue"}
    status, page = entra.call("GET", "/Users", filter=f'{CUSTOM}:custAttr1 eq "blue"')
    assert status == 200 and [u["id"] for u in page["Resources"]] == [created["id"]]


def test_concurrent_member_patches_on_one_group_lose_nothing(entra: Entra) -> None:
    """Entra sends membership changes of one group in parallel: each add and remove must survive."""
    users = [entra.create_user(f"racer{i}@contoso.com")["id"] for i in range(12)]
    status, group = entra.call("POST", "/Groups", {**body("tut-create-group.json"), "displayName": "Racers"})
    assert status == 201
    path = f"/Groups/{group['id']}"
    with ThreadPoolExecutor(max_workers=12) as pool:
        added = list(pool.map(lambda uid: entra.call("PATCH", path, with_members(
            "tut-patch-group-add-members.json", uid))[0], users))
    assert added == [200] * 12
    assert sorted(m["value"] for m in entra.call("GET", path)[1]["members"]) == sorted(users)
    with ThreadPoolExecutor(max_workers=6) as pool:
        removed = list(pool.map(lambda uid: entra.call("PATCH", path, with_members(
            "compat-remove-member-default.json", uid))[0], users[:6]))
    assert removed == [200] * 6
    assert sorted(m["value"] for m in entra.call("GET", path)[1]["members"]) == sorted(users[6:])


def test_concurrent_patches_of_one_user_lose_nothing(entra: Entra) -> None:
    """Each PATCH is applied by the directory under the user's lock: parallel ones of different attributes
    all survive, with one new version each."""
    user = entra.create_user("patched@contoso.com")
    path = f"/Users/{user['id']}"
    values = {name: f"{name}-value" for name in ("title", "nickName", "displayName", "userType", "locale",
                                                 "timezone", "preferredLanguage", "profileUrl")}

    def patch(item: tuple[str, str]) -> int:
        op = {"op": "Replace", "path": item[0], "value": item[1]}
        return entra.call("PATCH", path, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                          "Operations": [op]})[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(patch, values.items())) == [200] * len(values)
    stored = entra.call("GET", path)[1]
    assert {name: stored.get(name) for name in values} == values
    assert stored["meta"]["version"] == f'W/"{int(user["meta"]["version"][3:-1]) + len(values)}"'


def test_one_identity_provider_per_tenant_both_tokens_write_one_directory_R_DIR_15(system: System) -> None:
    """Multiple IdPs are not supported. A tenant has one Target SCIM URL; its two tokens exist to
    rotate one Entra app's secret, and whatever comes through either lands in the same directory: a
    second Entra pushing the same user gets a 409, never a parallel copy."""
    tenant = f"one-idp-{uuid.uuid4().hex[:8]}"
    assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    first, second = (system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json() for _ in range(2))
    assert first["scim_url"] == second["scim_url"]
    assert system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).status == 409  # no third connection
    user = body("tut-create-user.json")
    user["userName"] = user["emails"][0]["value"] = "ann@contoso.com"
    assert system.request("POST", first["scim_url"] + "/Users", json_body=user, token=first["token"]).status == 201
    again = system.request("POST", second["scim_url"] + "/Users", json_body=user, token=second["token"])
    assert again.status == 409 and again.json()["scimType"] == "uniqueness"
