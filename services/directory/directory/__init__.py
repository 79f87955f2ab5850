"""Directory: users, groups and memberships per tenant, the system of record (R-DIR)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from shared.admin_api import install_admin_api
from shared.admin_auth import AdminVerifier
from shared.app import install_common
from shared.http import ServiceClient
from shared.migrations import open_database
from shared.ratelimit import AuthFailureLimiter

from .mail import sender_from_env
from .migrations import STEPS
from .models import db
from .settings import DirectorySettings


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """App factory; `config` replaces the environment (tests pass a mapping)."""
    settings = DirectorySettings.from_env(config)
    app = Flask(__name__)
    app.extensions["settings"] = settings
    # R-DIR-12 invitations: SMTP when SMTP_HOST is set, else a local outbox file (directory.mail).
    app.extensions["mail_sender"] = sender_from_env(os.environ if config is None else config)
    open_database(db, settings.database_url, STEPS)
    token_service = ServiceClient(settings.token_service_url, settings.internal_api_key,
                                  timeout=settings.internal_timeout_seconds)
    # Tests swap the transport: app.extensions["admin_verifier"].token_service = InProcessClient(token_app, key).
    app.extensions["admin_verifier"] = AdminVerifier(token_service, limiter=AuthFailureLimiter.from_env(config))
    api = install_admin_api(app, "SCIM target: directory admin API")
    from .api.admin import blp as admin_bp
    from .api.internal import bp as internal_bp

    api.register_blueprint(admin_bp)
    app.register_blueprint(internal_bp)
    install_common(app, settings, service="directory", db=db)
    from .cli import register

    register(app)
    return app
