"""The migrations build exactly the tables the models describe, on either engine."""

from __future__ import annotations

from pathlib import Path

from directory.migrations import STEPS
from directory.models import MODELS
from shared.db import connect_url
from shared.migrations import applied_versions, migrate
from shared.testing import fresh_database_url


def shape(db, table: str) -> tuple[set, set]:
    columns = {(c.name, c.data_type.lower(), c.null) for c in db.get_columns(table)}
    indexes = {(tuple(i.columns), i.unique) for i in db.get_indexes(table)}
    return columns, indexes


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    migrated = connect_url(fresh_database_url(tmp_path, "migrated"))
    declared = connect_url(fresh_database_url(tmp_path, "declared"))
    try:
        every = [step.version for step in STEPS]
        assert migrate(migrated, STEPS) == every
        assert migrate(migrated, STEPS) == []  # applied once
        assert applied_versions(migrated) == every
        with declared.bind_ctx(MODELS):
            declared.create_tables(MODELS)
        for model in MODELS:
            table = model._meta.table_name
            assert shape(migrated, table) == shape(declared, table), table
    finally:
        migrated.close()
        declared.close()
