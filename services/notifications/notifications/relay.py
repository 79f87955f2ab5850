"""The relay: sync outcomes from the directory's outbox into this service (R-NOT-4: none lost, none doubled).

The directory writes each outcome in the transaction of its change and never forgets it; this service
reads each tenant's outbox from its own cursor, and records a page and moves the cursor in one
transaction. So when this service was down it simply reads on from where it stopped, and two workers or
replicas reading the same page at once are harmless: outcome ids are recorded once (feed.record_outcomes)
and the cursor only moves forward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shared.errors import ServiceUnavailable
from shared.schemas.common import utcnow
from shared.schemas.notifications import ActivitySchema
from shared.schemas.outcomes import MAX_OUTCOME_PAGE, OutcomePageSchema

from . import feed
from .models import Notification, RelayCursor, db

Notify = Callable[[str, list[tuple[str, Notification]]], None]


@dataclass
class RelayReport:
    accepted: int = 0
    duplicates: int = 0
    tenants: list[str] = field(default_factory=list)


def relay_all(directory: Any, token_service: Any, notify: Notify, now: Callable[[], dt.datetime] = utcnow
              ) -> RelayReport:
    """One pass over every tenant the token service knows (a tenant Entra provisions into has a token)."""
    resp = token_service.get("/internal/v1/activity")
    if resp.status != 200:
        raise ServiceUnavailable(f"the token service answered {resp.status} to the activity query")
    return relay_tenants(directory, (i["tenant"] for i in ActivitySchema().load(resp.data)["items"]), notify, now)


def relay_tenants(directory: Any, tenants: Iterable[str], notify: Notify,
                  now: Callable[[], dt.datetime] = utcnow) -> RelayReport:
    report = RelayReport()
    for tenant in tenants:
        while True:
            page = _read(directory, tenant, cursor_of(tenant))
            if not page["items"]:
                break
            with db.atomic():
                result = feed.record_outcomes(tenant, page["items"], now())
                _advance(tenant, page["next_after"], now())
            notify(tenant, result.events)  # after the commit, as the ingestion endpoint does
            report.accepted += result.accepted
            report.duplicates += result.duplicates
            if tenant not in report.tenants:
                report.tenants.append(tenant)
    return report


def cursor_of(tenant: str) -> int:
    row = RelayCursor.get_or_none(RelayCursor.tenant == tenant)
    return row.after if row else 0


def _read(directory: Any, tenant: str, after: int) -> dict[str, Any]:
    resp = directory.get(f"/internal/v1/tenants/{quote(tenant, safe='')}/sync-outcomes",
                         params={"after": str(after), "limit": str(MAX_OUTCOME_PAGE)})
    if resp.status != 200:
        raise ServiceUnavailable(f"the directory answered {resp.status} to the outbox read of {tenant}")
    return OutcomePageSchema().load(resp.data)


def _advance(tenant: str, after: int, now: dt.datetime) -> None:
    """Forward only: a slower reader of the same page never moves the cursor back."""
    RelayCursor.insert(tenant=tenant, after=after, updated_at=now).on_conflict_ignore().execute()
    RelayCursor.update(after=after, updated_at=now).where(RelayCursor.tenant == tenant,
                                                          RelayCursor.after < after).execute()
