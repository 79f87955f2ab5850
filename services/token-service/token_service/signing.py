"""Asymmetric signing keys for SCIM tokens, and the JWKS that publishes their public halves."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import get_default_algorithms


def key_id(public_key: Any) -> str:
    """A stable id for a public key: a truncated SHA-256 of its DER encoding."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


class SigningKeys:
    """The current private key signs; it and any previous public keys verify (rotation, R-TOK-2)."""

    def __init__(self, private_pem: bytes, algorithm: str, previous_public_pems: tuple[bytes, ...] = ()) -> None:
        self.algorithm = algorithm
        self._private = serialization.load_pem_private_key(private_pem, password=None)
        self.kid = key_id(self._private.public_key())
        self._public = {self.kid: self._private.public_key()}
        for pem in previous_public_pems:
            public = serialization.load_pem_public_key(pem)
            self._public[key_id(public)] = public

    def public_pem(self) -> bytes:
        """The current key's public half: what TOKEN_PREVIOUS_PUBLIC_KEY_FILES gets at the next rotation."""
        return self._private.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm=self.algorithm, headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 key set: what the SCIM API needs to verify tokens without calling us."""
        impl = get_default_algorithms()[self.algorithm]
        keys = []
        for kid, public in self._public.items():
            jwk = impl.to_jwk(public, as_dict=True)
            jwk.update({"kid": kid, "use": "sig", "alg": self.algorithm})
            keys.append(jwk)
        return {"keys": keys}
