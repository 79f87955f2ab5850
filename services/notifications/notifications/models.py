"""The notifications service's tables; notifications arrive with the notifications issue."""

from peewee import CharField, DatabaseProxy, DateTimeField, Model

db = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = db


class Tenant(BaseModel):
    """Tenants notifications were raised for."""

    id = CharField(primary_key=True, max_length=32)
    created_at = DateTimeField()
