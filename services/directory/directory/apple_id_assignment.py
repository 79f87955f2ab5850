"""R-DIR-12 Managed Apple IDs as stored: one per user, unique per tenant, never taken from its holder.

The ID itself and the conflict rule are derived in apple_id_rules.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import peewee

from .apple_id_rules import ATTRIBUTE, AppleIdSettings, derive_apple_id, find_conflict
from .models import User, db


def assign(row: User, user: Mapping[str, Any], settings: AppleIdSettings) -> tuple[dict[str, Any], list[dict]]:
    """Give the user (a row this transaction wrote, in its write shape `user`) the ID the setting derives;
    call inside the write's transaction. Returns (audit changes, dropped attributes).

    - Setting off: nothing is read or changed (IDs handed out before stay).
    - No source, or not a valid email address: the user holds no ID (DroppedSchema has no reason for it,
      so it is not reported; the audit shows the change when the user held one).
    - Held by another user: not taken and not overwritten; the user keeps what it held and the write
      reports `managedAppleId` with reason apple_id_conflict (R-NOT-3). The unique (tenant,
      managed_apple_id) index decides between concurrent writers: the loser's UPDATE fails inside a
      savepoint (PostgreSQL waits for the winner's commit first), which the write survives.
    """
    if not settings.enabled:
        return {}, []
    value = derive_apple_id(user, settings).value
    if value == row.managed_apple_id:
        return {}, []
    if value is not None:
        conflict = _conflict(row, value, settings)
        if conflict is not None:
            return {}, [conflict]
    try:
        with db.atomic():  # a savepoint: losing the unique index must not abort the user's write
            User.update(managed_apple_id=value).where(User.id == row.id).execute()
    except peewee.IntegrityError:
        # A concurrent writer committed the same ID after our read: the database refused the second holder.
        return {}, [_conflict(row, value, settings, concurrent=True)]
    before, row.managed_apple_id = row.managed_apple_id, value
    return {ATTRIBUTE: {"before": before, "after": value}}, []


def _conflict(row: User, value: str, settings: AppleIdSettings, concurrent: bool = False) -> dict[str, str] | None:
    """The conflict with the user who holds `value`; after a lost race that holder may not be visible yet."""
    found = _holder(row, value)
    if found is None and not concurrent:
        return None
    holder_id, holder_name = found or ("a concurrent writer", "another user")
    return find_conflict(value, holder_id, row.id, holder_name=holder_name, user_name=row.user_name,
                         settings=settings)


def _holder(row: User, value: str) -> tuple[str, str] | None:
    """(id, userName) of the other user of the tenant who holds `value`, if any."""
    found = (User.select(User.id, User.user_name)
             .where(User.tenant == row.tenant_id, User.managed_apple_id == value, User.id != row.id)
             .tuples().first())
    return (str(found[0]), found[1]) if found else None
