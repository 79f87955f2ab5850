"""/Users (RFC 7644 §3.3 to §3.6): create, read, query, replace, patch and delete provisioned users."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from ..attributes import USER
from ..entra import normalise
from ..patch import user_change
from ..projection import project
from ..resources import location, user_to_scim, user_write
from .lists import run_query
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

bp = Blueprint("users", __name__, url_prefix="/Users")


def answer(user: dict[str, Any], status: int = 200) -> Response:
    """One user, projected by `attributes`/`excludedAttributes`, with its ETag (and Location on 201)."""
    doc = project(user_to_scim(user, base_url()), USER, *projection_args())
    where = location(base_url(), USER, user["id"]) if status == 201 else None
    return scim_response(doc, status, version=user["version"], location=where)


def _current_version(user_id: str) -> int:
    return directory().get_user(g.tenant, user_id)["version"]


@bp.post("")
def create() -> Response:
    user = directory().create_user(g.tenant, user_write(normalise(json_body(), USER)))
    return answer(user, 201)


@bp.get("")
def query() -> Response:
    return run_query(USER, ListQuery.from_args())


@bp.post("/.search")
def search() -> Response:
    return run_query(USER, ListQuery.from_body(json_body()))


@bp.get("/<user_id>")
def read(user_id: str) -> Response:
    user = directory().get_user(g.tenant, user_id)
    return not_modified(user["version"]) or answer(user)


@bp.put("/<user_id>")
def replace(user_id: str) -> Response:
    write = user_write(normalise(json_body(), USER), replace=True)
    version = expected_version(lambda: _current_version(user_id))
    return answer(directory().replace_user(g.tenant, user_id, write, version))


@bp.patch("/<user_id>")
def patch(user_id: str) -> Response:
    """RFC 7644 §3.5.2 as one directory call: the operations in the contract's terms, applied by the directory
    to the stored user under its lock and answered as the new user (no read-modify-write here)."""
    change = user_change(json_body())
    version = expected_version(lambda: _current_version(user_id))
    return answer(directory().change_user(g.tenant, user_id, change, version))


@bp.delete("/<user_id>")
def delete(user_id: str) -> Response:
    # One guarded call: the directory checks If-Match in the delete's transaction.
    directory().delete_user(g.tenant, user_id, expected_version(lambda: _current_version(user_id)))
    return no_content()
