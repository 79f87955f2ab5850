"""Operator commands (`flask --app token_service cli …`) that print JSON."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app

from shared.credentials import AdminIdentity
from shared.errors import Problem
from shared.scim import target_scim_url

from . import tokens

OPERATOR = AdminIdentity("operator-cli", tenant=None)


def _print(data: dict) -> None:
    click.echo(json.dumps(data, default=str, indent=2))


def register(app: Flask) -> None:
    @app.cli.command("create-tenant")
    @click.argument("tenant_id")
    @click.option("--if-missing", is_flag=True, help="succeed quietly when the tenant exists")
    def create_tenant(tenant_id: str, if_missing: bool) -> None:
        """Create a tenant and print it as JSON."""
        url = target_scim_url(current_app.config["PUBLIC_BASE_URL"], tenant_id)
        try:
            tenant = tokens.create_tenant(OPERATOR, tenant_id)
        except Problem as exc:
            if not (if_missing and exc.code == "tenant_exists"):
                raise click.ClickException(exc.detail) from None
            _print({"id": tenant_id, "scim_url": url, "created": False})
            return
        _print({"id": tenant.id, "scim_url": url, "created": True})

    @app.cli.command("generate-token")
    @click.argument("tenant_id")
    @click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None)  # as the API allows
    def generate_token(tenant_id: str, expires_in_days: int | None) -> None:
        """Generate a SCIM token for a tenant and print it (with its secret) as JSON."""
        try:
            issued = tokens.generate_token(
                OPERATOR, tenant_id, current_app.extensions["signing_keys"],
                current_app.config["TOKEN_ISSUER"], lifetime_days=expires_in_days,
            )
        except Problem as exc:
            raise click.ClickException(exc.detail) from None
        _print({
            "id": issued.token.id, "token": issued.secret, "state": issued.token.state,
            "scim_url": target_scim_url(current_app.config["PUBLIC_BASE_URL"], tenant_id),
            "created_at": issued.token.created_at, "expires_at": issued.token.expires_at,
        })
