"""The directory's tables: tenants, users, groups, memberships, custom attributes, audit and sync outcomes."""

from __future__ import annotations

from collections.abc import Callable

from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    ModelSelect,
    TextField,
)

from shared.db import Prepared, is_postgres

db = DatabaseProxy()


def locked(query: ModelSelect) -> ModelSelect:
    """Lock the selected row until commit. SQLite needs nothing: its IMMEDIATE transactions already
    serialise writers. NO KEY UPDATE does not block the foreign-key checks of membership inserts."""
    return query.for_update("FOR NO KEY UPDATE") if is_postgres(db.obj) else query


def by_lock(build: Callable[[], ModelSelect]) -> dict[bool, Prepared]:
    """The select built once as it is, and once locked(): {False: plain, True: locked}."""
    return {False: Prepared(build), True: Prepared(lambda: locked(build()))}


class BaseModel(Model):
    class Meta:
        database = db


class Tenant(BaseModel):
    """Tenants the directory has seen; created on first use by an authenticated caller."""

    id = CharField(primary_key=True, max_length=32)
    created_at = DateTimeField()
    # What SCIM sees of the tenant, kept exact by triggers (migration 5): a list page's totalResults.
    scim_users = BigIntegerField(default=0)
    scim_groups = BigIntegerField(default=0)


class User(BaseModel):
    """A user; `data` holds every attribute that is not a column (name, emails, enterprise, custom…)."""

    id = CharField(primary_key=True, max_length=32)
    # No index of its own (here and below): every composite index of the table starts with tenant_id.
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    user_name = CharField(max_length=256)
    # userName is caseExact false (RFC 7643 §4.1.1): uniqueness and filters go through this folded copy.
    user_name_key = TextField()
    external_id = TextField(null=True)
    display_name = TextField(null=True)
    active = BooleanField(default=True)
    source = CharField(max_length=32, default="scim")
    deleted_at = DateTimeField(null=True)  # R-DIR-4: deleted from Entra, kept for admins
    created = DateTimeField()
    last_modified = DateTimeField()
    version = IntegerField(default=1)
    # peewee's JSONField is TEXT on SQLite and JSONB on PostgreSQL: filters use ->> / #>> in SQL.
    data = JSONField(default=dict)
    # R-DIR-12: a column, not `data`, so that the unique index below makes the database refuse a second
    # holder even when two writers derive the same ID at once (NULLs never collide, on either engine).
    managed_apple_id = TextField(null=True)

    class Meta:
        table_name = "users"
        indexes = (
            (("tenant", "user_name_key"), True),
            (("tenant", "external_id"), False),
            (("tenant", "created"), False),
            (("tenant", "last_modified"), False),
            (("tenant", "managed_apple_id"), True),
        )


class Group(BaseModel):
    """A group; deleting it deletes the row and its memberships (no soft delete for groups)."""

    id = CharField(primary_key=True, max_length=32)
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    display_name = CharField(max_length=256)
    display_name_key = TextField()  # R-DIR-9: one group per displayName, whatever its case
    external_id = TextField(null=True)
    source = CharField(max_length=32, default="scim")
    created = DateTimeField()
    last_modified = DateTimeField()
    version = IntegerField(default=1)

    class Meta:
        table_name = "groups"
        indexes = (
            (("tenant", "display_name_key"), True),
            (("tenant", "external_id"), False),
            (("tenant", "created"), False),
            (("tenant", "last_modified"), False),
        )


class Membership(BaseModel):
    """One user in one group; changed per member, never as a whole list (entra-scim.md, Groups)."""

    group = ForeignKeyField(Group, column_name="group_id", on_delete="CASCADE", index=False)  # first in the key
    member = ForeignKeyField(User, column_name="member_id", on_delete="CASCADE", index=True)
    tenant = CharField(max_length=32)

    class Meta:
        table_name = "memberships"
        primary_key = CompositeKey("group", "member")


