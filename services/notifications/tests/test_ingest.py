"""POST /internal/v1/tenants/<tenant>/outcomes: each sync outcome is recorded once, whatever the
redeliveries, restarts and failures (R-NOT-4)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifications import rules
from notifications.models import OutcomeSeen

from .conftest import Outcomes, assert_problem, custom_drop, listing, only, refused_email


def test_ingestion_needs_the_service_credential(client: FlaskClient, outcomes: Outcomes) -> None:
    resp = client.post("/internal/v1/tenants/acme/outcomes", json={"items": [outcomes.make()]})
    assert_problem(resp, 401, "unauthorized")


@pytest.mark.parametrize("body", [
    {},
    {"items": [{"id": 1}]},
    {"items": [{"id": 1, "time": "2026-11-23T08:00:00Z", "operation": "POST /Users", "status": "refused"}]},
    {"items": [{"id": 1, "time": "2026-11-23T08:00:00Z", "operation": "POST /Users", "status": "weird"}]},
])
def test_a_malformed_batch_is_refused_whole(client: FlaskClient, internal: dict[str, str], body: Any) -> None:
    assert_problem(client.post("/internal/v1/tenants/acme/outcomes", json=body, headers=internal), 400, "invalid")


def test_an_impossible_tenant_is_not_found(client: FlaskClient, internal: dict[str, str]) -> None:
    assert_problem(client.post("/internal/v1/tenants/Not_A_Slug/outcomes", json={"items": []}, headers=internal), 404)


def test_a_redelivered_batch_changes_nothing(client: FlaskClient, outcomes: Outcomes, admin: dict[str, str]) -> None:
    """R-NOT-4: the relay retries a batch whose answer it lost; the same outcome ids count once."""
    batch = [outcomes.make(**refused_email()), outcomes.make("partial", dropped=[custom_drop()])]
    assert outcomes.send(*batch) == {"accepted": 2, "duplicates": 0}
    before = listing(client, admin)
    assert outcomes.send(*batch) == {"accepted": 0, "duplicates": 2}
    assert listing(client, admin) == before
    assert OutcomeSeen.select().count() == 2


def test_a_batch_repeating_an_id_counts_it_once(outcomes: Outcomes, client: FlaskClient,
                                                admin: dict[str, str]) -> None:
    item = outcomes.make(**refused_email())
    newer = outcomes.make(**refused_email())
    assert outcomes.send(item, item, newer) == {"accepted": 2, "duplicates": 1}
    assert only(client, admin)["count"] == 2


def test_outcome_ids_are_per_tenant(outcomes: Outcomes, client: FlaskClient, admin: dict[str, str]) -> None:
    item = outcomes.make(**refused_email())
    assert outcomes.send(item)["accepted"] == 1
    assert outcomes.send(item, tenant="globex")["accepted"] == 1
    assert only(client, admin)["tenant"] == "acme"
    assert listing(client, admin, tenant="globex")["total"] == 1


def test_a_restart_mid_batch_loses_and_doubles_nothing(outcomes: Outcomes, make_app: Callable[..., Flask],
                                                       internal: dict[str, str], admin: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch fails part-way (the process dies, the database hiccups): its transaction rolls back, the relay
    sends it again to the restarted service, and every outcome counts exactly once (R-NOT-4)."""
    batch = [outcomes.make(**refused_email(f"u{i}@example.com")) for i in range(4)]
    outcomes.send(batch[0])
    real = rules.causes_of
    calls = {"n": 0}

    def dies_on_the_third(outcome: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(outcome)

    monkeypatch.setattr(rules, "causes_of", dies_on_the_third)
    resp = outcomes.client.post("/internal/v1/tenants/acme/outcomes", json={"items": batch}, headers=internal)
    assert resp.status_code == 500
    monkeypatch.setattr(rules, "causes_of", real)
    restarted = make_app().test_client()
    again = restarted.post("/internal/v1/tenants/acme/outcomes", json={"items": batch}, headers=internal)
    assert again.get_json() == {"accepted": 3, "duplicates": 1}
    notification = only(restarted, admin)
    assert notification["count"] == 4 and notification["affected_count"] == 4


def test_concurrent_deliveries_of_one_batch_count_it_once(app: Flask, outcomes: Outcomes, internal: dict[str, str],
                                                          admin: dict[str, str]) -> None:
    """Two relays (or a retry racing the original) deliver the same outcomes at once: the per-tenant lock and
    the unique index leave one record of each and one live notification per cause."""
    batch = [outcomes.make(**refused_email(f"u{i}@example.com")) for i in range(20)]
    batch += [outcomes.make("partial", dropped=[custom_drop()]) for _ in range(5)]
    answers: list[dict] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            resp = app.test_client().post("/internal/v1/tenants/acme/outcomes", json={"items": batch},
                                          headers=internal)
            answers.append(resp.get_json())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(answers) == 4, answers
    assert sum(a["accepted"] for a in answers) == 25
    items = listing(app.test_client(), admin)["items"]
    assert sorted(n["count"] for n in items) == [5, 20]
    assert OutcomeSeen.select().count() == 25
