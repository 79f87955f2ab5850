"""Schema versions of the notifications, applied in order at start-up."""

import peewee
from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

from shared.migrations import Step, create_frozen


def _v1_initial(db: peewee.Database) -> None:
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    create_frozen(db, Tenant)


def _v2_notifications(db: peewee.Database) -> None:
    # A frozen copy of the v2 tables: later model changes must not change what v2 created.
    class OutcomeSeen(Model):
        id = AutoField()
        tenant = CharField(max_length=32)
        outcome_id = BigIntegerField()
        received_at = DateTimeField()

        class Meta:
            table_name = "outcomes_seen"
            indexes = ((("tenant", "outcome_id"), True),)

    class Notification(Model):
        id = AutoField()
        tenant = CharField(max_length=32)
        kind = CharField(max_length=40)
        cause_key = CharField(max_length=300)
        live = SmallIntegerField(null=True)
        severity = CharField(max_length=16)
        state = CharField(max_length=16)
        rank = SmallIntegerField()
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
        recent_subjects = TextField(default="[]")

        class Meta:
            table_name = "notifications"
            indexes = (
                (("tenant", "kind", "cause_key", "live"), True),
                (("tenant", "rank", "last_seen"), False),
            )

    class Affected(Model):
        id = AutoField()
        notification = ForeignKeyField(Notification, on_delete="CASCADE", column_name="notification_id")
        subject_key = CharField(max_length=300)

        class Meta:
            table_name = "affected"
            indexes = ((("notification", "subject_key"), True), (("subject_key",), False))

    class Webhook(Model):
        tenant = CharField(primary_key=True, max_length=32)
        url = CharField(max_length=2000)
        secret = CharField(max_length=200)
        created_at = DateTimeField()

    create_frozen(db, OutcomeSeen, Notification, Affected, Webhook)


def _v3_relay_cursors(db: peewee.Database) -> None:
    class RelayCursor(Model):
        tenant = CharField(primary_key=True, max_length=32)
        after = BigIntegerField(default=0)
        updated_at = DateTimeField()

        class Meta:
            table_name = "relay_cursors"

    create_frozen(db, RelayCursor)


STEPS = (Step(1, "initial", _v1_initial), Step(2, "notifications", _v2_notifications),
         Step(3, "relay cursors", _v3_relay_cursors))