class CustomAttribute(BaseModel):
    """A custom attribute an admin defined for the tenant (R-DIR-11); only defined ones are stored."""

    id = CharField(primary_key=True, max_length=32)
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    name = CharField(max_length=64)
    name_key = CharField(max_length=64)  # SCIM attribute names are case-insensitive (RFC 7643 §2.1)
    type = CharField(max_length=16, default="idp")
    created = DateTimeField()

    class Meta:
        table_name = "custom_attributes"
        indexes = ((("tenant", "name_key"), True),)


class AuditEvent(BaseModel):
    """R-DIR-13: one user, group or membership event, written in the transaction of the change."""

    id = BigAutoField()  # newest first by id: the keyset of the audit listing
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    time = DateTimeField()
    actor = CharField(max_length=128)  # "scim", "scim:<token id>", later "admin:<key id>"
    source = CharField(max_length=32)  # scim, admin, migration, entra_user_source (migration 7)
    kind = CharField(max_length=32)  # shared.schemas.audit.EVENT_KINDS
    subject_type = CharField(max_length=16)  # user or group
    subject_id = CharField(max_length=64)  # not a foreign key: the log outlives a deleted group
    member_id = CharField(max_length=64, null=True)  # the user of a membership event (subject: the group)
    changes = JSONField(default=dict)  # {attribute: {"before": …, "after": …}}, changed attributes only

    class Meta:
        table_name = "audit_events"
        indexes = (
            (("tenant", "id"), False),
            (("tenant", "kind", "id"), False),
            (("tenant", "subject_id", "id"), False),
            (("tenant", "member_id", "id"), False),
        )


class SyncOutcome(BaseModel):
    """What a sync write stored and dropped (R-NOT-2/3): the outbox the notifications relay reads by id."""

    # Ids grow in commit order within a tenant (outcomes.record), so `after=<id>` never skips a row.
    id = BigAutoField()
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    time = DateTimeField()
    operation = CharField(max_length=64)  # "POST /Users", "PATCH /Groups", …
    subject_id = CharField(max_length=64)
    subject_name = TextField(null=True)  # userName or displayName: "to whom" without a call back (R-NOT-4)
    status = CharField(max_length=16)  # ok or partial
    stored = JSONField(default=list)  # attribute names
    dropped = JSONField(default=list)  # [{"attribute", "reason", "detail"}]

    class Meta:
        table_name = "sync_outcomes"
        indexes = ((("tenant", "id"), False),)


class TenantSettings(BaseModel):
    """R-DIR-12: the tenant's settings; no row means the defaults (no auto-invite, Managed Apple ID off)."""

    tenant = ForeignKeyField(Tenant, column_name="tenant_id", primary_key=True, on_delete="CASCADE")
    auto_invite = BooleanField(default=False)
    apple_id = JSONField(default=dict)  # apple_id_rules.AppleIdSettings.as_dict()
    updated_at = DateTimeField()
    updated_by = CharField(max_length=128)

    class Meta:
        table_name = "tenant_settings"


class Invitation(BaseModel):
    """R-DIR-12: the invitation of one user, recorded once (unique per user) in the write that created the
    user, sent after commit; `next_attempt_at` is both the claim of a sender and the retry back-off."""

    id = BigAutoField()
    tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
    user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE", index=False)
    email = TextField()
    created = DateTimeField()
    sent_at = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    next_attempt_at = DateTimeField(null=True)

    class Meta:
        table_name = "invitations"
        indexes = (
            # Once per user, ever. user_id first: it also serves the ON DELETE CASCADE from users (a user id
            # is one tenant's, so (user, tenant) is as unique as (tenant, user)).
            (("user", "tenant"), True),
            (("tenant", "sent_at", "id"), False),  # the unsent ones of a tenant, oldest first
        )


MODELS = (Tenant, User, Group, Membership, CustomAttribute, AuditEvent, SyncOutcome, TenantSettings, Invitation)
