"""The tenant id rule (R-TOK): which strings are tenant ids, for every service and every shared schema.

A tenant id is the slug the token service hands out and the path segment of every tenant URL
(`/scim/v2/<tenant>`, `/admin/v1/tenants/<tenant>`). It is checked before it reaches a query or a log line.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields, validate

from .errors import Problem

MAX_TENANT_ID_LENGTH = 32
# \Z, not $: '$' also matches before a trailing newline, so 'acme\n' would pass re.match.
TENANT_ID = re.compile(rf"[a-z0-9](?:[a-z0-9-]{{0,{MAX_TENANT_ID_LENGTH - 2}}}[a-z0-9])?\Z")
TENANT_ID_RULE = "A tenant id is 1 to 32 lowercase letters, digits or inner hyphens, e.g. 'acme'."


def valid_tenant_id(value: object) -> bool:
    """Is `value` a tenant id: 1 to 32 of a-z, 0-9 and '-', neither first nor last a hyphen?"""
    return isinstance(value, str) and TENANT_ID.match(value) is not None


def check_tenant(tenant: str) -> str:
    """`tenant` itself when it is a tenant id; otherwise 404, as for a tenant that does not exist, so that a
    malformed id neither reaches a query nor discloses anything."""
    if not valid_tenant_id(tenant):
        raise no_such_tenant(tenant)
    return tenant


def no_such_tenant(tenant: str) -> Problem:
    """The 404 of a tenant that does not exist or that the caller may not see (the two look the same)."""
    return Problem(404, f"There is no tenant '{tenant[:40]}'.", code="not_found")


class TenantId(fields.String):
    """A tenant id in a payload: loads only strings that follow the rule."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "tenant id, e.g. 'acme'"})
        super().__init__(validate=validate.Regexp(TENANT_ID, error=TENANT_ID_RULE), **kwargs)
