"""Who is looking at the Notifications page: an admin key as a bearer header, or a signed session cookie
that holds the secret_hash of the key signed in with (never the key itself), checked again on every request
so that a revoked key stops working within the verifier's cache bound (≤ 5 s)."""

from __future__ import annotations

import hmac
import secrets

from flask import current_app, request, session

from shared.admin_auth import AdminVerifier, unauthorized
from shared.credentials import AdminIdentity, secret_hash
from shared.errors import Problem


def verifier() -> AdminVerifier:
    return current_app.extensions["admin_verifier"]


def bearer_present() -> bool:
    return bool(request.headers.get("Authorization"))


def current_admin() -> AdminIdentity | None:
    """The admin behind this request: a bearer header (scripts) wins over the session cookie (browsers).
    A wrong bearer key is a 401; a stale session is simply no session."""
    header = request.headers.get("Authorization")
    if header:
        admin = verifier().identify(header)
        if admin is None:
            raise unauthorized()
        return admin
    hashed = session.get("key_hash")
    if not hashed:
        return None
    admin = verifier().identify_hash(hashed)
    if admin is None:
        session.clear()
    return admin


def sign_in(key: str) -> AdminIdentity | None:
    hashed = secret_hash(key.strip()) if key.strip() else None
    admin = verifier().identify_hash(hashed) if hashed else None
    if admin is not None:
        session.clear()
        session.permanent = True
        session["key_hash"] = hashed
        session["csrf"] = secrets.token_urlsafe(32)
    return admin


def csrf_token() -> str:
    """The form token of this session (created on first use, so the sign-in form has one too)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Cookie-authenticated forms must carry the session's token; a bearer header cannot be sent
    cross-site by a browser, so scripts need none."""
    if bearer_present():
        return
    expected = session.get("csrf", "")
    presented = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise Problem(400, "The form has expired or did not come from this site; reload the page and try again.",
                      code="csrf")
