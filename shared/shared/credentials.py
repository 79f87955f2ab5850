"""Presented credentials: the bearer header parser, the one hash of a secret, and who an admin key is.

Every service reads `Authorization: Bearer <token>` with `bearer_token`, stores and looks up a SCIM token or
an admin key by `secret_hash`, and names the admin behind a key with `AdminIdentity`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEPLOYMENT_ADMIN_ID = "deployment"
ADMIN_KEY_ID_PREFIX = "admin-key:"
_OWS = " \t"  # optional whitespace around a header value (RFC 9110 §5.6.3)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when it is absent, of another scheme or empty.

    The scheme is case-insensitive (RFC 7235 §2.1) and separated from the token by one or more spaces (RFC 6750
    §2.1: "Bearer" 1*SP b64token); whitespace around the value or the token is not part of the token.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip(_OWS).partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip(_OWS) or None


def secret_hash(secret: str) -> str:
    """What is stored of a SCIM token or an admin key, and sent instead of it: the SHA-256 of its UTF-8, in hex.

    Secrets are 256-bit random values or signed JWTs, not passwords, so a fast unsalted hash is the right tool:
    it allows an indexed lookup by hash instead of comparing against every stored key. Every database holds
    this format (64 lowercase hex digits); changing it would lock out every issued token and key.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class AdminIdentity:
    """Who is acting through an admin API: a deployment-wide admin (tenant None) or a tenant's admin key.

    `admin_id` is what audit trails and `created_by` columns record: "deployment" for the deployment admin key,
    "admin-key:<key id>" for a tenant admin key, or an operator's name such as "operator-cli".
    """

    admin_id: str
    tenant: str | None  # None: acts on every tenant

    @classmethod
    def deployment(cls) -> AdminIdentity:
        return cls(DEPLOYMENT_ADMIN_ID, None)

    @classmethod
    def for_key(cls, key_id: str, tenant: str) -> AdminIdentity:
        return cls(ADMIN_KEY_ID_PREFIX + key_id, tenant)

    @property
    def deployment_wide(self) -> bool:
        return self.tenant is None

    def may_act_on(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant
