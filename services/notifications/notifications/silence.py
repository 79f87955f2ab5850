"""R-NOT-1 for SCIM: Entra ID has not called a tenant's SCIM endpoint for longer than its cycle allows.

The token service knows when each tenant's tokens were last used; `check_silence` asks it and raises or
resolves the tenant's "Entra ID service is unreachable" notification. A `SilenceWatcher` runs the check
in the background of each worker; several workers checking at once agree (one live row per cause).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ServiceUnavailable
from shared.schemas.notifications import ActivitySchema

from . import feed, rules
from .models import Notification

log = logging.getLogger(__name__)
CAUSE_KEY = "entra"
CYCLE_MINUTES = 40
CAUSE = rules.Cause(
    rules.UNREACHABLE, CAUSE_KEY, None, None,
    "Entra ID has not called this tenant's SCIM endpoint for longer than a provisioning cycle allows.",
    "In Entra ID → Enterprise application → Provisioning, check that Provisioning Status is On and the job is "
    "not in quarantine, that the Secret Token is one of this tenant's Active tokens, and read the provisioning "
    "logs. This resolves itself at Entra's next call.",
)


def unreachable(has_token: bool, last_heard_from: dt.datetime | None, now: dt.datetime,
                threshold: dt.timedelta) -> bool:
    """Provisioning is set up (an Active token exists and Entra has called before) and Entra is silent
    for longer than `threshold`."""
    return has_token and last_heard_from is not None and now - last_heard_from > threshold


def silence_message(last_heard_from: dt.datetime, now: dt.datetime) -> str:
    hours = (now - last_heard_from).total_seconds() / 3600
    return (f"Entra ID has not called this tenant's SCIM endpoint since {last_heard_from:%Y-%m-%d %H:%M} UTC "
            f"({hours:.1f} hours); its provisioning cycles run about every {CYCLE_MINUTES} minutes.")


@dataclass
class SilenceReport:
    raised: list[Notification] = field(default_factory=list)
    resolved: list[Notification] = field(default_factory=list)


def check_silence(token_service: Any, now: dt.datetime, threshold: dt.timedelta) -> SilenceReport:
    """Ask the token service for every tenant's activity; raise or resolve R-NOT-1 accordingly."""
    resp = token_service.get("/internal/v1/activity")
    if resp.status != 200:
        raise ServiceUnavailable(f"the token service answered {resp.status} to the activity query")
    report = SilenceReport()
    listed = set()
    for item in ActivitySchema().load(resp.data)["items"]:
        tenant, last = item["tenant"], item["last_used_at"]
        listed.add(tenant)
        if unreachable(item["tokens"] > 0, last, now, threshold):
            row, created = feed.raise_cause(item["tenant"], CAUSE, now, message=silence_message(last, now))
            if created:
                report.raised.append(row)
        else:
            row = feed.resolve_cause(tenant, rules.UNREACHABLE, CAUSE_KEY, now)
            if row is not None:
                report.resolved.append(row)
    for tenant in feed.live_tenants(rules.UNREACHABLE) - listed:  # a tenant that is gone is not silent
        row = feed.resolve_cause(tenant, rules.UNREACHABLE, CAUSE_KEY, now)
        if row is not None:
            report.resolved.append(row)
    return report
