"""compose.yaml, the Dockerfile and the local launcher agree on services, commands, ports and environment.

No Docker engine is needed: compose.yaml is read with PyYAML and its `${VAR}` syntax is resolved here
the way compose resolves it, so that `docker compose up` and `make run` cannot drift apart unnoticed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from directory.settings import DirectorySettings
from notifications.settings import NotificationsSettings
from scim_api.settings import ScimSettings
from shared.config import Settings
from shared.launcher import GUNICORN_CONF, base_env, gunicorn_command, service_env
from shared.services import SERVICE_ENV, SERVICES, SHARED_ENV, ServiceSpec, by_name
from token_service.settings import TokenSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
INIT_SQL = ROOT / "deploy" / "postgres-init.sql"

POSTGRES = "postgres"
STATELESS = {s.name for s in SERVICES if not s.has_database}
SETTINGS: dict[str, type[Settings]] = {
    "token-service": TokenSettings,
    "directory": DirectorySettings,
    "notifications": NotificationsSettings,
    "scim-api": ScimSettings,
}
# What an operator exports before `docker compose up`; every other variable takes its default.
OPERATOR_ENV = {"INTERNAL_API_KEY": "internal-test", "ADMIN_API_KEY": "admin-test", "POSTGRES_PASSWORD": "pg-test"}

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(LookupError):
    """A `${NAME:?message}` variable is unset: compose refuses to start."""


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """Resolve compose's variable syntax (`$$`, `${X}`, `${X:-default}`, `${X-default}`, `${X:?err}`,
    `${X?err}`) in every string of `value`."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        present, current = name in environ, environ.get(name, "")
        if op == ":-":
            return current or arg
        if op == "-":
            return current if present else arg
        if (op == ":?" and not current) or (op == "?" and not present):
            raise MissingVariable(f"{name}: {arg}")
        return current

    return _VARIABLE.sub(substitute, value)


def load_compose(environ: Mapping[str, str] = OPERATOR_ENV) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return interpolate({key: item for key, item in raw.items() if not key.startswith("x-")}, environ)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of compose's forms (mapping or KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def required_names(settings: type[Settings]) -> set[str]:
    """Environment names a Settings class reads with no default: secrets that must be provided."""
    return {f.metadata["env"] for f in dataclasses.fields(settings) if f.default is dataclasses.MISSING}


def read_names(settings: type[Settings]) -> set[str]:
    return {f.metadata["env"] for f in dataclasses.fields(settings)}


def expected_names(spec: ServiceSpec) -> set[str]:
    names = set(SHARED_ENV) | set(SERVICE_ENV[spec.name])
    return names - {"DATABASE_URL"} if spec.name in STATELESS else names


def launcher_env(spec: ServiceSpec, tmp_path: Path) -> dict[str, str]:
    """The environment `make run` gives this service, with secrets generated under tmp_path."""
    return service_env(spec, base_env(tmp_path, {}), tmp_path)


def dockerfile_destination(source: str) -> str:
    match = re.search(rf"^COPY\s+{re.escape(source)}\s+(\S+)\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match, f"the Dockerfile does not COPY {source}"
    return match.group(1)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


params = pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])


def test_compose_runs_exactly_the_registry_services_and_postgres(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {spec.name for spec in SERVICES} | {POSTGRES}


def test_every_registry_service_has_its_settings_class_checked_here() -> None:
    assert set(SETTINGS) == {spec.name for spec in SERVICES}


def test_image_installs_shared_and_every_service_as_packages_and_runs_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.MULTILINE)
    installs = " ".join(re.findall(r"pip install((?:[^\n]*\\\n)*[^\n]*)", text))
    assert "-e " not in installs, "packages must be installed non-editable in the image"
    for package in ["./shared", *(f"./services/{spec.name}" for spec in SERVICES)]:
        assert re.search(rf"(^|\s){re.escape(package)}(\s|$)", installs), f"{package} is not installed"
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0", "0:0"}


