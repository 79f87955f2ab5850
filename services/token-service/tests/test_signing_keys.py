"""Signing key rotation: the current key signs, retired public keys still verify."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

import token_service
from shared.config import ConfigError
from shared.local_secrets import generate_signing_key_pem
from shared.testing import fresh_database_url, local_env
from token_service.settings import TokenSettings
from token_service.signing import SigningKeys


def public_pem(private_pem: bytes) -> bytes:
    return SigningKeys(private_pem, "EdDSA").public_pem()


def test_retired_keys_are_published_beside_the_current_one_and_new_tokens_use_the_current(tmp_path: Path) -> None:
    retired = [generate_signing_key_pem() for _ in range(3)]
    both = tmp_path / "two-retired.pem"
    both.write_bytes(public_pem(retired[0]) + b"\n" + public_pem(retired[1]))
    one, empty = tmp_path / "one-retired.pem", tmp_path / "none-yet.pem"
    one.write_bytes(public_pem(retired[2]))
    empty.write_bytes(b"")
    env = local_env(tmp_path)
    app = token_service.create_app({**env, "DATABASE_URL": fresh_database_url(tmp_path, "token-service"),
                                    "TOKEN_PREVIOUS_PUBLIC_KEY_FILES": f"{both},{empty},{one}"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {env['ADMIN_API_KEY']}"
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert len({k["kid"] for k in keys}) == 4
    client.post("/admin/v1/tenants", json={"id": "acme"})
    token = client.post("/admin/v1/tenants/acme/tokens", json={}).get_json()["token"]
    assert jwt.get_unverified_header(token)["kid"] == app.extensions["signing_keys"].kid
    current = jwt.PyJWKSet.from_dict({"keys": keys})[app.extensions["signing_keys"].kid]
    assert jwt.decode(token, current, algorithms=["EdDSA"], audience="scim")["tid"] == "acme"


@pytest.mark.parametrize("content", [None, b"not a key\n"])
def test_a_missing_or_keyless_previous_key_file_stops_the_service_from_starting(tmp_path: Path,
                                                                               content: bytes | None) -> None:
    path = tmp_path / "previous.pem"
    if content is not None:
        path.write_bytes(content)
    settings = TokenSettings.from_env({**local_env(tmp_path), "TOKEN_PREVIOUS_PUBLIC_KEY_FILES": str(path)})
    with pytest.raises(ConfigError):
        settings.previous_public_keys()
