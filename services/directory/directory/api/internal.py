"""The internal API scim-api calls (docs/internal-api.md): load with the shared schemas, call the domain, dump."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, request
from marshmallow import Schema, ValidationError

from shared.app import require_internal
from shared.db import connection
from shared.errors import Problem
from shared.etags import entity_versions
from shared.http import ACTOR_HEADER
from shared.schemas.audit import AuditPageSchema, AuditQuerySchema
from shared.schemas.groups import GroupPatchSchema, GroupSchema, GroupWriteSchema
from shared.schemas.outcomes import OutcomePageSchema, OutcomeQuerySchema
from shared.schemas.queries import PageSchema, SearchSchema
from shared.schemas.users import UserChangeSchema, UserSchema, UserWriteSchema
from shared.tenants import check_tenant

from .. import audit, groups, invitations, outcomes, queries, users
from ..models import db
from ..tenants import custom_attribute_names

log = logging.getLogger(__name__)
bp = Blueprint("internal", __name__, url_prefix="/internal/v1/tenants/<tenant>")

_user_write, _user, _user_change = UserWriteSchema(), UserSchema(), UserChangeSchema()
_group_write, _group_patch, _group = GroupWriteSchema(), GroupPatchSchema(), GroupSchema()
_search, _page = SearchSchema(), PageSchema()
_audit_query, _audit_page = AuditQuerySchema(), AuditPageSchema()
_outcome_query, _outcome_page = OutcomeQuerySchema(), OutcomePageSchema()
# The scim-api may name the token a write came through; the source of these calls is always SCIM.
_SCIM_ACTOR = re.compile(r"^scim(?::[A-Za-z0-9._-]{1,100})?$")


def internal(view: Callable[..., Any]) -> Callable[..., Any]:
    """The service credential first (401 before anything else), then a well-formed tenant id."""

    @functools.wraps(view)
    def checked(tenant: str, **kwargs: Any) -> Any:
        check_tenant(tenant)
        return view(tenant, **kwargs)

    return require_internal(checked)


def _write(tenant: str, actor: audit.Actor, operation: str, subject_id: str | None, schema: Schema
           ) -> dict[str, Any]:
    """The body of a write, loaded with the contract's schema. A body the schema refuses is a write refused
    whole before the domain saw it: the domain's own rule (outcomes.refusals) records its outcome too."""
    with outcomes.refusals(tenant, actor, operation, subject_id, _sent_name):
        return _body(schema)


def _sent_name() -> str | None:
    body = request.get_json(silent=True)
    name = (body.get("userName") or body.get("displayName")) if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _body(schema: Schema) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Problem(400, "The body must be a JSON object.", code="invalid_value")
    return _load(schema, data)


def _args(schema: Schema) -> dict[str, Any]:
    return _load(schema, request.args.to_dict())


def _actor() -> audit.Actor:
    """R-DIR-13: the audit log names who wrote; scim-api may say which token (X-Actor: scim:<token id>)."""
    name = request.headers.get(ACTOR_HEADER, "scim")
    if not _SCIM_ACTOR.match(name):
        raise Problem(400, f"{ACTOR_HEADER} is 'scim' or 'scim:<token id>'.", code="invalid_value",
                      attribute=ACTOR_HEADER)
    return audit.Actor(name=name, source="scim")


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as exc:
        fields = _paths(exc.messages)
        # A filter the schema itself refuses (should SearchSchema validate it) is still a filter error.
        code = "invalid_filter" if fields and all(f.startswith("filter") for f in fields) else "invalid_value"
        raise Problem(400, f"Invalid value for {', '.join(fields) or 'the body'}; see 'errors'.", code=code,
                      errors=exc.messages) from None


def _paths(messages: Any, prefix: str = "") -> list[str]:
    if not isinstance(messages, Mapping):
        return [prefix] if prefix else []
    return [p for key, sub in messages.items() for p in _paths(sub, f"{prefix}.{key}" if prefix else str(key))]


def _if_match() -> set[int] | None:
    versions = entity_versions(request.headers.get("If-Match"))
    return None if versions is None else set(versions)


def _members_limit() -> int | None:
    raw = request.args.get("members_limit")
    if raw is None:
        return None
    if not raw.isdigit():
        raise Problem(400, "members_limit is a whole number.", code="invalid_value", attribute="members_limit")
    return int(raw)


def _members_flag(default: str = "true") -> bool:
    raw = request.args.get("members", default).strip().lower()
    if raw not in {"true", "false", "1", "0"}:
        raise Problem(400, "members is true or false.", code="invalid_value", attribute="members")
    return raw in {"true", "1"}


def _no_content() -> Response:
    return Response(status=204)


