"""Token state as the token service tells it to the SCIM API (introspection, RFC 7662 in spirit)."""

from marshmallow import Schema, fields, validate

from .common import UtcDateTime


class IntrospectRequestSchema(Schema):
    # The SCIM API sends the SHA-256 of the presented token, never the token itself.
    token_hash = fields.String(required=True, validate=validate.Regexp(r"[0-9a-f]{64}\Z"))


class TokenStateSchema(Schema):
    active = fields.Boolean(required=True)
    tenant = fields.String(load_default=None, allow_none=True)
    token_id = fields.String(load_default=None, allow_none=True)
    expires_at = UtcDateTime(load_default=None, allow_none=True)
    # How long the caller may trust this answer, in seconds (the revocation bound).
    cache_seconds = fields.Float(required=True)
