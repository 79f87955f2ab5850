"""SCIM API: the public SCIM 2.0 endpoint Entra ID provisions into; stateless (R-SCIM)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, Response

from shared.app import install_common
from shared.http import ServiceClient
from shared.ratelimit import AuthFailureLimiter
from shared.scim import SCIM_MEDIA_TYPE

from .auth import TokenVerifier
from .directory_client import DirectoryClient
from .entra import TenantUrlFlag
from .errors import render_scim_error
from .settings import ScimSettings
from .urls import CanonicalPaths


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """App factory; `config` replaces the environment (tests pass a mapping)."""
    settings = ScimSettings.from_env(config)
    app = Flask(__name__)
    app.extensions["settings"] = settings
    token_service = ServiceClient(settings.token_service_url, settings.internal_api_key,
                                  timeout=settings.internal_timeout_seconds)
    app.extensions["token_verifier"] = TokenVerifier(
        token_service, settings.token_issuer, settings.token_algorithms, settings.token_state_cache_seconds,
        limiter=AuthFailureLimiter.from_env(config),
    )
    # Tests swap the transport: app.extensions["directory"].transport = InProcessClient(directory_app, key).
    app.extensions["directory"] = DirectoryClient(ServiceClient(
        settings.directory_url, settings.internal_api_key, timeout=settings.internal_timeout_seconds))
    install_common(app, settings, service="scim-api", render_error=render_scim_error)
    # Outermost first: the flag puts a resource path back where it belongs, then its spelling is made canonical.
    app.wsgi_app = TenantUrlFlag(CanonicalPaths(app.wsgi_app))  # type: ignore[method-assign]

    from .api.scim import bp

    app.register_blueprint(bp)

    @app.after_request
    def _scim_media_type(response: Response) -> Response:
        # RFC 7644 §3.1 and Entra: every SCIM answer, errors included, is application/scim+json.
        if response.mimetype == "application/json":
            response.mimetype = SCIM_MEDIA_TYPE
        return response

    return app