@bp.post("/users")
@internal
def create_user(tenant: str) -> Any:
    actor = _actor()
    user = users.create_user(tenant, _write(tenant, actor, "POST /Users", None, _user_write), actor)
    response = make_response(jsonify(_user.dump(user)), 201)
    # After the answer has gone: an SMTP server's delay must not count against Entra's 60 s.
    response.call_on_close(functools.partial(
        _send_invitation, tenant, user["id"], current_app.extensions["mail_sender"],
        current_app.extensions["settings"].invitation_register_url or None))
    return response


def _send_invitation(tenant: str, user_id: str, sender: Any, register_url: str | None) -> None:
    """R-DIR-12: the invitation the create recorded (if any) goes out after commit; a failure never fails the
    write: it stays unsent for `flask --app directory send-invitations`."""
    try:
        with connection(db):
            invitations.deliver_invitations(tenant, sender, user_id=user_id, register_url=register_url)
    except Exception:
        log.exception("sending the invitation of user %s of tenant %s failed", user_id, tenant)


@bp.get("/users/<user_id>")
@internal
def get_user(tenant: str, user_id: str) -> Any:
    return jsonify(_user.dump(users.get_user(tenant, user_id)))


@bp.put("/users/<user_id>")
@internal
def replace_user(tenant: str, user_id: str) -> Any:
    actor = _actor()
    write = _write(tenant, actor, "PUT /Users", user_id, _user_write)
    return jsonify(_user.dump(users.replace_user(tenant, user_id, write, _if_match(), actor)))


@bp.patch("/users/<user_id>")
@internal
def change_user(tenant: str, user_id: str) -> Any:
    actor = _actor()
    change = _write(tenant, actor, "PATCH /Users", user_id, _user_change)
    return jsonify(_user.dump(users.change_user(tenant, user_id, change, _if_match(), actor)))


@bp.delete("/users/<user_id>")
@internal
def delete_user(tenant: str, user_id: str) -> Any:
    users.delete_user(tenant, user_id, _if_match(), _actor())
    return _no_content()


@bp.post("/users/search")
@internal
def search_users(tenant: str) -> Any:
    page = queries.search_users(tenant, _body(_search))
    return jsonify(_page.dump({**page, "items": _user.dump(page["items"], many=True)}))


@bp.post("/groups")
@internal
def create_group(tenant: str) -> Any:
    actor = _actor()
    write = _write(tenant, actor, "POST /Groups", None, _group_write)
    return jsonify(_group.dump(groups.create_group(tenant, write, actor))), 201


@bp.get("/groups/<group_id>")
@internal
def get_group(tenant: str, group_id: str) -> Any:
    return jsonify(_group.dump(groups.get_group(tenant, group_id, members=_members_flag(),
                                                members_limit=_members_limit())))


@bp.put("/groups/<group_id>")
@internal
def replace_group(tenant: str, group_id: str) -> Any:
    actor = _actor()
    write = _write(tenant, actor, "PUT /Groups", group_id, _group_write)
    return jsonify(_group.dump(groups.replace_group(tenant, group_id, write, _if_match(), actor)))


@bp.patch("/groups/<group_id>")
@internal
def patch_group(tenant: str, group_id: str) -> Any:
    actor = _actor()
    patch = _write(tenant, actor, "PATCH /Groups", group_id, _group_patch)
    members, limit = _members_flag("false"), _members_limit()  # read before the write: a bad flag changes nothing
    patched = groups.patch_group(tenant, group_id, patch, _if_match(), actor)
    if members:  # the answer's members in the same call, at the bounded cost of a GET with members_limit
        patched = groups.get_group(tenant, group_id, members=True, members_limit=limit)
    return jsonify(_group.dump(patched))


@bp.delete("/groups/<group_id>")
@internal
def delete_group(tenant: str, group_id: str) -> Any:
    groups.delete_group(tenant, group_id, _if_match(), _actor())
    return _no_content()


@bp.post("/groups/search")
@internal
def search_groups(tenant: str) -> Any:
    page = queries.search_groups(tenant, _body(_search))
    return jsonify(_page.dump({**page, "items": _group.dump(page["items"], many=True)}))


@bp.get("/custom-attributes")
@internal
def list_custom_attributes(tenant: str) -> Any:
    return jsonify({"items": sorted(custom_attribute_names(tenant).values(), key=str.lower)})


@bp.get("/audit")
@internal
def list_audit(tenant: str) -> Any:
    """R-DIR-13: newest first; ?limit=&before=&kind=&subject= (docs/internal-api.md)."""
    return jsonify(_audit_page.dump(audit.list_events(tenant, **_args(_audit_query))))


@bp.get("/sync-outcomes")
@internal
def list_sync_outcomes(tenant: str) -> Any:
    """R-NOT-4: oldest first after the cursor, for the notifications relay; ?after=&limit=."""
    return jsonify(_outcome_page.dump(outcomes.list_outcomes(tenant, **_args(_outcome_query))))
