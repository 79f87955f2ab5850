"""The SCIM endpoint under the Target SCIM URL, /scim/v2/<tenant>: authentication first, always."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException

from shared.scim import SCIM_BASE_PATH
from shared.tenants import valid_tenant_id

from ..auth import REFUSED
from ..errors import ScimError, unauthorized
from . import discovery, groups, lists, users

bp = Blueprint("scim", __name__, url_prefix=f"{SCIM_BASE_PATH}/<tenant>")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.url_value_preprocessor
def _take_tenant(_endpoint: str | None, values: dict | None) -> None:
    g.tenant = (values or {}).pop("tenant", "")


@bp.before_request
def _authenticate() -> None:
    # Runs for the nested blueprints too (Flask runs a parent's hooks for its children).
    # An unknown or malformed tenant gets the same 401 as a wrong token: nothing is disclosed.
    if not valid_tenant_id(g.tenant):
        raise unauthorized(REFUSED)
    g.principal = current_app.extensions["token_verifier"].verify(request.headers.get("Authorization"), g.tenant)


@bp.route("/", defaults={"rest": ""}, methods=METHODS)
@bp.route("/<path:rest>", methods=METHODS)
def not_found(rest: str) -> None:
    """Authenticated, but not a resource here: 405 when the path exists for another method, else 404."""
    allowed = _allowed_methods()
    if allowed:
        raise ScimError(405, f"{request.method} is not supported on '/{rest}'; use {', '.join(allowed)}.",
                        headers={"Allow": ", ".join(allowed)})
    raise ScimError(404, f"'/{rest}' is not a SCIM resource this server provides: use /Users, /Groups, "
                         "/ServiceProviderConfig, /ResourceTypes or /Schemas.")


def _allowed_methods() -> list[str]:
    adapter = current_app.url_map.bind("localhost")
    allowed = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:  # no rule, another method, or a slash redirect
            continue
        if endpoint != "scim.not_found":
            allowed.append(method)
    return allowed


for _child in (users.bp, groups.bp, discovery.bp, lists.bp):
    bp.register_blueprint(_child)
