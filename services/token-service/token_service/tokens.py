"""Tenants, SCIM tokens and admin keys: the rules of R-TOK, with no Flask in sight."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

import peewee
from peewee import fn

from shared.credentials import AdminIdentity, secret_hash
from shared.errors import Problem
from shared.schemas.common import utcnow
from shared.tenants import TENANT_ID_RULE, valid_tenant_id

from .models import AdminKey, AuditEvent, Tenant, Token, db
from .signing import SigningKeys

ACTIVE, INACTIVE = "Active", "Inactive"
MAX_TOKENS_PER_TENANT = 2  # R-TOK-3: two slots, so an admin can rotate without downtime
ADMIN_KEY_PREFIX = "sta_"
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)  # bounds writes caused by introspection


@dataclass(frozen=True)
class Issued:
    """A token together with its secret: returned once, on generate and renew (R-TOK-1)."""

    token: Token
    secret: str


def audit(tenant: str, actor: AdminIdentity | str, action: str, token_id: str | None = None, **detail: object) -> None:
    """Record an admin action; always called inside the transaction of the change it describes."""
    AuditEvent.create(
        at=utcnow(),
        tenant=tenant,
        actor=actor.admin_id if isinstance(actor, AdminIdentity) else actor,
        action=action,
        token_id=token_id,
        detail=json.dumps(detail, default=str, sort_keys=True),
    )


def get_tenant(admin: AdminIdentity, tenant_id: str) -> Tenant:
    """The tenant if it exists and the admin may see it; otherwise 404, so that another tenant's
    existence is never disclosed."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id) if admin.may_act_on(tenant_id) else None
    if tenant is None:
        raise Problem(404, f"Tenant '{tenant_id}' was not found.", code="tenant_not_found")
    return tenant


def create_tenant(admin: AdminIdentity, tenant_id: str) -> Tenant:
    if not admin.deployment_wide:
        raise Problem(403, "Only the deployment admin key can create tenants.", code="forbidden")
    if not valid_tenant_id(tenant_id):
        raise Problem(400, TENANT_ID_RULE, code="invalid_tenant_id")
    try:
        with db.atomic():
            tenant = Tenant.create(id=tenant_id, created_at=utcnow(), created_by=admin.admin_id)
            audit(tenant_id, admin, "tenant.create")
    except peewee.IntegrityError:
        raise Problem(409, f"Tenant '{tenant_id}' already exists.", code="tenant_exists") from None
    return tenant


def _expiry(now: dt.datetime, lifetime_days: int | None) -> dt.datetime | None:
    return None if lifetime_days is None else now + dt.timedelta(days=lifetime_days)


def _sign(keys: SigningKeys, issuer: str, token: Token, now: dt.datetime) -> str:
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": "scim",
        "sub": token.id,
        "tid": token.tenant_id,
        "iat": int(now.replace(tzinfo=dt.UTC).timestamp()),
        # A fresh random jti per secret: a renewed token differs from its predecessor.
        "jti": secrets.token_urlsafe(16),
    }
    if token.expires_at is not None:
        claims["exp"] = int(token.expires_at.replace(tzinfo=dt.UTC).timestamp())
    return keys.sign(claims)


def generate_token(
    admin: AdminIdentity, tenant_id: str, keys: SigningKeys, issuer: str, lifetime_days: int | None = None
) -> Issued:
    """R-TOK-1/3: a new token in a free slot, or 409 when both slots are taken."""
    tenant = get_tenant(admin, tenant_id)
    now = utcnow()
    try:
        with db.atomic():
            used = {t.slot for t in Token.select(Token.slot).where(Token.tenant == tenant)}
            free = [s for s in range(1, MAX_TOKENS_PER_TENANT + 1) if s not in used]
            if not free:
                raise _limit_reached(tenant_id)
            token = Token(
                id=uuid.uuid4().hex,
                tenant=tenant,
                slot=free[0],
                state=ACTIVE,
                created_at=now,
                created_by=admin.admin_id,
                lifetime_days=lifetime_days,
                expires_at=_expiry(now, lifetime_days),
            )
            secret = _sign(keys, issuer, token, now)
            token.secret_hash = secret_hash(secret)
            token.save(force_insert=True)
            audit(tenant_id, admin, "token.generate", token.id, slot=token.slot, expires_at=token.expires_at)
    except peewee.IntegrityError:
        # A concurrent generate took the last slot between our read and our insert.
        raise _limit_reached(tenant_id) from None
    return Issued(token, secret)


def _limit_reached(tenant_id: str) -> Problem:
    return Problem(
        409,
        f"Tenant '{tenant_id}' already has {MAX_TOKENS_PER_TENANT} tokens, the most allowed. "
        "Remove or renew one of them instead.",
        code="token_limit",
    )


def list_tokens(admin: AdminIdentity, tenant_id: str) -> list[Token]:
    tenant = get_tenant(admin, tenant_id)
    return list(Token.select().where(Token.tenant == tenant).order_by(Token.slot))


def get_token(admin: AdminIdentity, tenant_id: str, token_id: str) -> Token:
    tenant = get_tenant(admin, tenant_id)
    token = Token.get_or_none((Token.id == token_id) & (Token.tenant == tenant))
    if token is None:
        raise Problem(404, f"Token '{token_id}' was not found in tenant '{tenant_id}'.", code="token_not_found")
    return token


