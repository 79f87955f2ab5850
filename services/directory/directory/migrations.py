"""Schema versions of the directory, applied in order at start-up."""

import datetime as dt
import uuid

import peewee
from peewee import (
    BigAutoField,
    BooleanField,
    CharField,
    CompositeKey,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    TextField,
)

from shared.db import is_postgres
from shared.migrations import Step, create_frozen


def _v1_initial(db: peewee.Database) -> None:
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    create_frozen(db, Tenant)


def _v2_users_groups(db: peewee.Database) -> None:
    # Frozen copies of the v2 tables: later model changes must not change what v2 created.
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    class User(Model):
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        user_name = CharField(max_length=256)
        user_name_key = TextField()
        external_id = TextField(null=True)
        display_name = TextField(null=True)
        active = BooleanField(default=True)
        source = CharField(max_length=32, default="scim")
        deleted_at = DateTimeField(null=True)
        created = DateTimeField()
        last_modified = DateTimeField()
        version = IntegerField(default=1)
        data = JSONField(default=dict)  # TEXT on SQLite, JSONB on PostgreSQL (the engine's 'JSON' type)

        class Meta:
            table_name = "users"
            indexes = (
                (("tenant", "user_name_key"), True),
                (("tenant", "external_id"), False),
                (("tenant", "created"), False),
                (("tenant", "last_modified"), False),
            )

    class Group(Model):
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        display_name = CharField(max_length=256)
        display_name_key = TextField()
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

    class Membership(Model):
        group = ForeignKeyField(Group, column_name="group_id", on_delete="CASCADE", index=False)
        member = ForeignKeyField(User, column_name="member_id", on_delete="CASCADE", index=True)
        tenant = CharField(max_length=32)

        class Meta:
            table_name = "memberships"
            primary_key = CompositeKey("group", "member")

    class CustomAttribute(Model):
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        name = CharField(max_length=64)
        name_key = CharField(max_length=64)
        type = CharField(max_length=16, default="idp")
        created = DateTimeField()

        class Meta:
            table_name = "custom_attributes"
            indexes = ((("tenant", "name_key"), True),)

    create_frozen(db, User, Group, Membership, CustomAttribute)


def _v3_audit_outcomes(db: peewee.Database) -> None:
    # Frozen copies of the v3 tables (R-DIR-13 audit log, R-NOT sync outcomes); no backfill: the log
    # starts with the first change after this step.
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    class AuditEvent(Model):
        id = BigAutoField()
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        time = DateTimeField()
        actor = CharField(max_length=128)
        source = CharField(max_length=16)
        kind = CharField(max_length=32)
        subject_type = CharField(max_length=16)
        subject_id = CharField(max_length=64)
        member_id = CharField(max_length=64, null=True)
        changes = JSONField(default=dict)

        class Meta:
            table_name = "audit_events"
            indexes = (
                (("tenant", "id"), False),
                (("tenant", "kind", "id"), False),
                (("tenant", "subject_id", "id"), False),
                (("tenant", "member_id", "id"), False),
            )

    class SyncOutcome(Model):
        id = BigAutoField()
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        time = DateTimeField()
        operation = CharField(max_length=64)
        subject_id = CharField(max_length=64)
        subject_name = TextField(null=True)
        status = CharField(max_length=16)
        stored = JSONField(default=list)
        dropped = JSONField(default=list)

        class Meta:
            table_name = "sync_outcomes"
            indexes = ((("tenant", "id"), False),)

    create_frozen(db, AuditEvent, SyncOutcome)


def _v4_settings_invitations_apple_id(db: peewee.Database) -> None:
    # Frozen copies of the v4 tables (R-DIR-12). Existing users get no Managed Apple ID (NULL): IDs are
    # derived on their next write once an admin turns the setting on.
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    class User(Model):
        id = CharField(primary_key=True, max_length=32)

        class Meta:
            table_name = "users"

    class TenantSettings(Model):
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", primary_key=True, on_delete="CASCADE")
        auto_invite = BooleanField(default=False)
        apple_id = JSONField(default=dict)
        updated_at = DateTimeField()
        updated_by = CharField(max_length=128)

        class Meta:
            table_name = "tenant_settings"

    class Invitation(Model):
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
                (("user", "tenant"), True),
                (("tenant", "sent_at", "id"), False),
            )

    # ADD COLUMN of a nullable column without a default: no table rewrite on either engine.
    db.execute_sql('ALTER TABLE "users" ADD COLUMN "managed_apple_id" TEXT')
    db.execute_sql('CREATE UNIQUE INDEX "users_tenant_id_managed_apple_id" '
                   'ON "users" ("tenant_id", "managed_apple_id")')
    create_frozen(db, TenantSettings, Invitation)


