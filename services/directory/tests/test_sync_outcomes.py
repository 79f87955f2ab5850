"""R-NOT-3/4 and R-DIR-13: each sync write leaves one outcome (stored, dropped, ok or partial) in its own
transaction, read oldest first by a cursor that never skips a row."""

from __future__ import annotations

from typing import Any

import pytest

from directory import groups, outcomes, tenants, users
from directory.audit import SCIM, Actor
from directory.models import SyncOutcome, User, db
from shared.admin_text import leaks
from shared.db import connect_url
from shared.errors import Problem
from shared.locks import SYNC_OUTCOMES
from shared.schemas.common import utcnow
from shared.scim import CUSTOM_USER_SCHEMA
from shared.testing import engine

from .conftest import TENANT, Api, user_body


def outcomes_of(api: Api, query: str = "") -> list[dict[str, Any]]:
    resp = api("GET", f"/sync-outcomes{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_every_sync_write_leaves_one_outcome_naming_operation_and_subject_R_DIR_13(
        api: Api, make_user: Any, make_group: Any) -> None:
    user = make_user()
    uid = user["id"]
    api("PUT", f"/users/{uid}", user_body(title="Boss"))
    group = make_group("Sales", [uid])
    gid = group["id"]
    api("PATCH", f"/groups/{gid}", {"removeMembers": [uid]})
    api("PUT", f"/groups/{gid}", {"displayName": "Sales"})
    api("DELETE", f"/groups/{gid}")
    api("DELETE", f"/users/{uid}")
    got = [(o["operation"], o["subjectId"], o["subjectName"], o["status"]) for o in outcomes_of(api)]
    assert got == [
        ("POST /Users", uid, "ann@example.com", "ok"), ("PUT /Users", uid, "ann@example.com", "ok"),
        ("POST /Groups", gid, "Sales", "ok"), ("PATCH /Groups", gid, "Sales", "ok"),
        ("PUT /Groups", gid, "Sales", "ok"), ("DELETE /Groups", gid, "Sales", "ok"),
        ("DELETE /Users", uid, "ann@example.com", "ok"),
    ]
    first = outcomes_of(api)[0]
    assert first["stored"] == ["userName", "externalId", "displayName", "active", "name", "emails"]
    assert first["dropped"] == [] and first["time"].endswith("Z")
    assert outcomes_of(api)[-1]["stored"] == []


def test_an_undefined_custom_attribute_makes_the_outcome_partial_and_names_it_R_NOT_3_R_DIR_13(api: Api) -> None:
    tenants.define_custom_attribute(TENANT, "custAttr1")
    resp = api("POST", "/users", user_body(custom={"custAttr1": "blue", "custAttr9": "red"}))
    assert resp.status_code == 201
    [outcome] = outcomes_of(api)
    assert outcome["status"] == "partial"
    assert "custom.custAttr1" in outcome["stored"] and not any("custAttr9" in s for s in outcome["stored"])
    assert outcome["dropped"] == resp.get_json()["dropped"]
    [drop] = outcome["dropped"]
    assert drop["attribute"] == f"{CUSTOM_USER_SCHEMA}:custAttr9" and drop["reason"] == "undefined_custom_attribute"
    assert "custAttr9" in drop["detail"]


def test_attributes_the_scim_api_could_not_map_are_in_the_outcome_R_NOT_3_R_DIR_13(api: Api, make_user: Any
                                                                                  ) -> None:
    user = make_user()
    unmapped = {"attribute": "urn:example:foo", "reason": "unknown_attribute", "detail": "Not in our schemas."}
    assert api("PUT", f"/users/{user['id']}", user_body(dropped=[unmapped])).status_code == 200
    assert outcomes_of(api)[-1]["dropped"] == [unmapped] and outcomes_of(api)[-1]["status"] == "partial"


def test_nested_groups_and_unknown_members_make_a_group_outcome_partial_R_NOT_3_R_DIR_13(
        api: Api, make_user: Any, make_group: Any) -> None:
    ann = make_user()["id"]
    inner = make_group("Inner")["id"]
    outer = make_group("Outer")["id"]
    assert api("PATCH", f"/groups/{outer}", {"addMembers": [ann, inner, "nobody"]}).status_code == 200
    last = outcomes_of(api)[-1]
    assert last["operation"] == "PATCH /Groups" and last["status"] == "partial" and last["stored"] == ["members"]
    assert [d["reason"] for d in last["dropped"]] == ["nested_group", "unknown_member"]


