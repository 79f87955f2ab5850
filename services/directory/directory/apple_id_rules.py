"""R-DIR-12 Managed Apple ID: the tenant's setting, the ID derived for a user, and conflicts between users.

The setting is off by default; the ID comes from the user's email address
(optionally moved to an "appleid" subdomain, `ann@example.com` → `ann@appleid.example.com`, to avoid
clashing with Apple IDs people already own) or from a custom attribute that holds a unique email.
Pure functions: apple_id_assignment.py stores the ID and looks up who already holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from shared.catalogue import is_custom_name
from shared.errors import Problem

from .templates import preferred_email

ATTRIBUTE = "managedAppleId"
SUBDOMAIN = "appleid"
Source = Literal["email", "custom"]
SOURCES: tuple[str, ...] = ("email", "custom")


@dataclass(frozen=True)
class AppleIdSettings:
    """The tenant's Managed Apple ID setting. `appleid_subdomain` applies to the email source only: a
    custom attribute already holds the exact ID."""

    enabled: bool = False
    source: Source = "email"
    custom_attribute: str | None = None
    appleid_subdomain: bool = False

    def __post_init__(self) -> None:
        # Refused when saved (400), so that a user write never meets a setting it cannot apply.
        if not isinstance(self.enabled, bool) or not isinstance(self.appleid_subdomain, bool):
            raise _invalid("enabled", "enabled and appleid_subdomain are true or false.")
        if self.source not in SOURCES:
            raise _invalid("source", f"The Managed Apple ID source is one of {', '.join(SOURCES)}, "
                                     f"not {str(self.source)[:40]!r}.")
        if self.source == "custom":
            if not isinstance(self.custom_attribute, str) or not is_custom_name(self.custom_attribute):
                raise _invalid("custom_attribute", "The custom source needs the name of a custom attribute "
                                                   "(a letter then up to 63 letters, digits, '_' or '-').")
            if self.appleid_subdomain:
                raise _invalid("appleid_subdomain", "The appleid subdomain applies to the user email source "
                                                    "only; a custom attribute holds the Managed Apple ID as is.")
        elif self.custom_attribute is not None:
            raise _invalid("custom_attribute", "custom_attribute is only set with the custom source.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AppleIdSettings:
        """From stored or admin-sent JSON; missing keys take the defaults (off), unknown keys are refused."""
        data = dict(data or {})
        unknown = sorted(set(data) - {"enabled", "source", "custom_attribute", "appleid_subdomain"})
        if unknown:
            raise _invalid(unknown[0], f"Unknown Managed Apple ID setting(s): {', '.join(unknown)}.")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_settings(settings: AppleIdSettings, custom_names: Mapping[str, str]) -> AppleIdSettings:
    """At save time: the custom source must name a custom attribute the tenant defined (R-DIR-11), given
    as lowered name → defined spelling. Returns the settings with the defined spelling."""
    if settings.source != "custom" or settings.custom_attribute is None:
        return settings
    spelling = {k.lower(): v for k, v in custom_names.items()}.get(settings.custom_attribute.lower())
    if spelling is None:
        raise _invalid("custom_attribute", f"The tenant has no custom attribute '{settings.custom_attribute}': "
                                           "define it first.")
    return AppleIdSettings(enabled=settings.enabled, source="custom", custom_attribute=spelling)


@dataclass(frozen=True)
class AppleIdResult:
    """The ID derived for a user, or why there is none: `reason` is "disabled", "no_email",
    "no_custom_value" or "invalid_email"; `detail` says it in words for an admin."""

    value: str | None
    reason: str | None = None
    detail: str | None = None


def derive_apple_id(user: Mapping[str, Any], settings: AppleIdSettings) -> AppleIdResult:
    """R-DIR-12: the user's Managed Apple ID under the tenant's setting, with the reason when there is none."""
    if not settings.enabled:
        return AppleIdResult(None, "disabled", "Managed Apple ID is off for the tenant.")
    if settings.source == "custom":
        name = settings.custom_attribute or ""
        raw = _custom_value(user, name)
        if raw is None:
            return AppleIdResult(None, "no_custom_value", f"The user has no value for custom attribute '{name}'.")
    else:
        raw = preferred_email(user)
        if raw is None:
            return AppleIdResult(None, "no_email", "The user has no email address.")
    address, problem = normalize_email(raw)
    if address is None:
        return AppleIdResult(None, "invalid_email", f"{raw[:254]!r} is not a valid email address: {problem}")
    if settings.source == "email" and settings.appleid_subdomain:
        local, domain = address.rsplit("@", 1)
        if not domain.startswith(f"{SUBDOMAIN}."):  # already on the subdomain: do not add it twice
            address, problem = normalize_email(f"{local}@{SUBDOMAIN}.{domain}")
            if address is None:
                return AppleIdResult(None, "invalid_email", f"With the appleid subdomain {raw[:254]!r} is not a "
                                                            f"valid email address: {problem}")
    return AppleIdResult(address)


def normalize_email(raw: str) -> tuple[str | None, str | None]:
    """(address, None) for a valid address, else (None, why). Syntax only (no DNS: a sync write must not
    wait on the network). ASCII only before the @ and the domain in its ASCII (IDNA) form, lowercased:
    Apple IDs are case-insensitive, and one spelling per ID is what makes conflicts detectable."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return (checked.ascii_email or checked.normalized).lower(), None


def find_conflict(candidate: str | None, existing_owner_id: str | None, user_id: str, *,
                  holder_name: str = "another user", user_name: str = "this user",
                  settings: AppleIdSettings | None = None) -> dict[str, str] | None:
    """R-DIR-12: a Managed Apple ID held by another user of the tenant is not taken from them.

    `existing_owner_id` is the id of the user who holds `candidate` now (None if nobody). Returns None
    when the user may have it, else a dropped attribute (R-NOT-3) for the write's sync outcome; the
    caller then keeps both users' stored IDs unchanged (never overwrites). The detail names both users by
    userName and the source the tenant's setting builds the ID from.
    """
    if candidate is None or existing_owner_id is None or existing_owner_id == user_id:
        return None
    return {
        "attribute": ATTRIBUTE,
        "reason": "apple_id_conflict",
        "detail": f"The Managed Apple ID {candidate} is already {holder_name}'s, so {user_name} was not given it "
                  f"and {holder_name} keeps it. Give one of them a different {source_words(settings)} in Entra ID.",
    }


def source_words(settings: AppleIdSettings | None) -> str:
    """What the tenant's setting builds Managed Apple IDs from, in the words of a sentence."""
    if settings is not None and settings.source == "custom" and settings.custom_attribute:
        return f"value of custom attribute {settings.custom_attribute}"
    return "email address"


def _custom_value(user: Mapping[str, Any], name: str) -> str | None:
    values = user.get("custom") or {}
    value = values.get(name)
    if value is None:
        value = next((v for k, v in values.items() if k.lower() == name.lower()), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _invalid(attribute: str, detail: str) -> Problem:
    return Problem(400, detail, code="invalid_value", attribute=attribute)
