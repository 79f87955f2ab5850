"""Bearer token checks: the signature is verified locally; the token's state is cached briefly.

The bound (R-TOK-5): a token set Inactive, renewed away or removed is refused at most
`cache_seconds` (≤ 5 s) after the change, by every worker, because no worker trusts a state
older than that. A state is asked for again once it is STATE_REFRESH_SECONDS old, so a token
service restart (or a dropped connection) shorter than the rest of the bound goes unnoticed: the
state verified just before is still within its bound. So one introspection per token per worker per
second crosses a hop while the token is in use, never one per request.

The published keys are trusted for at most KEYS_MAX_AGE_SECONDS too, so a retired key dropped from
TOKEN_PREVIOUS_PUBLIC_KEY_FILES stops verifying within that; a key id not seen yet (a token signed
just after a rotation) fetches them at once, at most once a second (forged key ids cost no more).

A client that keeps failing for a tenant gets 429 instead of 401 past AUTH_FAILURE_LIMIT
(shared.ratelimit); a valid token is never refused for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from flask import has_request_context

from shared.credentials import bearer_token, secret_hash
from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.ratelimit import AuthFailureLimiter
from shared.schemas.tokens import TokenStateSchema

from .errors import ScimError, unauthorized

REFUSED = (
    "The bearer token is missing, invalid, expired, Inactive, removed, or not for this tenant. "
    "Generate or renew a token for this tenant and paste it into Entra ID's Secret Token field."
)
MAX_CACHED_STATES = 10_000
STATE_REFRESH_SECONDS = 1.0
KEYS_MAX_AGE_SECONDS = 5.0
UNKNOWN_KID_REFRESH_SECONDS = 1.0
RETRY_SECONDS = 1.0  # after a failed refresh of something still usable: one attempt a second, not one per call


@dataclass(frozen=True)
class Principal:
    tenant: str
    token_id: str


@dataclass
class _Cached:
    state: dict
    expires_at: float  # never trusted past this (R-TOK-5)
    refresh_at: float  # asked again from then on; until expires_at a failed answer keeps this state


class TokenVerifier:
    """Verify a presented SCIM token for a tenant; thread-safe, one per worker process."""

    def __init__(self, token_service: ServiceClient, issuer: str, algorithms: tuple[str, ...],
                 max_cache_seconds: float, limiter: AuthFailureLimiter | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self.token_service = token_service
        # The caches' bounds are measured on `clock`, a token's exp on `wall_clock`; tests move fake ones.
        self.clock, self.wall_clock = clock, wall_clock
        self.limiter = limiter or AuthFailureLimiter.from_env()
        self.issuer = issuer
        self.algorithms = list(algorithms)  # fixed by configuration, never taken from the token
        self.max_cache_seconds = min(max_cache_seconds, 5.0)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_refresh_at = 0.0
        self._unknown_kid_fetched = float("-inf")
        self._states: dict[str, _Cached] = {}
        self._verified: dict[str, tuple[jwt.PyJWK, dict]] = {}
        self._lock = threading.Lock()

    def verify(self, header: str | None, tenant: str) -> Principal:
        """The principal of a token valid for `tenant`; 401 otherwise, 429 once its client keeps failing."""
        try:
            return self._verify(header, tenant)
        except ScimError as exc:
            if exc.status == 401 and has_request_context():
                self.limiter.after_failure(tenant, REFUSED)
            raise

    def _verify(self, header: str | None, tenant: str) -> Principal:
        token = bearer_token(header)
        if token is None:
            raise unauthorized(REFUSED)
        try:
            key = self._key(jwt.get_unverified_header(token).get("kid", ""))
            claims = self._claims(token, key)
        except jwt.PyJWTError:
            raise unauthorized(REFUSED) from None
        if claims["tid"] != tenant:
            raise unauthorized(REFUSED)
        state = self._state(secret_hash(token))
        if not state["active"] or state["tenant"] != tenant or state["token_id"] != claims["sub"]:
            raise unauthorized(REFUSED)
        return Principal(tenant=tenant, token_id=claims["sub"])

    def _claims(self, token: str, key: jwt.PyJWK) -> dict:
        """The verified claims. A token's signature is checked once per worker, not on every call (a quarter of
        a request's CPU): again only when its key object changed (keys are re-fetched at most every
        KEYS_MAX_AGE_SECONDS, so a dropped key still stops verifying in time) or the token has expired."""
        cached = self._verified.get(token)
        if cached is not None and cached[0] is key and self.wall_clock() < cached[1].get("exp", float("inf")):
            return cached[1]
        claims = jwt.decode(token, key, algorithms=self.algorithms, audience="scim", issuer=self.issuer,
                            options={"require": ["sub", "tid", "jti", "iat"]})
        if len(self._verified) >= MAX_CACHED_STATES:
            self._verified.clear()  # bounded memory, as for the states
        self._verified[token] = (key, claims)
        return claims

    def _key(self, kid: str) -> jwt.PyJWK:
        now = self.clock()
        if not self._keys or now >= self._keys_refresh_at:  # holding none, no key id can be called unknown
            self._refresh_keys(required=not self._keys)
        key = self._keys.get(kid)
        if key is None and now - self._unknown_kid_fetched >= UNKNOWN_KID_REFRESH_SECONDS:
            self._unknown_kid_fetched = now
            self._refresh_keys(required=True)
            key = self._keys.get(kid)
        if key is None:
            raise jwt.InvalidKeyError("unknown key id")
        return key

    def _refresh_keys(self, required: bool) -> None:
        """Fetch the published keys. When some are held and this is only their age, a failure keeps them:
        a token service that cannot answer cannot confirm any state either, so the state bound holds."""
        with self._lock:
            if not required and self.clock() < self._keys_refresh_at:
                return  # another thread has just done it
            self._keys_refresh_at = self.clock() + RETRY_SECONDS
            try:
                resp = self.token_service.get("/.well-known/jwks.json")
                if resp.status != 200:
                    raise ServiceUnavailable("The token service did not publish its keys; try again shortly.")
            except ServiceUnavailable:
                if required:
                    raise
                return
            self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(resp.data).keys if k.key_id}
            self._keys_refresh_at = self.clock() + KEYS_MAX_AGE_SECONDS

    def _state(self, token_hash: str) -> dict:
        now = self.clock()
        cached = self._states.get(token_hash)
        if cached and now < cached.refresh_at:
            return cached.state
        if cached:
            cached.refresh_at = min(now + RETRY_SECONDS, cached.expires_at)  # the others keep serving it
        try:
            return self._introspect(token_hash)
        except ServiceUnavailable:
            if cached and now < cached.expires_at:
                return cached.state
            raise

    def _introspect(self, token_hash: str) -> dict:
        now = self.clock()
        resp = self.token_service.post("/internal/v1/introspect", json_body={"token_hash": token_hash})
        if resp.status != 200:
            raise ServiceUnavailable("The token service could not check the token; try again shortly.")
        state = TokenStateSchema().load(resp.data)
        ttl = min(self.max_cache_seconds, state["cache_seconds"])
        if len(self._states) >= MAX_CACHED_STATES:
            self._states.clear()  # bounded memory under a flood of distinct (forged) tokens
        self._states[token_hash] = _Cached(state, now + ttl, now + min(STATE_REFRESH_SECONDS, ttl))
        return state

