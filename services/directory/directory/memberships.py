"""Group membership by delta: per-member inserts and deletes, never a rewrite of the whole list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from peewee import SQL, ModelSelect, chunked

from shared.db import Prepared, slot

from . import rules
from .models import Group, Membership, User, db

# SQLite allows 32,766 parameters per statement; three per inserted row stays far below it.
_CHUNK = 500


def resolve(tenant: str, requested: Iterable[str]) -> tuple[list[str], list[dict]]:
    """R-DIR-10: which requested ids are users of the tenant (added) and which are dropped, and why."""
    ids = list(dict.fromkeys(requested))
    if not ids:
        return [], []
    users: set[str] = set()
    for part in chunked(ids, _CHUNK):
        rows = users_among(part).tuples()
        users.update(uid for uid, owner, deleted in rows if owner == tenant and deleted is None)
    rest = [i for i in ids if i not in users]
    groups: dict[str, str] = {}
    for part in chunked(rest, _CHUNK):
        groups.update((gid, name) for gid, owner, name in groups_among(part).tuples() if owner == tenant)
    return rules.member_drops(ids, users, groups)


def users_among(ids: Sequence[str]) -> ModelSelect:
    """By primary key alone, the tenant checked on the rows found: with `tenant_id = ?` in the WHERE, SQLite
    without statistics walks a (tenant_id, …) index over the whole tenant instead (~1 s at 1M users)."""
    return User.select(User.id, User.tenant, User.deleted_at).where(User.id.in_(list(ids)))


def groups_among(ids: Sequence[str]) -> ModelSelect:
    return Group.select(Group.id, Group.tenant, Group.display_name).where(Group.id.in_(list(ids)))


def add(tenant: str, group_id: str, user_ids: Sequence[str]) -> list[str]:
    """Insert the memberships that are missing; re-adding a member is not an error. Returns the ids added
    (RETURNING reports only rows this statement inserted, so the audit log names exactly those)."""
    added: list[str] = []
    for part in chunked(user_ids, _CHUNK):
        rows = [{"group": group_id, "member": uid, "tenant": tenant} for uid in part]
        # ON CONFLICT DO NOTHING: two concurrent adds of one member both succeed, one row remains.
        query = Membership.insert_many(rows).on_conflict_ignore().returning(Membership.member)
        added += [uid for (uid,) in query.tuples().execute()]
    return added


def remove(group_id: str, member_ids: Sequence[str]) -> list[str]:
    """Delete these memberships; removing a non-member is not an error. Returns the ids removed."""
    removed: list[str] = []
    for part in chunked(dict.fromkeys(member_ids), _CHUNK):
        query = Membership.delete().where(Membership.group == group_id, Membership.member.in_(part))
        removed += [uid for (uid,) in query.returning(Membership.member).tuples().execute()]
    return removed


def replace(tenant: str, group_id: str, user_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """Make the membership exactly `user_ids` with two set statements (no read of the current list);
    returns the ids removed and added. NOT IN takes every id as a parameter: a body within
    MAX_CONTENT_LENGTH (1 MiB) holds far fewer members than SQLite's 32,766."""
    query = Membership.delete().where(Membership.group == group_id)
    if user_ids:
        query = query.where(Membership.member.not_in(list(user_ids)))
    removed = [uid for (uid,) in query.returning(Membership.member).tuples().execute()]
    return removed, add(tenant, group_id, user_ids)


def members_query(group_ids: Sequence[str], limit: int | None) -> ModelSelect:
    """Ordered by the membership key, not by users.id (equal, but the planner cannot tell): the key's index
    then yields rows in order and a limit stops early, where sorting by users.id sorts every member first."""
    return (Membership.select(Membership.group, User.id, User.display_name, User.user_name)
            .join(User, on=(Membership.member == User.id))
            .where(Membership.group.in_(list(group_ids)), User.deleted_at.is_null())
            .order_by(Membership.group, Membership.member).limit(limit))


_MEMBERS_OF_ONE = Prepared(lambda: members_query([slot("group")], None).limit(slot("limit")))
_BEYOND = Prepared(lambda: Membership.select(SQL("1")).where(Membership.group == slot("group"))
                   .offset(slot("limit")).limit(1))


def more_than(group_id: str, limit: int) -> bool:
    """Whether the group has more than `limit` memberships: a walk of `limit` index entries, no join, so that
    a group of 100k members is told from a small one at the cost of a small one. It counts members deleted
    from Entra too, which are not shown: near the bound a group may be answered without its members."""
    return bool(_BEYOND.rows(db, group=group_id, limit=limit))


def members_of(group_ids: Sequence[str], *, limit: int | None = None) -> dict[str, list[dict[str, str]]]:
    """Members of each group, for answers that include them; with `limit`, at most that many rows in all.
    Users deleted from Entra stay associated (R-DIR-6) but are not shown: SCIM answers 404 for them."""
    out: dict[str, list[dict[str, str]]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    if len(group_ids) == 1 and limit is not None:  # the group a PATCH answers: built once, not per call
        rows = _MEMBERS_OF_ONE.rows(db, group=group_ids[0], limit=limit)
    else:
        rows = members_query(group_ids, limit).tuples()
    for group_id, user_id, display, user_name in rows:
        out[group_id].append({"value": user_id, "display": display or user_name, "type": "User"})
    return out


def page_query(tenant: str, group_id: str, *, builtin: bool, limit: int, after: str | None = None
               ) -> tuple[ModelSelect, Any]:
    """The select of one admin page of members (also what the index tests EXPLAIN), and its keyset column.
    The built-in "All Users" group holds every user of the tenant: its page walks the unique (tenant,
    userName) index from the cursor, no membership rows; any other group walks its memberships' key."""
    columns = (User.id, User.user_name, User.display_name, User.user_name_key, User.active, User.deleted_at)
    if builtin:
        query, key = User.select(*columns).where(User.tenant == tenant), User.user_name_key
    else:
        query = (User.select(*columns).join(Membership, on=(Membership.member == User.id))
                 .where(Membership.group == group_id))
        key = Membership.member
    if after is not None:
        query = query.where(key > after)
    return query.order_by(key).limit(limit), key


def page(tenant: str, group: Group, *, builtin: bool, limit: int, after: str | None = None) -> dict[str, Any]:
    """Admins: one page of a group's members, whatever their status (R-DIR-6: deleted ones stay associated),
    flat in cost however large the group. `next_after` is null on the last page."""
    query, _ = page_query(tenant, group.id, builtin=builtin, limit=limit + 1, after=after)
    rows = list(query)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"value": u.id, "display": u.display_name or u.user_name, "type": "User",
              "status": "deleted" if u.deleted_at is not None else "active" if u.active else "disabled"}
             for u in rows]
    last = rows[-1] if more else None
    return {"items": items, "next_after": None if last is None else last.user_name_key if builtin else last.id}
