"""Who holds a userName: one user per folded name and tenant (a unique index), and what becomes of the name of
a user deleted from Entra when a live user takes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.db import Prepared, slot
from shared.errors import Problem

from . import audit, rules
from .models import User, locked

# The data key that keeps the userName a user deleted from Entra had before a live user took it over.
RELEASED = "releasedUserName"
_MAX_NAME = 256  # users.user_name is a varchar(256) on PostgreSQL


def taken(user_name: str) -> Problem:
    return Problem(409, f"Another user already has the userName '{user_name}' (userNames are compared without "
                        "regard to case): give this user a different userName in Entra ID, or change the other "
                        "user's.", code="uniqueness", attribute="userName")


# The user holding a userName, whatever its state: a create takes it over, revives it or is refused.
BY_NAME = Prepared(lambda: locked(User.select().where(User.tenant == slot("tenant"),
                                                     User.user_name_key == slot("key")).limit(1)))
# Users deleted from Entra whose userName a live user took: their names start with the name they had.
_RELEASED_FROM = Prepared(lambda: locked(
    User.select().where(User.tenant == slot("tenant"), User.user_name_key >= slot("low"),
                        User.user_name_key < slot("high"), User.deleted_at.is_null(False))
    .order_by(User.deleted_at.desc(), User.id).limit(20)))


def released_name(user_name: str, user_id: str) -> str:
    """The userName a user deleted from Entra gets when a live user takes its own: the old name and the user's
    id, so it is unique and an admin still finds it by the old name's prefix."""
    suffix = f" (deleted {user_id})"
    return f"{user_name[:_MAX_NAME - len(suffix)]}{suffix}"


def claim(tenant: str, key: str, by: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Make the folded userName `key` free for the live user `by`, inside its write's transaction. A live
    holder (any source) keeps it: 409. A holder deleted from Entra is invisible to Entra, whose filter cannot
    find it, so a 409 could never be resolved there: it releases the name (renamed to `released_name`, the
    old name kept in `data`) and keeps its record for admins. Returns the audit event of the release."""
    holder = BY_NAME.first(User, tenant=tenant, key=key)
    if holder is None:
        return []  # a concurrent writer that takes the name first still loses to the unique index: 409
    if holder.deleted_at is None:
        raise taken(holder.user_name)
    new_name = released_name(holder.user_name, holder.id)
    data = {**(holder.data or {}), RELEASED: holder.user_name}
    User.update(user_name=new_name, user_name_key=rules.fold(new_name), data=data, last_modified=now,
                version=User.version + 1).where(User.id == holder.id).execute()
    changes = {"userName": {"before": holder.user_name, "after": new_name},
               RELEASED: {"before": None, "after": holder.user_name}, "takenBy": {"before": None, "after": by}}
    return [audit.event("user.updated", audit.USER, holder.id, changes)]


def released_holder(tenant: str, key: str) -> User | None:
    """The user deleted from Entra that last released the folded userName `key`, if any (locked): a create of
    that name, once no user holds it, revives that user rather than adding a second one."""
    low = key + " (deleted "  # fold works per character: fold(released_name(n, id)) starts with fold(n)
    rows = _RELEASED_FROM.models(User, tenant=tenant, low=low, high=low + "\U0010ffff")
    return next((row for row in rows if rules.fold(str((row.data or {}).get(RELEASED, ""))) == key), None)

