"""`make run`: start the four services under gunicorn, create the first tenant, print how to connect."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import urllib3

from .local_secrets import ensure_local_secrets
from .scim import target_scim_url
from .services import SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def base_env(data_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every service gets: generated local secrets, overridden by the real environment."""
    env = dict(ensure_local_secrets(data_dir))
    env.update(environ)
    env.setdefault("DATA_DIR", str(data_dir))
    env.setdefault("LOG_LEVEL", "INFO")
    for spec in SERVICES:
        env.setdefault(spec.url_env, f"http://127.0.0.1:{port_of(spec, env)}")
    env.setdefault("PUBLIC_BASE_URL", env["SCIM_API_URL"])
    return env


def port_of(spec: ServiceSpec, env: Mapping[str, str]) -> int:
    return int(env.get(spec.port_env, spec.default_port))


def service_env(spec: ServiceSpec, env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """One service's environment: its own database (SQLite file unless <SERVICE>_DATABASE_URL is set)."""
    own = dict(env)
    prefix = spec.name.upper().replace("-", "_")
    if spec.has_database:
        own["DATABASE_URL"] = env.get(f"{prefix}_DATABASE_URL") or f"sqlite:///{data_dir.resolve()}/{spec.name}.db"
    own["BIND"] = f"127.0.0.1:{port_of(spec, env)}"
    own["SERVICE_NAME"] = spec.name
    return own


def gunicorn_command(spec: ServiceSpec) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), spec.app]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll /healthz until 200; fail fast if the process dies."""
    http = urllib3.PoolManager()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with code {proc.returncode} before becoming healthy")
        try:
            if http.request("GET", url + "/healthz", timeout=1.0, retries=False).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not healthy after {timeout:.0f}s")


def create_first_tenant(env: Mapping[str, str], tenant: str) -> None:
    """Create `tenant` through the admin API; an existing tenant is fine."""
    resp = urllib3.PoolManager().request(
        "POST",
        env["TOKEN_SERVICE_URL"] + "/admin/v1/tenants",
        body=json.dumps({"id": tenant}),
        headers={"Authorization": f"Bearer {env['ADMIN_API_KEY']}", "Content-Type": "application/json"},
        timeout=5.0,
    )
    if resp.status not in (201, 409):
        raise RuntimeError(f"creating tenant {tenant!r} failed: {resp.status} {resp.data[:200]!r}")


def banner(env: Mapping[str, str], tenant: str) -> str:
    scim_url = target_scim_url(env["PUBLIC_BASE_URL"], tenant)
    token_url = f"{env['TOKEN_SERVICE_URL']}/admin/v1/tenants/{tenant}/tokens"
    return f"""
All four services are up.
  Target SCIM URL (Entra "Tenant URL"): {scim_url}
  Admin key (deployment):               {env['ADMIN_API_KEY']}
  Admin API and its OpenAPI document:    {env['TOKEN_SERVICE_URL']}/admin/v1/openapi.json

Get a Secret Token for Entra:
  curl -s -X POST -H "Authorization: Bearer {env['ADMIN_API_KEY']}" \\
       -H "Content-Type: application/json" -d '{{}}' {token_url}

Press Ctrl-C to stop.
"""


class Supervisor:
    """Start the services, stop them all on Ctrl-C, SIGTERM, or the death of any one of them."""

    def __init__(self, env: Mapping[str, str], data_dir: Path) -> None:
        self.env = env
        self.data_dir = data_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        for spec in SERVICES:
            self.procs[spec.name] = subprocess.Popen(
                gunicorn_command(spec), env=service_env(spec, self.env, self.data_dir), cwd=ROOT
            )
            wait_healthy(self.env[spec.url_env], self.procs[spec.name])

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def wait(self) -> int:
        """Block until a signal arrives or a service exits; return the exit code for the launcher."""
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping the others", file=sys.stderr)
                    return 1
            time.sleep(0.5)


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR", "var"))
    env = base_env(data_dir, os.environ)
    supervisor = Supervisor(env, data_dir)

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        supervisor.start()
        create_first_tenant(env, os.environ.get("FIRST_TENANT", "default"))
        print(banner(env, os.environ.get("FIRST_TENANT", "default")), flush=True)
        return supervisor.wait()
    except KeyboardInterrupt:
        print("\nstopping…", file=sys.stderr)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main())
