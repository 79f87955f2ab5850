"""The audit log (R-DIR-13): events written in the transaction of the change they describe, and read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import SQL, chunked

from shared.db import Prepared, column_slots

from .models import AuditEvent, db

USER, GROUP, TENANT = "user", "group", "tenant"
_CHUNK = 2000


@dataclass(frozen=True)
class Actor:
    """Who made a change: `name` goes to the log as is ("scim", "scim:<token id>", "admin:<key id>");
    `source` is scim, admin or migration (later entra_user_source). Which sources sync, and so leave sync
    outcomes, is decided in one place: outcomes.is_sync."""

    name: str = "scim"
    source: str = "scim"


SCIM = Actor()


def diff(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """The changed attributes only, each {"before", "after"}; objects are compared per sub-attribute
    (`name.givenName`), lists as a whole. Absent, null and empty objects are the same (nothing stored)."""
    out: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        path = f"{prefix}{key}"
        if _is_object(old) and _is_object(new) and (old or new):
            out.update(diff(old or {}, new or {}, f"{path}."))
        elif _empty(old) != _empty(new) or (not _empty(old) and old != new):
            out[path] = {"before": None if _empty(old) else old, "after": None if _empty(new) else new}
    return out


def _is_object(value: Any) -> bool:
    return value is None or isinstance(value, Mapping)


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def event(kind: str, subject_type: str, subject_id: str, changes: Mapping[str, Any] | None = None,
          member_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "subject_type": subject_type, "subject_id": subject_id, "member_id": member_id,
            "changes": dict(changes or {})}


def membership_events(group_id: str, added: Iterable[str], removed: Iterable[str]) -> list[dict[str, Any]]:
    """One event per member added or removed: the subject is the group, `member_id` the user."""
    return [
        *(event("membership.removed", GROUP, group_id, {"members": {"before": uid, "after": None}}, uid)
          for uid in removed),
        *(event("membership.added", GROUP, group_id, {"members": {"before": None, "after": uid}}, uid)
          for uid in added),
    ]


_COLUMNS = ("tenant", "time", "actor", "source", "kind", "subject_type", "subject_id", "member_id", "changes")
_INSERT_ONE = Prepared(lambda: AuditEvent.insert(column_slots(AuditEvent, _COLUMNS)))


def record(tenant: str, now: dt.datetime, actor: Actor, events: Sequence[Mapping[str, Any]]) -> None:
    """Insert the events with one statement; call inside the change's transaction (no dual writes)."""
    if not events:
        return
    rows = [{"tenant": tenant, "time": now, "actor": actor.name, "source": actor.source, **e} for e in events]
    if len(rows) == 1:  # most writes: one event, through the statement built once
        _INSERT_ONE.execute(db, **rows[0])
        return
    # A batch of N membership changes is N rows in one INSERT, in chunks that keep SQLite under its
    # 32,766 parameters (9 per row).
    for part in chunked(rows, _CHUNK):
        AuditEvent.insert_many(part).execute()


def event_query(tenant: str, *, limit: int, before: int | None = None, kind: str | None = None,
                subject: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None
                ) -> Any:
    """Newest first, keyset paged on id: each page is one index range scan, however deep. A subject is
    matched as the subject or as the member of a membership event: the two branches each read their own
    index, in order, instead of one OR that a planner may answer by scanning the tenant's whole log."""

    def branch(*conditions: Any) -> Any:
        query = AuditEvent.select().where(AuditEvent.tenant == tenant, *conditions)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        # Ids grow with time, so the id-ordered scan stops at `since` without an index on time.
        if since is not None:
            query = query.where(AuditEvent.time >= since)
        if until is not None:
            query = query.where(AuditEvent.time < until)
        return query.order_by(AuditEvent.id.desc()).limit(limit)

    if subject is None:
        return branch()
    union = branch(AuditEvent.subject_id == subject).union_all(
        branch(AuditEvent.member_id == subject, AuditEvent.subject_id != subject))
    return AuditEvent.select(SQL("e.*")).from_(union.alias("e")).order_by(SQL("e.id").desc()).limit(limit)


def list_events(tenant: str, *, limit: int, before: int | None = None, kind: str | None = None,
                subject: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None
                ) -> dict[str, Any]:
    rows = list(event_query(tenant, limit=limit + 1, before=before, kind=kind, subject=subject, since=since,
                            until=until))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_view(r) for r in rows], "next_before": rows[-1].id if more else None}


def _view(row: AuditEvent) -> dict[str, Any]:
    return {"id": row.id, "time": row.time, "actor": row.actor, "source": row.source, "kind": row.kind,
            "subjectType": row.subject_type, "subjectId": row.subject_id, "memberId": row.member_id,
            "changes": row.changes}
