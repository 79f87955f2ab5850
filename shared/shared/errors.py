"""Problem errors (RFC 9457 JSON bodies) and the app-level handlers that render them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import peewee
from flask import Flask, Response, g, jsonify
from playhouse.pool import MaxConnectionsExceeded
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


# SQLite primary result codes (the low byte of sqlite_errorcode) that say the storage cannot take the request
# now, not that the request or the code is wrong: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
_SQLITE_FAULTS = {5: "busy", 6: "busy", 8: "read_only", 10: "io_error", 13: "full", 14: "unreachable"}
# PostgreSQL SQLSTATEs (Appendix A) of the same kind, by code first, then by class.
_PG_FAULTS = {"25006": "read_only", "53100": "full", "40001": "busy", "40P01": "busy", "55P03": "busy",
              "57P01": "unreachable", "57P02": "unreachable", "57P03": "unreachable"}
_PG_FAULT_CLASSES = {"08": "unreachable", "53": "full"}
_STORAGE_DETAIL = {
    "read_only": "The database is read-only at the moment; nothing was changed. Retry later.",
    "full": "The database is out of space; nothing was changed. Retry later.",
}
_STORAGE_RETRY_AFTER = {"read_only": 60, "full": 60}


def storage_fault(exc: BaseException) -> Problem | None:
    """A 503 Problem when `exc` (or what it was raised while handling) is the database refusing for now.

    peewee raises the driver's error wrapped (`.orig`); and when SQLite rolls a transaction back by itself
    (SQLITE_FULL does), peewee's own ROLLBACK then fails and hides the cause in `__context__`.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _fault_reason(current)
        if reason is not None:
            detail = _STORAGE_DETAIL.get(reason, "The database is unavailable at the moment. Retry later.")
            return Problem(503, detail, code="unavailable", reason=reason,
                           headers={"Retry-After": str(_STORAGE_RETRY_AFTER.get(reason, 5))})
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return None


def _fault_reason(exc: BaseException) -> str | None:
    if isinstance(exc, MaxConnectionsExceeded):
        return "busy"
    if not isinstance(exc, peewee.PeeweeException):
        return None
    orig = getattr(exc, "orig", None)
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return _SQLITE_FAULTS.get(sqlite_code & 0xFF)
    pgcode = getattr(orig, "pgcode", None)
    if pgcode:
        return _PG_FAULTS.get(pgcode) or _PG_FAULT_CLASSES.get(pgcode[:2])
    # A driver error without a server code: the connection itself failed (refused, reset, closed).
    if orig is not None and isinstance(exc, peewee.OperationalError | peewee.InterfaceError):
        return "unreachable"
    return None


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
        fault = storage_fault(exc)
        if fault is not None:
            # A disk filling up or a read-only database is for operators to fix, and the caller to retry.
            log.error("the database refused the request (%s)", fault.extra["reason"], exc_info=exc)
            return render(fault)
        # The client sees no detail; the log has the traceback and the request id to find it.
        log.exception("unhandled error")
        return render(Problem(500, "Internal error; the request id identifies it in the logs.", code="internal"))
