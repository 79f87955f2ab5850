"""The admin API (/admin/v1): tenants, SCIM tokens, tenant admin keys and the audit trail."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint

from shared.credentials import AdminIdentity, bearer_token
from shared.errors import Problem
from shared.scim import target_scim_url
from shared.storable import refuse_unstorable_body

from .. import tokens
from ..tokens import ACTIVE, INACTIVE
from . import schemas as s

blp = Blueprint("admin", __name__, url_prefix="/admin/v1", description="Tenants, SCIM tokens and admin keys")


UNAUTHORIZED = "Send an admin key as 'Authorization: Bearer <admin key>' (a SCIM token is not an admin key)."


@blp.before_request
def _authenticate() -> None:
    presented = bearer_token(request.headers.get("Authorization"))
    admin = tokens.authenticate_admin(presented, current_app.config["ADMIN_API_KEY"])
    if admin is None:
        # Past AUTH_FAILURE_LIMIT this raises 429 instead; a known key never gets here.
        current_app.extensions["auth_failure_limiter"].after_failure(
            (request.view_args or {}).get("tenant"), UNAUTHORIZED)
        raise Problem(401, UNAUTHORIZED, code="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="admin"'})
    g.admin = admin
    refuse_unstorable_body()


def _admin() -> AdminIdentity:
    return g.admin


def _scim_url(tenant: str) -> str:
    return target_scim_url(current_app.config["PUBLIC_BASE_URL"], tenant)


def _with_url(token: tokens.Token, secret: str | None = None) -> dict[str, Any]:
    out = {field: getattr(token, field) for field in s.TokenSchema().fields if field not in ("tenant", "scim_url")}
    out.update(tenant_id=token.tenant_id, scim_url=_scim_url(token.tenant_id))
    if secret is not None:
        out["token"] = secret
    return out


def _keys() -> tuple[Any, str]:
    return current_app.extensions["signing_keys"], current_app.config["TOKEN_ISSUER"]


@blp.post("/tenants")
@blp.arguments(s.TenantCreateSchema)
@blp.response(201, s.TenantSchema)
def create_tenant(body: dict[str, Any]) -> dict[str, Any]:
    """Create a tenant (deployment admin key only)."""
    tenant = tokens.create_tenant(_admin(), body["id"])
    return {"id": tenant.id, "created_at": tenant.created_at, "scim_url": _scim_url(tenant.id)}


@blp.get("/tenants")
@blp.response(200, s.TenantListSchema)
def list_tenants() -> dict[str, Any]:
    """Tenants this admin may act on."""
    query = tokens.Tenant.select().order_by(tokens.Tenant.id)
    if _admin().tenant is not None:
        query = query.where(tokens.Tenant.id == _admin().tenant)
    return {"items": [{"id": t.id, "created_at": t.created_at, "scim_url": _scim_url(t.id)} for t in query]}


@blp.get("/tenants/<tenant>")
@blp.response(200, s.TenantSchema)
def get_tenant(tenant: str) -> dict[str, Any]:
    row = tokens.get_tenant(_admin(), tenant)
    return {"id": row.id, "created_at": row.created_at, "scim_url": _scim_url(row.id)}


@blp.post("/tenants/<tenant>/tokens")
@blp.arguments(s.TokenCreateSchema)
@blp.response(201, s.IssuedTokenSchema)
def generate_token(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Generate a SCIM token (R-TOK-1): the secret is in this response and never again."""
    issued = tokens.generate_token(_admin(), tenant, *_keys(), lifetime_days=body.get("expires_in_days"))
    return _with_url(issued.token, issued.secret)


@blp.get("/tenants/<tenant>/tokens")
@blp.response(200, s.TokenListSchema)
def list_tokens(tenant: str) -> dict[str, Any]:
    """The tenant's tokens (at most two), metadata only."""
    return {"items": [_with_url(t) for t in tokens.list_tokens(_admin(), tenant)]}


@blp.get("/tenants/<tenant>/tokens/<token_id>")
@blp.response(200, s.TokenSchema)
def get_token(tenant: str, token_id: str) -> dict[str, Any]:
    return _with_url(tokens.get_token(_admin(), tenant, token_id))


@blp.post("/tenants/<tenant>/tokens/<token_id>/activate")
@blp.response(200, s.TokenSchema)
def activate_token(tenant: str, token_id: str) -> dict[str, Any]:
    """Set to Active (R-TOK-2)."""
    return _with_url(tokens.set_state(_admin(), tenant, token_id, ACTIVE))


@blp.post("/tenants/<tenant>/tokens/<token_id>/deactivate")
@blp.response(200, s.TokenSchema)
def deactivate_token(tenant: str, token_id: str) -> dict[str, Any]:
    """Set to Inactive (R-TOK-2): the SCIM API refuses it within the documented bound."""
    return _with_url(tokens.set_state(_admin(), tenant, token_id, INACTIVE))


@blp.post("/tenants/<tenant>/tokens/<token_id>/renew")
@blp.arguments(s.TokenCreateSchema)
@blp.response(200, s.IssuedTokenSchema)
def renew_token(body: dict[str, Any], tenant: str, token_id: str) -> dict[str, Any]:
    """Renew (R-TOK-2): a new secret for the same slot; the old one stops working."""
    issued = tokens.renew_token(_admin(), tenant, token_id, *_keys(), lifetime_days=body.get("expires_in_days"))
    return _with_url(issued.token, issued.secret)


@blp.delete("/tenants/<tenant>/tokens/<token_id>")
@blp.response(204)
def remove_token(tenant: str, token_id: str) -> None:
    """Remove (R-TOK-2): the token is gone and refused."""
    tokens.remove_token(_admin(), tenant, token_id)


@blp.post("/tenants/<tenant>/admin-keys")
@blp.arguments(s.AdminKeyCreateSchema)
@blp.response(201, s.IssuedAdminKeySchema)
def create_admin_key(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """An admin key for this tenant only (deployment admin key only); shown once."""
    key, secret = tokens.create_admin_key(_admin(), tenant, body["name"])
    # Raw values, not a dump: the response schema dumps once more and reads 'tenant' from 'tenant_id'.
    out = {name: getattr(key, name) for name in ("id", "tenant_id", "name", "created_at", "created_by", "revoked_at")}
    out["key"] = secret
    return out


@blp.get("/tenants/<tenant>/admin-keys")
@blp.response(200, s.AdminKeyListSchema)
def list_admin_keys(tenant: str) -> dict[str, Any]:
    return {"items": tokens.list_admin_keys(_admin(), tenant)}


@blp.delete("/tenants/<tenant>/admin-keys/<key_id>")
@blp.response(204)
def revoke_admin_key(tenant: str, key_id: str) -> None:
    tokens.revoke_admin_key(_admin(), tenant, key_id)


@blp.get("/tenants/<tenant>/audit")
@blp.arguments(s.TokenAuditQuerySchema, location="query")
@blp.response(200, s.TokenAuditPageSchema)
def list_audit(query: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Every admin action on the tenant, newest first (R-TOK-6)."""
    events = tokens.list_audit(_admin(), tenant, limit=query["limit"], before=query["before"])
    items = [
        {"id": e.id, "at": e.at, "tenant": e.tenant, "actor": e.actor, "action": e.action,
         "token_id": e.token_id, "detail": json.loads(e.detail)}
        for e in events
    ]
    next_before = events[-1].id if len(events) == query["limit"] else None
    return {"items": items, "next_before": next_before}
