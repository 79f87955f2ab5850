"""shared.credentials: the one bearer header parser (RFC 6750 §2.1, RFC 7235 §2.1), the one secret hash that every
database stores, and the one admin identity."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from shared.credentials import AdminIdentity, bearer_token, secret_hash
from shared.schemas.tokens import SHA256_HEX

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJ0aWQiOiJhY21lIn0.c2ln"


@pytest.mark.parametrize(("header", "token"), [
    (f"Bearer {TOKEN}", TOKEN),
    (f"bearer {TOKEN}", TOKEN),  # the scheme is case-insensitive (RFC 7235 §2.1)
    (f"BEARER {TOKEN}", TOKEN),
    (f"BeArEr {TOKEN}", TOKEN),
    (f"Bearer   {TOKEN}", TOKEN),  # 1*SP between scheme and token (RFC 6750 §2.1)
    (f" Bearer {TOKEN} ", TOKEN),  # whitespace around the value is not part of it
    (f"\tBearer {TOKEN}\t", TOKEN),
    ("Bearer sta_x-y_z", "sta_x-y_z"),
])
def test_a_bearer_header_gives_its_token(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [
    None, "", " ", "Bearer", "bearer", "Bearer ", "Bearer    ", "Bearer \t",  # no token
    f"Basic {TOKEN}", "Basic dXNlcjpwYXNz", f"Token {TOKEN}", TOKEN,  # another scheme, or none
    f"Bearer{TOKEN}", f"Bearer\t{TOKEN}", f"Bearer:{TOKEN}", f"Bearers {TOKEN}", f"xBearer {TOKEN}",
])
def test_no_token_without_the_bearer_scheme_a_space_and_a_token(header: str | None) -> None:
    assert bearer_token(header) is None


def test_the_secret_hash_is_the_stored_format_sha256_hex_of_utf8() -> None:
    """Every issued token and admin key is stored as this; a different format would lock them all out."""
    assert secret_hash("sta_example") == hashlib.sha256(b"sta_example").hexdigest()
    assert secret_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert secret_hash("clé") == hashlib.sha256("clé".encode()).hexdigest()
    assert SHA256_HEX(secret_hash(TOKEN)) == secret_hash(TOKEN)  # what the introspection contract accepts
    assert secret_hash("a") != secret_hash("a ")


def test_an_admin_identity_names_the_deployment_admin_or_a_tenant_key() -> None:
    deployment = AdminIdentity.deployment()
    key = AdminIdentity.for_key("0f" * 16, "acme")
    assert (deployment.admin_id, deployment.tenant, deployment.deployment_wide) == ("deployment", None, True)
    assert (key.admin_id, key.tenant, key.deployment_wide) == ("admin-key:" + "0f" * 16, "acme", False)
    assert AdminIdentity.for_key("k1", "acme") == AdminIdentity("admin-key:k1", "acme")


def test_a_tenant_key_acts_on_its_tenant_only_and_the_deployment_admin_on_every_tenant() -> None:
    assert AdminIdentity.deployment().may_act_on("acme") and AdminIdentity.deployment().may_act_on("globex")
    assert AdminIdentity("operator-cli", None).may_act_on("acme")
    key = AdminIdentity.for_key("k1", "acme")
    assert key.may_act_on("acme") and not key.may_act_on("globex") and not key.may_act_on("acme-2")


def test_an_admin_identity_cannot_be_changed() -> None:
    key = AdminIdentity.for_key("k1", "acme")
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.tenant = None  # type: ignore[misc]
