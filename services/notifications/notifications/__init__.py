"""Notifications: tell admins when Entra ID sync goes wrong (R-NOT)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask

from shared.admin_api import install_admin_api
from shared.admin_auth import AdminVerifier
from shared.app import install_common
from shared.http import ServiceClient
from shared.migrations import open_database
from shared.ratelimit import AuthFailureLimiter
from shared.schemas.common import utcnow

from .migrations import STEPS
from .models import Notification, db
from .settings import NotificationsSettings


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """App factory; `config` replaces the environment (tests pass a mapping)."""
    settings = NotificationsSettings.from_env(config)
    app = Flask(__name__)
    https = settings.public_base_url.lower().startswith("https://")
    app.config.update(
        SECRET_KEY=settings.session_key(),
        SESSION_COOKIE_NAME="notifications_session",
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
    )
    app.extensions["settings"] = settings
    open_database(db, settings.database_url, STEPS)

    from .relay import relay_all
    from .silence import check_silence
    from .webhooks import WebhookSender
    from .worker import Periodic

    token_service = ServiceClient(settings.token_service_url, settings.internal_api_key, timeout=5.0)
    app.extensions["token_service"] = token_service
    # Tests swap the transport: app.extensions["directory"] = InProcessClient(directory_app, key).
    app.extensions["directory"] = ServiceClient(settings.directory_url, settings.internal_api_key, timeout=10.0)
    app.extensions["admin_verifier"] = AdminVerifier(token_service, limiter=AuthFailureLimiter.from_env(config))
    sender = WebhookSender(settings.webhook_timeout_seconds, settings.webhook_attempts)
    app.extensions["webhooks"] = sender

    def notify(tenant: str, events: list[tuple[str, Notification]]) -> None:
        """After the commit: hand raised, acknowledged and resolved notifications to the tenant's webhook."""
        from . import feed
        from .api.schemas import NotificationSchema

        sender.enqueue(tenant, [(event, NotificationSchema().dump(feed.view(row))) for event, row in events])

    def check(now: dt.datetime | None = None) -> Any:
        """R-NOT-1 for every tenant, now (the watcher calls it every SILENCE_CHECK_SECONDS)."""
        threshold = dt.timedelta(seconds=settings.silence_threshold_seconds)
        report = check_silence(app.extensions["token_service"], now or utcnow(), threshold)
        for row in report.raised:
            notify(row.tenant, [("raised", row)])
        for row in report.resolved:
            notify(row.tenant, [("resolved", row)])
        return report

    def relay() -> Any:
        """R-NOT-4: read every tenant's outbox in the directory from this service's cursors."""
        return relay_all(app.extensions["directory"], app.extensions["token_service"], notify)

    app.extensions["notify"] = notify
    app.extensions["check_silence"] = check
    app.extensions["relay"] = relay
    workers = [Periodic("silence-check", check, settings.silence_check_seconds),
               Periodic("outcome-relay", relay, settings.relay_seconds)]
    app.extensions["silence_watcher"], app.extensions["relay_worker"] = workers

    @app.before_request
    def _start_workers() -> None:
        # Lazily, in the worker that serves requests: a thread started before gunicorn forks would not survive.
        for worker in workers:
            if not worker.running:
                worker.start()

    api = install_admin_api(app, "SCIM target: notifications admin API")
    from .api.admin import blp as admin_bp
    from .api.ingest import bp as ingest_bp
    from .pages import bp as pages_bp

    api.register_blueprint(admin_bp)
    app.register_blueprint(ingest_bp)
    app.register_blueprint(pages_bp)
    # After flask-smorest: its HTTPException handler must give way to our problem bodies.
    install_common(app, settings, service="notifications", db=db, secrets=(settings.session_secret,)
                   if settings.session_secret else ())
    return app
