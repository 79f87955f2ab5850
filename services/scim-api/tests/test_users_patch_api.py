"""PATCH /Users with every form Entra sends, and ETags (RFC 7644 §3.5.2, §3.14; R-DIR-7)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ENT, IVANTI, Scim, error, find, load

# --- ETags ---------------------------------------------------------------------------------------


def test_if_none_match_gives_304_and_if_match_412(scim: Scim) -> None:
    """RFC 7644 §3.14: ETag W/"<version>"; If-None-Match on GET, If-Match on writes."""
    user = scim.create_user()
    tag = scim("GET", f"/Users/{user['id']}").headers["ETag"]
    assert tag == user["meta"]["version"] and tag.startswith('W/"')
    not_modified = scim("GET", f"/Users/{user['id']}", headers={"If-None-Match": tag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert scim("GET", f"/Users/{user['id']}", headers={"If-None-Match": 'W/"999"'}).status_code == 200
    stale = {"If-Match": 'W/"999"'}
    error(scim("PATCH", f"/Users/{user['id']}", load("compat-add-nickname-default.json"), stale), 412)
    error(scim("PUT", f"/Users/{user['id']}", load("tut-create-user.json"), stale), 412)
    error(scim("DELETE", f"/Users/{user['id']}", headers=stale), 412)
    ok = scim("PATCH", f"/Users/{user['id']}", load("compat-add-nickname-default.json"), {"If-Match": tag})
    assert ok.status_code == 200 and ok.headers["ETag"] != tag and ok.get_json()["nickName"] == "Babs"


# --- PATCH: every Entra form --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["compat-disable-user-default.json", "compat-disable-user-aadoptscim062020.json",
                                  "tut-disable-user.json"])
def test_disable_keeps_the_user_visible_and_restore_works(scim: Scim, name: str) -> None:
    """TUT, HOW: disabled is not deleted; GET by id and the filter still find it, active false."""
    user = scim.create_user()
    resp = scim("PATCH", f"/Users/{user['id']}", load(name))
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert scim("GET", f"/Users/{user['id']}").get_json()["active"] is False
    assert find(scim, f'userName eq "{user["userName"]}"')["Resources"][0]["active"] is False
    restore = {"Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert scim("PATCH", f"/Users/{user['id']}", restore).get_json()["active"] is True


@pytest.mark.parametrize("name", ["compat-add-nickname-default.json", "compat-add-nickname-aadoptscim062020.json"])
def test_add_single_value_in_both_dialects(dialect_scim: Scim, name: str) -> None:
    user = dialect_scim.create_user()
    assert dialect_scim("PATCH", f"/Users/{user['id']}", load(name)).get_json()["nickName"] == "Babs"


@pytest.mark.parametrize("name, given", [("compat-replace-multiple-default.json", "Gtfd"),
                                         ("compat-replace-multiple-aadoptscim062020.json", "Kkom")])
def test_replace_multiple_in_both_dialects(dialect_scim: Scim, name: str, given: str) -> None:
    user = dialect_scim.create_user()
    doc = dialect_scim("PATCH", f"/Users/{user['id']}", load(name)).get_json()
    assert doc["name"]["givenName"] == given and doc["name"]["formatted"] == "givenName familyName"
    assert doc[ENT]["employeeNumber"] in ("Eqpj", "Aklq") and doc["emails"][0]["value"].startswith("Test")


def test_tut_patch_bodies(scim: Scim) -> None:
    user = scim.create_user()
    doc = scim("PATCH", f"/Users/{user['id']}", load("tut-patch-user-multi-valued.json")).get_json()
    assert doc["emails"][0]["value"] == "updatedEmail@microsoft.com" and doc["name"]["familyName"] == \
        "updatedFamilyName"
    doc = scim("PATCH", f"/Users/{user['id']}", load("tut-patch-user-single-valued.json")).get_json()
    assert doc["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"


def test_filtered_paths_create_missing_elements_and_keep_values_as_sent(scim: Scim) -> None:
    user = scim.create_user()
    doc = scim("PATCH", f"/Users/{user['id']}", load("entra-scim-patch-filtered-paths.json")).get_json()
    assert doc["addresses"] == [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}]
    assert doc["phoneNumbers"] == [{"type": "fax", "value": "(555) 555-0100"},
                                   {"type": "mobile", "value": "55555555555"}]


def test_enterprise_and_custom_extension_paths(scim: Scim, define_custom_attribute: Any) -> None:
    define_custom_attribute("acme", "custAttr1")
    user = scim.create_user()
    doc = scim("PATCH", f"/Users/{user['id']}", load("entra-scim-patch-extension-paths.json")).get_json()
    assert doc[ENT]["department"] == "Finance" and doc[IVANTI] == {"custAttr1": "blue"}
    assert set(doc["schemas"]) >= {ENT, IVANTI}


def test_manager_set_changed_and_kept_on_blank(scim: Scim) -> None:
    """HOW: add with a bare id; replace; replace "" keeps it (R-DIR-7); out always {"value": id, "$ref": uri}."""
    boss, other = scim.create_user(userName="boss@contoso.com"), scim.create_user(userName="other@contoso.com")
    user = scim.create_user()

    def manager_of(boss: dict[str, Any]) -> dict[str, Any]:
        return {"value": boss["id"], "$ref": boss["meta"]["location"]}

    def manager_patch(name: str, manager: str) -> dict[str, Any]:
        body = load(name)
        body["Operations"][0]["value"] = manager if body["Operations"][0]["value"] else ""
        resp = scim("PATCH", f"/Users/{user['id']}", body)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()[ENT]["manager"]

    assert manager_patch("how-add-manager.json", boss["id"]) == manager_of(boss)
    assert manager_patch("how-replace-manager.json", other["id"]) == manager_of(other)
    assert manager_patch("how-clear-manager.json", "") == manager_of(other)
    assert scim("GET", f"/Users/{user['id']}").get_json()[ENT]["manager"] == manager_of(other)


@pytest.mark.parametrize("path", ["title", "name.givenName", f"{ENT}:department"])
@pytest.mark.parametrize("value", ["", None])
def test_blank_or_null_keeps_the_stored_value(scim: Scim, path: str, value: Any) -> None:
    """R-DIR-7 (docs/entra-behaviour.md, Blank values): answer 2xx, keep the value."""
    user = scim.create_user(title="Engineer", **{ENT: {"department": "Tour"}})
    resp = scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "Replace", "path": path, "value": value}]})
    assert resp.status_code == 200
    assert {k: v for k, v in resp.get_json().items() if k != "meta"} == {
        k: v for k, v in user.items() if k != "meta"}


@pytest.mark.parametrize("path, gone", [
    ("title", lambda d: "title" not in d),
    ("nickName", lambda d: "nickName" not in d),
    ('phoneNumbers[type eq "fax"].value', lambda d: d["phoneNumbers"] == [{"type": "work", "value": "1"}]),
    ("phoneNumbers", lambda d: "phoneNumbers" not in d),
    (f"{ENT}:department", lambda d: ENT not in d),
])
def test_explicit_remove_removes(scim: Scim, path: str, gone: Any) -> None:
    """RFC 7644 §3.5.2.2, R-DIR-7: 'remove' is not a blank."""
    user = scim.create_user(title="Engineer", nickName="Annie", **{ENT: {"department": "Tour"}},
                            phoneNumbers=[{"type": "work", "value": "1"}, {"type": "fax", "value": "2"}])
    resp = scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "Remove", "path": path}]})
    assert resp.status_code == 200 and gone(resp.get_json())
    assert gone(scim("GET", f"/Users/{user['id']}").get_json())


@pytest.mark.parametrize("path", ["name.givenName", f"{ENT}:manager"])
def test_explicit_remove_of_one_sub_attribute_among_others(scim: Scim, path: str) -> None:
    boss = scim.create_user(userName="boss@contoso.com")
    user = scim.create_user(**{ENT: {"department": "Tour", "manager": boss["id"]}})
    resp = scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "Remove", "path": path}]})
    """R-DIR-7: an explicit remove removes, even beside sub-attributes that stay."""
    doc = resp.get_json()
    assert resp.status_code == 200, doc
    if path == "name.givenName":
        assert "givenName" not in doc["name"] and doc["name"]["familyName"] == user["name"]["familyName"]
    else:
        assert "manager" not in doc[ENT] and doc[ENT]["department"] == "Tour"
    assert doc == {**scim("GET", f"/Users/{user['id']}").get_json(), "meta": doc["meta"]}


def test_a_patch_that_changes_nothing_keeps_the_version(scim: Scim) -> None:
    """RFC 7644 §3.5.2.1: a value already there changes nothing, not even the version."""
    user = scim.create_user()
    body = {"Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert scim("PATCH", f"/Users/{user['id']}", body).headers["ETag"] == user["meta"]["version"]


def test_invalid_patch_is_a_400_with_scim_type(scim: Scim) -> None:
    user = scim.create_user()
    error(scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "Remove"}]}), 400, "noTarget")
    error(scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "add", "path": "emails[type", "value": 1}]}),
          400, "invalidPath")
    error(scim("PATCH", f"/Users/{user['id']}", {"Operations": [{"op": "Replace", "path": "active", "value": "x"}]}),
          400, "invalidValue")
    error(scim("PATCH", f"/Users/{user['id']}", raw="{"), 400, "invalidSyntax")


def test_a_user_patch_is_one_directory_call_applied_to_the_stored_user(scim: Scim, app: Any) -> None:
    """No read-modify-write in scim-api: one call, and the directory applies the change to the user as stored
    (the title another writer set is kept)."""
    user = scim.create_user()
    directory = app.extensions["directory"]
    with app.app_context():  # another writer, straight to the directory
        directory.replace_user(scim_tenant(scim), user["id"], {**_write_of(directory, scim, user["id"]),
                                                                 "title": "Raced"})
    calls: list[str] = []
    original = directory.transport.request

    def counted(method: str, path: str, **kw: Any) -> Any:
        calls.append(method)
        return original(method, path, **kw)

    directory.transport.request = counted
    doc = scim("PATCH", f"/Users/{user['id']}", load("compat-add-nickname-default.json")).get_json()
    assert calls == ["PATCH"]
    assert doc["nickName"] == "Babs" and doc["title"] == "Raced"


def scim_tenant(scim: Scim) -> str:
    return scim.base.rsplit("/", 1)[-1]


def _write_of(directory: Any, scim: Scim, user_id: str) -> dict[str, Any]:
    stored = directory.get_user(scim_tenant(scim), user_id)
    keep = {"userName", "externalId", "active", "displayName", "name", "emails", "title", "nickName"}
    return {k: v for k, v in stored.items() if k in keep}
