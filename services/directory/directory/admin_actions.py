"""What an admin does to the directory through the admin API: find users and groups, disable, re-enable and
delete users for good (R-DIR-4), delete groups, manage custom attributes (R-DIR-11). Every change is
logged with the admin as actor, in its own transaction (R-DIR-13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from shared.errors import Problem
from shared.schemas.common import utcnow

from . import audit, groups, memberships, users
from .audit import Actor
from .models import CustomAttribute, Group, User, db, locked
from .rules import fold
from .templates import resolve_template
from .tenants import BUILTIN, custom_attribute_names, define_custom_attribute

STATUSES = ("active", "disabled", "deleted")
LEFTOVER_BATCH = 500
MEMBER_PAGE = 50


def list_users(tenant: str, *, limit: int, after: str | None = None, source: str | None = None,
               status: str | None = None, q: str | None = None) -> dict[str, Any]:
    """Keyset page by id (flat cost however deep); `q` is a userName prefix, case-insensitive."""
    query = User.select().where(User.tenant == tenant)
    if source is not None:
        query = query.where(User.source == source)
    if status == "deleted":
        query = query.where(User.deleted_at.is_null(False))
    elif status is not None:
        query = query.where(User.deleted_at.is_null(), User.active == (status == "active"))
    if q:
        query = query.where(*_prefix(User.user_name_key, q))
    return _page(query, User, limit, after, summary)


def summary(row: User) -> dict[str, Any]:
    return {"id": row.id, "userName": row.user_name, "displayName": row.display_name, "source": row.source,
            "status": status_of(row), "created": row.created, "lastModified": row.last_modified}


def status_of(row: User) -> str:
    return "deleted" if row.deleted_at is not None else "active" if row.active else "disabled"


def create_user(tenant: str, write: dict[str, Any], source: str, actor: Actor) -> dict[str, Any]:
    """A Local, LDAP or Entra ID User Source user (R-DIR-8, R-DIR-14)."""
    return get_user(tenant, users.create_from_source(tenant, write, source, actor)["id"])


def get_user(tenant: str, user_id: str) -> dict[str, Any]:
    """The whole user, whatever its status (SCIM answers 404 for a user deleted from Entra; admins see it)."""
    row = _user(tenant, user_id)
    return {**users.view(row, users.groups_of([row.id])[row.id]), "source": row.source, "status": status_of(row)}


def set_active(tenant: str, user_id: str, active: bool, actor: Actor) -> dict[str, Any]:
    """Disable or re-enable; re-enabling a user deleted from Entra brings it back to SCIM as well."""
    with db.atomic():
        row = _user(tenant, user_id, lock=True)
        before = {"active": row.active, "deleted": row.deleted_at is not None}
        after = {"active": active, "deleted": False if active else before["deleted"]}
        if before != after:
            now = utcnow()
            deleted_at = None if active else row.deleted_at
            User.update(active=active, deleted_at=deleted_at, last_modified=now, version=User.version + 1) \
                .where(User.id == row.id).execute()
            kind = "user.enabled" if active else "user.disabled"
            audit.record(tenant, now, actor, [audit.event(kind, audit.USER, row.id, audit.diff(before, after))])
    return get_user(tenant, user_id)


def purge_user(tenant: str, user_id: str, actor: Actor) -> None:
    """R-DIR-4: only an admin deletes for good; memberships go with the user."""
    with db.atomic():
        row = _user(tenant, user_id, lock=True)
        changes = {"status": {"before": status_of(row), "after": None}, "userName": {"before": row.user_name,
                                                                                     "after": None}}
        audit.record(tenant, utcnow(), actor, [audit.event("user.deleted", audit.USER, row.id, changes)])
        row.delete_instance()  # memberships cascade (foreign key on delete cascade)


def list_groups(tenant: str, *, limit: int, after: str | None = None, source: str | None = None,
                q: str | None = None) -> dict[str, Any]:
    query = Group.select().where(Group.tenant == tenant)
    if source is not None:
        query = query.where(Group.source == source)
    if q:
        query = query.where(*_prefix(Group.display_name_key, q))
    return _page(query, Group, limit, after, _group_summary)


def leftovers(tenant: str, kind: str, *, since: dt.datetime, limit: int, after: str | None = None
              ) -> dict[str, Any]:
    """R-DIR-14, after a migration to SCIM: the users or groups a SCIM migration did not take
    over (their source is still Local, LDAP or Entra ID User Source) and that existed before `since`,
    the migration's start. An admin reviews them, then removes them."""
    model = User if kind == "users" else Group
    # The built-in "All Users" group is no leftover: it is the tenant's own.
    query = model.select().where(model.tenant == tenant, model.source.not_in(("scim", BUILTIN)), model.created < since)
    return _page(query, model, limit, after, summary if kind == "users" else _group_summary)


