"""List and search requests to the directory (RFC 7644 §3.4.2 in the directory's terms)."""

from __future__ import annotations

from marshmallow import fields, validate

from .users import Strict

MAX_PAGE = 200  # advertised as filter.maxResults in /ServiceProviderConfig


class SearchSchema(Strict):
    # The canonical filter AST of shared.schemas.filters (validated there), or null for all.
    filter = fields.Raw(load_default=None, allow_none=True)
    startIndex = fields.Integer(load_default=1, validate=validate.Range(min=1))
    count = fields.Integer(load_default=100, validate=validate.Range(min=0, max=MAX_PAGE))
    sortBy = fields.String(load_default=None, allow_none=True)
    sortOrder = fields.String(load_default="ascending", validate=validate.OneOf(["ascending", "descending"]))
    # Groups only: include members in each result (false for excludedAttributes=members).
    members = fields.Boolean(load_default=False)


class PageSchema(Strict):
    totalResults = fields.Integer(required=True)
    startIndex = fields.Integer(required=True)
    items = fields.List(fields.Dict(), required=True)
