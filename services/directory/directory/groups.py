"""Groups: create, read, replace, patch by delta and delete (R-DIR-9, R-DIR-10); no Flask here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import peewee

from shared.errors import Problem
from shared.schemas.common import utcnow

from . import memberships, rules
from .models import Group, Membership, db, locked
from .tenants import ensure_tenant


def not_found(group_id: str) -> Problem:
    return Problem(404, f"There is no group {group_id[:64]} in this tenant.", code="not_found")


def _taken(display_name: str) -> Problem:
    return Problem(409, f"Another group already has the displayName '{display_name}' (compared without regard "
                        "to case; R-DIR-9).", code="uniqueness", attribute="displayName")


def _get(tenant: str, group_id: str, *, lock: bool = False) -> Group:
    query = Group.select().where(Group.id == group_id, Group.tenant == tenant)
    group = (locked(query) if lock else query).first()
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


def get_group(tenant: str, group_id: str, *, members: bool = True) -> dict[str, Any]:
    """One query without members: Entra's GET ?excludedAttributes=members must not pay for them."""
    group = _get(tenant, group_id)
    return view(group, memberships.members_of([group.id])[group.id] if members else None)


def _member_ids(write: Mapping[str, Any]) -> list[str]:
    return [m["value"] for m in write.get("members") or ()]


def _new_external_id(current: str | None, sent: str | None) -> str | None:
    # R-DIR-7: blank keeps the stored value; left out (null) removes it.
    return current if sent is not None and rules.is_blank(sent) else sent


def create_group(tenant: str, write: Mapping[str, Any]) -> dict[str, Any]:
    display = write["displayName"]
    if rules.is_blank(display):
        raise rules.invalid("displayName", "displayName is blank.")
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
            memberships.add(tenant, group.id, users)
    except peewee.IntegrityError:
        raise _taken(display) from None
    return view(group, memberships.members_of([group.id])[group.id], [*write.get("dropped", []), *dropped])


def replace_group(tenant: str, group_id: str, write: Mapping[str, Any], if_match: set[int] | None = None
                  ) -> dict[str, Any]:
    """PUT: the whole group; `members` becomes the membership, applied as a delta."""
    rules.check_external_id(write)
    try:
        with db.atomic():
            group = _get(tenant, group_id, lock=True)
            rules.check_version(group.version, if_match)
            display = group.display_name if rules.is_blank(write["displayName"]) else write["displayName"]
            updates = _changes(group, display, _new_external_id(group.external_id, write.get("externalId")))
            users, dropped = memberships.resolve(tenant, _member_ids(write))
            changed = memberships.replace(tenant, group.id, users)
            _bump(group, updates, changed)
    except peewee.IntegrityError:
        raise _taken(write["displayName"]) from None
    return view(group, memberships.members_of([group.id])[group.id], [*write.get("dropped", []), *dropped])


def patch_group(tenant: str, group_id: str, patch: Mapping[str, Any], if_match: set[int] | None = None
                ) -> dict[str, Any]:
    """PATCH as a delta: members are added and removed one by one, so concurrent PATCHes of one group
    never lose each other's changes. Order: replaceMembers, addMembers, removeMembers."""
    rules.check_external_id(patch)
    dropped: list[dict] = []
    try:
        with db.atomic():
            group = _get(tenant, group_id, lock=True)
            rules.check_version(group.version, if_match)
            sent_name = patch.get("displayName")
            display = group.display_name if sent_name is None or rules.is_blank(sent_name) else sent_name
            external = None if patch.get("removeExternalId") else group.external_id
            if not rules.is_blank(patch.get("externalId")):
                external = patch["externalId"]
            updates = _changes(group, display, external)
            changed = 0
            if patch.get("replaceMembers") is not None:
                users, drops = memberships.resolve(tenant, patch["replaceMembers"])
                changed += memberships.replace(tenant, group.id, users)
                dropped += drops
            if patch.get("addMembers"):
                users, drops = memberships.resolve(tenant, patch["addMembers"])
                changed += memberships.add(tenant, group.id, users)
                dropped += drops
            if patch.get("removeMembers"):
                changed += memberships.remove(group.id, patch["removeMembers"])
            _bump(group, updates, changed)
    except peewee.IntegrityError:
        raise _taken(patch.get("displayName") or "") from None
    return view(group, None, [*patch.get("dropped", []), *dropped])


def delete_group(tenant: str, group_id: str, if_match: set[int] | None = None) -> None:
    """A real delete of the group and its memberships; the member users stay."""
    with db.atomic():
        group = _get(tenant, group_id, lock=True)
        rules.check_version(group.version, if_match)
        Membership.delete().where(Membership.group == group.id).execute()
        Group.delete().where(Group.id == group.id).execute()


def _changes(group: Group, display: str, external: str | None) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if display != group.display_name:
        updates.update(display_name=display, display_name_key=rules.fold(display))
    if external != group.external_id:
        updates["external_id"] = external
    return updates


def _bump(group: Group, updates: Mapping[str, Any], membership_changes: int) -> None:
    """One version per change of the group, memberships included; version = version + 1 in SQL, so
    the database, not this process's copy, decides the number."""
    if not updates and not membership_changes:
        return
    now = utcnow()
    Group.update(version=Group.version + 1, last_modified=now, **updates).where(Group.id == group.id).execute()
    for name, value in updates.items():
        setattr(group, name, value)
    group.last_modified = now
    group.version += 1  # exact: the row is locked (PostgreSQL) or the write lock is held (SQLite)
