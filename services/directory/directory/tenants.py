"""Tenants as the directory sees them, and their custom attribute definitions (R-DIR-11)."""

from __future__ import annotations

import datetime as dt
import uuid

import peewee

from shared.catalogue import is_custom_name
from shared.db import Prepared, slot
from shared.errors import Problem
from shared.schemas.common import utcnow

from .models import CustomAttribute, Group, Tenant, db
from .rules import fold

_ENSURE = Prepared(lambda: Tenant.insert(id=slot("id"), created_at=slot("now", Tenant.created_at))
                   .on_conflict_ignore())


# The tenant's built-in "All Users" group (R-DIR-5: deleting a provisioned group leaves its last-group members
# there). Not SCIM's: its source keeps it out of every SCIM read and count (queries._scim_rows, migration 5).
# Its members are not rows: every user of the tenant is one (groups.member_page), so it costs nothing to keep
# however large the tenant grows.
ALL_USERS, BUILTIN = "All Users", "builtin"
# The folded name, then ASCII capitals, which no folded name holds (fold leaves none): the unique index
# never pits it against a group that had the name before the group existed (migration 6); groups.py refuses
# the name to every new or renamed group instead.
ALL_USERS_KEY = f"{fold(ALL_USERS)} BUILTIN"
_ALL_USERS = Prepared(lambda: Group.insert(
    id=slot("id"), tenant=slot("tenant"), display_name=ALL_USERS, display_name_key=ALL_USERS_KEY, source=BUILTIN,
    created=slot("now", Group.created), last_modified=slot("now", Group.last_modified), version=1,
).on_conflict_ignore())

_EXISTS = Prepared(lambda: Tenant.select(Tenant.id).where(Tenant.id == slot("id")))


def ensure_tenant(tenant: str, now: dt.datetime) -> None:
    """Create the tenant, with its "All Users" group, on first write; call inside the write's transaction.
    Read first: on PostgreSQL an INSERT … ON CONFLICT of an existing tenant waits for every open write that
    changed its row (the counts of migration 5), where a plain read waits for nothing."""
    if not _EXISTS.rows(db, id=tenant):
        _ENSURE.execute(db, id=tenant, now=now)
        # A concurrent first write of the same tenant has made it already: the unique key ignores this one.
        _ALL_USERS.execute(db, id=uuid.uuid4().hex, tenant=tenant, now=now)


def define_custom_attribute(tenant: str, name: str, kind: str = "idp") -> str:
    """R-DIR-11: an admin adds a custom attribute by name (e.g. custAttr1); 409 when it exists in any case."""
    if not is_custom_name(name):
        raise Problem(400, "A custom attribute name is a letter then up to 63 letters, digits, '_' or '-'.",
                      code="invalid_value", attribute="name")
    now = utcnow()
    try:
        with db.atomic():
            ensure_tenant(tenant, now)
            CustomAttribute.create(id=uuid.uuid4().hex, tenant=tenant, name=name, name_key=name.lower(),
                                   type=kind, created=now)
    except peewee.IntegrityError:
        raise Problem(409, f"The custom attribute '{name}' already exists.", code="uniqueness",
                      attribute="name") from None
    return name


# Read on every user write: built once (peewee's SQL building cost more than the lookups themselves).
_NAMES = Prepared(lambda: CustomAttribute.select(CustomAttribute.name).where(CustomAttribute.tenant == slot("tenant"))
                  .order_by(CustomAttribute.name_key))
_LDAP_NAMES = Prepared(lambda: CustomAttribute.select(CustomAttribute.name)
                       .where(CustomAttribute.tenant == slot("tenant"), CustomAttribute.type == "ldap"))


def custom_attribute_names(tenant: str) -> dict[str, str]:
    """The tenant's custom attributes: lowered name → name as defined."""
    return {name.lower(): name for (name,) in _NAMES.rows(db, tenant=tenant)}


def ldap_attribute_names(tenant: str) -> set[str]:
    """The tenant's LDAP-typed custom attributes (as defined): SCIM never writes them (seed 001, LDAP
    migration notes), and their values stay what LDAP left after a takeover."""
    return {name for (name,) in _LDAP_NAMES.rows(db, tenant=tenant)}
