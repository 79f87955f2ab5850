"""Users: create (or revive), read, replace and soft delete, with the R-DIR rules; no Flask here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import peewee

from shared.catalogue import Column
from shared.db import Prepared, column_slots, slot
from shared.errors import Problem
from shared.resource_types import USER
from shared.schemas.common import utcnow
from shared.schemas.users import UserWriteSchema

from . import apple_id_assignment, audit, changes, invitations, outcomes, provisioning_settings, rules, user_names
from .audit import SCIM, Actor
from .models import Group, Membership, User, by_lock, db
from .tenants import custom_attribute_names, ensure_tenant, ldap_attribute_names

# Attributes kept in columns (indexed or always read), as the catalogue says; everything else lives in `data`.
_WRITE_SCHEMA = UserWriteSchema()
# userName first: outcomes list what was stored in this order.
_COLUMNS = {a.name: a.stored.name for a in sorted(USER.top_level(), key=lambda a: not a.required)
            if isinstance(a.stored, Column) and a.text and not a.read_only}
_DATA_KEYS = (*(k for k in rules.SIMPLE if k not in _COLUMNS), *rules.COMPLEX, *rules.MULTI, "custom")


def not_found(user_id: str) -> Problem:
    return Problem(404, f"There is no user {user_id[:64]} in this tenant (or it was deleted from Entra ID).",
                   code="not_found")


_taken = user_names.taken


_LIVE = by_lock(lambda: User.select().where(User.id == slot("id"), User.tenant == slot("tenant"),
                                            User.deleted_at.is_null(), User.source == "scim").limit(1))
# Every column of a new user but the Managed Apple ID, which apple_id_assignment.assign sets afterwards.
_INSERTED = ("id", "tenant", "user_name", "user_name_key", "external_id", "display_name", "active", "source",
             "created", "last_modified", "version", "data")
_INSERT = Prepared(lambda: User.insert(column_slots(User, _INSERTED)))
_BY_NAME = user_names.BY_NAME
# A user's whole stored form replaced (PUT and PATCH), built once on first use: every column _columns gives.
_UPDATE = Prepared(lambda: User.update({**column_slots(User, (*_columns({"userName": "-"}), "last_modified")),
                                        User.version: User.version + 1}).where(User.id == slot("id")))
_NAME = Prepared(lambda: User.select(User.user_name).where(User.id == slot("id"), User.tenant == slot("tenant")))


def _live(tenant: str, user_id: str, *, lock: bool = False) -> User:
    """A user as SCIM sees it: provisioned (or taken over, R-DIR-8) and not deleted from Entra (R-DIR-4)."""
    user = _LIVE[lock].first(User, id=user_id, tenant=tenant)
    if user is None:
        raise not_found(user_id)
    return user


def _custom(tenant: str, write: Mapping[str, Any], *, sync: bool = True) -> tuple[dict[str, Any], list[dict]]:
    """The custom values a write may store (R-DIR-11), and what it may not: undefined names, and for a sync
    write the LDAP-typed ones, which SCIM does not update (seed 001, LDAP migration notes)."""
    custom = write.get("custom") or {}
    if not custom:
        return {}, []
    defined = custom_attribute_names(tenant)
    ldap = ldap_attribute_names(tenant) if sync else set()
    writable = {key: name for key, name in defined.items() if name not in ldap}
    kept, dropped = rules.split_custom(custom, writable)
    for item in dropped:
        name = defined.get(item["attribute"].rsplit(":", 1)[-1].lower())
        if name in ldap:
            item.update(reason="read_only", detail=f"The custom attribute '{name}' is an LDAP attribute: SCIM does "
                        "not update it. Map the value to an IdP custom attribute instead.")
    return kept, dropped


def _with_ldap_values(tenant: str, stored: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """A sync write keeps the stored values of LDAP-typed custom attributes, whatever it sends."""
    ldap = ldap_attribute_names(tenant)
    kept = {k: v for k, v in (stored.get("custom") or {}).items() if k in ldap}
    return {**user, "custom": {**(user.get("custom") or {}), **kept}} if kept else dict(user)


def _columns(user: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a user (write shape, contract names) as column values, the same keys for every user."""
    stored = rules.clean({k: v for k, v in user.items() if k != "active"}) or {}
    return {
        "user_name": stored["userName"],
        "user_name_key": rules.fold(stored["userName"]),
        "external_id": stored.get("externalId"),
        "display_name": stored.get("displayName"),
        "active": bool(user.get("active", True)),
        "data": {k: stored[k] for k in _DATA_KEYS if k in stored},
    }


