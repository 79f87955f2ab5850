"""Endpoints for the other services: token introspection, admin key checks and token activity (credential
required), and the JWKS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from shared.app import require_internal
from shared.errors import Problem
from shared.schemas.notifications import ActivitySchema
from shared.schemas.tokens import (
    AdminCheckRequestSchema,
    AdminIdentitySchema,
    IntrospectRequestSchema,
    TokenStateSchema,
)

from .. import tokens

bp = Blueprint("internal", __name__)


@bp.post("/internal/v1/introspect")
@require_internal
def introspect() -> Any:
    """Is this token usable now, and for which tenant? The answer may be cached for cache_seconds."""
    try:
        body = IntrospectRequestSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise Problem(400, "Send {'token_hash': <sha256 hex of the token>}.", code="invalid", errors=exc.messages) \
            from None
    resolution = dt.timedelta(seconds=current_app.config["LAST_USED_RESOLUTION_SECONDS"])
    active, token = tokens.introspect(body["token_hash"], resolution)
    state = {
        "active": active,
        "tenant": token.tenant_id if token else None,
        "token_id": token.id if token else None,
        "expires_at": token.expires_at if token else None,
        "cache_seconds": current_app.config["TOKEN_STATE_CACHE_SECONDS"],
    }
    return jsonify(TokenStateSchema().dump(state))


@bp.post("/internal/v1/admin-keys/check")
@require_internal
def check_admin_key() -> Any:
    """Whose is this admin key? Lets the other services' admin APIs take the same keys (R-DIR admin API)."""
    try:
        body = AdminCheckRequestSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise Problem(400, "Send {'key_hash': <sha256 hex of the admin key>}.", code="invalid",
                      errors=exc.messages) from None
    admin = tokens.identify_admin(body["key_hash"], current_app.config["ADMIN_API_KEY"])
    identity = {"valid": admin is not None, "admin_id": admin.admin_id if admin else None,
                "tenant": admin.tenant if admin else None,
                "cache_seconds": current_app.config["TOKEN_STATE_CACHE_SECONDS"]}
    return jsonify(AdminIdentitySchema().dump(identity))


@bp.get("/internal/v1/activity")
@require_internal
def activity() -> Any:
    """Per tenant, its usable tokens and when Entra last called with one: the notifications service
    raises "Entra ID service unreachable" from this (R-NOT-1)."""
    return jsonify(ActivitySchema().dump({"items": tokens.activity()}))


@bp.get("/.well-known/jwks.json")
def jwks() -> Any:
    """Public keys that verify SCIM tokens; public by nature, so no credential."""
    response = jsonify(current_app.extensions["signing_keys"].jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
