"""Admin keys for every service's admin API: the token service says whose a key is; answers are cached.

The same keys work everywhere (`Authorization: Bearer <admin key>`): the deployment key acts on every
tenant, a tenant admin key on its own tenant only, and another tenant looks exactly like a missing
one (404), as on the token service. A revoked key stops working within `cache_seconds` (≤ 5 s).
A client that keeps presenting unknown keys gets 429 instead of 401 past AUTH_FAILURE_LIMIT
(shared.ratelimit); a known key is never refused for it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, has_request_context, request

from .credentials import AdminIdentity, bearer_token, secret_hash
from .errors import Problem, ServiceUnavailable
from .http import ServiceClient
from .ratelimit import AuthFailureLimiter
from .schemas.tokens import AdminIdentitySchema
from .storable import refuse_unstorable_body
from .tenants import no_such_tenant

MAX_CACHED = 1_000
UNAUTHORIZED = "Send a valid admin key: Authorization: Bearer <admin key>."
F = TypeVar("F", bound=Callable[..., Any])


class AdminVerifier:
    """Thread-safe, one per worker; at most one call to the token service per key every cache_seconds."""

    def __init__(self, token_service: ServiceClient, max_cache_seconds: float = 5.0,
                 limiter: AuthFailureLimiter | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.token_service = token_service
        self.clock = clock  # the cache's bound is measured on this; tests move a fake one
        self.max_cache_seconds = min(max_cache_seconds, 5.0)
        self.limiter = limiter or AuthFailureLimiter.from_env()
        self._cache: dict[str, tuple[float, AdminIdentity | None]] = {}
        self._lock = threading.Lock()

    def identify(self, authorization: str | None) -> AdminIdentity | None:
        """The admin behind an `Authorization: Bearer …` header, or None when there is none or it is unknown.

        Inside a request, an unknown key counts against its client and the tenant in the URL, and
        past the limit this raises TooManyFailures (429) instead of returning None."""
        key = bearer_token(authorization)
        identity = self.identify_hash(secret_hash(key)) if key else None
        if identity is None and has_request_context():
            self.limiter.after_failure((request.view_args or {}).get("tenant"), UNAUTHORIZED)
        return identity

    def identify_hash(self, hashed: str) -> AdminIdentity | None:
        """The same for the secret_hash of a key (what a signed-in session keeps instead of the key)."""
        now = self.clock()
        cached = self._cache.get(hashed)
        if cached and cached[0] > now:
            return cached[1]
        resp = self.token_service.post("/internal/v1/admin-keys/check", json_body={"key_hash": hashed})
        if resp.status != 200:
            raise ServiceUnavailable("The token service could not check the admin key; try again shortly.")
        answer = AdminIdentitySchema().load(resp.data)
        identity = AdminIdentity(answer["admin_id"], answer["tenant"]) if answer["valid"] else None
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()  # bounded memory under a flood of wrong keys
            self._cache[hashed] = (now + min(self.max_cache_seconds, answer["cache_seconds"]), identity)
        return identity


def require_admin(view: F) -> F:
    """Guard a view taking `tenant`: 401 without a known admin key, 404 for a tenant the key may not see.

    The app keeps its AdminVerifier in `app.extensions["admin_verifier"]`; the admin lands in `g.admin`.
    """

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        g.admin = admin_for(kwargs.get("tenant"))
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def admin_before_request() -> None:
    """The same guard for a whole blueprint (`blp.before_request(admin_before_request)`), for the
    tenant in the URL."""
    g.admin = admin_for((request.view_args or {}).get("tenant"))


def admin_for(tenant: str | None) -> AdminIdentity:
    admin = current_app.extensions["admin_verifier"].identify(request.headers.get("Authorization"))
    if admin is None:
        raise unauthorized()
    if tenant is not None and not admin.may_act_on(tenant):
        raise no_such_tenant(tenant)
    refuse_unstorable_body()
    return admin


def unauthorized() -> Problem:
    return Problem(401, UNAUTHORIZED, code="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="admin"'})
