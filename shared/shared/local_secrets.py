"""Secrets for local runs: generated once into DATA_DIR and reused, so tokens survive restarts."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate_signing_key_pem() -> bytes:
    """A new Ed25519 private key in PEM: small, fast to verify, and supported by pyjwt's EdDSA."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_local_secrets(data_dir: Path) -> dict[str, str]:
    """Read DATA_DIR/secrets.env (creating it and the signing key on first run) as a mapping."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "token-signing-key.pem"
    if not key_file.exists():
        _write_private(key_file, generate_signing_key_pem())
    env_file = data_dir / "secrets.env"
    if not env_file.exists():
        lines = [
            f"INTERNAL_API_KEY={secrets.token_urlsafe(32)}",
            f"ADMIN_API_KEY=sta_{secrets.token_urlsafe(32)}",
        ]
        _write_private(env_file, ("\n".join(lines) + "\n").encode())
    values = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    values["TOKEN_SIGNING_KEY_FILE"] = str(key_file.resolve())
    return values
