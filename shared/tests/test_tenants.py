"""shared.tenants: one tenant id rule (R-TOK) for the token service, the SCIM path, the directory, the
notifications service and the shared schemas."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from shared.errors import Problem
from shared.schemas.notifications import TenantActivitySchema
from shared.schemas.tokens import AdminIdentitySchema, TokenStateSchema
from shared.tenants import TENANT_ID_RULE, TenantId, check_tenant, valid_tenant_id

GOOD = ["a", "7", "acme", "acme-corp-2", "a-b", "a" * 32, "0" * 32, "a--b"]
BAD = ["", "Acme", "ACME", "ac me", "acme_corp", "-acme", "acme-", "-", "a" * 33, "acme\n", "\nacme", "acme\r\n",
       " acme", "acme ", "acmé", "acme/x", "../x", "acme\x00",
       "\uff41\uff43\uff4d\uff45", "\u0661\u0662"]  # fullwidth letters, Arabic-Indic digits


@pytest.mark.parametrize("tenant", GOOD)
def test_a_tenant_id_is_1_to_32_lowercase_letters_digits_or_inner_hyphens(tenant: str) -> None:
    assert valid_tenant_id(tenant)
    assert check_tenant(tenant) == tenant


@pytest.mark.parametrize("tenant", BAD)
def test_anything_else_is_not_a_tenant_id_not_even_with_a_trailing_newline(tenant: str) -> None:
    assert not valid_tenant_id(tenant)
    with pytest.raises(Problem) as raised:
        check_tenant(tenant)
    assert (raised.value.status, raised.value.code) == (404, "not_found")  # as for a tenant that does not exist


@pytest.mark.parametrize("value", [None, 7, b"acme", ["acme"]])
def test_only_strings_are_tenant_ids(value: object) -> None:
    assert not valid_tenant_id(value)


def test_the_404_names_the_tenant_shortened() -> None:
    with pytest.raises(Problem) as raised:
        check_tenant("x" * 100)
    assert raised.value.detail == f"There is no tenant '{'x' * 40}'."


class _Holder(Schema):
    tenant = TenantId(required=True)


def test_the_schema_field_loads_tenant_ids_and_refuses_the_rest_with_the_rule() -> None:
    assert _Holder().load({"tenant": "acme"}) == {"tenant": "acme"}
    for bad in ["Acme", "acme\n", "a" * 33, 7]:
        with pytest.raises(ValidationError) as raised:
            _Holder().load({"tenant": bad})
        assert "tenant" in raised.value.messages
    with pytest.raises(ValidationError) as raised:
        _Holder().load({"tenant": "Acme"})
    assert raised.value.messages == {"tenant": [TENANT_ID_RULE]}


def test_the_shared_schemas_hold_tenant_ids_only() -> None:
    state = {"active": True, "tenant": "acme", "token_id": "t", "cache_seconds": 5}
    assert TokenStateSchema().load(state)["tenant"] == "acme"
    assert TokenStateSchema().load({**state, "tenant": None})["tenant"] is None  # an unknown token
    assert AdminIdentitySchema().load({"valid": True, "admin_id": "deployment", "tenant": None,
                                       "cache_seconds": 5})["tenant"] is None  # the deployment admin
    assert TenantActivitySchema().load({"tenant": "acme", "tokens": 1})["tenant"] == "acme"
    for schema, body in [(TokenStateSchema(), {**state, "tenant": "acme\n"}),
                         (AdminIdentitySchema(), {"valid": True, "admin_id": "x", "tenant": "../x",
                                                  "cache_seconds": 5}),
                         (TenantActivitySchema(), {"tenant": "ACME", "tokens": 1})]:
        with pytest.raises(ValidationError):
            schema.load(body)
