"""Cross-service fixtures: the four services as real gunicorn processes on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
    """What an admin does in the directory (R-DIR-11), through the directory's admin API."""

    def define(tenant: str, *names: str) -> None:
        url = f"{system.url('directory')}/admin/v1/tenants/{tenant}/custom-attributes"
        for name in names:
            resp = system.request("POST", url, json_body={"name": name}, token=system.admin_key)
            assert resp.status == 201, (name, resp.status, resp.data[:300])

    return define
