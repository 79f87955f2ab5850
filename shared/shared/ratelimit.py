"""Failed authentication, rate-limited per client and tenant: past the limit, 429 with Retry-After.

Only failures are counted, and a request is always verified first: a valid SCIM token or admin key is
never throttled, however many failures its client has (Entra sends bursts of valid calls, and a
shared NAT or proxy must not lock a good client out). Past the limit a failure is answered 429
instead of 401, which tells a misbehaving client (a script with a revoked key, an Entra job with a
removed token, a scan) to back off.

Scope: counters live in memory, one set per worker process (a moving window, as the `limits` library
counts one), so with WEB_CONCURRENCY workers a client gets at most WEB_CONCURRENCY x the limit of
failures in a window before every worker refuses it, and a restart forgets them. The secrets
themselves (256-bit admin keys, Ed25519-signed tokens) cannot be guessed, so this bounds noise and
cost, not guessing. `limits` parses the setting; the window is counted here because its memory
storage reads time.time() itself and expires entries on a timer thread, so it cannot run on an
injected clock (`clock`, the monotonic one by default, which wall-clock steps do not move).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

import limits
from flask import Request, request

from .config import ConfigError
from .errors import Problem

DEFAULT_LIMIT = "60 per minute"
# Counters are dropped wholesale past this many (client, tenant) keys: bounded memory under a spray
# of source addresses or tenant names, as the verifiers' caches do.
MAX_TRACKED = 100_000
MAX_TENANT_CHARS = 64


class TooManyFailures(Problem):
    """429 for a client that keeps failing to authenticate; rendered in each API's own error format."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(
            429,
            f"Too many failed authentication attempts from this client for this tenant; try again in "
            f"{retry_after} s. {detail}",
            code="too_many_failed_attempts",
            headers={"Retry-After": str(retry_after)},
        )


class AuthFailureLimiter:
    """Per-worker counters of failed authentications; thread-safe."""

    def __init__(self, limit: str = DEFAULT_LIMIT, trusted_proxies: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limits.parse(limit) if limit.strip() else None  # empty: switched off
        self.trusted_proxies = trusted_proxies
        self.clock = clock  # the window is measured on this; tests move a fake one
        self._failures: dict[tuple[str, str], deque[float]] = {}  # per (client, tenant): counted times, oldest first
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthFailureLimiter:
        """AUTH_FAILURE_LIMIT (e.g. "60 per minute", "5 per 2 seconds"; empty turns it off) and
        AUTH_FAILURE_TRUSTED_PROXIES (how many proxies in front append to X-Forwarded-For)."""
        source = os.environ if env is None else env
        raw_limit = source.get("AUTH_FAILURE_LIMIT", DEFAULT_LIMIT)
        raw_proxies = source.get("AUTH_FAILURE_TRUSTED_PROXIES", "0")
        try:
            return cls(raw_limit, int(raw_proxies))
        except ValueError as exc:
            raise ConfigError(f"AUTH_FAILURE_LIMIT={raw_limit!r} or AUTH_FAILURE_TRUSTED_PROXIES="
                              f"{raw_proxies!r} is not valid: {exc}") from exc

    def failed(self, client: str, tenant: str) -> int | None:
        """Count one failure; None while the client is within the limit, else the seconds to wait.

        A moving window: at most `amount` failures counted in any `expiry` seconds; a refused one is not
        counted, so the wait does not grow while a client keeps failing."""
        if self.limit is None:
            return None
        amount, seconds = self.limit.amount, self.limit.get_expiry()
        key = (client, tenant[:MAX_TENANT_CHARS])
        now = self.clock()
        with self._lock:
            if key not in self._failures and len(self._failures) >= MAX_TRACKED:
                self._failures = {}  # bounded memory under a spray of source addresses or tenant names
            counted = self._failures.setdefault(key, deque())
            while counted and counted[0] < now - seconds:  # left the window
                counted.popleft()
            if len(counted) < amount:
                counted.append(now)
                return None
            leaves_at = counted[0] + seconds  # when the oldest counted failure leaves the window
        return max(1, math.ceil(leaves_at - now))

    def client_of(self, req: Request) -> str:
        """The caller's address: the peer, or the address the trusted proxies saw (as werkzeug's
        ProxyFix reads X-Forwarded-For: the n-th value from the right)."""
        if self.trusted_proxies:
            forwarded = [v.strip() for v in req.headers.get("X-Forwarded-For", "").split(",") if v.strip()]
            if len(forwarded) >= self.trusted_proxies:
                return forwarded[-self.trusted_proxies]
        return req.remote_addr or "-"

    def after_failure(self, tenant: str | None, detail: str) -> None:
        """Count the current request's failed authentication; raise 429 once its client is over the limit.

        The caller then answers its usual 401."""
        retry_after = self.failed(self.client_of(request), tenant or "")
        if retry_after is not None:
            raise TooManyFailures(retry_after, detail)
