"""Token service: tenants, SCIM bearer tokens and admin keys (R-TOK)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from shared.admin_api import install_admin_api
from shared.app import install_common
from shared.migrations import open_database
from shared.ratelimit import AuthFailureLimiter

from .migrations import STEPS
from .models import db
from .settings import TokenSettings
from .signing import SigningKeys


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """App factory; `config` replaces the environment (tests pass a mapping)."""
    settings = TokenSettings.from_env(config)
    app = Flask(__name__)
    app.config.update(
        ADMIN_API_KEY=settings.admin_api_key,
        PUBLIC_BASE_URL=settings.public_base_url,
        TOKEN_ISSUER=settings.issuer,
        TOKEN_STATE_CACHE_SECONDS=settings.state_cache_seconds,
        LAST_USED_RESOLUTION_SECONDS=settings.last_used_resolution_seconds,
    )
    app.extensions["settings"] = settings
    app.extensions["signing_keys"] = SigningKeys(
        settings.signing_key(), settings.algorithm, settings.previous_public_keys()
    )
    app.extensions["auth_failure_limiter"] = AuthFailureLimiter.from_env(config)
    open_database(db, settings.database_url, STEPS)

    api = install_admin_api(app, "SCIM target: token service admin API")
    from .api.admin import blp as admin_bp
    from .api.internal import bp as internal_bp

    api.register_blueprint(admin_bp)
    app.register_blueprint(internal_bp)
    # After flask-smorest: its HTTPException handler must give way to our problem bodies.
    install_common(app, settings, service="token-service", db=db, secrets=(settings.admin_api_key,))
    from .cli import register

    register(app)
    return app
