"""/Groups (RFC 7644 §3.3 to §3.6): create, read, query, replace, patch by delta and delete groups."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from ..attributes import GROUP
from ..entra import normalise
from ..group_patch import group_delta
from ..projection import project
from ..resources import group_to_scim, group_write, location
from .lists import members_shown, run_query
from .protocol import (
    ListQuery,
    base_url,
    directory,
    expected_version,
    json_body,
    no_content,
    not_modified,
    projection_args,
    scim_response,
)

bp = Blueprint("groups", __name__, url_prefix="/Groups")
PATCH_MEMBERS_SHOWN = 1000


def answer(group: dict[str, Any], status: int = 200) -> Response:
    doc = project(group_to_scim(group, base_url()), GROUP, *projection_args())
    where = location(base_url(), GROUP, group["id"]) if status == 201 else None
    return scim_response(doc, status, version=group["version"], location=where)


def _current_version(group_id: str) -> int:
    return directory().get_group(g.tenant, group_id, members=False)["version"]


@bp.post("")
def create() -> Response:
    group = directory().create_group(g.tenant, group_write(normalise(json_body(), GROUP)))
    return answer(group, 201)


@bp.get("")
def query() -> Response:
    return run_query(GROUP, ListQuery.from_args())


@bp.post("/.search")
def search() -> Response:
    return run_query(GROUP, ListQuery.from_body(json_body()))


@bp.get("/<group_id>")
def read(group_id: str) -> Response:
    group = directory().get_group(g.tenant, group_id, members=members_shown(*projection_args()))
    return not_modified(group["version"]) or answer(group)


@bp.put("/<group_id>")
def replace(group_id: str) -> Response:
    write = group_write(normalise(json_body(), GROUP))
    version = expected_version(lambda: _current_version(group_id))
    return answer(directory().replace_group(g.tenant, group_id, write, version))


@bp.patch("/<group_id>")
def patch(group_id: str) -> Response:
    """One delta call that also answers the group, 200 (RFC 7644 §3.5.2; Entra takes 200 or 204).

    A member add must cost the same in a group of 100k members as in an empty one, so the members are read
    back only when the projection shows them and there are at most PATCH_MEMBERS_SHOWN of them; a bigger
    group is answered 204, which the RFC equally allows.
    """
    delta = group_delta(json_body())
    version = expected_version(lambda: _current_version(group_id))
    shown = members_shown(*projection_args())
    group = directory().patch_group(g.tenant, group_id, delta, version,
                                    members_limit=PATCH_MEMBERS_SHOWN if shown else None)
    if shown and group.get("members") is None:
        return no_content(group["version"])
    return answer(group)


@bp.delete("/<group_id>")
def delete(group_id: str) -> Response:
    # One guarded call: the directory checks If-Match in the delete's transaction.
    directory().delete_group(g.tenant, group_id, expected_version(lambda: _current_version(group_id)))
    return no_content()