# What SCIM sees (queries._scim_rows): its own source and, for users, not deleted from Entra (R-DIR-4, 8, 9).
_VISIBLE = {"users": "{row}.source = 'scim' AND {row}.deleted_at IS NULL", "groups": "{row}.source = 'scim'"}


def _v5_scim_counts(db: peewee.Database) -> None:
    """Per-tenant counts of what SCIM sees, kept by triggers: a full list page's totalResults is one row
    read instead of a COUNT over the whole tenant (about a second at 1M users). Triggers, not code, so
    that every path that creates, deletes, takes over or revives a row (and bulk loads) keeps them exact."""
    kind = "BIGINT" if is_postgres(db) else "INTEGER"  # what peewee's BigIntegerField is on each engine
    for table, column in (("users", "scim_users"), ("groups", "scim_groups")):
        db.execute_sql(f'ALTER TABLE "tenant" ADD COLUMN "{column}" {kind} NOT NULL DEFAULT 0')
        where = _VISIBLE[table].format(row=f'"{table}"')
        db.execute_sql(f'UPDATE "tenant" SET "{column}" = (SELECT COUNT(*) FROM "{table}" '
                       f'WHERE "{table}".tenant_id = "tenant".id AND {where})')
        (_pg_count_triggers if is_postgres(db) else _sqlite_count_triggers)(db, table, column)


def _sqlite_count_triggers(db: peewee.Database, table: str, column: str) -> None:
    old, new = _VISIBLE[table].format(row="OLD"), _VISIBLE[table].format(row="NEW")
    bump = 'UPDATE "tenant" SET "{c}" = "{c}" {sign} 1 WHERE id = {row}.tenant_id;'.format
    db.execute_sql(f'CREATE TRIGGER "{table}_count_insert" AFTER INSERT ON "{table}" WHEN {new} '
                   f'BEGIN {bump(c=column, sign="+", row="NEW")} END')
    db.execute_sql(f'CREATE TRIGGER "{table}_count_delete" AFTER DELETE ON "{table}" WHEN {old} '
                   f'BEGIN {bump(c=column, sign="-", row="OLD")} END')
    db.execute_sql(f'CREATE TRIGGER "{table}_count_leave" AFTER UPDATE ON "{table}" WHEN ({old}) AND NOT ({new}) '
                   f'BEGIN {bump(c=column, sign="-", row="OLD")} END')
    db.execute_sql(f'CREATE TRIGGER "{table}_count_enter" AFTER UPDATE ON "{table}" WHEN ({new}) AND NOT ({old}) '
                   f'BEGIN {bump(c=column, sign="+", row="NEW")} END')


def _pg_count_triggers(db: peewee.Database, table: str, column: str) -> None:
    """Statement-level, over the transition tables: one UPDATE of a tenant row per statement, not per row.
    Per row, a bulk insert of N users updates one row N times in one transaction, and every update walks the
    chain of versions the ones before it left (seeding slowed to under 1,000 rows/s)."""
    seen = _VISIBLE[table].format(row="r")
    for event, sides in (("INSERT", (("new_rows", "+"),)), ("DELETE", (("old_rows", "-"),)),
                         ("UPDATE", (("new_rows", "+"), ("old_rows", "-")))):
        counted = " UNION ALL ".join(f"SELECT r.tenant_id, {sign}1 AS n FROM {rows} r WHERE {seen}"
                                     for rows, sign in sides)
        name = f"{table}_count_{event.lower()}"
        db.execute_sql(f"""
            CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- Tenants whose count is unchanged are not touched: a user update must not lock its tenant.
                UPDATE "tenant" t SET "{column}" = t."{column}" + d.n
                FROM (SELECT tenant_id, SUM(n) AS n FROM ({counted}) c GROUP BY tenant_id) d
                WHERE t.id = d.tenant_id AND d.n <> 0;
                RETURN NULL;
            END $$""")
        transition = " ".join(f"{'NEW' if rows == 'new_rows' else 'OLD'} TABLE AS {rows}" for rows, _ in sides)
        db.execute_sql(f'CREATE TRIGGER "{name}" AFTER {event} ON "{table}" REFERENCING {transition} '
                       f'FOR EACH STATEMENT EXECUTE FUNCTION "{name}"()')


