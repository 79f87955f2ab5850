"""R-DIR-12 Managed Apple ID: settings, the ID derived from a user, and conflicts (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from directory.apple_id_rules import (
    AppleIdSettings,
    check_settings,
    derive_apple_id,
    find_conflict,
    normalize_email,
)
from shared.admin_text import leaks
from shared.errors import Problem
from shared.schemas.users import DroppedSchema

ON = AppleIdSettings(enabled=True)
SUBDOMAIN = AppleIdSettings(enabled=True, appleid_subdomain=True)
CUSTOM = AppleIdSettings(enabled=True, source="custom", custom_attribute="appleMail")


def managed_apple_id(user: dict[str, Any], settings: AppleIdSettings) -> str | None:
    """The derived ID alone, without the reason."""
    return derive_apple_id(user, settings).value


def user(email: str | None = "ann@example.com", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"userName": "ann", "emails": [] if email is None else
                            [{"value": email, "type": "work", "primary": True}]}
    body.update(overrides)
    return body


def test_managed_apple_id_is_off_by_default_r_dir_12() -> None:
    assert AppleIdSettings() == AppleIdSettings(enabled=False, source="email", custom_attribute=None,
                                                appleid_subdomain=False)
    result = derive_apple_id(user(), AppleIdSettings())
    assert result.value is None and result.reason == "disabled"


def test_from_the_user_email_r_dir_12() -> None:
    assert managed_apple_id(user(), ON) == "ann@example.com"


def test_appleid_subdomain_option_r_dir_12() -> None:
    assert managed_apple_id(user(), SUBDOMAIN) == "ann@appleid.example.com"


def test_subdomain_is_not_added_twice() -> None:
    assert managed_apple_id(user("ann@appleid.example.com"), SUBDOMAIN) == "ann@appleid.example.com"


def test_email_choice_is_primary_then_work_then_first_r_dir_12() -> None:
    emails = [{"value": "home@example.com", "type": "home"}, {"value": "work@example.com", "type": "work"}]
    assert managed_apple_id({"emails": emails}, ON) == "work@example.com"
    emails.append({"value": "main@example.com", "type": "other", "primary": True})
    assert managed_apple_id({"emails": emails}, ON) == "main@example.com"


def test_the_id_is_lowercased_so_one_address_has_one_spelling() -> None:
    assert managed_apple_id(user("Ann.Smith@Example.COM"), SUBDOMAIN) == "ann.smith@appleid.example.com"


def test_internationalized_domain_is_given_in_ascii_form() -> None:
    assert managed_apple_id(user("ann@bücher.example"), ON) == "ann@xn--bcher-kva.example"


@pytest.mark.parametrize("email", ["not-an-email", "ann@", "@example.com", "ann@@example.com", "ann@example",
                                   "ann example@example.com", "änn@example.com", "ann@example.com.",
                                   "ann@localhost"])
def test_invalid_email_gives_no_id_with_a_reason_r_dir_12(email: str) -> None:
    result = derive_apple_id(user(email), ON)
    assert result.value is None
    assert result.reason == "invalid_email"
    assert result.detail and "not a valid email address" in result.detail


def test_missing_email_gives_no_id_with_a_reason_r_dir_12() -> None:
    result = derive_apple_id(user(None), ON)
    assert (result.value, result.reason) == (None, "no_email")
    assert derive_apple_id({"emails": [{"value": "  ", "type": "work"}]}, ON).reason == "no_email"


def test_subdomain_that_makes_the_address_too_long_gives_no_id() -> None:
    domain = ".".join(["a" * 60] * 4) + ".com"  # 248 characters: valid alone, too long with "appleid."
    assert managed_apple_id(user(f"x@{domain}"), ON) == f"x@{domain}"
    result = derive_apple_id(user(f"x@{domain}"), SUBDOMAIN)
    assert (result.value, result.reason) == (None, "invalid_email")


def test_from_a_custom_attribute_holding_an_email_r_dir_12() -> None:
    u = user(custom={"appleMail": " Ann.Apple@Example.com "})
    assert managed_apple_id(u, CUSTOM) == "ann.apple@example.com"


def test_custom_attribute_is_found_whatever_its_stored_case() -> None:
    assert managed_apple_id(user(custom={"APPLEMAIL": "a@example.com"}), CUSTOM) == "a@example.com"


@pytest.mark.parametrize("custom", [{}, {"appleMail": None}, {"appleMail": "  "}, {"other": "a@example.com"}])
def test_custom_source_without_a_value_gives_no_id_r_dir_12(custom: dict) -> None:
    result = derive_apple_id(user(custom=custom), CUSTOM)
    assert (result.value, result.reason) == (None, "no_custom_value")
    assert "appleMail" in (result.detail or "")


def test_custom_source_with_a_non_email_value_gives_no_id() -> None:
    result = derive_apple_id(user(custom={"appleMail": "E12345"}), CUSTOM)
    assert (result.value, result.reason) == (None, "invalid_email")


def test_custom_source_ignores_the_user_email() -> None:
    assert managed_apple_id(user("ann@example.com", custom={}), CUSTOM) is None


@pytest.mark.parametrize(("kwargs", "attribute"), [
    ({"source": "userUPN"}, "source"),
    ({"source": "custom"}, "custom_attribute"),
    ({"source": "custom", "custom_attribute": "1bad"}, "custom_attribute"),
    ({"source": "custom", "custom_attribute": "appleMail", "appleid_subdomain": True}, "appleid_subdomain"),
    ({"source": "email", "custom_attribute": "appleMail"}, "custom_attribute"),
    ({"enabled": "yes"}, "enabled"),
])
def test_invalid_settings_are_refused_when_saved_r_dir_12(kwargs: dict, attribute: str) -> None:
    with pytest.raises(Problem) as caught:
        AppleIdSettings(**kwargs)
    assert caught.value.status == 400
    assert caught.value.extra["attribute"] == attribute
    assert not leaks(caught.value.detail)


def test_settings_round_trip_through_json() -> None:
    assert AppleIdSettings.from_dict(CUSTOM.as_dict()) == CUSTOM
    assert AppleIdSettings.from_dict(None) == AppleIdSettings()
    assert AppleIdSettings.from_dict({"enabled": True}) == ON
    with pytest.raises(Problem) as caught:
        AppleIdSettings.from_dict({"enabled": True, "pattern": "upn"})
    assert "pattern" in caught.value.detail


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        ON.enabled = False  # type: ignore[misc]


def test_custom_source_must_name_a_defined_custom_attribute_r_dir_11_r_dir_12() -> None:
    defined = {"applemail": "appleMail"}
    assert check_settings(AppleIdSettings(enabled=True, source="custom", custom_attribute="APPLEMAIL"),
                          defined).custom_attribute == "appleMail"
    assert check_settings(ON, {}) is ON
    with pytest.raises(Problem) as caught:
        check_settings(CUSTOM, {"other": "other"})
    assert caught.value.status == 400 and "appleMail" in caught.value.detail


def test_an_id_held_by_another_user_is_a_conflict_never_an_overwrite_r_dir_12() -> None:
    dropped = find_conflict("ann@example.com", existing_owner_id="u2", user_id="u1", holder_name="ann@example.com",
                            user_name="ann.e@example.com", settings=CUSTOM)
    assert dropped is not None
    assert dropped["attribute"] == "managedAppleId"
    assert dropped["reason"] == "apple_id_conflict"
    # Both users by userName, and the advice that fits the setting: here the custom attribute it names.
    assert dropped["detail"] == (
        "The Managed Apple ID ann@example.com is already ann@example.com's, so ann.e@example.com was not given it "
        "and ann@example.com keeps it. Give one of them a different value of custom attribute appleMail in "
        "Entra ID.")
    assert "email address in Entra ID" in find_conflict("a@x.org", "u2", "u1")["detail"]  # type: ignore[index]
    assert DroppedSchema().load(dropped) == dropped  # fits the sync outcome contract (R-NOT-3)


@pytest.mark.parametrize(("candidate", "owner"), [("ann@example.com", None), ("ann@example.com", "u1"),
                                                   (None, "u2"), (None, None)])
def test_no_conflict_when_free_or_already_ours_r_dir_12(candidate: str | None, owner: str | None) -> None:
    assert find_conflict(candidate, existing_owner_id=owner, user_id="u1") is None


def test_normalize_email_reports_why() -> None:
    assert normalize_email(" Bob@Example.org ") == ("bob@example.org", None)
    address, why = normalize_email("bob@")
    assert address is None and why
