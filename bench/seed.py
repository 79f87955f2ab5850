"""Bulk seeding of the directory's database, straight into its tables (not via SCIM): users cloned
from a user that SCIM created (so every stored attribute has the shape the directory writes), and
memberships. One INSERT per table on the driver's cursor, in chunks, one transaction per 50,000
rows, with a progress line.

Seeded user i of a tenant has a deterministic id, userName and externalId (seed_identity), so the
benchmark can look up any of a million users without keeping them in memory. Ids are MD5 hex digests:
as random as the uuid4 hex the directory gives, so the indexes fill the same way.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import peewee

from shared.db import connect_url, is_postgres
from shared.schemas.common import utcnow

CHUNK_ROWS = 5000
ROWS_PER_TRANSACTION = 50_000


def seed_identity(tenant: str, i: int) -> tuple[str, str, str]:
    """(id, userName, externalId) of seeded user i."""
    digest = hashlib.md5(f"{tenant}:{i}".encode()).hexdigest()
    return digest, f"seed{i:07d}@bench.example", str(uuid.UUID(hashlib.md5(f"ext:{tenant}:{i}".encode()).hexdigest()))


class Directory:
    """The directory's models bound to its database (as tests/conftest.py's define_custom_attributes does)."""

    def __init__(self, database_url: str) -> None:
        from directory import models

        self.models = models
        self.database = connect_url(database_url)
        self.previous = models.db.obj
        models.db.initialize(self.database)
        self.database.connect(reuse_if_open=True)

    def close(self) -> None:
        self.database.close()
        self.models.db.initialize(self.previous)

    def template(self, tenant: str) -> dict[str, Any]:
        """The stored data of a user SCIM created with every mapping."""
        User = self.models.User
        row = (User.select().where(User.tenant == tenant, User.deleted_at.is_null(), User.source == "scim")
               .order_by(User.created).first())
        if row is None:
            raise RuntimeError(f"no SCIM-created user in tenant {tenant!r} to clone")
        return {"data": row.data, "display_name": row.display_name}

    def analyze(self) -> None:
        """PostgreSQL: what an operator runs after a bulk load, and autovacuum would a little later (in the middle
        of the measurements): the planner's statistics, and the visibility map that index-only scans need."""
        if is_postgres(self.database):
            self.database.execute_sql("VACUUM (ANALYZE)")


def _progress(label: str, done: int, total: int, started: float, last: list[float], force: bool = False) -> None:
    now = time.monotonic()
    if force or now - last[0] >= 5.0:
        last[0] = now
        rate = done / max(1e-9, now - started)
        print(f"[bench]   {label}: {done:,}/{total:,} rows ({rate:,.0f} rows/s)", file=sys.stderr, flush=True)


def _insert(db: peewee.Database, model: type[peewee.Model], fields: list[peewee.Field],
            rows: Iterator[tuple], total: int, label: str) -> float:
    """One INSERT built once from the model, executed with batches of rows on the driver's cursor
    (sqlite3 executemany; psycopg2 execute_values): peewee's per-row query building would cost more
    than the database's work (≈ 2,000 rows/s here)."""
    columns = ", ".join(f.column_name for f in fields)
    table = model._meta.table_name
    started = time.monotonic()
    last = [started]
    done = 0
    pg = is_postgres(db)
    if pg:
        from psycopg2.extras import execute_values

        sql = f"INSERT INTO {table} ({columns}) VALUES %s"
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['?'] * len(fields))})"
    rows = iter(rows)
    while done < total:
        with db.atomic():
            cursor = db.cursor()
            in_txn = 0
            while in_txn < ROWS_PER_TRANSACTION:
                chunk = list(itertools.islice(rows, CHUNK_ROWS))
                if not chunk:
                    break
                if pg:
                    execute_values(cursor, sql, chunk, page_size=len(chunk))
                else:
                    cursor.executemany(sql, chunk)
                in_txn += len(chunk)
                done += len(chunk)
                _progress(label, done, total, started, last)
        if not in_txn:
            break
    _progress(label, done, total, started, last, force=True)
    return time.monotonic() - started


def seed_users(directory: Directory, tenant: str, start: int, stop: int) -> float:
    """Insert seeded users start..stop-1; returns seconds."""
    User = directory.models.User
    template = directory.template(tenant)
    now = User.created.db_value(utcnow())
    active = User.active.db_value(True)
    fields = [User.id, User.tenant, User.user_name, User.user_name_key, User.external_id, User.display_name,
              User.active, User.source, User.created, User.last_modified, User.version, User.data]
    data = copy.deepcopy(template["data"])
    if data.get("emails"):
        data["emails"][0]["value"] = "@@EMAIL@@"
    if isinstance(data.get("name"), dict):
        data["name"].update(formatted="@@DISPLAY@@", familyName="@@FAMILY@@")
    # The stored JSON of each user, by text substitution in the template's serialisation.
    text = json.dumps(data, separators=(",", ":"))

    def rows() -> Iterator[tuple]:
        for i in range(start, stop):
            user_id, user_name, external_id = seed_identity(tenant, i)
            display = f"Seed User {i}"
            doc = text.replace("@@EMAIL@@", user_name).replace("@@DISPLAY@@", display).replace(
                "@@FAMILY@@", f"User{i}")
            yield (user_id, tenant, user_name, user_name.casefold(), external_id, display, active, "scim", now, now,
                   1, doc)

    return _insert(directory.database, User, fields, rows(), stop - start, f"users {start:,}..{stop:,}")


def seed_memberships(directory: Directory, tenant: str, group_id: str, start: int, stop: int) -> float:
    """Make seeded users start..stop-1 members of group_id; returns seconds."""
    Membership = directory.models.Membership
    fields = [Membership.group, Membership.member, Membership.tenant]
    rows = ((group_id, seed_identity(tenant, i)[0], tenant) for i in range(start, stop))
    return _insert(directory.database, Membership, fields, rows, stop - start, f"memberships of {group_id[:8]}")
