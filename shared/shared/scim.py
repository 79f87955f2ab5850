"""SCIM URNs and media types used by more than one service (RFC 7643 §3, RFC 7644 §3.1)."""

SCIM_MEDIA_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
SEARCH_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

SCIM_BASE_PATH = "/scim/v2"


def target_scim_url(public_base_url: str, tenant: str) -> str:
    """The Tenant URL an admin pastes into Entra; fixed for the tenant's life (R-TOK-4)."""
    return f"{public_base_url.rstrip('/')}{SCIM_BASE_PATH}/{tenant}"
