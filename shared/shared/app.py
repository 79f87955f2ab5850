"""install_common: /healthz, request ids, JSON logs, error handlers and the internal credential."""

from __future__ import annotations

import functools
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import peewee
from flask import Flask, Response, g, jsonify, request

from .config import Settings
from .db import database_ok, install_request_hooks
from .errors import Problem, install_error_handlers, render_problem
from .http import INTERNAL_KEY_HEADER, REQUEST_ID_HEADER
from .jsonio import OrjsonProvider
from .logging import configure_logging

log = logging.getLogger("access")


def install_common(
    app: Flask,
    settings: Settings,
    *,
    service: str,
    db: peewee.Database | None = None,
    render_error: Callable[[Problem], Response] = render_problem,
    secrets: tuple[str, ...] = (),
) -> None:
    """Everything each service has in common, installed once by its app factory."""
    configure_logging(service, settings.log_level, secrets=(settings.internal_api_key, *secrets))
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.config["INTERNAL_API_KEY"] = settings.internal_api_key
    install_error_handlers(app, render_error)
    if db is not None:
        install_request_hooks(app, db)

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        # Accept a caller's id only if it is short and plain: it goes into every log line.
        ok = 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if ok else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _stamp(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "")
        return response

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if db is not None and not database_ok(db):
            return jsonify(status="unavailable", service=service, database="unusable"), 503
        return jsonify(status="ok", service=service), 200


def require_internal(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a call to an internal endpoint without the service credential, loopback or not."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from flask import current_app

        presented = request.headers.get(INTERNAL_KEY_HEADER, "")
        expected = current_app.config["INTERNAL_API_KEY"]
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise Problem(401, "This internal endpoint needs the service credential.", code="unauthorized",
                          headers={"WWW-Authenticate": 'Internal realm="services"'})
        return view(*args, **kwargs)

    return wrapper
