"""The directory's tables; users, groups and memberships arrive with the directory issue."""

from peewee import CharField, DatabaseProxy, DateTimeField, Model

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db


class Tenant(BaseModel):
    """Tenants the directory has seen; created on first use by an authenticated caller."""

    id = CharField(primary_key=True, max_length=32)
    created_at = DateTimeField()
