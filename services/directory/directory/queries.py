"""Searches: the canonical filter AST compiled to SQL for SQLite and PostgreSQL, sorting and paging."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError
from peewee import SQL, Case, Cast, Expression, ModelSelect, Node, NodeList, Value, fn

from shared.db import Prepared, is_postgres, slot
from shared.errors import Problem
from shared.schemas.filters import MAX_DEPTH, load_filter

from . import groups, rules, users
from .attributes import Column, Json, JsonArray, Related, Sub, Target, invalid_filter, resolve, resolve_sub
from .models import Group, Membership, Tenant, User, db
from .tenants import custom_attribute_names

_CMP = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_STRING_OPS = {"co", "sw", "ew"}
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le", *_STRING_OPS}


class Compiler:
    """Compiles one filter for one tenant's users or groups; `pg` picks the JSON dialect."""

    def __init__(self, kind: str, custom_names: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.kind = kind
        self.pg = is_postgres(db.obj)
        self.custom_names = custom_names
        self.model = User if kind == "user" else Group

    def compile(self, node: Any, depth: int = 0, array: JsonArray | None = None) -> Node:
        """`array` is set inside a `has`: attribute names are then relative to its elements."""
        if not isinstance(node, Mapping) or depth > MAX_DEPTH:
            raise invalid_filter("The filter is not a valid filter expression.")
        op = str(node.get("op", "")).lower()
        if op in {"and", "or"}:
            args = node.get("args")
            if not isinstance(args, list) or not args:
                raise invalid_filter(f"'{op}' needs a non-empty list of filters.")
            parts = [self.compile(arg, depth + 1, array) for arg in args]
            return functools.reduce(operator.and_ if op == "and" else operator.or_, parts)
        if op == "not":
            return NodeList((SQL("NOT"), NodeList((self.compile(node.get("arg"), depth + 1, array),), parens=True)))
        if op not in {"pr", "has", *_COMPARISONS}:
            raise invalid_filter(f"Unknown filter operator '{node.get('op')}'.")
        if op != "pr" and op != "has" and "value" not in node:
            raise invalid_filter(f"The '{op}' filter on '{node.get('attr')}' has no value.")
        if array is not None:
            if op == "has":
                raise invalid_filter("A filter inside a multi-valued attribute cannot hold another one.")
            return self._element(array, resolve_sub(array, node.get("attr")), op, node.get("value"))
        target = resolve(self.kind, node.get("attr"), self.custom_names)
        if op == "has":
            return self._has(target, node.get("filter"), depth)
        return self._target(target, op, node.get("value"), str(node.get("attr")))

    # --- one attribute ---------------------------------------------------------------------------

    def _target(self, target: Target, op: str, value: Any, label: str) -> Node:
        if isinstance(target, Column):
            return compare(target.field, op, value, target.type, target.fold, target.nullable, label)
        if isinstance(target, Json):
            expr = self.model.data.path(*target.path).as_text()
            if target.type == "object" and op != "pr":
                raise invalid_filter(f"'{label}' is a complex attribute: filter on one of its sub-attributes.")
            return compare(expr, op, value, "string", "exact" if target.exact else "lower", True, label)
        if isinstance(target, JsonArray):
            sub = target.sub or (None if op == "pr" else target.subs["value"])
            return self._exists(target, None if sub is None else self._element(target, sub, op, value))
        return self._related(op, value, label)

    def _has(self, target: Target, inner: Any, depth: int) -> Node:
        if isinstance(target, JsonArray) and target.sub is None:
            return self._exists(target, self.compile(inner, depth + 1, target))
        if isinstance(target, Related) and isinstance(inner, Mapping):
            attr = str(inner.get("attr", "")).lower()
            if attr == "value" and str(inner.get("op", "")).lower() in {"pr", *_COMPARISONS}:
                return self._related(str(inner["op"]).lower(), inner.get("value"), "value")
        raise invalid_filter("A value filter '[...]' applies to a multi-valued attribute's 'value' "
                             "(members, groups) or to the sub-attributes of emails, addresses and the like.")

    def _element(self, array: JsonArray, sub: Sub, op: str, value: Any) -> Node:
        label = f"{array.key}.{sub.name}"
        if self.pg:
            expr = NodeList((SQL("e.elem"), SQL("->>"), Value(sub.name)), parens=True)
        else:
            expr = fn.json_extract(SQL("e.value"), Value(f'$."{sub.name}"'))
        if sub.type == "boolean" and isinstance(value, bool):
            # JSON true reads back as 1 through SQLite's json_extract and as 'true' through ->>.
            value = ("true" if value else "false") if self.pg else int(value)
            return compare(expr, op, value, "json-boolean", "exact", True, label)
        return compare(expr, op, value, sub.type, "exact" if sub.exact else "lower", True, label)

    def _exists(self, array: JsonArray, condition: Node | None) -> Node:
        data = self.model.data
        if self.pg:
            source = NodeList((SQL("jsonb_array_elements("), data, SQL(" -> "), Value(array.key),
                               SQL(") AS e(elem)")), glue="")
        else:
            source = NodeList((SQL("json_each("), data, SQL(", "), Value(f'$."{array.key}"'), SQL(") AS e")), glue="")
        parts = [SQL("EXISTS (SELECT 1 FROM"), source]
        if condition is not None:
            parts += [SQL("WHERE"), condition]
        return NodeList((*parts, SQL(")")))

    def _related(self, op: str, value: Any, label: str) -> Node:
        if self.kind == "user":  # a user's groups: the group ids of its memberships
            query = Membership.select(SQL("1")).where(Membership.member == User.id)
            column = Membership.group
        else:  # a group's members, without users deleted from Entra (they are not shown either)
            query = (Membership.select(SQL("1")).join(User, on=(Membership.member == User.id))
                     .where(Membership.group == Group.id, User.deleted_at.is_null()))
            column = Membership.member
        if op != "pr":
            if op == "ne":  # no member with that id (RFC 7644 §3.4.2.2: true when no value matches)
                return NodeList((SQL("NOT"), fn.EXISTS(query.where(compare(column, "eq", value, "string",
                                                                            "exact", False, label)))))
            query = query.where(compare(column, op, value, "string", "exact", False, label))
        return fn.EXISTS(query)


def compare(lhs: Node, op: str, value: Any, kind: str, fold: str, nullable: bool, label: str) -> Node:
    """`lhs op value` in two-valued logic (a missing attribute compares false), so that `not` and `ne`
    hold for users without the attribute too."""
    if op == "pr":
        return SQL("1 = 1") if not nullable else Expression(lhs, "IS NOT", None)
    if value is None and op in {"eq", "ne"}:  # `attr eq null`: the attribute is not present
        return Expression(lhs, "IS" if op == "eq" else "IS NOT", None)
    if op == "ne":
        return NodeList((SQL("NOT"), NodeList((compare(lhs, "eq", value, kind, fold, nullable, label),),
                                               parens=True)))
    rhs = _operand(value, op, kind, fold, label)
    if fold == "lower" and kind == "string":
        lhs = fn.LOWER(lhs)
    if op == "co":
        found = fn.strpos(lhs, rhs) if is_postgres(db.obj) else fn.instr(lhs, rhs)
        condition: Node = Expression(found, ">", 0)
    elif op == "sw":
        condition = Expression(fn.substr(lhs, 1, fn.length(rhs)), "=", rhs)
    elif op == "ew":  # a suffix: any substring shorter than `rhs` cannot equal it, whatever the engine
        condition = Expression(fn.substr(lhs, fn.length(lhs) - fn.length(rhs) + 1), "=", rhs)
    else:
        condition = Expression(lhs, _CMP[op], rhs)
    return Expression(Expression(lhs, "IS NOT", None), "AND", condition) if nullable else condition


def _operand(value: Any, op: str, kind: str, fold: str, label: str) -> Any:
    if kind in {"boolean", "json-boolean"}:
        if op != "eq" or (kind == "boolean" and not isinstance(value, bool)):
            raise invalid_filter(f"'{label}' is a boolean: compare it with eq or ne to true or false.")
        return value
    if kind == "datetime":
        if op in _STRING_OPS or not isinstance(value, str):
            raise invalid_filter(f"'{label}' is a date-time: compare it with eq, ne, gt, ge, lt or le to a "
                                 "string like \"2026-01-31T12:00:00Z\".")
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise invalid_filter(f"'{value}' is not a date-time for '{label}'.") from None
        return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    if not isinstance(value, str):
        raise invalid_filter(f"'{label}' is a string: compare it with a quoted value.")
    if fold == "key":
        return Cast(Value(rules.fold(value)), "TEXT")
    if fold == "lower":  # the database folds both sides the same way, whatever its notion of case
        return fn.LOWER(Cast(Value(value), "TEXT"))
    return Cast(Value(value), "TEXT")


def validated(data: Any) -> Any:
    """The filter AST checked by shared.schemas.filters (shape, depth, size); compiling checks the rest."""
    try:
        loaded = load_filter(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, Mapping) else {"filter": exc.messages}
        where = "; ".join(f"{path}: {' '.join(map(str, m)) if isinstance(m, list) else m}"
                          for path, m in messages.items())
        raise invalid_filter(f"The filter is not a valid filter expression ({where}).") from None
    return loaded if isinstance(loaded, Mapping) else data


# --- sorting and paging ---------------------------------------------------------------------------


def _ordering(compiler: Compiler, sort_by: str | None, descending: bool, default: Node) -> list[Node]:
    model = compiler.model
    if not sort_by:
        return [default.desc() if descending else default.asc(), model.id]
    try:
        target: Target | None = resolve(compiler.kind, sort_by, compiler.custom_names)
    except Problem:
        target = None
    if isinstance(target, Column):
        expr, nullable = (fn.LOWER(target.field) if target.fold == "lower" else target.field), target.nullable
    elif isinstance(target, Json) and target.type != "object":
        raw = model.data.path(*target.path).as_text()
        expr, nullable = (raw if target.exact else fn.LOWER(raw)), True
    else:
        raise rules.invalid("sortBy", f"Cannot sort by '{sort_by}': sort by a single-valued attribute.")
    order = [Case(None, [(Expression(expr, "IS", None), 1)], 0)] if nullable else []  # nulls last
    return [*order, expr.desc() if descending else expr.asc(), model.id]


def _lookup_column(compiler: Compiler, flt: Any) -> Node | None:
    """The indexed column of an `eq` the filter requires (alone or in a top-level `and`). Ordering by it
    lets SQLite, which has no statistics unless ANALYZE ran, search that index instead of walking the
    default order's index over the whole tenant (seen with `externalId eq`)."""
    if not isinstance(flt, Mapping):
        return None
    op = str(flt.get("op", "")).lower()
    candidates = flt.get("args") if op == "and" and isinstance(flt.get("args"), list) else [flt]
    for node in candidates:
        if isinstance(node, Mapping) and str(node.get("op", "")).lower() == "eq" and isinstance(node.get("value"), str):
            try:
                target = resolve(compiler.kind, node.get("attr"), compiler.custom_names)
            except Problem:
                return None
            if isinstance(target, Column) and target.fold in {"key", "exact"} and target.type == "string":
                return target.field
    return None


SCIM_SOURCE = "scim"


def _scim_rows(model: Any, tenant: Any) -> Node:
    """What SCIM sees of a tenant: users and groups of its own source, users not deleted from Entra."""
    where = (model.tenant == tenant) & (model.source == SCIM_SOURCE)
    return where & User.deleted_at.is_null() if model is User else where


def user_query(tenant: str, search: Mapping[str, Any]) -> ModelSelect:
    """The select of one page of users (also what the index tests EXPLAIN)."""
    compiler = Compiler("user", functools.cache(lambda: custom_attribute_names(tenant)))
    # Deleted from Entra: invisible (R-DIR-4). Local and LDAP users are not SCIM's until Entra's POST of the
    # same userName takes them over (R-DIR-8), so SCIM sees provisioned users only.
    where = _scim_rows(User, tenant)
    if search.get("filter") is not None:
        where &= compiler.compile(validated(search["filter"]))
    default = _lookup_column(compiler, search.get("filter")) or User.user_name_key
    order = _ordering(compiler, search.get("sortBy"), search.get("sortOrder") == "descending", default)
    return User.select().where(where).order_by(*order)


def group_query(tenant: str, search: Mapping[str, Any]) -> ModelSelect:
    compiler = Compiler("group")
    # Groups of other sources stay out of SCIM: a POST of the same name is a 409 (R-DIR-9).
    where = _scim_rows(Group, tenant)
    if search.get("filter") is not None:
        where &= compiler.compile(validated(search["filter"]))
    default = _lookup_column(compiler, search.get("filter")) or Group.display_name_key
    order = _ordering(compiler, search.get("sortBy"), search.get("sortOrder") == "descending", default)
    return Group.select().where(where).order_by(*order)


_SCIM_COUNT = {kind: Prepared(lambda column=column: Tenant.select(column).where(Tenant.id == slot("tenant")))
               for kind, column in (("user", Tenant.scim_users), ("group", Tenant.scim_groups))}


def _page(kind: str, tenant: str, query: ModelSelect, search: Mapping[str, Any]) -> tuple[list[Any], int]:
    start, count = int(search.get("startIndex", 1)), int(search.get("count", 100))
    rows = list(query.offset(start - 1).limit(count)) if count > 0 else []
    if len(rows) < count and (rows or start == 1):
        # A short page is the last one: its end is the total, without a COUNT. Entra's existence probes
        # (userName eq, nothing found) cost one query.
        return rows, start - 1 + len(rows)
    if search.get("filter") is None:  # every row SCIM sees: the count the triggers keep (migration 5)
        found = _SCIM_COUNT[kind].rows(db, tenant=tenant)
        return rows, found[0][0] if found else 0
    return rows, query.order_by().count()


# --- Entra's lookups: `attr eq "value"` on an indexed column, the SQL built once ------------------------


@functools.cache
def _eq_statement(kind: str, column: str) -> Prepared:
    model = User if kind == "user" else Group
    field = getattr(model, column)
    # The same conditions, order and cast as the compiled filter (Compiler, _lookup_column, compare).
    match = field == Cast(slot("value"), "TEXT")
    return Prepared(lambda: model.select().where(_scim_rows(model, slot("tenant")) & match)
                    .order_by(field, model.id).limit(slot("limit")))


def _eq_page(kind: str, tenant: str, search: Mapping[str, Any]) -> tuple[list[Any], int] | None:
    """The first page of a lone `eq` on a key or case-exact column (userName, externalId, id, displayName),
    when it is short enough to be the whole answer; None sends the search down the general path."""
    flt, count = search.get("filter"), int(search.get("count", 100))
    if (not isinstance(flt, Mapping) or set(flt) != {"op", "attr", "value"} or flt["op"] != "eq"
            or not isinstance(flt["value"], str) or search.get("sortBy") or int(search.get("startIndex", 1)) != 1
            or count <= 0):
        return None
    try:
        target = resolve(kind, flt["attr"])  # custom attributes live in `data`, never a Column
    except Problem:
        return None
    if not isinstance(target, Column) or target.type != "string" or target.fold not in {"key", "exact"}:
        return None
    value = rules.fold(flt["value"]) if target.fold == "key" else flt["value"]
    rows = list(_eq_statement(kind, target.field.name).models(target.field.model, tenant=tenant, value=value,
                                                                limit=count))
    return (rows, len(rows)) if len(rows) < count else None


def search_users(tenant: str, search: Mapping[str, Any]) -> dict[str, Any]:
    """Page of users (RFC 7644 §3.4.2.4: startIndex is 1-based; totalResults counts every match)."""
    rows, total = _eq_page("user", tenant, search) or _page("user", tenant, user_query(tenant, search), search)
    return {"totalResults": total, "startIndex": int(search.get("startIndex", 1)), "items": users.views(rows)}


def search_groups(tenant: str, search: Mapping[str, Any]) -> dict[str, Any]:
    rows, total = _eq_page("group", tenant, search) or _page("group", tenant, group_query(tenant, search), search)
    return {"totalResults": total, "startIndex": int(search.get("startIndex", 1)),
            "items": groups.views(rows, members=bool(search.get("members")))}
