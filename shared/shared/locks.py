"""Every PostgreSQL advisory lock id of the product, in one place, and the one way to take them.

All are transaction-level (pg_advisory_xact_lock): released at commit or rollback, never leaked by a crashed
worker. A one-key lock (bigint) and a two-key lock (int, int) live in separate key spaces, so the per-tenant
classes below never collide with MIGRATIONS, and their second key is hashtext(tenant). On SQLite there is
nothing to take: every write transaction is IMMEDIATE (shared.db), so writers already run one at a time.
Services may share one PostgreSQL database: an id is never reused for a second purpose.
"""

from __future__ import annotations

import peewee

from .db import is_postgres

# One-key: schema migrations (shared.migrations.migrate). Workers and replicas of a service boot together;
# exactly one of them applies the missing steps while the others wait, then finds nothing left to do.
MIGRATIONS = 7431

# Two-key, per tenant: the directory's sync outcome inserts (directory.outcomes). Held from the insert to the
# commit, so that one tenant's outcome ids become visible in increasing order and a reader of `after=<id>`
# never skips one committed late behind a larger id (R-NOT-4).
SYNC_OUTCOMES = 7432

# Two-key, per tenant: the notification feed's writes (notifications.feed). Grouping reads then writes a
# cause's live row; one writer per tenant keeps two concurrent batches from raising two rows for one cause.
NOTIFICATION_FEED = 7433


def xact_lock(db: peewee.Database, lock: int, tenant: str | None = None) -> None:
    """Take `lock` (for `tenant`, when it is a per-tenant class) until the current transaction ends."""
    if not is_postgres(db):
        return
    if tenant is None:
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (lock,))
    else:
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (lock, tenant))
