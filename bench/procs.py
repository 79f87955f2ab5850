"""The processes of the benchmark: our four services (shared.testing.System, the launcher's gunicorn
command), the peer and the ceiling under the same gunicorn configuration, and peak-RSS sampling."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import urllib3

from shared.launcher import GUNICORN_CONF, ROOT
from shared.testing import free_port


class Server:
    """One gunicorn server of ours (peer or ceiling) on a free loopback port."""

    def __init__(self, name: str, app: str, log_dir: Path, workers: int, env: Mapping[str, str] | None = None
                 ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {}), "BIND": f"127.0.0.1:{self.port}", "SERVICE_NAME": name,
                    "WEB_CONCURRENCY": str(workers), "PYTHONPATH": str(ROOT)}
        self.app = app
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, health_path: str, headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> Server:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), self.app],
                                     env=self.env, stdout=log, stderr=log, cwd=ROOT)
        http = urllib3.PoolManager()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: see {self.log_path}")
            try:
                if http.request("GET", self.url + health_path, headers=dict(headers or {}), timeout=1.0,
                                retries=False).status == 200:
                    return self
            except urllib3.exceptions.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not up after {timeout:.0f}s: see {self.log_path}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _hwm(pid: int, rss: int) -> int:
    """Linux's exact peak RSS of a process (VmHWM) since start or the last reset; else the sampled RSS."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return max(rss, int(line.split()[1]) * 1024)
    except OSError:
        pass
    return rss


def _reset_hwm(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _rss_of_tree(pid: int) -> dict[int, int]:
    """Peak RSS in bytes of a process and its descendants (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        out: dict[int, int] = {}
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    out[proc.pid] = _hwm(proc.pid, proc.memory_info().rss)
        except psutil.Error:
            pass
        return out
    out = {}
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                out[current] = _hwm(current, int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        except OSError:
            pass
    return out


class RssMonitor:
    """Samples the RSS of every process of each named service; `peaks()` gives the largest one process
    reached per service since the last `reset()`."""

    def __init__(self, roots: Mapping[str, int], interval: float = 0.25) -> None:
        self.roots = dict(roots)
        self.interval = interval
        self._peak: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RssMonitor:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for name, pid in self.roots.items():
            biggest = max(_rss_of_tree(pid).values(), default=0)
            with self._lock:
                self._peak[name] = max(self._peak.get(name, 0), biggest)

    def peaks(self) -> dict[str, float]:
        """MiB per service: the largest RSS of any one of its processes (master or worker)."""
        self.sample()
        with self._lock:
            return {name: round(self._peak.get(name, 0) / 2**20, 1) for name in self.roots}

    def reset(self) -> None:
        for pid in self.roots.values():
            for child in _rss_of_tree(pid):
                _reset_hwm(child)
        with self._lock:
            self._peak.clear()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
