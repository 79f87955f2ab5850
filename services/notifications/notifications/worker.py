"""Background work of each gunicorn worker (the relay, the silence check): a daemon thread per job."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shared.errors import ServiceUnavailable

from .models import db

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0


class Periodic:
    """Runs `job` every `interval` seconds; after a failure it waits twice as long each time (up to a
    minute), so a service that is down is not hammered. Started lazily, after gunicorn forks."""

    def __init__(self, name: str, job: Callable[[], Any], interval: float) -> None:
        self.name, self.job, self.interval = name, job, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            try:
                db.connect(reuse_if_open=True)
                self.job()
                wait = self.interval
            except ServiceUnavailable as exc:
                wait = min(wait * 2, MAX_BACKOFF_SECONDS)
                log.warning("%s: %s; next try in %.0f s", self.name, exc, wait)
            except Exception:
                wait = min(wait * 2, MAX_BACKOFF_SECONDS)
                log.exception("%s failed; next try in %.0f s", self.name, wait)
            finally:
                if not db.is_closed():
                    db.close()
