"""The token service's tables: tenants, SCIM tokens (hashes only), admin keys, audit events."""

from __future__ import annotations

from peewee import (
    AutoField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    Model,
    SmallIntegerField,
    TextField,
)

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db


class Tenant(BaseModel):
    id = CharField(primary_key=True, max_length=32)
    created_at = DateTimeField()
    created_by = CharField(max_length=64)


class Token(BaseModel):
    id = CharField(primary_key=True, max_length=32)
    tenant = ForeignKeyField(Tenant, backref="tokens", on_delete="CASCADE", column_name="tenant_id")
    # Slots 1 and 2 with a unique (tenant, slot) index enforce R-TOK-3 under concurrency too.
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


class AdminKey(BaseModel):
    id = CharField(primary_key=True, max_length=32)
    tenant = ForeignKeyField(Tenant, backref="admin_keys", on_delete="CASCADE", column_name="tenant_id")
    name = CharField(max_length=100)
    key_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField()
    created_by = CharField(max_length=64)
    revoked_at = DateTimeField(null=True)


class AuditEvent(BaseModel):
    id = AutoField()
    at = DateTimeField()
    tenant = CharField(max_length=32, index=True)
    actor = CharField(max_length=64)
    action = CharField(max_length=40)
    token_id = CharField(max_length=32, null=True)
    detail = TextField(default="{}")


MODELS = (Tenant, Token, AdminKey, AuditEvent)
