"""/Users (RFC 7644 §3.3 to §3.6): create, read, query, replace, patch and delete provisioned users."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from ..attributes import USER
from ..entra import normalise
from ..errors import ScimError
from ..patch import apply_user_patch
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
    precondition_failed,
    projection_args,
    scim_response,
)

bp = Blueprint("users", __name__, url_prefix="/Users")
PATCH_ATTEMPTS = 4  # read-apply-replace cycles before giving up on a user that keeps changing


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
    """RFC 7644 §3.5.2 on the whole document, then a replace guarded by the version that was read.

    A concurrent change makes the replace fail with 412; the cycle then starts again from a fresh read,
    unless the client itself sent If-Match, in which case its precondition has failed.
    """
    body = json_body()
    client_version = expected_version(lambda: _current_version(user_id))
    for _attempt in range(PATCH_ATTEMPTS):
        current = directory().get_user(g.tenant, user_id)
        if client_version is not None and current["version"] != client_version:
            raise precondition_failed()
        before = user_to_scim(current, base_url())
        write = user_write(apply_user_patch(before, body), replace=True)
        if not write["dropped"] and write == user_write(before, replace=True):
            return answer(current)  # RFC 7644 §3.5.2.1: no change, no new version
        try:
            return answer(directory().replace_user(g.tenant, user_id, write, current["version"]))
        except ScimError as exc:
            if exc.status != 412 or client_version is not None:
                raise
    raise ScimError(409, "The user kept changing while this PATCH was applied; it will be retried.",
                    headers={"Retry-After": "1"})


@bp.delete("/<user_id>")
def delete(user_id: str) -> Response:
    # One guarded call: the directory checks If-Match in the delete's transaction.
    directory().delete_user(g.tenant, user_id, expected_version(lambda: _current_version(user_id)))
    return no_content()
