"""Discovery endpoints (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and /Schemas (R-SCIM-2)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from .. import discovery as documents
from ..errors import ScimError
from .protocol import base_url, directory, scim_response

bp = Blueprint("discovery", __name__)


@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    return scim_response(documents.service_provider_config(base_url()))


@bp.get("/ResourceTypes")
def resource_types() -> Response:
    return scim_response(documents.list_response(documents.resource_types(base_url(), _custom_attributes())))


@bp.get("/ResourceTypes/<type_id>")
def resource_type(type_id: str) -> Response:
    found = documents.resource_type_by_id(base_url(), _custom_attributes(), type_id)
    return scim_response(_found(found, type_id, "resource type"))


@bp.get("/Schemas")
def schemas() -> Response:
    return scim_response(documents.list_response(documents.schemas(base_url(), _custom_attributes())))


@bp.get("/Schemas/<schema_id>")
def schema(schema_id: str) -> Response:
    found = documents.schema_by_id(base_url(), _custom_attributes(), schema_id)
    return scim_response(_found(found, schema_id, "schema"))


def _custom_attributes() -> list[str]:
    # The tenant's custom attributes are sub-attributes of the ivanti extension (R-SCIM-3, R-DIR-11).
    return directory().custom_attributes(g.tenant)


def _found(document: dict[str, Any] | None, wanted: str, kind: str) -> dict[str, Any]:
    if document is None:
        raise ScimError(404, f"There is no {kind} '{wanted}' on this server; GET the list to see them all.")
    return document
