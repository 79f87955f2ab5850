"""The canonical filter AST contract: what load_filter() accepts, refuses, and how far it lets a tree grow."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from shared.schemas.filters import COMPARISON_OPS, MAX_DEPTH, MAX_NODES, FilterField, load_filter
from shared.scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, USER_SCHEMA

EQ = {"op": "eq", "attr": "userName", "value": "bjensen@example.com"}
PR = {"op": "pr", "attr": "title"}


def chain(levels: int) -> dict[str, Any]:
    """`levels` nodes deep: not(not(...(title pr)))."""
    node: dict[str, Any] = dict(PR)
    for _ in range(levels - 1):
        node = {"op": "not", "arg": node}
    return node


def errors(data: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        load_filter(data)
    return caught.value.messages


@pytest.mark.parametrize("op", COMPARISON_OPS)
@pytest.mark.parametrize("value", ["x", "", 42, -1.5, True, False, None])
def test_every_comparison_operator_takes_every_json_scalar(op: str, value: Any) -> None:
    node = {"op": op, "attr": "userName", "value": value}
    assert load_filter(node) == node


@pytest.mark.parametrize("node", [
    PR,
    {"op": "and", "args": [EQ, PR]},
    {"op": "or", "args": [EQ, PR, {"op": "ne", "attr": "displayName", "value": "x"}]},
    {"op": "not", "arg": EQ},
    {"op": "has", "attr": "emails", "filter": {"op": "and", "args": [
        {"op": "eq", "attr": "type", "value": "work"}, {"op": "co", "attr": "value", "value": "@example"}]}},
    {"op": "has", "attr": "emails", "filter": {"op": "not", "arg": {"op": "pr", "attr": "primary"}}},
    {"op": "eq", "attr": "name.givenName", "value": "Barbara"},
    {"op": "gt", "attr": "meta.lastModified", "value": "2026-01-31T12:00:00Z"},
    {"op": "eq", "attr": f"{ENTERPRISE_USER_SCHEMA}:employeeNumber", "value": "701984"},
    {"op": "eq", "attr": f"{ENTERPRISE_USER_SCHEMA}:manager.value", "value": "26118915-6090-4610-87e4-49d8ca9f808d"},
    {"op": "pr", "attr": f"{CUSTOM_USER_SCHEMA}:custAttr1"},
    {"op": "has", "attr": "members", "filter": {"op": "eq", "attr": "value", "value": "u1"}},
], ids=lambda n: str(n)[:60])
def test_well_formed_trees_load_unchanged(node: dict[str, Any]) -> None:
    assert load_filter(node) == node


def test_load_returns_a_copy_so_callers_cannot_alias_the_input() -> None:
    node = {"op": "and", "args": [copy.deepcopy(EQ), copy.deepcopy(PR)]}
    loaded = load_filter(node)
    loaded["args"][0]["value"] = "changed"
    assert node["args"][0]["value"] == EQ["value"]


@pytest.mark.parametrize(("data", "where", "fragment"), [
    (None, "filter", "must be an object"),
    ([EQ], "filter", "must be an object"),
    ("userName eq \"x\"", "filter", "must be an object"),
    ({"attr": "userName", "value": "x"}, "filter.op", "Must be one of"),
    ({"op": "regex", "attr": "userName", "value": "x"}, "filter.op", "Must be one of"),
    ({"op": "EQ", "attr": "userName", "value": "x"}, "filter.op", "lower case"),
    ({"op": 1, "attr": "userName", "value": "x"}, "filter.op", "Must be one of"),
    ({"op": "eq", "value": "x"}, "filter.attr", "Missing data"),
    ({"op": "eq", "attr": "userName"}, "filter.value", "Missing data"),
    ({"op": "eq", "attr": "userName", "value": ["x"]}, "filter.value", "string, a finite number"),
    ({"op": "eq", "attr": "userName", "value": {"a": 1}}, "filter.value", "string, a finite number"),
    ({"op": "eq", "attr": "userName", "value": float("nan")}, "filter.value", "finite"),
    ({"op": "eq", "attr": "userName", "value": float("inf")}, "filter.value", "finite"),
    ({"op": "pr", "attr": "title", "value": "x"}, "filter.value", "Unknown field"),
    ({"op": "eq", "attr": "userName", "value": "x", "extra": 1}, "filter.extra", "Unknown field"),
    ({"op": "and", "args": [EQ]}, "filter.args", "Must be a list of 2 to 100"),
    ({"op": "or", "args": []}, "filter.args", "Must be a list of 2 to 100"),
    ({"op": "or", "args": EQ}, "filter.args", "Must be a list of 2 to 100"),
    ({"op": "or", "args": (EQ, PR)}, "filter.args", "Must be a list of 2 to 100"),
    ({"op": "and", "args": [EQ, None]}, "filter.args.1", "must be an object"),
    ({"op": "and", "args": [EQ, "title pr"]}, "filter.args.1", "must be an object"),
    ({"op": "not"}, "filter.arg", "Missing data"),
    ({"op": "not", "arg": None}, "filter.arg", "must be an object"),
    ({"op": "not", "arg": {"op": "eq", "attr": "userName"}}, "filter.arg.value", "Missing data"),
    ({"op": "has", "attr": "emails"}, "filter.filter", "Missing data"),
    ({"op": "has", "attr": "emails.value", "filter": EQ}, "filter.attr", "multi-valued attribute"),
    ({"op": "has", "attr": "emails", "filter": {"op": "eq", "attr": "emails.type", "value": "work"}},
     "filter.filter.attr", "relative to the element"),
    ({"op": "has", "attr": "emails", "filter": {"op": "has", "attr": "emails", "filter": PR}},
     "filter.filter.op", "cannot hold another value path"),
    ({"op": "and", "args": [EQ, {"op": "eq", "attr": "", "value": "x"}]}, "filter.args.1.attr", "canonical"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_trees_are_refused_naming_the_node(data: Any, where: str, fragment: str) -> None:
    messages = errors(data)
    assert where in messages, messages
    assert fragment in str(messages[where])


@pytest.mark.parametrize("attr", [
    f"{USER_SCHEMA}:userName",  # core attributes travel without their URN
    f"{ENTERPRISE_USER_SCHEMA.lower()}:department",  # extension URNs in their canonical spelling
    "urn:example:unknown:2.0:User:thing",
    "name.givenName.first",
    "1userName",
    "user name",
    "emails[type eq \"work\"].value",
    f"{CUSTOM_USER_SCHEMA}:",
])
def test_non_canonical_attribute_paths_are_refused(attr: str) -> None:
    messages = errors({"op": "pr", "attr": attr})
    assert "canonical attribute path" in str(messages["filter.attr"])


def test_a_tree_exactly_max_depth_deep_loads() -> None:
    assert load_filter(chain(MAX_DEPTH)) == chain(MAX_DEPTH)


def test_a_tree_one_level_deeper_than_max_depth_is_refused() -> None:
    assert "more than 32 levels" in str(errors(chain(MAX_DEPTH + 1)))


def test_a_hostile_tree_ten_thousand_levels_deep_is_refused_without_recursion_error() -> None:
    assert "levels deep" in str(errors(chain(10_000)))


def test_value_path_counts_as_a_level() -> None:
    inner = chain(MAX_DEPTH - 1)
    inner_at_limit = {"op": "has", "attr": "emails", "filter": {"op": "eq", "attr": "type", "value": "w"}}
    assert load_filter(inner_at_limit)
    too_deep = {"op": "has", "attr": "emails", "filter": {"op": "not", "arg": inner}}
    assert "levels deep" in str(errors(too_deep))


def test_max_nodes_load() -> None:
    node = {"op": "or", "args": [dict(EQ) for _ in range(MAX_NODES - 1)]}
    assert len(load_filter(node)["args"]) == MAX_NODES - 1


def test_one_node_more_than_max_nodes_is_refused() -> None:
    node = {"op": "or", "args": [dict(EQ) for _ in range(MAX_NODES)]}
    assert f"more than {MAX_NODES} conditions" in str(errors(node))


def test_nodes_are_counted_across_the_whole_tree_not_per_list() -> None:
    half = {"op": "and", "args": [dict(EQ) for _ in range(MAX_NODES // 2)]}
    assert "conditions" in str(errors({"op": "or", "args": [half, half]}))


def test_a_huge_args_list_is_refused() -> None:
    assert "filter.args" in errors({"op": "or", "args": [dict(EQ)] * 100_000})


class SearchLike(Schema):
    filter = FilterField(load_default=None, allow_none=True)


def test_filter_field_validates_inside_a_schema() -> None:
    assert SearchLike().load({"filter": EQ}) == {"filter": EQ}
    assert SearchLike().load({"filter": None}) == {"filter": None}
    with pytest.raises(ValidationError) as caught:
        SearchLike().load({"filter": {"op": "eq", "attr": "userName"}})
    assert "filter.value" in str(caught.value.messages)