def _prefix(key_column: Any, q: str) -> tuple[Any, Any]:
    """A case-insensitive prefix as a range on the folded, indexed column."""
    key = fold(q)
    return key_column >= key, key_column < key + "\U0010ffff"


def _page(query: Any, model: Any, limit: int, after: str | None, render: Callable[[Any], dict[str, Any]]
          ) -> dict[str, Any]:
    """Keyset page by id: flat cost however deep; `next_after` is null on the last page."""
    if after is not None:
        query = query.where(model.id > after)
    rows = list(query.order_by(model.id).limit(limit + 1))
    return {"items": [render(r) for r in rows[:limit]], "next_after": rows[limit - 1].id if len(rows) > limit
            else None}


def _group_summary(row: Group) -> dict[str, Any]:
    return {**groups.view(row), "source": row.source}


def remove_leftovers(tenant: str, kind: str, *, since: dt.datetime, actor: Actor) -> int:
    """Delete for good what `leftovers` lists, a bounded batch per transaction; returns how many went."""
    removed = 0
    while True:
        with db.atomic():
            batch = leftovers(tenant, kind, since=since, limit=LEFTOVER_BATCH)["items"]
            if not batch:
                return removed
            ids = [item["id"] for item in batch]
            subject = audit.USER if kind == "users" else audit.GROUP
            audit.record(tenant, utcnow(), actor, [
                audit.event(f"{subject}.deleted", subject, i, {"leftover": {"before": True, "after": None}})
                for i in ids])
            model = User if kind == "users" else Group
            model.delete().where(model.tenant == tenant, model.id.in_(ids)).execute()
            removed += len(ids)


def get_group(tenant: str, group_id: str) -> dict[str, Any]:
    """One group of any source, with its members; the built-in "All Users" group with its first page of them
    (every user of the tenant) and the cursor of the next (groups.member_page)."""
    row = Group.select().where(Group.tenant == tenant, Group.id == group_id).first()
    if row is None:
        raise Problem(404, f"There is no group '{group_id[:64]}' in this tenant.", code="not_found")
    if row.source == BUILTIN:
        page = groups.member_page(tenant, row.id, limit=MEMBER_PAGE)
        return {**groups.view(row, page["items"]), "source": row.source, "members_next_after": page["next_after"]}
    return {**groups.view(row, memberships.members_of([row.id])[row.id]), "source": row.source}


def list_custom_attributes(tenant: str) -> list[dict[str, Any]]:
    rows = (CustomAttribute.select().where(CustomAttribute.tenant == tenant).order_by(CustomAttribute.name_key))
    return [{"name": r.name, "type": r.type, "created": r.created} for r in rows]


def add_custom_attribute(tenant: str, name: str, kind: str, actor: Actor) -> dict[str, Any]:
    """R-DIR-11: an admin adds one by name; values for it are stored from the next sync on."""
    with db.atomic():
        define_custom_attribute(tenant, name, kind)
        audit.record(tenant, utcnow(), actor, [audit.event(
            "custom_attribute.added", audit.TENANT, tenant, {name: {"before": None, "after": kind}})])
    return next(a for a in list_custom_attributes(tenant) if a["name"] == name)


def delete_custom_attribute(tenant: str, name: str, actor: Actor) -> None:
    """R-DIR-11: IdP attributes allow only Delete. Stored values stay in users' data but are no longer
    shown or synced, since only defined custom attributes are read."""
    with db.atomic():
        row = (CustomAttribute.select()
               .where(CustomAttribute.tenant == tenant, CustomAttribute.name_key == name.lower()).first())
        if row is None:
            raise Problem(404, f"There is no custom attribute '{name[:64]}'.", code="not_found")
        row.delete_instance()
        audit.record(tenant, utcnow(), actor, [audit.event(
            "custom_attribute.deleted", audit.TENANT, tenant, {row.name: {"before": row.type, "after": None}})])


def resolve_for_user(tenant: str, user_id: str, template: str) -> str:
    """R-DIR-11: `${custAttr1}` and core attribute names turned into this user's values."""
    row = _user(tenant, user_id)
    return resolve_template(template, users.view(row), custom_attribute_names(tenant))


def _user(tenant: str, user_id: str, *, lock: bool = False) -> User:
    query = User.select().where(User.tenant == tenant, User.id == user_id)
    if lock:
        query = locked(query)
    row = query.first()
    if row is None:
        raise Problem(404, f"There is no user '{user_id[:64]}' in this tenant.", code="not_found")
    return row