def _write_shape(user: User) -> dict[str, Any]:
    shape = {"userName": user.user_name, "externalId": user.external_id, "displayName": user.display_name,
             "active": user.active}
    return {**shape, **(user.data or {})}


def _check(user: Mapping[str, Any]) -> None:
    rules.require_email(user)
    rules.require_name(user)
    rules.check_external_id(user)


def view(user: User, groups: Sequence[Mapping[str, Any]] = (), dropped: Sequence[Mapping] | None = None
         ) -> dict[str, Any]:
    """The contract's User (shared.schemas.users.UserSchema) for a stored user."""
    out: dict[str, Any] = {"id": user.id, "userName": user.user_name, "active": user.active}
    if user.external_id is not None:
        out["externalId"] = user.external_id
    if user.display_name is not None:
        out["displayName"] = user.display_name
    out.update(user.data or {})
    if user.managed_apple_id is not None:
        out["managedAppleId"] = user.managed_apple_id  # R-DIR-12, read-only
    out.update(source=user.source, groups=list(groups), created=user.created, lastModified=user.last_modified,
               version=user.version)
    if dropped is not None:
        out["dropped"] = list(dropped)
    return out


def _groups_query(members: Any) -> Any:
    return (Membership.select(Membership.member, Group.id, Group.display_name)
            .join(Group, on=(Membership.group == Group.id))
            .where(members).order_by(Group.display_name_key))


# The groups of one user: every GET, PUT and PATCH answer asks for them.
_GROUPS_OF_ONE = Prepared(lambda: _groups_query(Membership.member == slot("id")))


