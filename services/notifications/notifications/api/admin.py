"""The admin JSON API (/admin/v1): a tenant's notifications with filters and pages, acknowledge, webhook."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint

from shared.admin_auth import require_admin
from shared.schemas.common import utcnow
from shared.tenants import check_tenant

from .. import feed, webhooks
from . import schemas as s

blp = Blueprint("admin", __name__, url_prefix="/admin/v1", description="Sync notifications (R-NOT) and webhooks")
# Ids are the notifications table's serial (32-bit on PostgreSQL); a larger number is routed to a 404 like any
# missing id, not to the database (SQLite cannot even bind one past 2**63: an OverflowError, a 500).
NOTIFICATION_ID = "int(min=1, max=2147483647):notification_id"


def page_of(tenant: str, query: dict[str, Any]) -> dict[str, Any]:
    """One page of notifications as the API and the page show them."""
    rows, total = feed.list_notifications(tenant, kinds=query["kind"], states=query["state"], page=query["page"],
                                          per_page=query["per_page"])
    more = query["page"] * query["per_page"] < total
    return {"items": [feed.view(r) for r in rows], "page": query["page"], "per_page": query["per_page"],
            "total": total, "next_page": query["page"] + 1 if more else None}


@blp.get("/tenants/<tenant>/notifications")
@require_admin
@blp.arguments(s.NotificationQuerySchema, location="query")
@blp.response(200, s.NotificationPageSchema)
def list_notifications(query: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Open notifications first, then acknowledged, then resolved; filter with repeated `kind` and `state`."""
    return page_of(check_tenant(tenant), query)


@blp.get(f"/tenants/<tenant>/notifications/<{NOTIFICATION_ID}>")
@require_admin
@blp.response(200, s.NotificationSchema)
def get_notification(tenant: str, notification_id: int) -> dict[str, Any]:
    return feed.view(feed.get_notification(check_tenant(tenant), notification_id))


@blp.post(f"/tenants/<tenant>/notifications/<{NOTIFICATION_ID}>/acknowledge")
@require_admin
@blp.response(200, s.NotificationSchema)
def acknowledge(tenant: str, notification_id: int) -> dict[str, Any]:
    """The admin has seen it; it stays in the list and resolves itself when its cause goes away."""
    row, changed = feed.acknowledge(check_tenant(tenant), notification_id, g.admin.admin_id, utcnow())
    if changed:
        current_app.extensions["notify"](tenant, [("acknowledged", row)])
    return feed.view(row)


@blp.get("/tenants/<tenant>/webhook")
@require_admin
@blp.response(200, s.WebhookSchema)
def get_webhook(tenant: str) -> Any:
    return webhooks.get_webhook(check_tenant(tenant))


@blp.put("/tenants/<tenant>/webhook")
@require_admin
@blp.arguments(s.WebhookWriteSchema)
@blp.response(200, s.IssuedWebhookSchema)
def set_webhook(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Notifications are POSTed to `url` as they are raised, acknowledged and resolved, with
    `X-Signature: sha256=<HMAC-SHA256 of the body with the secret>`."""
    row, secret = webhooks.set_webhook(check_tenant(tenant), body["url"], body["secret"], utcnow())
    return {"tenant": row.tenant, "url": row.url, "created_at": row.created_at, "secret": secret}


@blp.delete("/tenants/<tenant>/webhook")
@require_admin
@blp.response(204)
def delete_webhook(tenant: str) -> None:
    webhooks.delete_webhook(check_tenant(tenant))
