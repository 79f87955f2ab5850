"""SCIM discovery documents (RFC 7643 §5-7, RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any

from shared import catalogue
from shared.catalogue import Resource, SchemaDef
from shared.resource_types import GROUP, USER
from shared.scim import LIST_RESPONSE_SCHEMA

# Not in shared.scim: only discovery uses them (RFC 7643 §8.7.2).
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"

MAX_FILTER_RESULTS = 200


def _meta(resource_type: str, location: str) -> dict[str, str]:
    return {"resourceType": resource_type, "location": location}


def _root(base_url: str) -> str:
    # The base URL may come with or without a trailing slash; locations must not get a double one.
    return base_url.rstrip("/")


def service_provider_config(base_url: str) -> dict[str, Any]:
    """What this server supports (RFC 7643 §5): PATCH, filters, sort and ETags, but no bulk and no password."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_FILTER_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        # Entra sends the admin's Secret Token as an OAuth bearer token (RFC 6750; docs/entra-behaviour.md, Transport).
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the tenant's SCIM token, sent as 'Authorization: Bearer <token>'.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": True,
        }],
        "meta": _meta("ServiceProviderConfig", f"{_root(base_url)}/ServiceProviderConfig"),
    }


def _resource_type(base_url: str, resource: Resource, description: str, custom: bool) -> dict[str, Any]:
    # RFC 7643 §6: id and name are the resource type's name, the endpoint is relative to the base URL.
    # Neither extension is required: Entra sends the enterprise one only when an attribute is mapped.
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": resource.name,
        "name": resource.name,
        "description": description,
        "endpoint": f"/{resource.endpoint}",
        "schema": resource.core.urn,
        "schemaExtensions": [{"schema": s.urn, "required": False} for s in _extensions(resource, custom)],
        "meta": _meta("ResourceType", f"{_root(base_url)}/ResourceTypes/{resource.name}"),
    }


def _extensions(resource: Resource, custom: bool) -> list[SchemaDef]:
    # The custom extension exists only once the tenant defined an attribute: an empty one would tell clients
    # (and conformance testers) that they may write attributes into it, and no name would be accepted.
    return [s for s in resource.extensions if custom or not s.open]


def resource_types(base_url: str, custom_attributes: list[str]) -> list[dict[str, Any]]:
    """The User and Group resource types (RFC 7643 §6); the User's custom extension when the tenant has one."""
    custom = bool(custom_attributes)
    return [_resource_type(base_url, USER, "User Account", custom), _resource_type(base_url, GROUP, "Group", custom)]


def schemas(base_url: str, custom_attributes: list[str]) -> list[dict[str, Any]]:
    """Every schema served (RFC 7643 §7), the custom extension listing the tenant's attributes (R-SCIM-3)."""
    root, custom = _root(base_url), catalogue.custom_attributes(custom_attributes)
    served = (USER.core, *_extensions(USER, bool(custom)), GROUP.core)
    return [s.definition(root, custom if s.open else None) for s in served]


def _by_id(documents: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    # Without regard to case, as for attribute names (RFC 7643 §2.1): a client may send a URN in another case.
    return next((doc for doc in documents if doc["id"].lower() == wanted.lower()), None)


def schema_by_id(base_url: str, custom_attributes: list[str], schema_id: str) -> dict[str, Any] | None:
    """The schema for GET /Schemas/{id} (RFC 7644 §4), or None when there is no such schema."""
    return _by_id(schemas(base_url, custom_attributes), schema_id)


def resource_type_by_id(base_url: str, custom_attributes: list[str], name: str) -> dict[str, Any] | None:
    """The resource type for GET /ResourceTypes/{id} (RFC 7644 §4), or None when there is no such type."""
    return _by_id(resource_types(base_url, custom_attributes), name)


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """All the documents in one page (RFC 7644 §3.4.2): discovery lists are small and never paged."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
