"""R-DIR-12 a tenant's provisioning settings (auto-invite, Managed Apple ID): written by admins, read by user writes.

Not the service's configuration: that is settings.py, read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.db import Prepared, slot
from shared.errors import Problem
from shared.schemas.common import utcnow

from . import audit
from .apple_id_rules import AppleIdSettings, check_settings
from .audit import Actor
from .models import TenantSettings, db
from .tenants import custom_attribute_names, ensure_tenant

_KEYS = ("auto_invite", "apple_id")
_READ_ONLY = ("updated_at", "updated_by")  # ignored when sent back: a GET answer can be PUT as it is


@dataclass(frozen=True)
class ProvisioningSettings:
    """What a user write needs; the defaults are what a tenant without a settings row gets (all off)."""

    auto_invite: bool = False
    apple_id: AppleIdSettings = field(default_factory=AppleIdSettings)

    def as_dict(self) -> dict[str, Any]:
        return {"auto_invite": self.auto_invite, "apple_id": self.apple_id.as_dict()}


_BY_TENANT = Prepared(lambda: TenantSettings.select().where(TenantSettings.tenant == slot("tenant")).limit(1))


def load(tenant: str) -> ProvisioningSettings:
    """The settings a write applies: one read by primary key; call inside the write's transaction."""
    row = _BY_TENANT.first(TenantSettings, tenant=tenant)
    if row is None:
        return ProvisioningSettings()
    return ProvisioningSettings(auto_invite=bool(row.auto_invite), apple_id=AppleIdSettings.from_dict(row.apple_id))


def get_settings(tenant: str) -> dict[str, Any]:
    """GET: {"auto_invite", "apple_id": {...}, "updated_at", "updated_by"}; defaults (with nulls) when
    the tenant never saved any."""
    row = TenantSettings.get_or_none(TenantSettings.tenant == tenant)
    if row is None:
        return {**ProvisioningSettings().as_dict(), "updated_at": None, "updated_by": None}
    settings = ProvisioningSettings(auto_invite=bool(row.auto_invite), apple_id=AppleIdSettings.from_dict(row.apple_id))
    return {**settings.as_dict(), "updated_at": row.updated_at, "updated_by": row.updated_by}


def parse(data: Mapping[str, Any], tenant: str) -> ProvisioningSettings:
    """The whole settings document an admin sends (PUT), checked: 400 `invalid_value` naming the field."""
    if not isinstance(data, Mapping):
        raise _invalid("settings", "The settings are a JSON object.")
    unknown = sorted(set(data) - set(_KEYS) - set(_READ_ONLY))
    if unknown:
        raise _invalid(unknown[0], f"Unknown setting(s): {', '.join(unknown)}; the settings are {', '.join(_KEYS)}.")
    auto_invite = data.get("auto_invite", False)
    if not isinstance(auto_invite, bool):
        raise _invalid("auto_invite", "auto_invite is true or false.")
    raw = data.get("apple_id")
    if raw is not None and not isinstance(raw, Mapping):
        raise _invalid("apple_id", "apple_id is an object: enabled, source, custom_attribute, appleid_subdomain.")
    try:
        apple = AppleIdSettings.from_dict(raw)
    except TypeError as exc:  # a value of the wrong shape the dataclass could not even take
        raise _invalid("apple_id", f"Invalid Managed Apple ID setting: {exc}.") from None
    # R-DIR-11: the custom source names an attribute the tenant defined (its defined spelling is kept).
    return ProvisioningSettings(auto_invite=auto_invite, apple_id=check_settings(apple, custom_attribute_names(tenant)))


def put_settings(tenant: str, data: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    """PUT: replace the tenant's settings; logs `settings.updated` (changed fields only) in the same
    transaction (R-DIR-13). Later user writes apply them; existing users are not re-derived here."""
    now = utcnow()
    with db.atomic():
        ensure_tenant(tenant, now)
        settings = parse(data, tenant)  # inside: the custom attribute cannot vanish between check and save
        before = load(tenant).as_dict()
        after = settings.as_dict()
        (TenantSettings.insert(tenant=tenant, auto_invite=settings.auto_invite, apple_id=after["apple_id"],
                               updated_at=now, updated_by=actor.name)
         .on_conflict(conflict_target=[TenantSettings.tenant],
                      update={TenantSettings.auto_invite: settings.auto_invite,
                              TenantSettings.apple_id: after["apple_id"],
                              TenantSettings.updated_at: now, TenantSettings.updated_by: actor.name})
         .execute())
        changes = audit.diff(before, after)
        if changes:
            audit.record(tenant, now, actor, [audit.event("settings.updated", audit.TENANT, tenant, changes)])
    return get_settings(tenant)


def _invalid(attribute: str, detail: str) -> Problem:
    return Problem(400, detail, code="invalid_value", attribute=attribute)
