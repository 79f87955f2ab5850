"""The token service's configuration, read once from the environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shared.config import ConfigError, Settings, setting

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class TokenSettings(Settings):
    database_url: str = setting("DATABASE_URL", "sqlite:///var/token-service.db")
    admin_api_key: str = setting("ADMIN_API_KEY", secret=True)
    # PEM of an Ed25519 (or EC/RSA) private key; the file form keeps it out of the environment.
    signing_key_file: str = setting("TOKEN_SIGNING_KEY_FILE", "")
    signing_key_pem: str = setting("TOKEN_SIGNING_KEY", "", secret=True)
    # Public keys of retired signing keys, still accepted until their tokens are renewed; several PEM
    # keys may share a file.
    previous_public_key_files: tuple[str, ...] = setting("TOKEN_PREVIOUS_PUBLIC_KEY_FILES", ())
    algorithm: str = setting("TOKEN_ALGORITHM", "EdDSA")
    issuer: str = setting("TOKEN_ISSUER", "scim-target")
    public_base_url: str = setting("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    # How long the SCIM API may trust an introspection answer: the revocation bound (R-TOK-5).
    state_cache_seconds: float = setting("TOKEN_STATE_CACHE_SECONDS", 5.0)
    # last_used_at is written at most this often per token: it bounds the writes introspection causes,
    # and is the precision of "Entra last called" (R-NOT-1), far below its 2-hour threshold.
    last_used_resolution_seconds: float = setting("LAST_USED_RESOLUTION_SECONDS", 60.0)

    def signing_key(self) -> bytes:
        if self.signing_key_pem:
            return self.signing_key_pem.encode()
        if self.signing_key_file:
            try:
                return Path(self.signing_key_file).read_bytes()
            except OSError as exc:
                raise ConfigError(f"TOKEN_SIGNING_KEY_FILE {self.signing_key_file!r}: {exc.strerror}") from exc
        raise ConfigError("TOKEN_SIGNING_KEY_FILE or TOKEN_SIGNING_KEY must be set")

    def previous_public_keys(self) -> tuple[bytes, ...]:
        """Each PEM public key of the files; a file may hold several, or none yet, so that a rotation
        can be a change of file contents and a `kill -HUP` of gunicorn's master (no restart gap)."""
        keys: list[bytes] = []
        for name in self.previous_public_key_files:
            try:
                text = Path(name).read_bytes()
            except OSError as exc:
                raise ConfigError(f"TOKEN_PREVIOUS_PUBLIC_KEY_FILES {name!r}: {exc.strerror}") from exc
            blocks = [block.group(0) for block in PEM_BLOCK.finditer(text)]
            if text.strip() and not blocks:
                raise ConfigError(f"TOKEN_PREVIOUS_PUBLIC_KEY_FILES {name!r} holds no PEM public key")
            keys.extend(blocks)
        return tuple(keys)