def test_a_patch_that_changes_nothing_still_reports_its_outcome_R_NOT_4_R_DIR_13(api: Api, make_user: Any,
                                                                               make_group: Any) -> None:
    ann = make_user()["id"]
    group = make_group("Sales", [ann])["id"]
    before = len(outcomes_of(api))
    assert api("PATCH", f"/groups/{group}", {"addMembers": [ann]}).status_code == 200
    assert len(outcomes_of(api)) == before + 1 and outcomes_of(api)[-1]["status"] == "ok"


def test_the_cursor_reads_oldest_first_and_resumes_after_the_last_id_R_NOT_4_R_DIR_13(api: Api,
                                                                                   make_user: Any) -> None:
    for i in range(5):
        make_user(f"u{i}@example.com")
    every = outcomes_of(api, "?limit=500")
    ids = [o["id"] for o in every]
    assert ids == sorted(ids) and len(ids) == 5
    page = api("GET", "/sync-outcomes?limit=2").get_json()
    assert [o["id"] for o in page["items"]] == ids[:2] and page["next_after"] == ids[1]
    page = api("GET", f"/sync-outcomes?after={page['next_after']}&limit=10").get_json()
    assert [o["id"] for o in page["items"]] == ids[2:] and page["next_after"] == ids[-1]
    page = api("GET", f"/sync-outcomes?after={ids[-1]}").get_json()
    assert page == {"items": [], "next_after": ids[-1]}  # nothing new: poll again from the same place
    make_user("late@example.com")
    assert [o["subjectName"] for o in outcomes_of(api, f"?after={ids[-1]}")] == ["late@example.com"]


def test_tenants_never_see_each_other_s_outcomes_R_NOT_4_R_DIR_13(api: Api, make_user: Any) -> None:
    make_user()
    assert outcomes_of(api.for_tenant("globex")) == []


@pytest.mark.parametrize("query", ["?after=-1", "?after=x", "?limit=0", "?limit=501", "?cursor=3"])
def test_a_bad_outcome_query_is_400_R_NOT_4_R_DIR_13(api: Api, query: str) -> None:
    resp = api("GET", f"/sync-outcomes{query}")
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_value"


def test_the_outcomes_need_the_service_credential_R_NOT_4_R_DIR_13(api: Api) -> None:
    assert api.client.get(f"/internal/v1/tenants/{TENANT}/sync-outcomes").status_code == 401


def test_a_write_refused_whole_leaves_a_refused_outcome_naming_who_and_why_R_NOT_2(api: Api,
                                                                                 make_user: Any) -> None:
    """The refusal rolls the write back; its outcome is recorded after, in its own transaction."""
    assert api("POST", "/users", user_body(emails=[])).status_code == 400
    assert api("POST", "/users", user_body("bob@example.com", active=False)).status_code == 400
    ann = make_user("carol@example.com")
    assert api("PUT", f"/users/{ann['id']}", {"userName": "carol@example.com"}).status_code == 400
    refused = [o for o in outcomes_of(api) if o["status"] == "refused"]
    assert [(o["operation"], o["subjectId"], o["subjectName"], o["refusal"]["attribute"], o["refusal"]["reason"])
            for o in refused] == [
        ("POST /Users", None, "ann@example.com", "emails", "invalid_value"),
        ("POST /Users", None, "bob@example.com", "active", "invalid_value"),
        ("PUT /Users", ann["id"], "carol@example.com", "emails", "invalid_value")]
    assert all(o["dropped"] == [] and o["stored"] == [] and o["refusal"]["detail"]
               and not leaks(o["refusal"]["detail"]) for o in refused)


def test_an_outcome_holds_its_tenant_s_cursor_lock_until_commit_so_ids_appear_in_order_R_NOT_4_R_DIR_13(
        app: Any, env: dict[str, str]) -> None:
    """A sequence hands out ids at insert, not at commit: without the lock a later id could commit first
    and a reader at `after=<that id>` would skip the earlier one for ever. On SQLite the write lock that
    every IMMEDIATE transaction takes at BEGIN gives the same order, for all tenants at once."""
    if engine() != "postgresql":
        sqlite_writers_wait_for_the_outcome_s_commit(env)
        return
    other = connect_url(env["DATABASE_URL"])

    def free(tenant: str) -> bool:
        with other.atomic():  # the transaction-level try-lock is released again at its commit
            return other.execute_sql("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
                                     (SYNC_OUTCOMES, tenant)).fetchone()[0]

    try:
        tenants.ensure_tenant(TENANT, utcnow())
        with db.atomic():
            outcomes.record(TENANT, utcnow(), SCIM, "POST /Users", "u1", "ann@example.com", [], [])
            assert not free(TENANT)  # another writer of this tenant waits here until we commit
            assert free("globex")  # other tenants do not
        assert free(TENANT)
        assert SyncOutcome.select().count() == 1
    finally:
        other.close_all()


