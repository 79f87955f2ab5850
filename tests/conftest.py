"""Cross-service fixtures: the four services as real gunicorn processes on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.db import connect_url
from shared.testing import System


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # The relay reads the directory's outbox twice a second here, so tests wait for it briefly.
    running = System(Path(tmp_path_factory.mktemp("system")), RELAY_SECONDS="0.5").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def define_custom_attributes(system: System) -> Callable[..., None]:
    """What an admin does in the directory (R-DIR-11), written straight into the directory's database."""

    def define(tenant: str, *names: str) -> None:
        from directory import models, tenants

        database = connect_url(system.processes["directory"].env["DATABASE_URL"])
        previous = models.db.obj
        models.db.initialize(database)
        try:
            for name in names:
                tenants.define_custom_attribute(tenant, name)
        finally:
            database.close()
            models.db.initialize(previous)

    return define
