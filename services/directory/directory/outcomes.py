"""Sync outcomes (R-NOT-2/3/4): what each sync write stored and dropped, an outbox read by cursor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.db import is_postgres

from .audit import Actor
from .models import SyncOutcome, db

# pg_advisory_xact_lock(int, int) keys live apart from the single-key lock the migrations take.
_LOCK_CLASS = 7432


def record(tenant: str, now: dt.datetime, actor: Actor, operation: str, subject_id: str,
           subject_name: str | None, stored: Iterable[str], dropped: Sequence[Mapping[str, Any]]) -> None:
    """Insert the outcome of a sync write; call last inside the change's transaction.

    The notifications relay reads `after=<id>`, so ids must become visible in increasing order, or a
    row committed late behind a larger id would be skipped (R-NOT-4: no outcome is lost). SQLite's
    IMMEDIATE transactions already commit writers one by one. On PostgreSQL a sequence hands out ids at
    insert time, not at commit: a per-tenant lock held from here to commit orders them. It is taken
    last, after the row locks, so it only serialises the commit tail of one tenant's writes.
    """
    if not actor.syncs:
        return
    if is_postgres(db.obj):
        db.execute_sql(f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, hashtext(%s))", (tenant,))
    SyncOutcome.insert(tenant=tenant, time=now, operation=operation, subject_id=subject_id,
                       subject_name=subject_name, status="partial" if dropped else "ok",
                       stored=list(stored), dropped=[dict(d) for d in dropped]).execute()


def outcome_query(tenant: str, *, after: int, limit: int) -> Any:
    return (SyncOutcome.select().where(SyncOutcome.tenant == tenant, SyncOutcome.id > after)
            .order_by(SyncOutcome.id).limit(limit))


def list_outcomes(tenant: str, *, after: int = 0, limit: int) -> dict[str, Any]:
    """Oldest first from the cursor; `next_after` is where the next call starts."""
    items = [_view(row) for row in outcome_query(tenant, after=after, limit=limit)]
    return {"items": items, "next_after": items[-1]["id"] if items else after}


def _view(row: SyncOutcome) -> dict[str, Any]:
    return {"id": row.id, "time": row.time, "operation": row.operation, "subjectId": row.subject_id,
            "subjectName": row.subject_name, "status": row.status, "stored": row.stored, "dropped": row.dropped}
