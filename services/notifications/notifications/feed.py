"""The notification feed: record each sync outcome once, group repeats per cause, resolve, acknowledge, list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from peewee import fn

from shared.errors import Problem
from shared.locks import NOTIFICATION_FEED, xact_lock

from . import rules
from .models import Affected, Notification, OutcomeSeen, Tenant, db

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
STATES = (OPEN, ACKNOWLEDGED, RESOLVED)
RANK = {OPEN: 0, ACKNOWLEDGED: 1, RESOLVED: 2}


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    events: list[tuple[str, Notification]] = field(default_factory=list)  # ("raised" | "resolved", row)


def lock_tenant(tenant: str) -> None:
    """Serialise one tenant's feed writes, so that grouping never races into two live rows for a cause.
    SQLite's IMMEDIATE transactions are already one writer at a time."""
    xact_lock(db.obj, NOTIFICATION_FEED, tenant)


def ensure_tenant(tenant: str, now: dt.datetime) -> None:
    Tenant.insert(id=tenant, created_at=now).on_conflict_ignore().execute()


def record_outcomes(tenant: str, outcomes: Sequence[Mapping[str, Any]], now: dt.datetime) -> BatchResult:
    """Apply a batch of sync outcomes in one transaction; outcomes already recorded are skipped (R-NOT-4)."""
    result = BatchResult()
    unique: dict[int, Mapping[str, Any]] = {}
    for outcome in outcomes:
        unique.setdefault(outcome["id"], outcome)
    result.duplicates = len(outcomes) - len(unique)
    with db.atomic():
        lock_tenant(tenant)
        ensure_tenant(tenant, now)
        seen = {row.outcome_id for row in OutcomeSeen.select(OutcomeSeen.outcome_id)
                .where(OutcomeSeen.tenant == tenant, OutcomeSeen.outcome_id.in_(list(unique)))}
        fresh = [unique[i] for i in sorted(unique) if i not in seen]
        result.duplicates += len(seen)
        if fresh:
            OutcomeSeen.insert_many([{"tenant": tenant, "outcome_id": o["id"], "received_at": now} for o in fresh]
                                    ).on_conflict_ignore().execute()
        for outcome in fresh:  # in id order: the directory's commit order, so later writes resolve earlier ones
            result.events.extend(_apply(tenant, outcome))
        result.accepted = len(fresh)
    return result


def _apply(tenant: str, outcome: Mapping[str, Any]) -> list[tuple[str, Notification]]:
    subject = rules.subject_of(outcome)
    causes = rules.causes_of(outcome)
    events: list[tuple[str, Notification]] = []
    current = {(c.kind, c.key) for c in causes}
    affecting = (Notification.select().join(Affected)
                 .where(Notification.tenant == tenant, Notification.live == 1,
                        Affected.subject_key.in_(list(subject.keys))).distinct())
    for row in list(affecting):
        if (row.kind, row.cause_key) in current or not rules.clears(outcome, row.kind, row.attribute, row.reason):
            continue
        gone = Affected.delete().where(Affected.notification == row, Affected.subject_key.in_(list(subject.keys)))
        row.affected_count = max(0, row.affected_count - gone.execute())
        if row.affected_count == 0:
            _resolve(row, outcome["time"])
            events.append(("resolved", row))
        else:
            row.save()
    for cause in causes:
        row, created = _live_row(tenant, cause, outcome["time"])
        row.count += 1
        row.last_seen = max(row.last_seen, outcome["time"])
        recent = json.loads(row.recent_subjects or "[]")
        entry = rules.subject_entry(subject, outcome, rules.detail_for(outcome, cause))
        row.recent_subjects = json.dumps(rules.push_recent(recent, entry))
        if Affected.get_or_none(Affected.notification == row, Affected.subject_key == subject.key) is None:
            Affected.insert(notification=row, subject_key=subject.key).execute()
            row.affected_count += 1
        row.save()
        if created:
            events.append(("raised", row))
    return events


def _live_row(tenant: str, cause: rules.Cause, at: dt.datetime) -> tuple[Notification, bool]:
    row = Notification.get_or_none(Notification.tenant == tenant, Notification.kind == cause.kind,
                                   Notification.cause_key == cause.key, Notification.live == 1)
    if row is not None:
        return row, False
    row = Notification.create(
        tenant=tenant, kind=cause.kind, cause_key=cause.key, live=1, severity=cause.severity, state=OPEN,
        rank=RANK[OPEN], attribute=cause.attribute, reason=cause.reason, message=cause.message, fix=cause.fix,
        count=0, affected_count=0, first_seen=at, last_seen=at, recent_subjects="[]")
    return row, True


