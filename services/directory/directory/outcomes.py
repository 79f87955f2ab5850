"""Sync outcomes (R-NOT-2/3/4): what each sync write stored and dropped, an outbox read by cursor."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from shared.db import Prepared, column_slots
from shared.errors import Problem
from shared.locks import SYNC_OUTCOMES, xact_lock
from shared.schemas.common import utcnow

from .audit import Actor
from .models import SyncOutcome, db
from .tenants import ensure_tenant

# The writers whose writes are syncs from Entra ID and so leave outcomes (R-NOT): SCIM, and the pull sync of the
# Entra ID User Source. An admin's write is not a sync: it is logged (R-DIR-13) and leaves no outcome.
SYNC_SOURCES = frozenset({"scim", "entra_user_source"})
# The answers that refuse a write whole (R-NOT-2): invalid (400) and a uniqueness clash (409). A 404 or 412 is
# about the request, not the data: Entra reads again and retries.
REFUSED_WHOLE = frozenset({400, 409})


def is_sync(actor: Actor) -> bool:
    """Whether this writer's writes leave sync outcomes: the one place that decides it."""
    return actor.source in SYNC_SOURCES


_COLUMNS = ("tenant", "time", "operation", "subject_id", "subject_name", "status", "stored", "dropped")
_INSERT = Prepared(lambda: SyncOutcome.insert(column_slots(SyncOutcome, _COLUMNS)))


def record(tenant: str, now: dt.datetime, actor: Actor, operation: str, subject_id: str,
           subject_name: str | None, stored: Iterable[str], dropped: Sequence[Mapping[str, Any]]) -> None:
    """Insert the outcome of a sync write; call last inside the change's transaction.

    The notifications relay reads `after=<id>`, so ids must become visible in increasing order, or a
    row committed late behind a larger id would be skipped (R-NOT-4: no outcome is lost). SQLite's
    IMMEDIATE transactions already commit writers one by one. On PostgreSQL a sequence hands out ids at
    insert time, not at commit: a per-tenant lock held from here to commit orders them. It is taken
    last, after the row locks, so it only serialises the commit tail of one tenant's writes.
    """
    if not is_sync(actor):
        return
    xact_lock(db.obj, SYNC_OUTCOMES, tenant)
    _INSERT.execute(db, tenant=tenant, time=now, operation=operation, subject_id=subject_id,
                    subject_name=subject_name, status="partial" if dropped else "ok", stored=list(stored),
                    dropped=[dict(d) for d in dropped])


def record_refused(tenant: str, actor: Actor, operation: str, subject_id: str | None, subject_name: str | None,
                   refusal: Mapping[str, Any]) -> None:
    """R-NOT-2: a sync write refused whole leaves an outcome too, in its own transaction once the write's
    has rolled back. The refusal ({attribute, detail, reason}) is kept as the one element of `dropped`:
    everything the write carried was dropped, and this is why."""
    if not is_sync(actor):
        return
    with db.atomic():
        # The tenant row before the tenant's outbox lock, the order of every other write: the other way round,
        # a refusal and a create of the same tenant deadlock (the create's count trigger holds the row).
        ensure_tenant(tenant, utcnow())
        xact_lock(db.obj, SYNC_OUTCOMES, tenant)
        SyncOutcome.insert(tenant=tenant, time=utcnow(), operation=operation, subject_id=subject_id or "",
                           subject_name=subject_name, status="refused", stored=[], dropped=[dict(refusal)]).execute()


Name = str | None | Callable[[], str | None]


@contextlib.contextmanager
def refusals(tenant: str, actor: Actor, operation: str, subject_id: str | None, subject_name: Name
             ) -> Iterator[None]:
    """R-NOT-2 for every writer of the domain: a sync write refused whole (400, 409) leaves a `refused`
    outcome naming the operation, the subject (its id, and its userName or displayName) and why. Wrap the
    whole write, its transaction included, so that the outcome is written once that transaction has rolled
    back. `subject_name` may be a function, called only on a refusal (a lookup of the stored name when the
    write did not send one)."""
    try:
        yield
    except Problem as exc:
        if exc.status in REFUSED_WHOLE and is_sync(actor):
            name = subject_name() if callable(subject_name) else subject_name
            record_refused(tenant, actor, operation, subject_id, name, refusal_of(exc))
        raise


def refusal_of(exc: Problem) -> dict[str, Any]:
    """The refusal of an outcome: the attribute at fault (`request` when none), the detail and the code."""
    return {"attribute": str(exc.extra.get("attribute") or "request"), "detail": exc.detail, "reason": exc.code}


def outcome_query(tenant: str, *, after: int, limit: int) -> Any:
    return (SyncOutcome.select().where(SyncOutcome.tenant == tenant, SyncOutcome.id > after)
            .order_by(SyncOutcome.id).limit(limit))


def list_outcomes(tenant: str, *, after: int = 0, limit: int) -> dict[str, Any]:
    """Oldest first from the cursor; `next_after` is where the next call starts."""
    items = [_view(row) for row in outcome_query(tenant, after=after, limit=limit)]
    return {"items": items, "next_after": items[-1]["id"] if items else after}


def _view(row: SyncOutcome) -> dict[str, Any]:
    out = {"id": row.id, "time": row.time, "operation": row.operation, "subjectId": row.subject_id or None,
           "subjectName": row.subject_name, "status": row.status, "stored": row.stored, "dropped": row.dropped}
    if row.status == "refused":
        out.update(dropped=[], refusal=row.dropped[0])
    return out
