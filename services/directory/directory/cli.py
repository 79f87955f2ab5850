"""Operator commands (`flask --app directory send-invitations`) that print JSON."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app

from . import invitations


def register(app: Flask) -> None:
    @app.cli.command("send-invitations")
    @click.option("--tenant", default=None, help="only this tenant's invitations")
    def send_invitations(tenant: str | None) -> None:
        """R-DIR-12: send the invitations that are due (new, or failed earlier and due for a retry)."""
        sender = current_app.extensions["mail_sender"]
        url = current_app.extensions["settings"].invitation_register_url or None
        if tenant is None:
            counts = invitations.deliver_all(sender, register_url=url)
        else:
            counts = {tenant: invitations.deliver_invitations(tenant, sender, register_url=url)}
        click.echo(json.dumps(counts, indent=2))