def _resolve(row: Notification, at: dt.datetime) -> None:
    row.state, row.rank, row.live, row.resolved_at = RESOLVED, RANK[RESOLVED], None, at
    row.save()
    Affected.delete().where(Affected.notification == row).execute()


def raise_cause(tenant: str, cause: rules.Cause, at: dt.datetime, *, message: str | None = None
                ) -> tuple[Notification, bool]:
    """Raise (or refresh) a notification without a subject, as R-NOT-1 does; True when newly raised."""
    with db.atomic():
        lock_tenant(tenant)
        ensure_tenant(tenant, at)
        row, created = _live_row(tenant, cause, at)
        if created:
            row.count = 1
        row.last_seen = max(row.last_seen, at)
        if message:
            row.message = message
        row.save()
    return row, created


def resolve_cause(tenant: str, kind: str, key: str, at: dt.datetime) -> Notification | None:
    """Resolve the live notification of a cause, if any; returns it when it was resolved now."""
    with db.atomic():
        lock_tenant(tenant)
        row = Notification.get_or_none(Notification.tenant == tenant, Notification.kind == kind,
                                       Notification.cause_key == key, Notification.live == 1)
        if row is not None:
            _resolve(row, at)
    return row


def live_tenants(kind: str) -> set[str]:
    return {r.tenant for r in Notification.select(Notification.tenant).where(Notification.kind == kind,
                                                                              Notification.live == 1)}


def get_notification(tenant: str, notification_id: int) -> Notification:
    row = Notification.get_or_none(Notification.id == notification_id, Notification.tenant == tenant)
    if row is None:
        raise Problem(404, f"There is no notification {notification_id} for tenant '{tenant}'.", code="not_found")
    return row


def acknowledge(tenant: str, notification_id: int, by: str, at: dt.datetime) -> tuple[Notification, bool]:
    """An admin has seen it: it stays listed (after open ones) until its cause goes away. Idempotent;
    a resolved notification stays resolved. True when it changed now."""
    with db.atomic():
        lock_tenant(tenant)
        row = get_notification(tenant, notification_id)
        if row.state != OPEN:
            return row, False
        row.state, row.rank, row.acknowledged_at, row.acknowledged_by = ACKNOWLEDGED, RANK[ACKNOWLEDGED], at, by
        row.save()
    return row, True


def list_notifications(tenant: str, *, kinds: Sequence[str] = (), states: Sequence[str] = (), page: int = 1,
                       per_page: int = 25) -> tuple[list[Notification], int]:
    """Open first, then acknowledged, then resolved; newest last_seen first within each. Grouping keeps a
    tenant's notifications few, so page numbers (OFFSET) stay cheap here."""
    where = [Notification.tenant == tenant]
    if kinds:
        where.append(Notification.kind.in_(list(kinds)))
    if states:
        where.append(Notification.state.in_(list(states)))
    query = Notification.select().where(*where)
    total = query.count()
    rows = list(query.order_by(Notification.rank, Notification.last_seen.desc(), Notification.id.desc())
                .paginate(page, per_page))
    return rows, total


def counts_by_state(tenant: str) -> dict[str, int]:
    rows = (Notification.select(Notification.state, fn.COUNT(Notification.id).alias("n"))
            .where(Notification.tenant == tenant).group_by(Notification.state).tuples())
    return {state: 0 for state in STATES} | dict(rows)


def view(row: Notification) -> dict[str, Any]:
    """A notification as the API, the page and webhooks show it."""
    return {
        "id": row.id, "tenant": row.tenant, "kind": row.kind, "title": rules.KIND_TITLES[row.kind],
        "severity": row.severity, "state": row.state, "message": row.message, "fix": row.fix,
        "attribute": rules.display_attribute(row.attribute) if row.attribute else None, "reason": row.reason,
        "count": row.count, "affected_count": row.affected_count, "first_seen": row.first_seen,
        "last_seen": row.last_seen, "acknowledged_at": row.acknowledged_at, "acknowledged_by": row.acknowledged_by,
        "resolved_at": row.resolved_at, "recent_subjects": json.loads(row.recent_subjects or "[]"),
    }
