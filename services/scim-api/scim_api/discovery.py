"""SCIM discovery documents (RFC 7643 §5-7, RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any

from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, LIST_RESPONSE_SCHEMA, USER_SCHEMA

from . import schema_defs

# Not in shared.scim: only discovery uses them (RFC 7643 §8.7.2).
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

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
        # Entra sends the admin's Secret Token as an OAuth bearer token (RFC 6750; entra-scim.md, Transport).
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the tenant's SCIM token, sent as 'Authorization: Bearer <token>'.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": True,
        }],
        "meta": _meta("ServiceProviderConfig", f"{_root(base_url)}/ServiceProviderConfig"),
    }


def _resource_type(base_url: str, name: str, description: str, endpoint: str, schema: str,
                   extensions: list[str]) -> dict[str, Any]:
    # RFC 7643 §6: id and name are the resource type's name, the endpoint is relative to the base URL.
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "description": description,
        "endpoint": endpoint,
        "schema": schema,
        # Neither extension is required: Entra sends the enterprise one only when an attribute is mapped.
        "schemaExtensions": [{"schema": urn, "required": False} for urn in extensions],
        "meta": _meta("ResourceType", f"{_root(base_url)}/ResourceTypes/{name}"),
    }


def resource_types(base_url: str) -> list[dict[str, Any]]:
    """The User and Group resource types (RFC 7643 §6) with the User's enterprise and custom extensions."""
    return [
        _resource_type(base_url, "User", "User Account", "/Users", USER_SCHEMA,
                       [ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA]),
        _resource_type(base_url, "Group", "Group", "/Groups", GROUP_SCHEMA, []),
    ]


def _schema(base_url: str, schema_id: str, name: str, description: str,
            attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": schema_id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": _meta("Schema", f"{_root(base_url)}/Schemas/{schema_id}"),
    }


def schemas(base_url: str, custom_attributes: list[str]) -> list[dict[str, Any]]:
    """Every schema served (RFC 7643 §7), the custom extension listing the tenant's attributes (R-SCIM-3)."""
    return [
        _schema(base_url, USER_SCHEMA, "User", "User Account", schema_defs.user_attributes()),
        _schema(base_url, ENTERPRISE_USER_SCHEMA, "EnterpriseUser", "Enterprise User",
                schema_defs.enterprise_user_attributes()),
        # Listed even when the tenant has no custom attribute, since the User resource type names it.
        _schema(base_url, CUSTOM_USER_SCHEMA, "Ivanti custom attributes",
                "Custom user attributes defined by the tenant's admin, one string each.",
                schema_defs.custom_user_attributes(custom_attributes)),
        _schema(base_url, GROUP_SCHEMA, "Group", "Group", schema_defs.group_attributes()),
    ]


def _by_id(documents: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    # Without regard to case, as for attribute names (RFC 7643 §2.1): a client may send a URN in another case.
    return next((doc for doc in documents if doc["id"].lower() == wanted.lower()), None)


def schema_by_id(base_url: str, custom_attributes: list[str], schema_id: str) -> dict[str, Any] | None:
    """The schema for GET /Schemas/{id} (RFC 7644 §4), or None when there is no such schema."""
    return _by_id(schemas(base_url, custom_attributes), schema_id)


def resource_type_by_id(base_url: str, name: str) -> dict[str, Any] | None:
    """The resource type for GET /ResourceTypes/{id} (RFC 7644 §4), or None when there is no such type."""
    return _by_id(resource_types(base_url), name)


def list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """All the documents in one page (RFC 7644 §3.4.2): discovery lists are small and never paged."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
