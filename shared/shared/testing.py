"""Test support for every service: fresh databases on either engine, and real gunicorn processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import urllib3

from .launcher import base_env, gunicorn_command, service_env, wait_healthy
from .services import SERVICES, ServiceSpec, by_name

# Set by scripts/with-postgres: a superuser URL of a throwaway cluster. Unset: SQLite files.
TEST_DATABASE_ENV = "TEST_DATABASE_URL"
T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy or `timeout` seconds have passed, instead of
    sleeping for a guessed time. Returns its last result (falsy when it never held), so that
    `assert wait_until(...)` fails on what it saw last."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(interval)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def engine() -> str:
    return "postgresql" if os.environ.get(TEST_DATABASE_ENV) else "sqlite"


def fresh_database_url(tmp_dir: Path, name: str) -> str:
    """An empty database of the engine under test, for one test or one process."""
    admin_url = os.environ.get(TEST_DATABASE_ENV)
    if not admin_url:
        return f"sqlite:///{tmp_dir.resolve()}/{name}.db"
    import psycopg2

    db_name = f"t_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db_name}"')
    conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + db_name


def fresh_schema_url(tmp_dir: Path, session_database: str | None, name: str) -> str:
    """An empty database for one test. On PostgreSQL, a new empty schema first on the search path of a
    session database (`session_database`, from fresh_database_url once per session): as empty as a new
    database, since the app migrates it from nothing, for ~1 ms instead of CREATE DATABASE's ~0.3 s."""
    if session_database is None:
        return fresh_database_url(tmp_dir, name)
    import psycopg2

    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(session_database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    conn.close()
    return f"{session_database}?options=-csearch_path%3D{schema}"


def local_env(tmp_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment `make run` would build, with secrets generated under tmp_dir."""
    return base_env(tmp_dir, overrides)


class GunicornProcess:
    """One service under gunicorn on a free loopback port; stops itself on `stop()`."""

    def __init__(self, spec: ServiceSpec, env: Mapping[str, str], log_dir: Path) -> None:
        self.spec = spec
        self.env = dict(env)
        self.url = env[spec.url_env]
        self.log_path = log_dir / f"{spec.name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> GunicornProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(gunicorn_command(self.spec), env=self.env, stdout=log, stderr=log)
        wait_healthy(self.url, self.proc, timeout=60)
        return self

    def stop(self, sig: int = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class System:
    """All four services as `make run` starts them, on free ports, with databases of the engine
    under test. `processes[name]` can be stopped and restarted individually."""

    def __init__(self, tmp_dir: Path, **overrides: str) -> None:
        self.tmp_dir = tmp_dir
        ports = {spec.port_env: str(free_port()) for spec in SERVICES}
        self.env = local_env(tmp_dir, **ports, **overrides)
        self.processes: dict[str, GunicornProcess] = {}
        for spec in SERVICES:
            env = service_env(spec, self.env, tmp_dir)
            if spec.has_database:
                env["DATABASE_URL"] = fresh_database_url(tmp_dir, spec.name)
            env.setdefault("WEB_CONCURRENCY", "2")
            self.processes[spec.name] = GunicornProcess(spec, env, tmp_dir)
        self.http = urllib3.PoolManager()

    def start(self) -> System:
        for proc in self.processes.values():
            proc.start()
        return self

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()

    def url(self, name: str) -> str:
        return self.processes[name].url

    @property
    def admin_key(self) -> str:
        return self.env["ADMIN_API_KEY"]

    def request(self, method: str, url: str, *, json_body: Any = None, token: str | None = None,
                headers: Mapping[str, str] | None = None, fields: Mapping[str, str] | None = None
                ) -> urllib3.BaseHTTPResponse:
        """An HTTP call from outside, as a user's client would make it."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            return self.http.request(method, url, json=json_body, headers=all_headers, timeout=10.0, retries=False)
        return self.http.request(method, url, fields=fields, headers=all_headers, timeout=10.0, retries=False)

    def admin(self, method: str, path: str, json_body: Any = None) -> urllib3.BaseHTTPResponse:
        return self.request(method, self.url("token-service") + path, json_body=json_body, token=self.admin_key)

    def logs(self) -> str:
        return "".join(p.log() for p in self.processes.values())


class InProcessClient:
    """A downstream service's Flask app behind ServiceClient's interface, for per-service tests."""

    def __init__(self, app: Any, credential: str) -> None:
        self.client = app.test_client()
        self.credential = credential

    def request(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:
        from .http import INTERNAL_KEY_HEADER, ServiceResponse

        all_headers = {INTERNAL_KEY_HEADER: self.credential, **(headers or {})}
        resp = self.client.open(path, method=method, json=json_body, query_string=params, headers=all_headers)
        return ServiceResponse(resp.status_code, resp.get_json(silent=True), dict(resp.headers))

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)


class ReplicatedSystem(System):
    """Like System, but with `replicas[name]` copies of a service (1 when not named), each a gunicorn
    process on its own port and every copy of a service on that service's one database.

    Copy i of a caller is pointed at copy i (modulo their number) of each service it calls, so that with
    two scim-api and two directory copies each directory copy serves SCIM traffic. `processes[name]` is the
    first copy, so System's helpers (`url`, `admin`, `request`) keep working; `replicas[name]` holds all."""

    def __init__(self, tmp_dir: Path, replicas: Mapping[str, int], **overrides: str) -> None:
        self.tmp_dir = tmp_dir
        ports = {spec.port_env: str(free_port()) for spec in SERVICES}
        self.env = local_env(tmp_dir, **ports, **overrides)
        self.replicas: dict[str, list[GunicornProcess]] = {}
        for spec in SERVICES:  # callees come before their callers in SERVICES
            database = fresh_database_url(tmp_dir, spec.name) if spec.has_database else None
            self.replicas[spec.name] = [self._replica(spec, i, database) for i in range(replicas.get(spec.name, 1))]
        self.processes = {name: copies[0] for name, copies in self.replicas.items()}
        self.http = urllib3.PoolManager()

    def _replica(self, spec: ServiceSpec, index: int, database: str | None) -> GunicornProcess:
        own = dict(self.env)
        if index:
            port = str(free_port())
            own[spec.port_env], own[spec.url_env] = port, f"http://127.0.0.1:{port}"
        for callee, copies in self.replicas.items():
            own[by_name(callee).url_env] = copies[index % len(copies)].url
        env = service_env(spec, own, self.tmp_dir)
        if database:
            env["DATABASE_URL"] = database
        env.setdefault("WEB_CONCURRENCY", "2")
        log_dir = self.tmp_dir / f"{spec.name}-{index}"
        log_dir.mkdir(exist_ok=True)
        return GunicornProcess(spec, env, log_dir)

    def start(self) -> ReplicatedSystem:
        """Copies of one service boot together, as an orchestrator scaling out starts them (their migrations race)."""
        for copies in self.replicas.values():
            with ThreadPoolExecutor(max_workers=len(copies)) as pool:
                list(pool.map(GunicornProcess.start, copies))
        return self

    def stop(self) -> None:
        """Every copy at once: each takes about a second to drain, and a test's teardown need not wait in turn."""
        every = [proc for copies in reversed(list(self.replicas.values())) for proc in copies]
        with ThreadPoolExecutor(max_workers=len(every)) as pool:
            list(pool.map(GunicornProcess.stop, every))

    def replica_url(self, name: str, index: int) -> str:
        return self.replicas[name][index].url

    def logs(self) -> str:
        return "".join(p.log() for copies in self.replicas.values() for p in copies)


def _reconnect(db: Any) -> None:
    """PostgreSQL applies a database's settings to new sessions: empty the pool."""
    if not db.is_closed():
        db.close()
    db.obj.close_all()


@contextlib.contextmanager
def read_only_database(db: Any) -> Iterator[None]:
    """The engine's own read-only error on the connections of `db` (a peewee DatabaseProxy of an app in this
    process): SQLITE_READONLY through `PRAGMA query_only` (root ignores a chmod, and connections opened before
    keep writing), PostgreSQL's read_only_sql_transaction through `default_transaction_read_only`."""
    from .db import is_postgres

    if not is_postgres(db.obj):
        db.execute_sql("PRAGMA query_only = ON")
        try:
            yield
        finally:
            db.execute_sql("PRAGMA query_only = OFF")
        return
    name = db.execute_sql("SELECT current_database()").fetchone()[0]
    db.execute_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    _reconnect(db)
    try:
        yield
    finally:
        db.execute_sql("SET SESSION default_transaction_read_only = off")
        db.execute_sql(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        _reconnect(db)
