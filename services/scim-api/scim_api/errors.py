"""SCIM error bodies (RFC 7644 §3.12) for every failure the SCIM API answers, as application/scim+json."""

from __future__ import annotations

from typing import Any

from flask import Response, json

from shared.errors import Problem
from shared.scim import ERROR_SCHEMA, SCIM_MEDIA_TYPE

# scimType values of RFC 7644 §3.12, table 9; any other Problem code is not a scimType.
SCIM_TYPES = frozenset({
    "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax", "invalidPath",
    "noTarget", "invalidValue", "invalidVers", "sensitive",
})


class ScimError(Problem):
    """A SCIM protocol error; `scim_type` is one of RFC 7644's scimType values, or None."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None, **kw: Any) -> None:
        super().__init__(status, detail, code=scim_type, **kw)


def unauthorized(detail: str) -> ScimError:
    return ScimError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="scim", error="invalid_token"'})


def unsupported_media_type(received: str, accepted: tuple[str, ...]) -> ScimError:
    """415 (RFC 9110 §15.5.16): a body whose Content-Type says it is not JSON; nothing was read or stored."""
    sent = received if len(received) <= 80 else received[:80] + "..."
    return ScimError(415, f"The request body was sent as '{sent}', but this server reads only JSON bodies, so nothing "
                          f"was changed. Send it with Content-Type {' or '.join(accepted)}.")


def render_scim_error(problem: Problem) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(problem.status), "detail": problem.detail}
    if problem.code in SCIM_TYPES:
        body["scimType"] = problem.code
    response = Response(json.dumps(body), status=problem.status, mimetype=SCIM_MEDIA_TYPE)
    response.headers.update(problem.headers)
    return response
