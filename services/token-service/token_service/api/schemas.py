"""Request and response bodies of the token service's admin API (documented in its OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.schemas.common import UtcDateTime


class TenantCreateSchema(Schema):
    id = fields.String(required=True, metadata={"description": "short slug, e.g. 'acme'"})


class TenantSchema(Schema):
    id = fields.String()
    scim_url = fields.String(metadata={"description": "the Target SCIM URL to paste into Entra ID"})
    created_at = UtcDateTime()


class TenantListSchema(Schema):
    items = fields.List(fields.Nested(TenantSchema))


class TokenCreateSchema(Schema):
    expires_in_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650),
        metadata={"description": "optional lifetime; without it the token never expires"},
    )


class TokenSchema(Schema):
    id = fields.String()
    tenant = fields.String(attribute="tenant_id")
    slot = fields.Integer()
    state = fields.String(metadata={"description": "Active or Inactive"})
    scim_url = fields.String()
    created_at = UtcDateTime()
    created_by = fields.String()
    renewed_at = UtcDateTime(allow_none=True)
    expires_at = UtcDateTime(allow_none=True)
    last_used_at = UtcDateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the secret: shown only in this response"})


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema))


class AdminKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class AdminKeySchema(Schema):
    id = fields.String()
    tenant = fields.String(attribute="tenant_id")
    name = fields.String()
    created_at = UtcDateTime()
    created_by = fields.String()
    revoked_at = UtcDateTime(allow_none=True)


class IssuedAdminKeySchema(AdminKeySchema):
    key = fields.String(metadata={"description": "the admin key: shown only in this response"})


class AdminKeyListSchema(Schema):
    items = fields.List(fields.Nested(AdminKeySchema))


class TokenAuditQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.Integer(load_default=None, allow_none=True,
                            metadata={"description": "the next_before of the previous page"})


class TokenAuditEventSchema(Schema):
    id = fields.Integer()
    at = UtcDateTime()
    tenant = fields.String()
    actor = fields.String()
    action = fields.String()
    token_id = fields.String(allow_none=True)
    detail = fields.Raw()


class TokenAuditPageSchema(Schema):
    items = fields.List(fields.Nested(TokenAuditEventSchema))
    next_before = fields.Integer(allow_none=True)
