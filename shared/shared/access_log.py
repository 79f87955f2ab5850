"""gunicorn's access line, built directly: one JSON object per request.

gunicorn's own `access()` builds a dict of every request and response header for each line, then applies
a %-format: 6% of a SCIM request's CPU in each service it crosses, measured with py-spy under the bench.
This writes the same fields for a fraction of that, and escapes the path as JSON (the %-format did not).
The query string is left out because it may carry user data.
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

from gunicorn.glogging import Logger

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class AccessLogger(Logger):
    """gunicorn's Logger with a cheaper access line: ts, service, method, path, status, bytes, duration_us,
    request_id. The service is gunicorn's proc_name (gunicorn.conf.py sets it from SERVICE_NAME)."""

    _stamp: tuple[int, str] = (0, "")

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            status = resp.status
            if isinstance(status, str):
                status = int(status.split(None, 1)[0])
            line = _ENCODE({
                "ts": self._now(), "service": self.cfg.proc_name, "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"), "status": status, "bytes": getattr(resp, "sent", None),
                "duration_us": request_time.seconds * 1_000_000 + request_time.microseconds,
                "request_id": _header(resp.headers, "x-request-id"),
            })
            self.access_log.info(line)
        except Exception:
            self.error(traceback.format_exc())

    def _now(self) -> str:
        """The Common Log Format time gunicorn writes, formatted once a second."""
        second = int(time.time())
        if self._stamp[0] != second:
            self._stamp = (second, time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second)))
        return self._stamp[1]


def _header(headers: Any, name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None
