"""`make run`'s launcher: starts all four services, creates the first tenant, prints how to connect,
stops everything on SIGTERM, and keeps tenants, keys and tokens across restarts."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from shared.services import SERVICES
from shared.testing import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def start_launcher(data_dir: Path, ports: dict[str, str]) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), **ports}
    proc = subprocess.Popen([sys.executable, "-m", "shared.launcher"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if "Press Ctrl-C to stop." in line:
            return proc, "".join(out)
    proc.kill()
    pytest.fail("launcher did not print its banner:\n" + "".join(out))


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    proc.stdout.close()
    return code


def refused(port: str) -> bool:
    try:
        urllib3.PoolManager().request("GET", f"http://127.0.0.1:{port}/healthz", timeout=1.0, retries=False)
    except urllib3.exceptions.HTTPError:
        return True
    return False


def test_launcher_starts_everything_prints_the_target_url_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {spec.port_env: str(free_port()) for spec in SERVICES}
    scim_port = ports["SCIM_API_PORT"]
    proc, banner = start_launcher(tmp_path, ports)
    try:
        assert f"http://127.0.0.1:{scim_port}/scim/v2/default" in banner
        admin_key = re.search(r"Admin key \(deployment\):\s+(\S+)", banner).group(1)
        curl = re.search(r"curl -s -X POST .*?(http://\S+/tokens)", banner, re.S).group(1)
        http = urllib3.PoolManager()
        headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
        issued = json.loads(http.request("POST", curl, body=b"{}", headers=headers).data)
        assert issued["scim_url"] == f"http://127.0.0.1:{scim_port}/scim/v2/default"
        for port in ports.values():
            assert http.request("GET", f"http://127.0.0.1:{port}/healthz").status == 200
    finally:
        code = stop(proc)
    assert code == 0
    assert all(refused(port) for port in ports.values()), "a service outlived the launcher"

    # Second start on the same DATA_DIR: tenant exists, same admin key, the token still works.
    proc, banner2 = start_launcher(tmp_path, ports)
    try:
        assert admin_key in banner2
        resp = urllib3.PoolManager().request(
            "GET", f"http://127.0.0.1:{scim_port}/scim/v2/default/Users",
            headers={"Authorization": f"Bearer {issued['token']}"},
        )
        assert resp.status == 200, resp.data[:300]
    finally:
        assert stop(proc) == 0
