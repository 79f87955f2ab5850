"""Tenant ids in the directory's paths follow the one rule of shared.tenants: a malformed one is a 404 before it
reaches a query, on the internal API and on the admin API alike."""

from __future__ import annotations

import pytest

from directory.models import Tenant, User

from .conftest import Api, user_body


@pytest.mark.parametrize("tenant", ["acme%0A", "Acme", "acme_corp", "a" * 33, "-acme"])
def test_a_write_for_a_malformed_tenant_id_is_404_and_creates_nothing(api: Api, tenant: str) -> None:
    """'acme\\n' used to pass ('$' matches before a trailing newline) and became a tenant of its own."""
    resp = api.for_tenant(tenant)("POST", "/users", user_body())
    assert resp.status_code == 404 and resp.get_json()["code"] == "not_found"
    assert Tenant.select().count() == 0 and User.select().count() == 0
