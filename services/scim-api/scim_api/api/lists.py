"""Queries (RFC 7644 §3.4.2) and searches (§3.4.3) of one resource type, and the root /.search across both."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from ..attributes import GROUP, USER, ResourceSpec
from ..errors import ScimError
from ..projection import mentions, project, selection
from ..resources import group_to_scim, list_response, user_to_scim
from .protocol import ListQuery, base_url, directory, json_body, scim_response

bp = Blueprint("lists", __name__)


def _page(spec: ResourceSpec, query: ListQuery, **overrides: Any) -> dict[str, Any]:
    """One directory search; groups carry members only when the answer will show them."""
    if spec is GROUP:
        search = query.search(spec, members=members_shown(query.attributes, query.excluded), **overrides)
        return directory().search_groups(g.tenant, search)
    return directory().search_users(g.tenant, query.search(spec, **overrides))


def members_shown(attributes: list[str], excluded: list[str]) -> bool:
    """False for ?excludedAttributes=members (Entra's group lookups) or an `attributes` list without
    members: the directory then does not read the membership at all (docs/entra-behaviour.md, Groups)."""
    if attributes:
        return mentions(attributes, GROUP, "members")
    return selection(excluded, GROUP).get("members") is not True


def _documents(spec: ResourceSpec, items: list[dict[str, Any]], query: ListQuery) -> list[dict[str, Any]]:
    render = group_to_scim if spec is GROUP else user_to_scim
    return [project(render(item, base_url()), spec, query.attributes, query.excluded) for item in items]


def run_query(spec: ResourceSpec, query: ListQuery) -> Response:
    """Always 200 with a ListResponse, empty when nothing matches: a 404 here quarantines Entra's job."""
    page = _page(spec, query)
    docs = _documents(spec, page["items"], query)
    return scim_response(list_response(docs, page["totalResults"], query.start_index))


@bp.post("/.search")
def root_search() -> Response:
    """RFC 7644 §3.4.3 at the root: users then groups, paged as one list. A filter that names an attribute
    one type does not have matches nothing of that type; a filter valid for neither is invalidFilter."""
    query = ListQuery.from_body(json_body())
    docs: list[dict[str, Any]] = []
    total, refused = 0, []
    for spec in (USER, GROUP):
        # Position of this type's first wanted item, 1-based, once earlier types are counted.
        start = max(1, query.start_index - total)
        try:
            page = _page(spec, query, startIndex=start, count=query.count - len(docs))
        except ScimError as exc:
            if exc.code != "invalidFilter":
                raise
            refused.append(exc)
            continue
        docs += _documents(spec, page["items"], query)
        total += page["totalResults"]
    if len(refused) == 2:
        raise refused[0]
    return scim_response(list_response(docs, total, query.start_index))