def groups_of(user_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """The groups of each user (read-only `groups`), in one query."""
    out: dict[str, list[dict[str, str]]] = {uid: [] for uid in user_ids}
    if len(user_ids) == 1:
        rows = _GROUPS_OF_ONE.rows(db, id=user_ids[0])
    else:
        rows = _groups_query(Membership.member.in_(list(user_ids))).tuples() if user_ids else []
    for member, group_id, display in rows:
        out[member].append({"value": group_id, "display": display})
    return out


def views(users: Sequence[User]) -> list[dict[str, Any]]:
    groups = groups_of([u.id for u in users])
    return [view(u, groups[u.id]) for u in users]


def get_user(tenant: str, user_id: str) -> dict[str, Any]:
    user = _live(tenant, user_id)
    return view(user, groups_of([user.id])[user.id])


def _sent_name(write: Mapping[str, Any]) -> str | None:
    name = write.get("userName")
    return name if isinstance(name, str) and name.strip() else None


def _stored_name(tenant: str, user_id: str) -> str | None:
    rows = _NAME.rows(db, id=user_id, tenant=tenant)
    return rows[0][0] if rows else None


def create_user(tenant: str, write: Mapping[str, Any], actor: Actor = SCIM) -> dict[str, Any]:
    """Create a user, or revive the one deleted from Entra with that userName: Entra re-creates rather
    than restores, so the same id comes back with the new data (docs/internal-api.md). Refused whole, it
    leaves a refused sync outcome (R-NOT-2)."""
    with outcomes.refusals(tenant, actor, "POST /Users", None, _sent_name(write)):
        return _create_user(tenant, write, actor)


def _create_user(tenant: str, write: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    rules.refuse_inactive_create(write)  # R-DIR-3
    if rules.is_blank(write.get("userName")):
        raise rules.invalid("userName", "userName is blank.")
    custom, dropped = _custom(tenant, write)
    dropped = [*write.get("dropped", []), *dropped]
    user = {**write, "custom": custom}
    _check(user)  # R-DIR-1, R-DIR-2
    columns = _columns(user)
    now = utcnow()
    try:
        with db.atomic():
            ensure_tenant(tenant, now)
            row = _BY_NAME.first(User, tenant=tenant, key=columns["user_name_key"])
            if row is not None and row.deleted_at is None and row.source == "scim":
                raise _taken(write["userName"])
            if row is None:  # nobody holds the name: the user deleted from Entra that last released it, if any
                row = user_names.released_holder(tenant, columns["user_name_key"])
            if row is None:
                row = User(id=uuid.uuid4().hex, tenant=tenant, source="scim", created=now, last_modified=now,
                           version=1, **columns)
                _INSERT.execute(db, **{name: row.__data__[name] for name in _INSERTED})  # tenant as its id
                groups: list[dict[str, str]] = []
                events = [audit.event("user.created", audit.USER, row.id, audit.diff({}, _write_shape(row)))]
            else:  # deleted from Entra, or a Local/LDAP user taken over (R-DIR-8)
                before, source = {**_write_shape(row), "deleted": row.deleted_at is not None}, row.source
                columns = _columns(_with_ldap_values(tenant, _write_shape(row), user))
                # The row is locked (or the transaction holds SQLite's write lock): version is exact.
                User.update(deleted_at=None, source="scim", last_modified=now, version=User.version + 1,
                            **columns).where(User.id == row.id).execute()
                _apply(row, columns, now)
                row.deleted_at, row.source = None, "scim"
                groups = groups_of([row.id])[row.id]
                events = [_revived(row, before, source)]
            dropped = [*dropped, *_imported(tenant, row, events[0], now)]
            _record(tenant, now, actor, "POST /Users", row, events, dropped)
    except peewee.IntegrityError:
        # A concurrent create of the same userName (any case) won the unique (tenant, user_name_key) index.
        raise _taken(write["userName"]) from None
    return view(row, groups, dropped)


def _imported(tenant: str, row: User, event: dict[str, Any], now: Any) -> list[dict[str, Any]]:
    """R-DIR-12 for a user created (or revived, or taken over) from Entra, inside its transaction: its
    Managed Apple ID (a conflict comes back as dropped) and, with auto-invite on, its invitation, recorded
    once per user and sent after commit (invitations.deliver_invitations)."""
    settings = provisioning_settings.load(tenant)
    shape = _write_shape(row)
    changes, dropped = apple_id_assignment.assign(row, shape, settings.apple_id)
    event["changes"].update(changes)
    if settings.auto_invite and row.active:
        invitations.record(tenant, row.id, shape, now)
    return dropped


def _revived(row: User, before: Mapping[str, Any], source: str) -> dict[str, Any]:
    """R-DIR-13: a revive is logged as a create; a user that came from another source is taken over (R-DIR-8)."""
    after: dict[str, Any] = {**_write_shape(row), "deleted": False}
    kind = "user.created"
    if source != "scim":
        kind = "user.takeover"
        before, after = {**before, "source": source}, {**after, "source": "scim"}
    return audit.event(kind, audit.USER, row.id, audit.diff(before, after))


def replace_user(tenant: str, user_id: str, write: Mapping[str, Any], if_match: set[int] | None = None,
                 actor: Actor = SCIM) -> dict[str, Any]:
    """PUT: the whole user. R-DIR-7: blank keeps the stored value, left out removes it. A new userName held
    by a user deleted from Entra is released by that user (user_names.claim). Refused whole, it leaves a
    refused sync outcome (R-NOT-2)."""
    name = _sent_name(write) or (lambda: _stored_name(tenant, user_id))
    with outcomes.refusals(tenant, actor, "PUT /Users", user_id, name):
        return _replace_user(tenant, user_id, write, if_match, actor)


def change_user(tenant: str, user_id: str, change: Mapping[str, Any], if_match: set[int] | None = None,
                actor: Actor = SCIM) -> dict[str, Any]:
    """PATCH in one call: the operations applied to the stored user under its lock (changes.apply, where a
    blank keeps the old value), then stored exactly as a PUT of the result would be. Refused whole, it
    leaves a refused sync outcome (R-NOT-2)."""
    with outcomes.refusals(tenant, actor, "PATCH /Users", user_id, lambda: _stored_name(tenant, user_id)):
        return _replace_user(tenant, user_id, {"dropped": change.get("dropped", [])}, if_match, actor,
                             "PATCH /Users", change["operations"])


def _valid_write(write: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    """The result of a change holds the contract's types: a title is a string, emails a list of objects. Only
    what the change altered is checked (partially: a missing required one is the rules' to refuse): the rest
    is what was stored, checked when it was written, and checking it all was 6% of a PATCH's CPU."""
    altered = {k: v for k, v in write.items() if stored.get(k) != v}
    errors = _WRITE_SCHEMA.validate(altered, partial=True) if altered else None
    if errors:
        fields = ", ".join(sorted(_error_paths(errors)))
        raise Problem(400, f"The change leaves a value of the wrong type in {fields}: send a text value for a "
                           "text attribute and objects for multi-valued ones.", code="invalid_value",
                      attribute=fields.split(", ")[0])


def _error_paths(messages: Any, prefix: str = "") -> list[str]:
    if not isinstance(messages, Mapping):
        return [prefix]
    out: list[str] = []
    for key, sub in messages.items():
        label = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
        out.extend(_error_paths(sub, label))
    return out


def _replace_user(tenant: str, user_id: str, write: Mapping[str, Any], if_match: set[int] | None,
                  actor: Actor, operation: str = "PUT /Users",
                  operations: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The stored user replaced by `write`; with `operations` (a PATCH), by the stored user with them applied,
    read under the same lock."""
    try:
        with db.atomic():
            row = _live(tenant, user_id, lock=True)
            rules.check_version(row.version, if_match)
            if operations is not None:
                stored = _write_shape(row)
                write = {**changes.apply(stored, operations), "dropped": write.get("dropped", [])}
                _valid_write(write, stored)
            custom, dropped = _custom(tenant, write)
            dropped = [*write.get("dropped", []), *dropped]
            merged = _with_ldap_values(tenant, _write_shape(row),
                                       rules.merge_replace(_write_shape(row), {**write, "custom": custom}))
            _check(merged)  # R-DIR-1 and R-DIR-2 hold for the result, not only for what was sent
            columns = _columns(merged)
            now = utcnow()
            before = _write_shape(row)
            released = []
            if columns["user_name_key"] != row.user_name_key:  # a rename: the name's holder may release it
                released = user_names.claim(tenant, columns["user_name_key"], row.id, now)
            changed = any(getattr(row, name) != value for name, value in columns.items())
            if changed:
                _UPDATE.execute(db, id=row.id, last_modified=now, **columns)
                _apply(row, columns, now)
            # R-DIR-12: the Managed Apple ID follows the stored user; a conflict is dropped, not overwritten.
            apple_settings = provisioning_settings.load(tenant).apple_id
            apple, conflicts = apple_id_assignment.assign(row, _write_shape(row), apple_settings)
            dropped = [*dropped, *conflicts]
            if apple and not changed:  # the ID alone changed: still a change of the user (version, log)
                User.update(last_modified=now, version=User.version + 1).where(User.id == row.id).execute()
                _apply(row, {}, now)
            events = [*released, *_update_events(row.id, {**audit.diff(before, _write_shape(row)), **apple})]
            _record(tenant, now, actor, operation, row, events, dropped)
    except peewee.IntegrityError:
        raise _taken(write["userName"]) from None
    return view(row, groups_of([row.id])[row.id], dropped)


def _update_events(user_id: str, changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A change of `active` is its own event (user.disabled / user.enabled); the rest is user.updated."""
    events = []
    if "active" in changes:
        kind = "user.enabled" if changes["active"]["after"] else "user.disabled"
        events.append(audit.event(kind, audit.USER, user_id, {"active": changes["active"]}))
    rest = {k: v for k, v in changes.items() if k != "active"}
    if rest:
        events.append(audit.event("user.updated", audit.USER, user_id, rest))
    return events


def delete_user(tenant: str, user_id: str, if_match: set[int] | None = None, actor: Actor = SCIM) -> None:
    """R-DIR-4: a delete from Entra disables the user and hides it from SCIM; admins still see it."""
    with db.atomic():
        row = _live(tenant, user_id, lock=True)
        rules.check_version(row.version, if_match)
        now = utcnow()
        User.update(deleted_at=now, active=False, last_modified=now, version=User.version + 1) \
            .where(User.id == row.id).execute()
        changes = audit.diff({"active": row.active, "deleted": False}, {"active": False, "deleted": True})
        _record(tenant, now, actor, "DELETE /Users", row, [audit.event("user.deleted", audit.USER, row.id, changes)],
                [], stored=False)


def _record(tenant: str, now: Any, actor: Actor, operation: str, row: User, events: Sequence[Mapping[str, Any]],
            dropped: Sequence[Mapping[str, Any]], *, stored: bool = True) -> None:
    """The audit rows and the sync outcome of a write, inside its transaction (architecture rule 4)."""
    audit.record(tenant, now, actor, events)
    outcomes.record(tenant, now, actor, operation, row.id, row.user_name, stored_names(row) if stored else [],
                    dropped)


def stored_names(row: User) -> list[str]:
    """The attributes a user has stored, custom ones as `custom.<name>` (a sync outcome's `stored`)."""
    shape = _write_shape(row)  # in contract order: JSONB on PostgreSQL does not keep the key order of `data`
    names = [k for k in (*_COLUMNS, "active", *_DATA_KEYS) if k != "custom" and shape.get(k) is not None]
    return [*names, *(f"custom.{name}" for name in sorted(shape.get("custom") or {}, key=str.lower))]


def _apply(row: User, columns: Mapping[str, Any], now: Any) -> None:
    for name, value in columns.items():
        setattr(row, name, value)
    row.last_modified = now
    row.version += 1


def create_from_source(tenant: str, write: Mapping[str, Any], source: str, actor: Actor) -> dict[str, Any]:
    """A user an admin adds from another source (Local, LDAP, Entra ID User Source), for SCIM to take
    over later (R-DIR-8) or for the clean-up after a migration (R-DIR-14). Not a sync write: logged, but
    no sync outcome; the R-DIR-1/2 rules are for provisioned users."""
    if rules.is_blank(write.get("userName")):
        raise rules.invalid("userName", "userName is blank.")
    custom, _ = _custom(tenant, write, sync=False)
    columns = _columns({**write, "custom": custom})
    now = utcnow()
    try:
        with db.atomic():
            ensure_tenant(tenant, now)
            row = User(id=uuid.uuid4().hex, tenant=tenant, source=source, created=now, last_modified=now,
                       version=1, **columns)
            row.save(force_insert=True)
            created = audit.diff({}, {**_write_shape(row), "source": source})
            audit.record(tenant, now, actor, [audit.event("user.created", audit.USER, row.id, created)])
    except peewee.IntegrityError:
        raise _taken(write["userName"]) from None
    return view(row)
