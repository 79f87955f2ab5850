"""Every service's app factory: starts on an empty database of the engine under test, migrates,
answers /healthz, and refuses to start without its secrets."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shared.config import ConfigError
from shared.migrations import applied_versions
from shared.testing import fresh_database_url, local_env

WITH_DATABASE = ["token_service", "directory", "notifications"]
ALL = [*WITH_DATABASE, "scim_api"]


def build(package: str, tmp_path: Path, **drop: bool):
    env = local_env(tmp_path, DATABASE_URL=fresh_database_url(tmp_path, package))
    for name in drop:
        env.pop(name)
    return importlib.import_module(package).create_app(env)


@pytest.mark.parametrize("package", WITH_DATABASE)
def test_starts_on_an_empty_database_with_every_migration_applied(package: str, tmp_path: Path) -> None:
    app = build(package, tmp_path)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"
    db = importlib.import_module(f"{package}.models").db.obj
    steps = importlib.import_module(f"{package}.migrations").STEPS
    assert applied_versions(db) == [s.version for s in steps]


@pytest.mark.parametrize("package", WITH_DATABASE)
def test_healthz_is_503_when_the_database_is_unusable(package: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app = build(package, tmp_path)
    db = importlib.import_module(f"{package}.models").db.obj

    def broken(*_a: object, **_k: object) -> None:
        raise db.OperationalError("disk I/O error")  # what a vanished or corrupt file gives

    monkeypatch.setattr(db, "execute_sql", broken)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable"


@pytest.mark.parametrize("package", ALL)
def test_refuses_to_start_without_the_internal_credential(package: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="INTERNAL_API_KEY"):
        build(package, tmp_path, INTERNAL_API_KEY=True)


def test_token_service_refuses_to_start_without_admin_key_or_signing_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADMIN_API_KEY"):
        build("token_service", tmp_path, ADMIN_API_KEY=True)
    with pytest.raises(ConfigError, match="TOKEN_SIGNING_KEY"):
        build("token_service", tmp_path, TOKEN_SIGNING_KEY_FILE=True)
