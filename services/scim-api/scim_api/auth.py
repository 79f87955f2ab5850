"""Bearer token checks: the signature is verified locally; the token's state is cached briefly.

The bound (R-TOK-5): a token set Inactive, renewed away or removed is refused at most
`cache_seconds` (≤ 5 s) after the change, by every worker, because no worker trusts a state
older than that. Only one introspection call per token per worker per interval crosses a hop.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import jwt

from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.schemas.tokens import TokenStateSchema

from .errors import unauthorized

REFUSED = (
    "The bearer token is missing, invalid, expired, Inactive, removed, or not for this tenant. "
    "Generate or renew a token for this tenant and paste it into Entra ID's Secret Token field."
)
MAX_CACHED_STATES = 10_000
JWKS_MIN_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Principal:
    tenant: str
    token_id: str


class TokenVerifier:
    """Verify a presented SCIM token for a tenant; thread-safe, one per worker process."""

    def __init__(self, token_service: ServiceClient, issuer: str, algorithms: tuple[str, ...],
                 max_cache_seconds: float) -> None:
        self.token_service = token_service
        self.issuer = issuer
        self.algorithms = list(algorithms)  # fixed by configuration, never taken from the token
        self.max_cache_seconds = min(max_cache_seconds, 5.0)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched = 0.0
        self._states: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def verify(self, header: str | None, tenant: str) -> Principal:
        token = _bearer(header)
        try:
            key = self._key(jwt.get_unverified_header(token).get("kid", ""))
            claims = jwt.decode(
                token, key, algorithms=self.algorithms, audience="scim", issuer=self.issuer,
                options={"require": ["sub", "tid", "jti", "iat"]},
            )
        except jwt.PyJWTError:
            raise unauthorized(REFUSED) from None
        if claims["tid"] != tenant:
            raise unauthorized(REFUSED)
        state = self._state(hashlib.sha256(token.encode()).hexdigest())
        if not state["active"] or state["tenant"] != tenant or state["token_id"] != claims["sub"]:
            raise unauthorized(REFUSED)
        return Principal(tenant=tenant, token_id=claims["sub"])

    def _key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._keys_fetched >= JWKS_MIN_REFRESH_SECONDS:
            self._refresh_keys()
            key = self._keys.get(kid)
        if key is None:
            raise jwt.InvalidKeyError("unknown key id")
        return key

    def _refresh_keys(self) -> None:
        with self._lock:
            resp = self.token_service.get("/.well-known/jwks.json")
            if resp.status != 200:
                raise ServiceUnavailable("The token service did not publish its keys; try again shortly.")
            self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(resp.data).keys if k.key_id}
            self._keys_fetched = time.monotonic()

    def _state(self, token_hash: str) -> dict:
        now = time.monotonic()
        cached = self._states.get(token_hash)
        if cached and cached[0] > now:
            return cached[1]
        resp = self.token_service.post("/internal/v1/introspect", json_body={"token_hash": token_hash})
        if resp.status != 200:
            raise ServiceUnavailable("The token service could not check the token; try again shortly.")
        state = TokenStateSchema().load(resp.data)
        ttl = min(self.max_cache_seconds, state["cache_seconds"])
        if len(self._states) >= MAX_CACHED_STATES:
            self._states.clear()  # bounded memory under a flood of distinct (forged) tokens
        self._states[token_hash] = (now + ttl, state)
        return state


def _bearer(header: str | None) -> str:
    if not header or header[:7].lower() != "bearer " or not header[7:].strip():
        raise unauthorized(REFUSED)
    return header[7:].strip()
