"""ServiceClient: pooled keep-alive HTTP between services, with timeouts, credential and request id."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from flask import g, has_request_context

from . import jsonio
from .errors import ServiceUnavailable

log = logging.getLogger(__name__)

INTERNAL_KEY_HEADER = "X-Internal-Key"
REQUEST_ID_HEADER = "X-Request-Id"
# Who a write is for, as the audit log names it (R-DIR-13): "scim:<token id>"; absent means "scim".
ACTOR_HEADER = "X-Actor"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class ServiceResponse:
    status: int
    data: Any
    headers: dict[str, str]


class ServiceClient:
    """One keep-alive pool per process and base URL; every call has a timeout.

    Connect failures are retried for every method (nothing was sent); a dropped keep-alive connection
    only for idempotent methods, so a POST is never applied twice by the client itself; a read timeout
    never, so a call takes at most one time limit.
    """

    def __init__(self, base_url: str, credential: str, *, timeout: float = 5.0, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.timeout = urllib3.Timeout(connect=min(2.0, timeout), read=timeout)
        self.retries = retries
        self._pool: urllib3.PoolManager | None = None
        self._pid = 0

    @property
    def pool(self) -> urllib3.PoolManager:
        # gunicorn forks workers after the app may have been built: never share sockets across fork.
        if self._pool is None or self._pid != os.getpid():
            self._pool = urllib3.PoolManager(num_pools=4, maxsize=16, block=False)
            self._pid = os.getpid()
        return self._pool

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ServiceResponse:
        """Send one request; raise ServiceUnavailable when the service cannot be reached in time."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        all_headers = {INTERNAL_KEY_HEADER: self.credential, "Accept": "application/json"}
        if has_request_context() and getattr(g, "request_id", None):
            all_headers[REQUEST_ID_HEADER] = g.request_id
        body = None
        if json_body is not None:
            body = jsonio.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        # Connect failures are retried (nothing was sent). A read timeout is not: a call must end within
        # one time limit (Entra retries a 503 itself), so only a pooled keep-alive connection that the
        # other side had closed is sent again, once, and only for an idempotent call.
        retry = urllib3.Retry(total=self.retries, connect=self.retries, read=0, status=0, redirect=0,
                              backoff_factor=0.05, raise_on_status=False)
        attempts = 2 if method.upper() in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                resp = self.pool.request(method, url, body=body, headers=all_headers, timeout=self.timeout,
                                         retries=retry)
                break
            except urllib3.exceptions.MaxRetryError as exc:
                if attempt + 1 < attempts and isinstance(exc.reason, urllib3.exceptions.ProtocolError):
                    continue
                raise self._no_answer(method, path, exc.reason) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise self._no_answer(method, path, exc) from exc
        data: Any = None
        if resp.data:
            try:
                data = jsonio.loads(resp.data)
            except ValueError:
                data = resp.data.decode(errors="replace")
        return ServiceResponse(resp.status, data, dict(resp.headers))

    def _no_answer(self, method: str, path: str, reason: BaseException | None) -> ServiceUnavailable:
        """The caller's client sees that a service behind did not answer, never its internal address."""
        log.warning("%s %s%s did not answer: %s", method, self.base_url, path, type(reason).__name__)
        return ServiceUnavailable("The service is briefly unavailable; try again shortly.")

    def get(self, path: str, **kw: Any) -> ServiceResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> ServiceResponse:
        return self.request("POST", path, **kw)
