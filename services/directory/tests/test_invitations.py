"""R-DIR-12 auto-invite: an invitation recorded once per user in the create's transaction, sent after commit."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from directory import invitations, provisioning_settings
from directory.audit import Actor
from directory.mail import OutboxFileSender
from directory.models import Invitation, db
from shared.schemas.common import utcnow
from shared.testing import fresh_database_url, local_env

from .conftest import TENANT, Api, user_body

ADMIN = Actor(name="admin:key-1", source="admin")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return local_env(tmp_path, DATABASE_URL=fresh_database_url(tmp_path, "directory"),
                     MAIL_OUTBOX_FILE=str(tmp_path / "mail" / "outbox.jsonl"))


@pytest.fixture
def outbox(app: Flask, env: dict[str, str]) -> OutboxFileSender:
    sender = app.extensions["mail_sender"]
    assert isinstance(sender, OutboxFileSender) and str(sender.path) == env["MAIL_OUTBOX_FILE"]
    return sender


@pytest.fixture
def auto_invite(app: Flask) -> None:
    provisioning_settings.put_settings(TENANT, {"auto_invite": True}, ADMIN)


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, to: str, subject: str, body: str) -> None:
        self.calls += 1
        raise ConnectionRefusedError("smtp relay down")


def unsent() -> list[Invitation]:
    return list(Invitation.select().where(Invitation.sent_at.is_null()))


def test_without_auto_invite_a_new_user_gets_no_invitation_R_DIR_12(make_user: Callable[..., dict],
                                                                     outbox: OutboxFileSender) -> None:
    make_user("ann@example.com")
    assert Invitation.select().count() == 0 and outbox.read() == []


def test_with_auto_invite_a_user_created_by_entra_is_invited_by_mail_once_R_DIR_12(
        auto_invite: None, make_user: Callable[..., dict], outbox: OutboxFileSender) -> None:
    user = make_user("ann@example.com", emails=[{"value": "Ann.Mail@example.com", "type": "work", "primary": True}])
    mails = outbox.read()
    assert [(m["to"], m["subject"]) for m in mails] == [("Ann.Mail@example.com",
                                                         f"You are invited to register with {TENANT}")]
    assert "Hello Ann Example," in mails[0]["body"] and "ann@example.com" in mails[0]["body"]
    (row,) = Invitation.select()
    assert (row.user_id, row.email, row.attempts, row.last_error) == (user["id"], "Ann.Mail@example.com", 1, None)
    assert row.sent_at is not None


def test_an_invitation_is_recorded_and_sent_once_per_user_ever_R_DIR_12(
        auto_invite: None, api: Api, make_user: Callable[..., dict], outbox: OutboxFileSender) -> None:
    user = make_user("ann@example.com")
    assert api("PUT", f"/users/{user['id']}", user_body("ann@example.com", displayName="Ann")).status_code == 200
    assert api("DELETE", f"/users/{user['id']}").status_code == 204
    revived = make_user("ann@example.com")  # Entra re-creates: the same user comes back
    assert revived["id"] == user["id"]
    invitations.deliver_invitations(TENANT, outbox, now=utcnow() + dt.timedelta(days=1))
    assert Invitation.select().count() == 1 and len(outbox.read()) == 1


def test_each_new_user_gets_its_own_invitation_and_tenants_are_apart_R_DIR_12(
        auto_invite: None, api: Api, make_user: Callable[..., dict], outbox: OutboxFileSender) -> None:
    make_user("ann@example.com")
    make_user("bob@example.com")
    assert api.for_tenant("globex")("POST", "/users", user_body("cy@example.com")).status_code == 201
    assert sorted(m["to"] for m in outbox.read()) == ["ann@example.com", "bob@example.com"]


def test_a_refused_create_records_no_invitation_R_DIR_12(auto_invite: None, api: Api, make_user: Callable[..., dict],
                                                         outbox: OutboxFileSender) -> None:
    make_user("ann@example.com")
    assert api("POST", "/users", user_body("ANN@example.com")).status_code == 409
    assert Invitation.select().count() == 1 and len(outbox.read()) == 1


def test_mail_is_sent_after_the_write_commits_never_inside_its_transaction_R_DIR_12(
        app: Flask, auto_invite: None, api: Api) -> None:
    seen: list[tuple[bool, int]] = []

    class Watching:
        def send(self, to: str, subject: str, body: str) -> None:
            seen.append((db.in_transaction(), Invitation.select().count()))

    app.extensions["mail_sender"] = Watching()
    assert api("POST", "/users", user_body()).status_code == 201
    assert seen == [(False, 1)]


def test_a_failed_send_keeps_the_write_and_the_invitation_for_a_retry_by_the_cli_R_DIR_12(
        app: Flask, auto_invite: None, api: Api, env: dict[str, str]) -> None:
    failing = Failing()
    real = app.extensions["mail_sender"]
    app.extensions["mail_sender"] = failing
    resp = api("POST", "/users", user_body())
    assert resp.status_code == 201 and failing.calls == 1
    (row,) = unsent()
    assert row.attempts == 1 and row.last_error == "ConnectionRefusedError: smtp relay down"
    assert row.next_attempt_at > utcnow()  # backs off

    app.extensions["mail_sender"] = real
    runner = app.test_cli_runner()
    assert json.loads(runner.invoke(args=["send-invitations"]).output) == {TENANT: {"sent": 0, "failed": 0}}
    Invitation.update(next_attempt_at=utcnow() - dt.timedelta(seconds=1)).execute()  # the back-off is over
    result = runner.invoke(args=["send-invitations", "--tenant", TENANT])
    assert result.exit_code == 0 and json.loads(result.output) == {TENANT: {"sent": 1, "failed": 0}}
    assert unsent() == [] and [m["to"] for m in real.read()] == ["ann@example.com"]
    assert json.loads(runner.invoke(args=["send-invitations"]).output) == {}  # nothing left


def test_retries_stop_after_the_last_attempt_R_DIR_12(app: Flask, auto_invite: None, api: Api) -> None:
    failing = Failing()
    app.extensions["mail_sender"] = failing
    api("POST", "/users", user_body())
    later = utcnow()
    for _ in range(invitations.MAX_ATTEMPTS + 2):
        later += dt.timedelta(days=2)
        invitations.deliver_invitations(TENANT, failing, now=later)
    assert failing.calls == invitations.MAX_ATTEMPTS
    assert unsent()[0].attempts == invitations.MAX_ATTEMPTS


def test_a_user_disabled_or_deleted_before_the_send_is_not_mailed_R_DIR_12(
        app: Flask, auto_invite: None, api: Api, outbox: OutboxFileSender) -> None:
    app.extensions["mail_sender"] = Failing()
    ann = api("POST", "/users", user_body("ann@example.com")).get_json()
    bob = api("POST", "/users", user_body("bob@example.com")).get_json()
    assert api("PUT", f"/users/{ann['id']}", user_body("ann@example.com", active=False)).status_code == 200
    assert api("DELETE", f"/users/{bob['id']}").status_code == 204
    assert invitations.deliver_invitations(TENANT, outbox, now=utcnow() + dt.timedelta(days=1)) == {
        "sent": 0, "failed": 0}
    assert outbox.read() == []


def test_concurrent_senders_send_an_invitation_once_R_DIR_12(app: Flask, auto_invite: None, api: Api,
                                                             outbox: OutboxFileSender) -> None:
    app.extensions["mail_sender"] = Failing()
    for i in range(5):
        api("POST", "/users", user_body(f"u{i}@example.com"))
    assert len(unsent()) == 5
    later = utcnow() + dt.timedelta(days=1)
    barrier = threading.Barrier(4)

    def run(_: int) -> dict[str, int]:
        barrier.wait()
        try:
            return invitations.deliver_invitations(TENANT, outbox, now=later)
        finally:
            if not db.is_closed():
                db.close()

    with ThreadPoolExecutor(4) as pool:
        results: list[dict[str, Any]] = list(pool.map(run, range(4)))
    assert sum(r["sent"] for r in results) == 5
    assert sorted(m["to"] for m in outbox.read()) == [f"u{i}@example.com" for i in range(5)]
    assert unsent() == []
