"""Groups: create, read, replace, patch by delta and delete (R-DIR-9, R-DIR-10); no Flask here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import peewee

from shared.db import slot
from shared.errors import Problem
from shared.schemas.common import utcnow

from . import audit, memberships, outcomes, rules
from .audit import SCIM, Actor
from .models import Group, Membership, User, by_lock, db
from .tenants import ALL_USERS, BUILTIN, ensure_tenant


def not_found(group_id: str) -> Problem:
    return Problem(404, f"There is no group {group_id[:64]} in this tenant.", code="not_found")


def _taken(display_name: str) -> Problem:
    return Problem(409, f"Another group already has the displayName '{display_name}' (compared without regard "
                        "to case): give this group a different name in Entra ID.", code="uniqueness",
                   attribute="displayName")


def _refuse_reserved(display_name: str, current_key: str | None = None) -> None:
    """R-DIR-9 for the tenant's built-in "All Users" group: its name is taken, whatever the case, by a group of
    another source. A group that held the name before the built-in group existed keeps it (migration 6)."""
    key = rules.fold(display_name)
    if key == rules.fold(ALL_USERS) and key != current_key:
        raise Problem(409, f"'{display_name}' is the name of the tenant's built-in group \"{ALL_USERS}\", "
                           "which holds every user: give this group a different name in Entra ID.",
                      code="uniqueness", attribute="displayName")


_GET = by_lock(lambda: Group.select().where(Group.id == slot("id"), Group.tenant == slot("tenant"),
                                            Group.source == "scim").limit(1))


def _get(tenant: str, group_id: str, *, lock: bool = False) -> Group:
    """A group as SCIM sees it: one of its own source (R-DIR-9)."""
    group = _GET[lock].first(Group, id=group_id, tenant=tenant)
    if group is None:
        raise not_found(group_id)
    return group


def view(group: Group, members: Sequence[Mapping[str, str]] | None = None,
         dropped: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The contract's Group (shared.schemas.groups.GroupSchema); `members` only when they were loaded."""
    out: dict[str, Any] = {"id": group.id, "displayName": group.display_name, "source": group.source,
                           "created": group.created, "lastModified": group.last_modified, "version": group.version}
    if group.external_id is not None:
        out["externalId"] = group.external_id
    if members is not None:
        out["members"] = list(members)
    if dropped is not None:
        # GroupSchema has no `dropped` yet: its dump leaves this out until the contract adds the field.
        out["dropped"] = list(dropped)
    return out


def views(groups: Sequence[Group], *, members: bool) -> list[dict[str, Any]]:
    loaded = memberships.members_of([g.id for g in groups]) if members else None
    return [view(g, loaded[g.id] if loaded is not None else None) for g in groups]


def get_group(tenant: str, group_id: str, *, members: bool = True, members_limit: int | None = None
              ) -> dict[str, Any]:
    """One query without members: Entra's GET ?excludedAttributes=members must not pay for them. With
    `members_limit`, a group of more members than that comes back without `members`, at bounded cost."""
    group = _get(tenant, group_id)
    if not members or (members_limit is not None and memberships.more_than(group.id, members_limit)):
        return view(group)
    loaded = memberships.members_of([group.id], limit=None if members_limit is None else members_limit + 1)
    shown = loaded[group.id]
    return view(group, None if members_limit is not None and len(shown) > members_limit else shown)


def member_page(tenant: str, group_id: str, *, limit: int, after: str | None = None) -> dict[str, Any]:
    """Admins: one page of the members of a group of any source, the built-in "All Users" included."""
    group = Group.select().where(Group.tenant == tenant, Group.id == group_id).first()
    if group is None:
        raise not_found(group_id)
    return memberships.page(tenant, group, builtin=group.source == BUILTIN, limit=limit, after=after)


def _member_ids(write: Mapping[str, Any]) -> list[str]:
    return [m["value"] for m in write.get("members") or ()]


def _new_external_id(current: str | None, sent: str | None) -> str | None:
    # R-DIR-7: blank keeps the stored value; left out (null) removes it.
    return current if sent is not None and rules.is_blank(sent) else sent


def _sent_name(write: Mapping[str, Any]) -> str | None:
    name = write.get("displayName")
    return name if isinstance(name, str) and name.strip() else None


def _stored_name(tenant: str, group_id: str) -> Any:
    return lambda: next((g.display_name for g in _GET[False].models(Group, id=group_id, tenant=tenant)), None)


