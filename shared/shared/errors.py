"""Problem errors (RFC 9457 JSON bodies) and the app-level handlers that render them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error the client can act on; `code` is a stable machine-readable slug."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}
        self.extra = extra


class ServiceUnavailable(Problem):
    """A downstream service did not answer in time; the caller should retry later."""

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(503, detail, code="unavailable", headers={"Retry-After": str(retry_after)})


def problem_from_http(exc: HTTPException) -> Problem:
    """Turn a werkzeug exception (routing 404/405, 413, smorest 422…) into a Problem."""
    status = exc.code or 500
    detail = exc.description or exc.name
    extra: dict[str, Any] = {}
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("messages"):
        # webargs/flask-smorest validation failures carry field messages: surface them.
        extra["errors"] = data["messages"]
        detail = "The request body or query is invalid; see 'errors' for each field."
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return Problem(status, detail, code=exc.name.lower().replace(" ", "_"), headers=headers, **extra)


def render_problem(problem: Problem) -> Response:
    body = {
        "type": "about:blank",
        "title": _title(problem.status),
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.code:
        body["code"] = problem.code
    body.update(problem.extra)
    if getattr(g, "request_id", None):
        body["request_id"] = g.request_id
    response = jsonify(body)
    response.status_code = problem.status
    response.mimetype = PROBLEM_MEDIA_TYPE
    response.headers.update(problem.headers)
    return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: Flask, render: Callable[[Problem], Response] = render_problem) -> None:
    """One handler per kind of failure, on the app so that routing 404/405 go through it too."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return render(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return render(problem_from_http(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The client sees no detail; the log has the traceback and the request id to find it.
        log.exception("unhandled error")
        return render(Problem(500, "Internal error; the request id identifies it in the logs.", code="internal"))
