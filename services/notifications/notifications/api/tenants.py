"""Tenant ids in paths: the token service's slugs, checked before they reach a query or a log line."""

from __future__ import annotations

import re

from shared.errors import Problem

TENANT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def check_tenant(tenant: str) -> str:
    if not TENANT_ID.fullmatch(tenant):
        raise Problem(404, f"There is no tenant '{tenant[:40]}'.", code="not_found")
    return tenant
