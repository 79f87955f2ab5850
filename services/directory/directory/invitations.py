"""R-DIR-12 auto-invite: an invitation recorded once per user with the write, sent after it commits."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from shared.db import Prepared, slot
from shared.schemas.common import utcnow

from .mail import MailSender, invitation, recipient
from .models import Invitation, User, db

log = logging.getLogger(__name__)

# A sender claims an invitation for LEASE before sending (two senders never send it twice at once);
# a failure is retried after RETRY_AFTER * 2**(attempts-1), at most MAX_ATTEMPTS times in all.
LEASE = dt.timedelta(minutes=5)
RETRY_AFTER = dt.timedelta(minutes=1)
MAX_ATTEMPTS = 8
BATCH = 100


def record(tenant: str, user_id: str, user: Mapping[str, Any], now: dt.datetime) -> None:
    """Record the invitation of a user imported from Entra; call inside the write's transaction. Once per
    user, ever: a second record (a revive, a concurrent retry) is ignored by the unique index."""
    email = recipient(user)
    if email is None:  # R-DIR-1 makes a SCIM user carry an email; nothing to invite otherwise
        return
    Invitation.insert(tenant=tenant, user=user_id, email=email, created=now, attempts=0).on_conflict_ignore().execute()


_UNSENT_OF_USER = Prepared(lambda: Invitation.select(Invitation.id).where(
    Invitation.tenant == slot("tenant"), Invitation.user == slot("user"), Invitation.sent_at.is_null()).limit(1))


def deliver_invitations(tenant: str, sender: MailSender, *, user_id: str | None = None,
                        now: dt.datetime | None = None, register_url: str | None = None,
                        limit: int = BATCH) -> dict[str, int]:
    """Send the tenant's due, unsent invitations (only `user_id`'s when given) through `sender`; never call
    inside a transaction. Each is claimed first (a conditional UPDATE), then sent, then marked sent; a
    failure keeps it unsent with attempts and last_error for a later run. Returns {"sent", "failed"}."""
    if user_id is not None and not _UNSENT_OF_USER.rows(db, tenant=tenant, user=user_id):
        # After every create: most tenants invite nobody, and building the join below costs a quarter of a create.
        return {"sent": 0, "failed": 0}
    now = now or utcnow()
    query = (Invitation.select(Invitation, User)
             .join(User, on=(Invitation.user == User.id))
             .where(Invitation.tenant == tenant, Invitation.sent_at.is_null(),
                    Invitation.attempts < MAX_ATTEMPTS,
                    Invitation.next_attempt_at.is_null() | (Invitation.next_attempt_at <= now),
                    User.deleted_at.is_null(), User.active == True)  # noqa: E712 (peewee expression)
             .order_by(Invitation.id).limit(limit))
    if user_id is not None:
        query = query.where(Invitation.user == user_id)
    counts = {"sent": 0, "failed": 0}
    for row in list(query):
        if not _claim(row, now):
            continue  # another sender has it
        try:
            subject, body = invitation(_shape(row.user), tenant, register_url=register_url)
            sender.send(row.email, subject, body)
        except Exception as exc:  # any failure of the transport: kept for a retry, reported to the caller
            _failed(row, now, exc)
            counts["failed"] += 1
            continue
        Invitation.update(sent_at=utcnow(), last_error=None).where(Invitation.id == row.id).execute()
        counts["sent"] += 1
    return counts


def deliver_all(sender: MailSender, *, now: dt.datetime | None = None, register_url: str | None = None
                ) -> dict[str, dict[str, int]]:
    """Every tenant's due invitations (the `send-invitations` command, for retries)."""
    tenants = (Invitation.select(Invitation.tenant).where(Invitation.sent_at.is_null()).distinct().tuples())
    return {tenant: deliver_invitations(tenant, sender, now=now, register_url=register_url)
            for (tenant,) in list(tenants)}


def _claim(row: Invitation, now: dt.datetime) -> bool:
    """Take the invitation for one attempt: succeeds for exactly one of several concurrent senders (the
    row must still be as this sender read it), and the lease keeps the others away while it sends."""
    with db.atomic():
        claimed = (Invitation.update(attempts=Invitation.attempts + 1, next_attempt_at=now + LEASE)
                   .where(Invitation.id == row.id, Invitation.sent_at.is_null(),
                          Invitation.attempts == row.attempts)
                   .execute())
    return claimed == 1


def _failed(row: Invitation, now: dt.datetime, exc: Exception) -> None:
    attempts = row.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:500]
    log.warning("invitation to user %s of tenant %s failed (attempt %d): %s", row.user_id, row.tenant_id,
                attempts, error)
    Invitation.update(last_error=error, next_attempt_at=now + RETRY_AFTER * 2 ** (attempts - 1)) \
        .where(Invitation.id == row.id).execute()


def _shape(user: User) -> dict[str, Any]:
    return {"userName": user.user_name, "displayName": user.display_name, **(user.data or {})}