def sqlite_writers_wait_for_the_outcome_s_commit(env: dict[str, str]) -> None:
    import sqlite3

    path = env["DATABASE_URL"][len("sqlite:///"):]
    tenants.ensure_tenant(TENANT, utcnow())
    with db.atomic():
        outcomes.record(TENANT, utcnow(), SCIM, "POST /Users", "u1", "ann@example.com", [], [])
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # the next writer waits until this outcome is committed
        finally:
            other.close()
    assert SyncOutcome.select().count() == 1


def _refused() -> list[tuple[Any, ...]]:
    rows = SyncOutcome.select().where(SyncOutcome.status == "refused").order_by(SyncOutcome.id)
    return [(o.operation, o.subject_id or None, o.subject_name, o.dropped[0]["attribute"], o.dropped[0]["reason"])
            for o in rows]


@pytest.mark.parametrize("source", ["scim", "entra_user_source"])
def test_a_sync_write_refused_in_the_domain_leaves_its_outcome_whoever_calls_it_R_NOT_2(
        app: Any, source: str) -> None:
    """No Flask here: the domain records the refusal, so the pull sync gets it exactly as SCIM does."""
    actor = Actor(name=source, source=source)
    with pytest.raises(Problem) as refused:
        users.create_user(TENANT, user_body(emails=[]), actor)
    assert refused.value.status == 400
    ann = users.create_user(TENANT, user_body("ann@example.com"), actor)
    users.create_user(TENANT, user_body("bob@example.com"), actor)
    with pytest.raises(Problem) as clash:  # a rename onto a live user's name
        users.replace_user(TENANT, ann["id"], user_body("BOB@example.com"), actor=actor)
    assert clash.value.status == 409
    sales = groups.create_group(TENANT, {"displayName": "Sales"}, actor)
    groups.create_group(TENANT, {"displayName": "Staff"}, actor)
    with pytest.raises(Problem):
        groups.patch_group(TENANT, sales["id"], {"displayName": "staff"}, actor=actor)
    with pytest.raises(Problem):  # a PATCH that sends no name is named by the group's stored one
        groups.patch_group(TENANT, sales["id"], {"externalId": "x" * 600}, actor=actor)
    assert _refused() == [
        ("POST /Users", None, "ann@example.com", "emails", "invalid_value"),
        ("PUT /Users", ann["id"], "BOB@example.com", "userName", "uniqueness"),
        ("PATCH /Groups", sales["id"], "staff", "displayName", "uniqueness"),
        ("PATCH /Groups", sales["id"], "Sales", "externalId", "invalid_value"),
    ]
    assert User.select().count() == 2 and users.get_user(TENANT, ann["id"])["userName"] == "ann@example.com"


def test_an_admin_write_refused_in_the_domain_leaves_no_sync_outcome_R_NOT_2(app: Any) -> None:
    """docs/internal-api.md: admin writes are logged but leave no sync outcome, refused or not."""
    admin_actor = Actor(name="admin:key-1", source="admin")
    users.create_user(TENANT, user_body("ann@example.com"), admin_actor)
    with pytest.raises(Problem):
        users.create_user(TENANT, user_body("ANN@example.com"), admin_actor)
    with pytest.raises(Problem):
        groups.create_group(TENANT, {"displayName": " "}, admin_actor)
    assert SyncOutcome.select().count() == 0


def test_a_body_the_contract_refuses_leaves_a_refused_outcome_too_R_NOT_2(api: Api, make_group: Any) -> None:
    """Refused before the domain saw it (the shared schema), by the same rule."""
    assert api("POST", "/users", {**user_body("dan@example.com"), "active": "maybe"}).status_code == 400
    sales = make_group("Sales")
    assert api("PATCH", f"/groups/{sales['id']}", {"addMembers": "everyone"}).status_code == 400
    assert [(o[0], o[1], o[2], o[4]) for o in _refused()] == [
        ("POST /Users", None, "dan@example.com", "invalid_value"),
        ("PATCH /Groups", sales["id"], None, "invalid_value")]