def set_state(admin: AdminIdentity, tenant_id: str, token_id: str, state: str) -> Token:
    """R-TOK-2: Set to Active / Set to Inactive; idempotent."""
    with db.atomic():
        token = get_token(admin, tenant_id, token_id)
        if token.state != state:
            before = token.state
            token.state = state
            token.save()
            audit(tenant_id, admin, "token.activate" if state == ACTIVE else "token.deactivate", token.id,
                  before=before, after=state)
    return token


def renew_token(
    admin: AdminIdentity, tenant_id: str, token_id: str, keys: SigningKeys, issuer: str,
    lifetime_days: int | None = None,
) -> Issued:
    """R-TOK-2: a new secret in the same slot; the old secret's hash is gone, so it fails at once."""
    with db.atomic():
        token = get_token(admin, tenant_id, token_id)
        now = utcnow()
        token.renewed_at = now
        if lifetime_days is not None:
            token.lifetime_days = lifetime_days
        token.expires_at = _expiry(now, token.lifetime_days)
        secret = _sign(keys, issuer, token, now)
        token.secret_hash = secret_hash(secret)
        token.save()
        audit(tenant_id, admin, "token.renew", token.id, expires_at=token.expires_at)
    return Issued(token, secret)


def remove_token(admin: AdminIdentity, tenant_id: str, token_id: str) -> None:
    with db.atomic():
        token = get_token(admin, tenant_id, token_id)
        token.delete_instance()
        audit(tenant_id, admin, "token.remove", token_id, slot=token.slot)


def introspect(token_hash: str, resolution: dt.timedelta = LAST_USED_RESOLUTION) -> tuple[bool, Token | None]:
    """Is the token with this hash usable now? Tracks last_used_at to `resolution` (a minute by default)."""
    token = Token.get_or_none(Token.secret_hash == token_hash)
    if token is None:
        return False, None
    now = utcnow()
    if token.state != ACTIVE or (token.expires_at is not None and token.expires_at <= now):
        return False, token
    if token.last_used_at is None or now - token.last_used_at >= resolution:
        Token.update(last_used_at=now).where(Token.id == token.id).execute()
        token.last_used_at = now
    return True, token


def create_admin_key(admin: AdminIdentity, tenant_id: str, name: str) -> tuple[AdminKey, str]:
    """A key for one tenant's admins; only the deployment admin hands them out."""
    if not admin.deployment_wide:
        raise Problem(403, "Only the deployment admin key can create admin keys.", code="forbidden")
    tenant = get_tenant(admin, tenant_id)
    secret = ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
    with db.atomic():
        key = AdminKey.create(
            id=uuid.uuid4().hex, tenant=tenant, name=name, key_hash=secret_hash(secret),
            created_at=utcnow(), created_by=admin.admin_id,
        )
        audit(tenant_id, admin, "admin_key.create", admin_key_id=key.id, name=name)
    return key, secret


def list_admin_keys(admin: AdminIdentity, tenant_id: str) -> list[AdminKey]:
    tenant = get_tenant(admin, tenant_id)
    return list(AdminKey.select().where(AdminKey.tenant == tenant).order_by(AdminKey.created_at))


def revoke_admin_key(admin: AdminIdentity, tenant_id: str, key_id: str) -> None:
    if not admin.deployment_wide:
        raise Problem(403, "Only the deployment admin key can revoke admin keys.", code="forbidden")
    tenant = get_tenant(admin, tenant_id)
    with db.atomic():
        key = AdminKey.get_or_none((AdminKey.id == key_id) & (AdminKey.tenant == tenant))
        if key is None:
            raise Problem(404, f"Admin key '{key_id}' was not found.", code="admin_key_not_found")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            key.save()
            audit(tenant_id, admin, "admin_key.revoke", admin_key_id=key.id)


def authenticate_admin(presented: str | None, deployment_key: str) -> AdminIdentity | None:
    """The admin behind a presented key (shared.credentials.bearer_token of the header), or None."""
    return identify_admin(secret_hash(presented), deployment_key) if presented else None


def identify_admin(key_hash: str, deployment_key: str) -> AdminIdentity | None:
    """The admin whose key hashes to `key_hash`, or None; constant-time for the deployment key."""
    if hmac.compare_digest(key_hash, secret_hash(deployment_key)):
        return AdminIdentity.deployment()
    key = AdminKey.get_or_none((AdminKey.key_hash == key_hash) & AdminKey.revoked_at.is_null())
    return AdminIdentity.for_key(key.id, key.tenant_id) if key else None


def list_audit(
    admin: AdminIdentity, tenant_id: str, *, limit: int = 50, before: int | None = None
) -> list[AuditEvent]:
    """Newest first, keyset-paginated by id (`before` = the last id of the previous page)."""
    get_tenant(admin, tenant_id)
    query = AuditEvent.select().where(AuditEvent.tenant == tenant_id)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(query.order_by(AuditEvent.id.desc()).limit(limit))


def activity() -> list[dict[str, object]]:
    """Per tenant: its usable tokens and when Entra last used any of them (R-NOT-1 asks this)."""
    now = utcnow()
    usable = (Token.state == ACTIVE) & (Token.expires_at.is_null() | (Token.expires_at > now))
    last_used = fn.MAX(Token.last_used_at).python_value(Token.last_used_at.python_value)
    rows = (Tenant.select(Tenant.id, fn.COALESCE(fn.SUM(peewee.Case(None, [(usable, 1)], 0)), 0).alias("tokens"),
                          last_used.alias("last_used_at"))
            .join(Token, peewee.JOIN.LEFT_OUTER).group_by(Tenant.id).order_by(Tenant.id).dicts())
    return [{"tenant": r["id"], "tokens": int(r["tokens"]), "last_used_at": r["last_used_at"]} for r in rows]