def create_group(tenant: str, write: Mapping[str, Any], actor: Actor = SCIM) -> dict[str, Any]:
    """Refused whole (400, 409), a sync write leaves a refused outcome (R-NOT-2)."""
    with outcomes.refusals(tenant, actor, "POST /Groups", None, _sent_name(write)):
        return _create_group(tenant, write, actor)


def _create_group(tenant: str, write: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    display = write["displayName"]
    if rules.is_blank(display):
        raise rules.invalid("displayName", "displayName is blank.")
    _refuse_reserved(display)
    rules.check_external_id(write)
    now = utcnow()
    try:
        with db.atomic():
            ensure_tenant(tenant, now)
            group = Group(id=uuid.uuid4().hex, tenant=tenant, display_name=display,
                          display_name_key=rules.fold(display), source="scim", created=now, last_modified=now,
                          version=1, external_id=_new_external_id(None, write.get("externalId")))
            group.save(force_insert=True)
            users, dropped = memberships.resolve(tenant, _member_ids(write))
            added = memberships.add(tenant, group.id, users)
            dropped = [*write.get("dropped", []), *dropped]
            events = [audit.event("group.created", audit.GROUP, group.id, audit.diff({}, _shape(group))),
                      *audit.membership_events(group.id, added, ())]
            _record(tenant, now, actor, "POST /Groups", group, events, _stored(group, bool(users)), dropped)
    except peewee.IntegrityError:
        raise _taken(display) from None
    return view(group, memberships.members_of([group.id])[group.id], dropped)


def replace_group(tenant: str, group_id: str, write: Mapping[str, Any], if_match: set[int] | None = None,
                  actor: Actor = SCIM) -> dict[str, Any]:
    """PUT: the whole group; `members` becomes the membership, applied as a delta."""
    with outcomes.refusals(tenant, actor, "PUT /Groups", group_id,
                           _sent_name(write) or _stored_name(tenant, group_id)):
        return _replace_group(tenant, group_id, write, if_match, actor)


def _replace_group(tenant: str, group_id: str, write: Mapping[str, Any], if_match: set[int] | None,
                   actor: Actor) -> dict[str, Any]:
    rules.check_external_id(write)
    try:
        with db.atomic():
            group = _get(tenant, group_id, lock=True)
            rules.check_version(group.version, if_match)
            before = _shape(group)
            display = group.display_name if rules.is_blank(write["displayName"]) else write["displayName"]
            _refuse_reserved(display, group.display_name_key)
            updates = _changes(group, display, _new_external_id(group.external_id, write.get("externalId")))
            users, dropped = memberships.resolve(tenant, _member_ids(write))
            removed, added = memberships.replace(tenant, group.id, users)
            now = _bump(group, updates, len(removed) + len(added))
            dropped = [*write.get("dropped", []), *dropped]
            _record(tenant, now, actor, "PUT /Groups", group, _events(group, before, added, removed),
                    _stored(group, True), dropped)
    except peewee.IntegrityError:
        raise _taken(write["displayName"]) from None
    return view(group, memberships.members_of([group.id])[group.id], dropped)


def patch_group(tenant: str, group_id: str, patch: Mapping[str, Any], if_match: set[int] | None = None,
                actor: Actor = SCIM) -> dict[str, Any]:
    """PATCH as a delta: members are added and removed one by one, so concurrent PATCHes of one group
    never lose each other's changes. Order: replaceMembers, addMembers, removeMembers."""
    with outcomes.refusals(tenant, actor, "PATCH /Groups", group_id,
                           _sent_name(patch) or _stored_name(tenant, group_id)):
        return _patch_group(tenant, group_id, patch, if_match, actor)


def _patch_group(tenant: str, group_id: str, patch: Mapping[str, Any], if_match: set[int] | None,
                 actor: Actor) -> dict[str, Any]:
    rules.check_external_id(patch)
    dropped: list[dict] = [*patch.get("dropped", [])]
    added: list[str] = []
    removed: list[str] = []
    try:
        with db.atomic():
            group = _get(tenant, group_id, lock=True)
            rules.check_version(group.version, if_match)
            before = _shape(group)
            sent_name = patch.get("displayName")
            display = group.display_name if sent_name is None or rules.is_blank(sent_name) else sent_name
            _refuse_reserved(display, group.display_name_key)
            external = None if patch.get("removeExternalId") else group.external_id
            if not rules.is_blank(patch.get("externalId")):
                external = patch["externalId"]
            updates = _changes(group, display, external)
            kept = False
            if patch.get("replaceMembers") is not None:
                users, drops = memberships.resolve(tenant, patch["replaceMembers"])
                removed, added = memberships.replace(tenant, group.id, users)
                dropped += drops
                kept = True
            if patch.get("addMembers"):
                users, drops = memberships.resolve(tenant, patch["addMembers"])
                added += memberships.add(tenant, group.id, users)
                dropped += drops
                kept = kept or bool(users)
            if patch.get("removeMembers"):
                removed += memberships.remove(group.id, patch["removeMembers"])
                kept = True
            now = _bump(group, updates, len(removed) + len(added))
            stored = [n for n in _stored(group, kept) if n == "members" or _sent(patch, n)]
            _record(tenant, now, actor, "PATCH /Groups", group, _events(group, before, added, removed), stored,
                    dropped)
    except peewee.IntegrityError:
        raise _taken(patch.get("displayName") or "") from None
    return view(group, None, dropped)


def delete_group(tenant: str, group_id: str, if_match: set[int] | None = None, actor: Actor = SCIM) -> None:
    """A real delete of the group and its memberships. R-DIR-5: its members that belong to no other group
    are disabled and stay in the tenant (its "All Users"). The log keeps one group event with the member
    count, not one per membership, and one user.disabled event per user it disabled."""
    with db.atomic():
        group = _get(tenant, group_id, lock=True)
        rules.check_version(group.version, if_match)
        now = utcnow()
        disabled = _disable_members_of_no_other_group(tenant, group.id, now)
        count = Membership.delete().where(Membership.group == group.id).execute()
        Group.delete().where(Group.id == group.id).execute()
        changes = audit.diff({**_shape(group), "memberCount": count}, {"memberCount": 0})
        events = [audit.event("group.deleted", audit.GROUP, group.id, changes),
                  *(audit.event("user.disabled", audit.USER, uid, {"active": {"before": True, "after": False}})
                    for uid in disabled)]
        _record(tenant, now, actor, "DELETE /Groups", group, events, [], [])


def _disable_members_of_no_other_group(tenant: str, group_id: str, now: dt.datetime) -> list[str]:
    """One set-based UPDATE … RETURNING: the active members of this group with no other membership."""
    members = Membership.select(Membership.member).where(Membership.group == group_id)
    other = Membership.alias("other")
    elsewhere = other.select(other.member).where(other.group != group_id, other.member.in_(members))
    query = (User.update(active=False, last_modified=now, version=User.version + 1)
             .where(User.tenant == tenant, User.deleted_at.is_null(), User.active == True,  # noqa: E712
                    User.id.in_(members), User.id.not_in(elsewhere))
             .returning(User.id))
    return [row.id for row in query.execute()]


def _shape(group: Group) -> dict[str, Any]:
    return {"displayName": group.display_name, "externalId": group.external_id}


def _sent(patch: Mapping[str, Any], name: str) -> bool:
    if name == "externalId":
        return patch.get("externalId") is not None or bool(patch.get("removeExternalId"))
    return patch.get(name) is not None


def _stored(group: Group, members: bool) -> list[str]:
    names = [k for k, v in _shape(group).items() if v is not None]
    return [*names, "members"] if members else names


def _events(group: Group, before: Mapping[str, Any], added: Sequence[str], removed: Sequence[str]
            ) -> list[dict[str, Any]]:
    changes = audit.diff(before, _shape(group))
    head = [audit.event("group.updated", audit.GROUP, group.id, changes)] if changes else []
    return [*head, *audit.membership_events(group.id, added, removed)]


def _record(tenant: str, now: Any, actor: Actor, operation: str, group: Group, events: Sequence[Mapping[str, Any]],
            stored: Sequence[str], dropped: Sequence[Mapping[str, Any]]) -> None:
    """The audit rows and the sync outcome of a write, inside its transaction (architecture rule 4)."""
    audit.record(tenant, now, actor, events)
    outcomes.record(tenant, now, actor, operation, group.id, group.display_name, stored, dropped)


def _changes(group: Group, display: str, external: str | None) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if display != group.display_name:
        updates.update(display_name=display, display_name_key=rules.fold(display))
    if external != group.external_id:
        updates["external_id"] = external
    return updates


def _bump(group: Group, updates: Mapping[str, Any], membership_changes: int) -> dt.datetime:
    """One version per change of the group, memberships included; version = version + 1 in SQL, so
    the database, not this process's copy, decides the number. Returns the time of the change."""
    now = utcnow()
    if not updates and not membership_changes:
        return now
    Group.update(version=Group.version + 1, last_modified=now, **updates).where(Group.id == group.id).execute()
    for name, value in updates.items():
        setattr(group, name, value)
    group.last_modified = now
    group.version += 1  # exact: the row is locked (PostgreSQL) or the write lock is held (SQLite)
    return now