def _v6_all_users(db: peewee.Database) -> None:
    """The built-in "All Users" group of each tenant (R-DIR-5), as tenants.ensure_tenant makes it for new
    ones. Its members are computed (every user of the tenant), so nothing else is written; its source keeps
    it out of SCIM and out of the counts of migration 5. A group that already has the name keeps it: the
    built-in group's key is the folded name then ASCII capitals, which no folded name holds."""
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)

    class Group(Model):  # the columns of v2, frozen
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        display_name = CharField(max_length=256)
        display_name_key = TextField()
        external_id = TextField(null=True)
        source = CharField(max_length=32, default="scim")
        created = DateTimeField()
        last_modified = DateTimeField()
        version = IntegerField(default=1)

        class Meta:
            table_name = "groups"

    with db.bind_ctx([Tenant, Group]):
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        tenants = [tenant_id for (tenant_id,) in Tenant.select(Tenant.id).tuples()]
        for part in peewee.chunked(tenants, 500):
            Group.insert_many([{"id": uuid.uuid4().hex, "tenant": t, "display_name": "All Users",
                                "display_name_key": "all users BUILTIN", "source": "builtin", "created": now,
                                "last_modified": now, "version": 1} for t in part]).on_conflict_ignore().execute()


def _v7_audit_source_length(db: peewee.Database) -> None:
    """An audit row's source names the writer kind, and the pull sync's, entra_user_source, is 17 characters:
    varchar(16) becomes varchar(32). On PostgreSQL a catalogue change (widening a varchar rewrites nothing).
    SQLite enforces no length but keeps the declared type, which it cannot alter: the table is rebuilt, once,
    rows copied with their ids so that the keyset of the log and its order stay as they were."""
    if is_postgres(db):
        db.execute_sql('ALTER TABLE "audit_events" ALTER COLUMN "source" TYPE VARCHAR(32)')
        return

    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)

    class AuditEvent(Model):  # v3's columns, source widened
        id = BigAutoField()
        tenant = ForeignKeyField(Tenant, column_name="tenant_id", on_delete="CASCADE", index=False)
        time = DateTimeField()
        actor = CharField(max_length=128)
        source = CharField(max_length=32)
        kind = CharField(max_length=32)
        subject_type = CharField(max_length=16)
        subject_id = CharField(max_length=64)
        member_id = CharField(max_length=64, null=True)
        changes = JSONField(default=dict)

        class Meta:
            table_name = "audit_events"
            indexes = (
                (("tenant", "id"), False),
                (("tenant", "kind", "id"), False),
                (("tenant", "subject_id", "id"), False),
                (("tenant", "member_id", "id"), False),
            )

    db.execute_sql('ALTER TABLE "audit_events" RENAME TO "audit_events_v3"')
    for index in db.get_indexes("audit_events_v3"):  # their names are the new table's too
        db.execute_sql(f'DROP INDEX "{index.name}"')
    create_frozen(db, AuditEvent)
    columns = ", ".join(f'"{field.column_name}"' for field in AuditEvent._meta.sorted_fields)
    db.execute_sql(f'INSERT INTO "audit_events" ({columns}) SELECT {columns} FROM "audit_events_v3"')
    db.execute_sql('DROP TABLE "audit_events_v3"')


STEPS = (
    Step(1, "initial", _v1_initial),
    Step(2, "users, groups, memberships, custom attributes", _v2_users_groups),
    Step(3, "audit events and sync outcomes", _v3_audit_outcomes),
    Step(4, "tenant settings, invitations, managed apple id", _v4_settings_invitations_apple_id),
    Step(5, "per-tenant counts of SCIM users and groups", _v5_scim_counts),
    Step(6, "the built-in All Users group of each tenant", _v6_all_users),
    Step(7, "audit sources up to 32 characters", _v7_audit_source_length),
)
