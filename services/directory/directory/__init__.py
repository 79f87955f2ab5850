"""Directory: users, groups and memberships per tenant, the system of record (R-DIR)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from shared.app import install_common
from shared.migrations import open_database

from .migrations import STEPS
from .models import db
from .settings import DirectorySettings


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """App factory; `config` replaces the environment (tests pass a mapping)."""
    settings = DirectorySettings.from_env(config)
    app = Flask(__name__)
    app.extensions["settings"] = settings
    open_database(db, settings.database_url, STEPS)
    from .api.internal import bp as internal_bp

    app.register_blueprint(internal_bp)
    install_common(app, settings, service="directory", db=db)
    return app
