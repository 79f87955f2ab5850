"""The SCIM endpoint under the Target SCIM URL, /scim/v2/<tenant>: authentication first, always."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, g, request

from shared.scim import SCIM_BASE_PATH

from ..auth import REFUSED
from ..errors import ScimError, unauthorized

bp = Blueprint("scim", __name__, url_prefix=f"{SCIM_BASE_PATH}/<tenant>")
TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


@bp.url_value_preprocessor
def _take_tenant(_endpoint: str | None, values: dict | None) -> None:
    g.tenant = (values or {}).pop("tenant", "")


@bp.before_request
def _authenticate() -> None:
    # An unknown or malformed tenant gets the same 401 as a wrong token: nothing is disclosed.
    if not TENANT_ID.match(g.tenant):
        raise unauthorized(REFUSED)
    g.principal = current_app.extensions["token_verifier"].verify(request.headers.get("Authorization"), g.tenant)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_served_yet(rest: str) -> None:
    """Authenticated, but no SCIM resource is served here yet (the SCIM endpoint issue adds them)."""
    raise ScimError(404, f"'{rest or '/'}' is not a SCIM resource this server provides yet.")
