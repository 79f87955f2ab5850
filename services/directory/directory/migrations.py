"""Schema versions of the directory, applied in order at start-up."""

import peewee
from peewee import CharField, DateTimeField, Model

from shared.migrations import Step, create_frozen


def _v1_initial(db: peewee.Database) -> None:
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=32)
        created_at = DateTimeField()

    create_frozen(db, Tenant)


STEPS = (Step(1, "initial", _v1_initial),)
