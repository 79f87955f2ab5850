"""The Notifications page (server-rendered, R-NOT-4): sign-in, a tenant's list with filters and pages,
acknowledge. Jinja autoescapes every value, attribute values from Entra included."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from shared.schemas.common import utcnow
from shared.tenants import check_tenant

from . import auth, feed, rules
from .api.admin import NOTIFICATION_ID, page_of
from .api.schemas import NotificationQuerySchema
from .models import Tenant

# The stylesheet is a file (static/pages.css) so that the policy below needs no 'unsafe-inline'.
bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
PER_PAGE = 20
# Every page response: only this origin's files, no script at all, no framing, no sniffing,
# no referrer leaking tenant names or notification ids, and nothing kept in a shared or browser cache.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@bp.after_request
def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never '//host' or a scheme (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _require(tenant: str) -> Any:
    admin = auth.current_admin()
    if admin is None:
        return None
    if not admin.may_act_on(check_tenant(tenant)):
        abort(404)
    return admin


def _to_sign_in(target: str | None = None) -> Response:
    return redirect(url_for("pages.sign_in", next=target or request.full_path.rstrip("?")))


@bp.get("/sign-in")
def sign_in() -> Any:
    return render_template("sign_in.html", next=_safe_next(request.args.get("next")) or "", error=None,
                           csrf_token=auth.csrf_token())


@bp.post("/sign-in")
def sign_in_submit() -> Any:
    auth.check_csrf()
    target = _safe_next(request.form.get("next"))
    admin = auth.sign_in(request.form.get("key", ""))
    if admin is None:
        return render_template("sign_in.html", next=target or "", error="That admin key is not valid.",
                               csrf_token=auth.csrf_token()), 401
    if target is None and admin.tenant is not None:
        target = url_for("pages.notifications", tenant=admin.tenant)
    return redirect(target or url_for("pages.home"))


@bp.post("/sign-out")
def sign_out() -> Any:
    auth.check_csrf()
    session.clear()
    return redirect(url_for("pages.sign_in"))


@bp.get("/")
def home() -> Any:
    admin = auth.current_admin()
    if admin is None:
        return _to_sign_in()
    query = Tenant.select(Tenant.id).order_by(Tenant.id)
    if admin.tenant is not None:
        query = query.where(Tenant.id == admin.tenant)
    return render_template("home.html", tenants=[t.id for t in query], admin=admin, csrf_token=session.get("csrf", ""))


@bp.get("/tenants/<tenant>/notifications")
def notifications(tenant: str) -> Any:
    admin = _require(tenant)
    if admin is None:
        return _to_sign_in()
    args = {"kind": request.args.getlist("kind"), "state": request.args.getlist("state"),
            "page": request.args.get("page", "1"), "per_page": str(PER_PAGE)}
    args = {k: v for k, v in args.items() if v not in ([], [""])}
    try:
        query = NotificationQuerySchema().load(args)
    except ValidationError:
        return redirect(url_for("pages.notifications", tenant=tenant))
    page = page_of(tenant, query)
    filters = {"kind": query["kind"], "state": query["state"]}

    def link(page_number: int) -> str:
        return url_for("pages.notifications", tenant=tenant) + "?" + urlencode({**filters, "page": page_number},
                                                                                doseq=True)

    return render_template(
        "notifications.html", tenant=tenant, page=page, filters=filters, kinds=rules.KINDS,
        titles=rules.KIND_TITLES, states=feed.STATES, counts=feed.counts_by_state(tenant), admin=admin,
        signed_in=not auth.bearer_present(), csrf_token=session.get("csrf", ""), link=link,
        back=request.full_path.rstrip("?"))


@bp.post(f"/tenants/<tenant>/notifications/<{NOTIFICATION_ID}>/acknowledge")
def acknowledge(tenant: str, notification_id: int) -> Any:
    admin = _require(tenant)
    if admin is None:
        return _to_sign_in(url_for("pages.notifications", tenant=tenant))
    auth.check_csrf()
    row, changed = feed.acknowledge(tenant, notification_id, admin.admin_id, utcnow())
    if changed:
        current_app.extensions["notify"](tenant, [("acknowledged", row)])
    return redirect(_safe_next(request.form.get("back")) or url_for("pages.notifications", tenant=tenant))


@bp.app_template_filter("iso")
def _iso(value: Any) -> str:
    return value.isoformat(timespec="seconds") + "Z" if value else ""


@bp.app_template_filter("when")
def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""
