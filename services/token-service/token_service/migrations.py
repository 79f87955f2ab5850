"""Schema versions of the token service, applied in order at start-up."""

from __future__ import annotations

import peewee
from peewee import (
    AutoField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    Model,
    SmallIntegerField,
    TextField,
)

from shared.migrations import Step, create_frozen


def _v1_initial(db: peewee.Database) -> None:
    # A frozen copy of the v1 tables: later model changes must not change what v1 created.
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()
        created_by = CharField(max_length=64)

    class Token(Model):
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE", column_name="tenant_id")
        slot = SmallIntegerField()
        secret_hash = CharField(max_length=64, unique=True)
        state = CharField(max_length=16)
        created_at = DateTimeField()
        created_by = CharField(max_length=64)
        renewed_at = DateTimeField(null=True)
        expires_at = DateTimeField(null=True)
        lifetime_days = SmallIntegerField(null=True)
        last_used_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("tenant", "slot"), True),)

    class AdminKey(Model):
        id = CharField(primary_key=True, max_length=32)
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE", column_name="tenant_id")
        name = CharField(max_length=100)
        key_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        created_by = CharField(max_length=64)
        revoked_at = DateTimeField(null=True)

    class AuditEvent(Model):
        id = AutoField()
        at = DateTimeField()
        tenant = CharField(max_length=32, index=True)
        actor = CharField(max_length=64)
        action = CharField(max_length=40)
        token_id = CharField(max_length=32, null=True)
        detail = TextField(default="{}")

    create_frozen(db, Tenant, Token, AdminKey, AuditEvent)


STEPS = (Step(1, "initial", _v1_initial),)
