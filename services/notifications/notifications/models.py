"""The notifications service's tables: tenants, outcomes seen (dedupe), notifications, affected subjects, webhooks."""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db


class Tenant(BaseModel):
    """Tenants notifications were raised for."""

    id = CharField(primary_key=True, max_length=32)
    created_at = DateTimeField()


class OutcomeSeen(BaseModel):
    """Each sync outcome recorded once: a redelivered (tenant, outcome id) changes nothing (R-NOT-4)."""

    id = AutoField()
    tenant = CharField(max_length=32)
    outcome_id = BigIntegerField()
    received_at = DateTimeField()

    class Meta:
        table_name = "outcomes_seen"
        indexes = ((("tenant", "outcome_id"), True),)


class Notification(BaseModel):
    """One cause per tenant and kind; repeats raise `count`. `live` is 1 while open or acknowledged and
    NULL once resolved, so the unique index allows one live notification per cause and any history."""

    id = AutoField()
    tenant = CharField(max_length=32)
    kind = CharField(max_length=40)
    cause_key = CharField(max_length=300)
    live = SmallIntegerField(null=True)
    severity = CharField(max_length=16)
    state = CharField(max_length=16)
    rank = SmallIntegerField()  # open 0, acknowledged 1, resolved 2: the page lists open ones first
    attribute = CharField(max_length=300, null=True)
    reason = CharField(max_length=64, null=True)
    message = TextField()
    fix = TextField()
    count = IntegerField(default=0)
    affected_count = IntegerField(default=0)
    first_seen = DateTimeField()
    last_seen = DateTimeField()
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = CharField(max_length=64, null=True)
    resolved_at = DateTimeField(null=True)
    recent_subjects = TextField(default="[]")  # JSON: the latest affected users and groups, bounded

    class Meta:
        table_name = "notifications"
        indexes = (
            (("tenant", "kind", "cause_key", "live"), True),
            (("tenant", "rank", "last_seen"), False),
        )


class Affected(BaseModel):
    """A subject (user or group) still affected by a live notification; none left resolves it."""

    id = AutoField()
    notification = ForeignKeyField(Notification, on_delete="CASCADE", column_name="notification_id")
    subject_key = CharField(max_length=300)

    class Meta:
        table_name = "affected"
        indexes = ((("notification", "subject_key"), True), (("subject_key",), False))


class Webhook(BaseModel):
    """Where a tenant's notifications are POSTed as they are raised and resolved, signed with `secret`."""

    tenant = CharField(primary_key=True, max_length=32)
    url = CharField(max_length=2000)
    secret = CharField(max_length=200)
    created_at = DateTimeField()


class RelayCursor(BaseModel):
    """How far this service has read each tenant's outbox in the directory (`after` of the next read)."""

    tenant = CharField(primary_key=True, max_length=32)
    after = BigIntegerField(default=0)
    updated_at = DateTimeField()

    class Meta:
        table_name = "relay_cursors"


MODELS = (Tenant, OutcomeSeen, Notification, Affected, Webhook, RelayCursor)
