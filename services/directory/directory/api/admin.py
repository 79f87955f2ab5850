"""The directory's admin API (/admin/v1/tenants/<tenant>/…): the same admin keys as the token service."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.admin_auth import admin_before_request
from shared.schemas.audit import AuditPageSchema, AuditQuerySchema
from shared.tenants import check_tenant

from .. import admin_actions, audit, groups, provisioning_settings
from ..audit import Actor
from . import admin_schemas as s

blp = Blueprint("directory-admin", __name__, url_prefix="/admin/v1/tenants/<tenant>",
                description="Users, groups, custom attributes and the audit log of one tenant")
blp.before_request(admin_before_request)


@blp.before_request
def _known_tenant_id() -> None:
    from flask import request

    check_tenant((request.view_args or {}).get("tenant", ""))


def _actor() -> Actor:
    return Actor(name=f"admin:{g.admin.admin_id}", source="admin")


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(s.UserListQuerySchema, location="query")
    @blp.response(200, s.UserPageSchema)
    def get(self, args: dict[str, Any], tenant: str) -> dict[str, Any]:
        """Users by source (R-DIR-14), status and userName prefix, whatever their source or status."""
        return admin_actions.list_users(tenant, **args)

    @blp.arguments(s.UserCreateSchema)
    @blp.response(201, s.UserDetailSchema)
    def post(self, body: dict[str, Any], tenant: str) -> dict[str, Any]:
        """Add a Local, LDAP or Entra ID User Source user; SCIM takes it over later (R-DIR-8)."""
        source = body.pop("source")
        return admin_actions.create_user(tenant, body, source, _actor())


@blp.route("/migration/leftovers")
@blp.arguments(s.LeftoverQuerySchema, location="query")
@blp.response(200, s.LeftoverPageSchema)
def list_leftovers(args: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Users or groups a SCIM migration did not take over since it started (R-DIR-14)."""
    kind = args.pop("kind")
    return admin_actions.leftovers(tenant, kind, **args)


@blp.route("/migration/leftovers/remove", methods=["POST"])
@blp.arguments(s.LeftoverRemoveSchema)
@blp.response(200, s.RemovedSchema)
def remove_leftovers(body: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Delete for good what the leftovers list shows (seed 001: remove what Entra does not define)."""
    return {"removed": admin_actions.remove_leftovers(tenant, body["kind"], since=body["since"], actor=_actor())}


@blp.route("/users/<user_id>")
class UserResource(MethodView):
    @blp.response(200, s.UserDetailSchema)
    def get(self, tenant: str, user_id: str) -> dict[str, Any]:
        """One user with its groups and attributes, also when disabled or deleted from Entra."""
        return admin_actions.get_user(tenant, user_id)

    @blp.response(204)
    def delete(self, tenant: str, user_id: str) -> None:
        """Delete for good (R-DIR-4: only an admin does)."""
        admin_actions.purge_user(tenant, user_id, _actor())


@blp.route("/users/<user_id>/disable", methods=["POST"])
@blp.response(200, s.UserDetailSchema)
def disable_user(tenant: str, user_id: str) -> dict[str, Any]:
    return admin_actions.set_active(tenant, user_id, False, _actor())


@blp.route("/users/<user_id>/enable", methods=["POST"])
@blp.response(200, s.UserDetailSchema)
def enable_user(tenant: str, user_id: str) -> dict[str, Any]:
    """Re-enable; a user deleted from Entra comes back to SCIM too."""
    return admin_actions.set_active(tenant, user_id, True, _actor())


@blp.route("/users/<user_id>/resolve-template", methods=["POST"])
@blp.arguments(s.TemplateSchema)
@blp.response(200, s.ResolvedSchema)
def resolve_template(body: dict[str, Any], tenant: str, user_id: str) -> dict[str, Any]:
    """R-DIR-11: `${custAttr1}` and core attribute names replaced by this user's values."""
    return {"value": admin_actions.resolve_for_user(tenant, user_id, body["template"])}


@blp.route("/groups")
@blp.arguments(s.GroupListQuerySchema, location="query")
@blp.response(200, s.GroupPageSchema)
def list_groups(args: dict[str, Any], tenant: str) -> dict[str, Any]:
    return admin_actions.list_groups(tenant, **args)


@blp.route("/groups/<group_id>")
@blp.response(200, s.GroupSummarySchema)
def get_group(tenant: str, group_id: str) -> dict[str, Any]:
    return admin_actions.get_group(tenant, group_id)


@blp.route("/groups/<group_id>/members")
@blp.arguments(s.MemberQuerySchema, location="query")
@blp.response(200, s.MemberPageSchema)
def list_members(args: dict[str, Any], tenant: str, group_id: str) -> dict[str, Any]:
    """A group's members of every status, by keyset pages; for "All Users", every user of the tenant."""
    return groups.member_page(tenant, group_id, **args)


@blp.route("/audit")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args: dict[str, Any], tenant: str) -> dict[str, Any]:
    """Every user, group and membership event and admin action, newest first (R-DIR-13)."""
    return audit.list_events(tenant, **args)


@blp.route("/custom-attributes")
class CustomAttributes(MethodView):
    @blp.response(200, s.CustomAttributeListSchema)
    def get(self, tenant: str) -> dict[str, Any]:
        return {"items": admin_actions.list_custom_attributes(tenant)}

    @blp.arguments(s.CustomAttributeSchema)
    @blp.response(201, s.CustomAttributeSchema)
    def post(self, body: dict[str, Any], tenant: str) -> dict[str, Any]:
        """R-DIR-11: add one by name, e.g. custAttr1 (type IdP)."""
        return admin_actions.add_custom_attribute(tenant, body["name"], body["type"], _actor())


@blp.route("/custom-attributes/<name>", methods=["DELETE"])
@blp.response(204)
def delete_custom_attribute(tenant: str, name: str) -> None:
    admin_actions.delete_custom_attribute(tenant, name, _actor())


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, s.SettingsSchema)
    def get(self, tenant: str) -> dict[str, Any]:
        """R-DIR-12: auto-invite and Managed Apple ID (all off until saved)."""
        return provisioning_settings.get_settings(tenant)

    @blp.arguments(s.SettingsSchema)
    @blp.response(200, s.SettingsSchema)
    def put(self, body: dict[str, Any], tenant: str) -> dict[str, Any]:
        return provisioning_settings.put_settings(tenant, body, _actor())
