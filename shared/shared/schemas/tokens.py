"""What the token service tells other services: a SCIM token's state (introspection, RFC 7662 in
spirit), and who an admin key belongs to."""

from marshmallow import Schema, fields, validate

from ..tenants import TenantId
from .common import UtcDateTime

SHA256_HEX = validate.Regexp(r"[0-9a-f]{64}\Z")  # what shared.credentials.secret_hash returns


class IntrospectRequestSchema(Schema):
    # The SCIM API sends the secret_hash of the presented token, never the token itself.
    token_hash = fields.String(required=True, validate=SHA256_HEX)


class TokenStateSchema(Schema):
    active = fields.Boolean(required=True)
    tenant = TenantId(load_default=None, allow_none=True)
    token_id = fields.String(load_default=None, allow_none=True)
    expires_at = UtcDateTime(load_default=None, allow_none=True)
    # How long the caller may trust this answer, in seconds (the revocation bound).
    cache_seconds = fields.Float(required=True)


class AdminCheckRequestSchema(Schema):
    # A service sends the secret_hash of the presented admin key, never the key itself.
    key_hash = fields.String(required=True, validate=SHA256_HEX)


class AdminIdentitySchema(Schema):
    valid = fields.Boolean(required=True)
    admin_id = fields.String(load_default=None, allow_none=True)
    # None for the deployment admin, who may act on every tenant.
    tenant = TenantId(load_default=None, allow_none=True)
    cache_seconds = fields.Float(required=True)
