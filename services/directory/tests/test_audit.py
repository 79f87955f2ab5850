"""R-DIR-13: every user, group and membership event is in the audit log, written with the change or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from directory import audit, create_app, outcomes, tenants, users
from directory.migrations import STEPS
from directory.models import AuditEvent, Group, Membership, SyncOutcome, Tenant, User, db
from shared.db import connect_url
from shared.http import ACTOR_HEADER
from shared.migrations import applied_versions, migrate
from shared.schemas.audit import EVENT_KINDS
from shared.schemas.common import utcnow
from shared.testing import engine, fresh_database_url, local_env

from .conftest import TENANT, Api, QueryLog, insert_old_tenant, user_body
from .test_indexes import plan


def log(api: Api, query: str = "") -> list[dict[str, Any]]:
    resp = api("GET", f"/audit{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def kinds(api: Api, query: str = "") -> list[str]:
    return [e["kind"] for e in log(api, query)]


def changes_of(api: Api, kind: str) -> dict[str, Any]:
    return next(e["changes"] for e in log(api, f"?kind={kind}"))


def test_a_created_user_is_logged_with_its_stored_attributes_R_DIR_13(api: Api, make_user: Any) -> None:
    user = make_user()
    [event] = log(api)
    assert event["kind"] == "user.created" and event["subjectType"] == "user" and event["subjectId"] == user["id"]
    assert event["actor"] == "scim" and event["source"] == "scim" and event["time"].endswith("Z")
    assert event["memberId"] is None
    changes = event["changes"]
    assert changes["userName"] == {"before": None, "after": "ann@example.com"}
    assert changes["name.givenName"] == {"before": None, "after": "Ann"}
    assert changes["emails"] == {"before": None, "after": [{"value": "ann@example.com", "type": "work",
                                                           "primary": True}]}
    assert changes["active"] == {"before": None, "after": True}


def test_an_update_logs_only_the_changed_attributes_before_and_after_R_DIR_13(api: Api, make_user: Any) -> None:
    user = make_user(title="Engineer")
    body = user_body(title="Manager", displayName="Ann E.", name={"formatted": "Ann Example", "givenName": "Anne",
                                                                  "familyName": "Example"})
    assert api("PUT", f"/users/{user['id']}", body).status_code == 200
    assert kinds(api) == ["user.updated", "user.created"]
    assert changes_of(api, "user.updated") == {
        "displayName": {"before": "Ann Example", "after": "Ann E."},
        "title": {"before": "Engineer", "after": "Manager"},
        "name.givenName": {"before": "Ann", "after": "Anne"},
    }


def test_a_replace_that_changes_nothing_logs_nothing_R_DIR_13(api: Api, make_user: Any) -> None:
    user = make_user()
    assert api("PUT", f"/users/{user['id']}", user_body()).status_code == 200
    assert kinds(api) == ["user.created"]


def test_disable_and_enable_are_events_of_their_own_R_DIR_13(api: Api, make_user: Any) -> None:
    user = make_user()
    path = f"/users/{user['id']}"
    assert api("PUT", path, user_body(active=False, title="Gone")).status_code == 200
    assert kinds(api) == ["user.updated", "user.disabled", "user.created"]
    assert changes_of(api, "user.disabled") == {"active": {"before": True, "after": False}}
    assert changes_of(api, "user.updated") == {"title": {"before": None, "after": "Gone"}}
    assert api("PUT", path, user_body(active=True, title="Gone")).status_code == 200
    assert kinds(api)[0] == "user.enabled"
    assert changes_of(api, "user.enabled") == {"active": {"before": False, "after": True}}


def test_a_delete_from_entra_is_logged_and_a_revive_logged_as_a_create_R_DIR_13(api: Api, make_user: Any) -> None:
    user = make_user()
    assert api("DELETE", f"/users/{user['id']}").status_code == 204
    assert changes_of(api, "user.deleted") == {"active": {"before": True, "after": False},
                                               "deleted": {"before": False, "after": True}}
    assert api("POST", "/users", user_body(title="Back")).get_json()["id"] == user["id"]
    assert kinds(api) == ["user.created", "user.deleted", "user.created"]
    assert log(api)[0]["changes"] == {"active": {"before": False, "after": True},
                                      "deleted": {"before": True, "after": False},
                                      "title": {"before": None, "after": "Back"}}


def test_a_user_taken_over_from_another_source_is_logged_as_a_takeover_R_DIR_13_R_DIR_8(
        api: Api, make_user: Any) -> None:
    user = make_user()
    # A user from another source (an admin's or LDAP's) that SCIM then provisions: its source becomes scim.
    User.update(source="ldap", deleted_at=utcnow(), active=False).where(User.id == user["id"]).execute()
    assert api("POST", "/users", user_body()).get_json()["source"] == "scim"
    [event] = log(api, "?kind=user.takeover")
    assert event["subjectId"] == user["id"]
    assert event["changes"]["source"] == {"before": "ldap", "after": "scim"}


def test_group_events_and_one_membership_event_per_member_R_DIR_13(api: Api, make_user: Any,
                                                                   make_group: Any) -> None:
    ann, bob, cy = (make_user(f"{n}@example.com")["id"] for n in ("ann", "bob", "cy"))
    group = make_group("Sales", [ann, bob], externalId="g-1")
    gid, path = group["id"], f"/groups/{group['id']}"
    created = log(api, f"?subject={gid}")
    assert [e["kind"] for e in created] == ["membership.added", "membership.added", "group.created"]
    assert created[-1]["changes"] == {"displayName": {"before": None, "after": "Sales"},
                                      "externalId": {"before": None, "after": "g-1"}}
    assert {e["memberId"] for e in created[:2]} == {ann, bob}
    assert all(e["subjectType"] == "group" and e["subjectId"] == gid for e in created)

    assert api("PATCH", path, {"displayName": "Sales EU", "addMembers": [cy, ann], "removeMembers": [bob]}
               ).status_code == 200
    latest = log(api, f"?subject={gid}")[:3]
    assert {(e["kind"], e["memberId"]) for e in latest} == {
        ("group.updated", None), ("membership.added", cy), ("membership.removed", bob)}
    assert changes_of(api, "group.updated") == {"displayName": {"before": "Sales", "after": "Sales EU"}}
    assert changes_of(api, "membership.removed") == {"members": {"before": bob, "after": None}}
    assert changes_of(api, "membership.added") == {"members": {"before": None, "after": cy}}

    assert api("PUT", path, {"displayName": "Sales EU", "externalId": "g-1", "members": [{"value": bob}]}
               ).status_code == 200
    latest = log(api, f"?subject={gid}")[:3]
    assert {(e["kind"], e["memberId"]) for e in latest} == {
        ("membership.added", bob), ("membership.removed", ann), ("membership.removed", cy)}

    assert api("DELETE", path).status_code == 204
    assert changes_of(api, "group.deleted") == {"displayName": {"before": "Sales EU", "after": None},
                                                "externalId": {"before": "g-1", "after": None},
                                                "memberCount": {"before": 1, "after": 0}}


def test_re_adding_a_member_or_removing_a_non_member_logs_nothing_R_DIR_13(api: Api, make_user: Any,
                                                                           make_group: Any) -> None:
    ann = make_user()["id"]
    group = make_group("Sales", [ann])
    before = len(log(api))
    assert api("PATCH", f"/groups/{group['id']}", {"addMembers": [ann], "removeMembers": ["nobody"]}
               ).status_code == 200
    assert len(log(api)) == before


def test_the_actor_is_the_scim_token_the_scim_api_names_R_DIR_13(api: Api) -> None:
    resp = api("POST", "/users", user_body(), headers={ACTOR_HEADER: "scim:tok_0123"})
    assert resp.status_code == 201
    assert log(api)[0]["actor"] == "scim:tok_0123"


@pytest.mark.parametrize("actor", ["admin:key1", "scim:", "scim:a b", "x" * 200])
def test_an_actor_that_is_not_a_scim_token_is_refused_and_nothing_is_written_R_DIR_13(api: Api,
                                                                                    actor: str) -> None:
    resp = api("POST", "/users", user_body(), headers={ACTOR_HEADER: actor})
    assert resp.status_code == 400 and resp.get_json()["attribute"] == ACTOR_HEADER
    assert User.select().count() == 0 and AuditEvent.select().count() == 0


# -- one transaction -------------------------------------------------------------------------------------


def nothing_logged() -> bool:
    """No audit row and no outcome of an applied write: a refused write leaves only its `refused` outcome
    (R-NOT-2), written after the rollback."""
    applied = SyncOutcome.select().where(SyncOutcome.status != "refused").count()
    return AuditEvent.select().count() == 0 and applied == 0


def test_a_create_refused_409_leaves_no_audit_row_and_only_a_refused_outcome_R_DIR_13(
        api: Api, make_user: Any, make_group: Any) -> None:
    make_user()
    make_group("Sales")
    AuditEvent.delete().execute()
    SyncOutcome.delete().execute()
    assert api("POST", "/users", user_body("ANN@example.com")).status_code == 409
    assert api("POST", "/groups", {"displayName": "SALES"}).status_code == 409
    assert nothing_logged()
    refused = [(o.operation, o.subject_name, o.dropped[0]["reason"]) for o in SyncOutcome.select()]
    assert refused == [("POST /Users", "ANN@example.com", "uniqueness"), ("POST /Groups", "SALES", "uniqueness")]


def test_a_rename_refused_409_by_the_unique_index_rolls_back_its_audit_rows_R_DIR_13(
        api: Api, make_user: Any, make_group: Any) -> None:
    ann = make_user()["id"]
    make_group("Sales")
    group = make_group("Ops")
    AuditEvent.delete().execute()
    SyncOutcome.delete().execute()
    # The member insert runs before the rename fails on the unique (tenant, display_name_key) index.
    resp = api("PATCH", f"/groups/{group['id']}", {"displayName": "sales", "addMembers": [ann]})
    assert resp.status_code == 409
    assert nothing_logged() and Membership.select().count() == 0


def boom(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("crash after the change, before commit")


@pytest.mark.parametrize("step", ["audit", "outcome"])
def test_a_crash_before_commit_leaves_neither_the_change_nor_its_audit_row_R_DIR_13(
        app: Any, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    monkeypatch.setattr(*((audit, "record", boom) if step == "audit" else (outcomes, "record", boom)))
    with pytest.raises(RuntimeError):
        users.create_user(TENANT, user_body())
    assert User.select().count() == 0 and nothing_logged()


def test_a_crash_before_commit_of_a_group_patch_keeps_the_old_members_R_DIR_13(
        api: Api, make_user: Any, make_group: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ann, bob = make_user("ann@example.com")["id"], make_user("bob@example.com")["id"]
    group = make_group("Sales", [ann])
    events = AuditEvent.select().count()
    monkeypatch.setattr(outcomes, "record", boom)
    resp = api("PATCH", f"/groups/{group['id']}", {"displayName": "Ops", "addMembers": [bob], "removeMembers": [ann]})
    assert resp.status_code == 500
    assert [m.member_id for m in Membership.select()] == [ann]
    assert Group.get_by_id(group["id"]).display_name == "Sales" and AuditEvent.select().count() == events


def test_a_batch_of_member_adds_costs_the_same_statements_as_one_R_DIR_13(api: Api, make_user: Any,
                                                                        query_log: QueryLog) -> None:
    people = [make_user(f"u{i}@example.com")["id"] for i in range(40)]
    counts = []
    for name, members in (("One", people[:1]), ("Forty", people)):
        query_log.clear()
        assert api("POST", "/groups", {"displayName": name, "members": [{"value": m} for m in members]}
                   ).status_code == 201
        counts.append(len(query_log.mentioning("audit_events")))
    assert counts == [1, 1]
    assert len(log(api, "?kind=membership.added&limit=200")) == 41


# -- reading the log -------------------------------------------------------------------------------------


@pytest.fixture
def history(api: Api, make_user: Any, make_group: Any) -> dict[str, str]:
    """Seven events: two users created, one updated, a group with one member, a member added."""
    ann = make_user("ann@example.com")["id"]
    bob = make_user("bob@example.com")["id"]
    api("PUT", f"/users/{ann}", user_body(title="Boss"))
    group = make_group("Sales", [ann])["id"]
    api("PATCH", f"/groups/{group}", {"addMembers": [bob]})
    return {"ann": ann, "bob": bob, "group": group}


def test_the_log_pages_newest_first_with_a_keyset_cursor_R_DIR_13(api: Api, history: dict[str, str]) -> None:
    everything = log(api)
    assert len(everything) == 6 and [e["id"] for e in everything] == sorted((e["id"] for e in everything),
                                                                           reverse=True)
    seen, query = [], "?limit=4"
    while True:
        page = api("GET", f"/audit{query}").get_json()
        seen += page["items"]
        if page["next_before"] is None:
            break
        query = f"?limit=4&before={page['next_before']}"
    assert seen == everything
    assert api("GET", "/audit?limit=6").get_json()["next_before"] is None


def test_the_log_filters_by_kind_and_by_subject_R_DIR_13(api: Api, history: dict[str, str]) -> None:
    assert kinds(api, "?kind=user.created") == ["user.created", "user.created"]
    # A user's history includes its memberships: the group is the subject, the user the member.
    assert kinds(api, f"?subject={history['ann']}") == ["membership.added", "user.updated", "user.created"]
    assert kinds(api, f"?subject={history['group']}") == ["membership.added", "membership.added", "group.created"]
    assert kinds(api, f"?subject={history['bob']}&kind=membership.added") == ["membership.added"]
    assert log(api, "?kind=group.deleted") == []


@pytest.mark.parametrize("query", ["?kind=user.exploded", "?limit=0", "?limit=201", "?before=x", "?colour=red"])
def test_a_bad_log_query_is_400_R_DIR_13(api: Api, query: str) -> None:
    resp = api("GET", f"/audit{query}")
    assert resp.status_code == 400 and resp.get_json()["code"] == "invalid_value"


def test_tenants_never_see_each_other_s_log_R_DIR_13(api: Api, history: dict[str, str]) -> None:
    assert log(api.for_tenant("globex")) == []


def test_the_log_needs_the_service_credential_R_DIR_13(api: Api) -> None:
    assert api.client.get(f"/internal/v1/tenants/{TENANT}/audit").status_code == 401


# -- the migration ---------------------------------------------------------------------------------------


def migrated_app(tmp_path: Path, url: str) -> Any:
    return create_app(local_env(tmp_path, DATABASE_URL=url))


def close_app() -> None:
    if not db.is_closed():
        db.close()
    close_all = getattr(db.obj, "close_all", None)
    if close_all is not None:
        close_all()


@pytest.mark.parametrize("populated", [False, True], ids=["empty", "populated"])
def test_the_migration_from_v2_adds_the_audit_tables_and_keeps_the_data_R_DIR_13(tmp_path: Path,
                                                                                  populated: bool) -> None:
    url = fresh_database_url(tmp_path, "upgrade")
    old = connect_url(url)
    try:
        assert migrate(old, STEPS, target=2) == [1, 2]
        assert "audit_events" not in old.get_tables()
        if populated:
            now = utcnow()
            with old.bind_ctx([Tenant, User, Group, Membership]):
                insert_old_tenant(old, TENANT, now)
                User.create(id="u" * 32, tenant=TENANT, user_name="Ann@example.com", user_name_key="ann@example.com",
                            created=now, last_modified=now, data={"emails": [{"value": "ann@example.com"}]})
                Group.create(id="g" * 32, tenant=TENANT, display_name="Sales", display_name_key="sales",
                             created=now, last_modified=now)
                Membership.create(group="g" * 32, member="u" * 32, tenant=TENANT)
    finally:
        old.close()
        getattr(old, "close_all", lambda: None)()

    app = migrated_app(tmp_path, url)  # start-up applies step 3 and every later one
    try:
        assert applied_versions(db.obj) == [step.version for step in STEPS]
        assert AuditEvent.select().count() == 0 and SyncOutcome.select().count() == 0  # no backfill
        api = Api(app.test_client(), local_env(tmp_path)["INTERNAL_API_KEY"])
        if populated:
            assert api("GET", f"/users/{'u' * 32}").get_json()["groups"] == [{"value": "g" * 32, "display": "Sales"}]
            assert api("PATCH", f"/groups/{'g' * 32}", {"removeMembers": ["u" * 32]}).status_code == 200
            assert kinds(api) == ["membership.removed"]
        else:
            assert api("POST", "/users", user_body()).status_code == 201
            assert kinds(api) == ["user.created"]
        assert api("GET", "/sync-outcomes").get_json()["items"][0]["status"] == "ok"
    finally:
        close_app()


# -- indexes ---------------------------------------------------------------------------------------------


@pytest.fixture
def crowd(app: Any) -> None:
    """Enough events for a planner to tell a selective index from a scan."""
    now = utcnow()
    for tenant in (TENANT, "globex"):
        tenants.ensure_tenant(tenant, now)
        AuditEvent.insert_many([{"tenant": tenant, "time": now, "actor": "scim", "source": "scim",
                                 "kind": EVENT_KINDS[i % len(EVENT_KINDS)], "subject_type": "user",
                                 "subject_id": f"s{i % 700}", "member_id": f"m{i % 900}" if i % 2 else None,
                                 "changes": {}} for i in range(3000)]).execute()
        SyncOutcome.insert_many([{"tenant": tenant, "time": now, "operation": "POST /Users", "subject_id": f"s{i}",
                                  "status": "ok", "stored": [], "dropped": []} for i in range(3000)]).execute()
    if engine() == "postgresql":
        db.execute_sql("ANALYZE")


@pytest.mark.parametrize("args", [{}, {"before": 2000}, {"kind": "user.updated"}, {"subject": "s7"},
                                  {"subject": "m7", "kind": "membership.added"}],
                         ids=["page", "before", "kind", "subject", "subject-kind"])
def test_every_audit_listing_searches_an_index_R_DIR_13(crowd: None, args: dict[str, Any]) -> None:
    text = plan(audit.event_query(TENANT, limit=50, **args))
    assert "Seq Scan" not in text and not any(line.startswith("SCAN audit") for line in text.splitlines()), text


def test_the_outcome_cursor_searches_an_index_R_DIR_13(crowd: None) -> None:
    text = plan(outcomes.outcome_query(TENANT, after=100, limit=100))
    assert "Seq Scan" not in text and not any(line.startswith("SCAN sync") for line in text.splitlines()), text
