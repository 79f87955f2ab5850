"""shared.db.Prepared: built once per engine, run with fresh values, columns converted both ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from shared.db import Prepared, connect_url, slot
from shared.testing import fresh_database_url

proxy = peewee.DatabaseProxy()


class Thing(peewee.Model):
    id = peewee.CharField(primary_key=True)
    owner = peewee.CharField()
    seen = peewee.DateTimeField()
    data = peewee.TextField()
    meta = peewee.JSONField(default=dict)  # JSON on SQLite (through json(?)), JSONB on PostgreSQL

    class Meta:
        database = proxy
        table_name = "things"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[peewee.Database]:
    db = connect_url(fresh_database_url(tmp_path, "prepared"))
    proxy.initialize(db)
    db.connect()
    db.create_tables([Thing])
    yield db
    db.close()


def test_a_prepared_select_returns_the_rows_of_each_call_values(database: peewee.Database) -> None:
    when = dt.datetime(2026, 11, 23, 10, 30, 0, 123456)
    Thing.insert_many([{"id": f"t{i}", "owner": "acme" if i % 2 else "globex", "seen": when, "data": f"d{i}"}
                       for i in range(6)]).execute()
    by_owner = Prepared(lambda: Thing.select().where(Thing.owner == slot("owner"), Thing.id != slot("not"))
                        .order_by(Thing.id))
    assert [t.id for t in by_owner.models(Thing, owner="acme", **{"not": "t3"})] == ["t1", "t5"]
    assert [t.id for t in by_owner.models(Thing, owner="globex", **{"not": "t0"})] == ["t2", "t4"]
    first = next(by_owner.models(Thing, owner="acme", **{"not": "x"}))
    assert first.seen == when and first.data == "d1"  # converted by the model's fields, as a select would be
    assert by_owner.rows(database, owner="nobody", **{"not": "x"}) == []


def test_a_prepared_insert_converts_its_values_with_the_slot_field(database: peewee.Database) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    insert = Prepared(lambda: Thing.insert(id=slot("id"), owner=slot("owner"), seen=slot("seen", Thing.seen),
                                           data=slot("data"), meta=slot("meta", Thing.meta)).on_conflict_ignore())
    insert.execute(database, id="a", owner="acme", seen=when, data="first", meta={"k": [1, "é"]})
    insert.execute(database, id="a", owner="acme", seen=when, data="ignored", meta={})  # its own ON CONFLICT
    insert.execute(database, id="b", owner="globex", seen=when, data="second", meta=[])
    assert [(t.id, t.seen, t.data, t.meta) for t in Thing.select().order_by(Thing.id)] == [
        ("a", when, "first", {"k": [1, "é"]}), ("b", when, "second", [])]
    # Stored as JSON, not as text: the engine's JSON functions read it.
    assert Thing.select().where(Thing.meta["k"][1] == "é").count() == 1


def test_the_statement_is_built_once_per_engine(database: peewee.Database) -> None:
    builds = []

    def build() -> peewee.Query:
        builds.append(1)
        return Thing.select(Thing.id).where(Thing.owner == slot("owner"))

    query = Prepared(build)
    for owner in ("a", "b", "c"):
        query.rows(database, owner=owner)
    assert len(builds) == 1


def test_a_missing_value_is_an_error_not_a_null(database: peewee.Database) -> None:
    query = Prepared(lambda: Thing.select().where(Thing.owner == slot("owner")))
    with pytest.raises(KeyError):
        query.rows(database)