@params
def test_service_is_built_from_the_repository_root_so_shared_is_in_the_image(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    build = compose["services"][spec.name]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE


@params
def test_service_runs_gunicorn_with_the_registry_app_and_the_launchers_config(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    argv = as_argv(compose["services"][spec.name]["command"])
    local = gunicorn_command(spec)
    local_args = local[local.index("gunicorn") + 1 :]
    image_conf = dockerfile_destination(GUNICORN_CONF.name)
    assert argv[0] == "gunicorn"
    assert argv[1:] == [image_conf if arg == str(GUNICORN_CONF) else arg for arg in local_args]
    assert argv[-1] == spec.app


@params
def test_service_publishes_the_registry_default_port_on_loopback_only(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    service = compose["services"][spec.name]
    (port,) = service["ports"]
    if isinstance(port, dict):
        host_ip, published, target = port.get("host_ip"), port.get("published"), port.get("target")
    else:
        host_ip, published, target = str(port).split("/")[0].split(":")
    assert host_ip == "127.0.0.1"
    assert int(published) == int(target) == spec.default_port
    assert environment(service)["BIND"] == f"0.0.0.0:{spec.default_port}"


@params
def test_service_environment_has_every_name_the_registry_lists_and_its_service_name(
    compose: dict[str, Any], spec: ServiceSpec, tmp_path: Path
) -> None:
    env = environment(compose["services"][spec.name])
    assert expected_names(spec) - set(env) == set()
    assert env["SERVICE_NAME"] == launcher_env(spec, tmp_path)["SERVICE_NAME"] == spec.name


@params
def test_launcher_environment_has_every_name_the_registry_lists(spec: ServiceSpec, tmp_path: Path) -> None:
    assert expected_names(spec) - set(launcher_env(spec, tmp_path)) == set()


@params
def test_service_environment_sets_nothing_that_no_one_reads(compose: dict[str, Any], spec: ServiceSpec) -> None:
    gunicorn_reads = set(re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"'](\w+)[\"']", GUNICORN_CONF.read_text()))
    known = read_names(SETTINGS[spec.name]) | gunicorn_reads | expected_names(spec)
    assert set(environment(compose["services"][spec.name])) - known == set()


def test_stateless_scim_api_gets_no_database(compose: dict[str, Any]) -> None:
    for name in STATELESS:
        assert "DATABASE_URL" not in environment(compose["services"][name])


@params
def test_internal_urls_point_at_the_compose_service_and_its_port(compose: dict[str, Any], spec: ServiceSpec) -> None:
    env = environment(compose["services"][spec.name])
    for target in SERVICES:
        if target.url_env not in env:
            continue
        url = urllib.parse.urlsplit(env[target.url_env])
        assert (url.scheme, url.hostname, url.port) == ("http", target.name, target.default_port), target.url_env


def test_public_base_url_defaults_to_the_published_scim_api_as_the_launchers_does(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    scim = by_name("scim-api")
    expected = f"http://127.0.0.1:{scim.default_port}"
    assert base_env(tmp_path, {})["PUBLIC_BASE_URL"] == expected
    for spec in SERVICES:
        assert environment(compose["services"][spec.name])["PUBLIC_BASE_URL"] == expected


def test_each_stateful_service_has_its_own_postgres_database_that_the_init_script_creates(
    compose: dict[str, Any],
) -> None:
    created = set(re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)\"?", INIT_SQL.read_text(), re.IGNORECASE))
    pg_env = environment(compose["services"][POSTGRES])
    databases = []
    for spec in SERVICES:
        if spec.name in STATELESS:
            continue
        url = urllib.parse.urlsplit(environment(compose["services"][spec.name])["DATABASE_URL"])
        assert url.scheme in {"postgres", "postgresql"}
        assert (url.hostname, url.port or 5432) == (POSTGRES, 5432)
        assert url.username == pg_env.get("POSTGRES_USER", "postgres")
        assert url.password == pg_env["POSTGRES_PASSWORD"]
        databases.append(url.path.lstrip("/"))
    assert len(databases) == len(set(databases)), f"services share a database: {databases}"
    assert set(databases) <= created, f"init script does not create {set(databases) - created}"


def test_postgres_runs_the_init_script_on_first_start(compose: dict[str, Any]) -> None:
    mounts = [str(v).split(":") for v in compose["services"][POSTGRES]["volumes"] if isinstance(v, str)]
    sources = {(ROOT / m[0]).resolve() for m in mounts if m[0].startswith(".") and m[1].startswith(
        "/docker-entrypoint-initdb.d/")}
    assert INIT_SQL.resolve() in sources


def test_postgres_keeps_its_data_in_a_declared_named_volume(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    mounts = [str(v).split(":") for v in compose["services"][POSTGRES]["volumes"] if isinstance(v, str)]
    assert any(m[0] in named and m[1] == "/var/lib/postgresql/data" for m in mounts)


def test_every_service_and_postgres_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name
        text = " ".join(as_argv(check["test"]))
        assert ("pg_isready" if name == POSTGRES else "/healthz") in text, name


@params
def test_each_service_waits_for_healthy_dependencies_it_calls(compose: dict[str, Any], spec: ServiceSpec) -> None:
    calls = {target.name for target in SERVICES if target.url_env in SERVICE_ENV[spec.name]}
    expected = calls if spec.name in STATELESS else calls | {POSTGRES}
    depends_on = compose["services"][spec.name].get("depends_on") or {}
    assert isinstance(depends_on, dict), "depends_on needs the long form to wait for health"
    assert set(depends_on) == expected
    assert {dep["condition"] for dep in depends_on.values()} == {"service_healthy"}


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@params
@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_service_healthcheck_passes_on_healthz_200_and_fails_on_503(
    compose: dict[str, Any], spec: ServiceSpec, health_server: HTTPServer, status: int, healthy: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    test = as_argv(compose["services"][spec.name]["healthcheck"]["test"])
    assert test[:2] == ["CMD", "python"], "python:3.11-slim has no curl or shell tools to rely on"
    monkeypatch.setattr(_Health, "status", status)
    bind = f"127.0.0.1:{health_server.server_address[1]}"
    result = subprocess.run([sys.executable, *test[2:]], env={**os.environ, "BIND": bind}, capture_output=True,
                            timeout=20)
    assert (result.returncode == 0) is healthy, result.stderr.decode()[-500:]


@params
def test_registry_lists_every_secret_the_service_settings_require(spec: ServiceSpec) -> None:
    assert required_names(SETTINGS[spec.name]) - set(SHARED_ENV) - set(SERVICE_ENV[spec.name]) == set()


@params
def test_compose_refuses_to_start_without_each_secret_the_service_requires(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    secrets = required_names(SETTINGS[spec.name])
    assert secrets, "every service needs at least the internal credential"
    assert secrets - set(environment(compose["services"][spec.name])) == set()
    for name in secrets:
        without = {key: value for key, value in OPERATOR_ENV.items() if key != name}
        with pytest.raises(MissingVariable, match=name):
            load_compose(without)


@params
def test_launcher_provides_every_secret_the_service_requires(spec: ServiceSpec, tmp_path: Path) -> None:
    env = launcher_env(spec, tmp_path)
    assert {name for name in required_names(SETTINGS[spec.name]) if env.get(name)} == required_names(
        SETTINGS[spec.name])


@params
def test_both_environments_load_the_service_settings(compose: dict[str, Any], spec: ServiceSpec,
                                                     tmp_path: Path) -> None:
    settings = SETTINGS[spec.name]
    settings.from_env(environment(compose["services"][spec.name]))
    settings.from_env(launcher_env(spec, tmp_path))


def test_token_signing_key_file_is_the_mounted_secret_that_make_run_generates(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    spec = by_name("token-service")
    service = compose["services"][spec.name]
    key_path = environment(service)["TOKEN_SIGNING_KEY_FILE"]
    mounted = {}
    for entry in service.get("secrets") or []:
        source = entry if isinstance(entry, str) else entry["source"]
        target = source if isinstance(entry, str) else entry.get("target", source)
        mounted[target if target.startswith("/") else f"/run/secrets/{target}"] = source
    assert key_path in mounted, f"{key_path} is not a secret mounted into {spec.name}"
    host_file = Path(compose["secrets"][mounted[key_path]]["file"])
    local_key = Path(launcher_env(spec, tmp_path)["TOKEN_SIGNING_KEY_FILE"])
    assert host_file.name == local_key.name
    assert host_file.parent.name == "var"
    assert local_key.exists()
