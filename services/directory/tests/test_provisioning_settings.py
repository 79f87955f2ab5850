"""R-DIR-12 tenant settings: defaults, validation, and the audit event of a change (provisioning_settings.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from directory import provisioning_settings
from directory.audit import Actor
from directory.models import AuditEvent, TenantSettings
from directory.tenants import define_custom_attribute
from shared.admin_text import leaks
from shared.errors import Problem
from shared.schemas.audit import AuditPageSchema

from .conftest import TENANT, Api

ADMIN = Actor(name="admin:key-1", source="admin")
DEFAULTS = {"auto_invite": False, "apple_id": {"enabled": False, "source": "email", "custom_attribute": None,
                                               "appleid_subdomain": False}}


def test_a_tenant_without_settings_gets_the_defaults_auto_invite_and_managed_apple_id_off_R_DIR_12(app: Flask) -> None:
    assert provisioning_settings.get_settings(TENANT) == {**DEFAULTS, "updated_at": None, "updated_by": None}
    assert provisioning_settings.load(TENANT) == provisioning_settings.ProvisioningSettings()


def test_saved_settings_are_read_back_with_who_saved_them_R_DIR_12(app: Flask) -> None:
    body = {"auto_invite": True, "apple_id": {"enabled": True, "source": "email", "appleid_subdomain": True}}
    saved = provisioning_settings.put_settings(TENANT, body, ADMIN)
    assert saved["auto_invite"] is True
    assert saved["apple_id"] == {"enabled": True, "source": "email", "custom_attribute": None,
                                 "appleid_subdomain": True}
    assert saved["updated_by"] == "admin:key-1" and saved["updated_at"] is not None
    assert provisioning_settings.get_settings(TENANT) == saved
    assert provisioning_settings.get_settings("globex")["auto_invite"] is False  # per tenant


def test_a_get_answer_can_be_put_back_as_it_is_R_DIR_12(app: Flask) -> None:
    got = provisioning_settings.get_settings(TENANT)
    saved = provisioning_settings.put_settings(TENANT, {**got, "auto_invite": True}, ADMIN)
    assert saved["auto_invite"] is True and saved["updated_by"] == "admin:key-1"


def test_a_put_replaces_the_whole_settings_document_R_DIR_12(app: Flask) -> None:
    provisioning_settings.put_settings(TENANT, {"auto_invite": True, "apple_id": {"enabled": True}}, ADMIN)
    provisioning_settings.put_settings(TENANT, {}, ADMIN)  # left out = the default (off)
    assert {k: v for k, v in provisioning_settings.get_settings(TENANT).items() if k in DEFAULTS} == DEFAULTS


def test_the_custom_source_takes_the_defined_spelling_of_a_defined_custom_attribute_R_DIR_12_R_DIR_11(
        app: Flask) -> None:
    define_custom_attribute(TENANT, "custAttr1")
    saved = provisioning_settings.put_settings(
        TENANT, {"apple_id": {"enabled": True, "source": "custom", "custom_attribute": "CUSTATTR1"}}, ADMIN)
    assert saved["apple_id"]["custom_attribute"] == "custAttr1"


@pytest.mark.parametrize(("body", "attribute", "words"), [
    ({"colour": "red"}, "colour", "Unknown setting"),
    ({"auto_invite": "yes"}, "auto_invite", "true or false"),
    ({"apple_id": "on"}, "apple_id", "is an object"),
    ({"apple_id": {"enabled": "yes"}}, "enabled", "true or false"),
    ({"apple_id": {"enabled": True, "source": "phone"}}, "source", "one of email, custom"),
    ({"apple_id": {"enabled": True, "source": "custom"}}, "custom_attribute", "needs the name"),
    ({"apple_id": {"enabled": True, "source": "custom", "custom_attribute": "custAttr9"}}, "custom_attribute",
     "define it first"),
    ({"apple_id": {"enabled": True, "source": "email", "custom_attribute": "custAttr1"}}, "custom_attribute",
     "only set with the custom source"),
    ({"apple_id": {"enabled": True, "source": "custom", "custom_attribute": "custAttr1", "appleid_subdomain": True}},
     "appleid_subdomain", "user email source only"),
    ({"apple_id": {"enabled": True, "subdomain": True}}, "subdomain", "Unknown Managed Apple ID setting"),
])
def test_invalid_settings_are_400_naming_the_field_and_change_nothing_R_DIR_12(
        app: Flask, body: dict[str, Any], attribute: str, words: str) -> None:
    define_custom_attribute(TENANT, "custAttr1")
    with pytest.raises(Problem) as caught:
        provisioning_settings.put_settings(TENANT, body, ADMIN)
    problem = caught.value
    assert problem.status == 400 and problem.code == "invalid_value"
    assert problem.extra["attribute"] == attribute and words in problem.detail and not leaks(problem.detail)
    assert TenantSettings.select().count() == 0 and AuditEvent.select().count() == 0


def test_a_settings_change_is_logged_with_what_changed_and_the_admin_R_DIR_12_R_DIR_13(app: Flask, api: Api) -> None:
    provisioning_settings.put_settings(TENANT, {"auto_invite": True}, ADMIN)
    provisioning_settings.put_settings(TENANT, {"auto_invite": True}, ADMIN)  # no change: nothing logged
    provisioning_settings.put_settings(TENANT, {"auto_invite": True, "apple_id": {"enabled": True}}, ADMIN)
    page = api("GET", "/audit?kind=settings.updated").get_json()
    assert AuditPageSchema().validate(page) == {}
    events = page["items"]
    assert [e["changes"] for e in events] == [
        {"apple_id.enabled": {"before": False, "after": True}},
        {"auto_invite": {"before": False, "after": True}},
    ]
    assert {(e["subjectType"], e["subjectId"], e["actor"], e["source"]) for e in events} == {
        ("tenant", TENANT, "admin:key-1", "admin")}
