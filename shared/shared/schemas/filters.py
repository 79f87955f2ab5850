"""The canonical filter AST that scim-api sends and the directory compiles to SQL (RFC 7644 §3.4.2.2).

A filter is a tree of JSON-able dicts, one per node:

- comparison: {"op": "eq"|"ne"|"co"|"sw"|"ew"|"gt"|"ge"|"lt"|"le", "attr": <path>, "value": <scalar>}
  where <scalar> is a string, a number, true, false or null;
- presence:   {"op": "pr", "attr": <path>};
- logical:    {"op": "and"|"or", "args": [<node>, <node>, ...]} with two or more args;
- negation:   {"op": "not", "arg": <node>};
- value path: {"op": "has", "attr": <multi-valued attribute>, "filter": <node>}, the inner filter
  naming sub-attributes relative to one element ("type", "value"), so that all of its conditions
  hold for the same element (RFC 7644 §3.4.2.2, "[ ]" complex attribute filter grouping).

<path> is canonical: core attributes in their RFC 7643 spelling without a schema URN ("userName",
"name.givenName", "emails.value"), extension attributes as "<schema URN>:<name>[.<sub>]" with the
URN spelled as in shared.scim. Operators are lower case. load_filter() checks the shape, and bounds
depth and size so that a hostile filter cannot exhaust the stack or the database planner; which
attributes exist, and their types, is the directory's business.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields

from ..scim import CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA

COMPARISON_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
LOGICAL_OPS = ("and", "or")
ALL_OPS = (*COMPARISON_OPS, "pr", *LOGICAL_OPS, "not", "has")
MAX_DEPTH = 32  # levels from the root to the deepest leaf; a root comparison is level 1
MAX_NODES = 100  # every node counts: comparisons, presences, and/or, not, has
EXTENSION_SCHEMAS = (ENTERPRISE_USER_SCHEMA, CUSTOM_USER_SCHEMA)

# The keys of each node form; no other key is allowed (a contract drift fails loudly).
_KEYS = {**dict.fromkeys(COMPARISON_OPS, ("op", "attr", "value")), "pr": ("op", "attr"),
         **dict.fromkeys(LOGICAL_OPS, ("op", "args")), "not": ("op", "arg"), "has": ("op", "attr", "filter")}
# ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA (RFC 7644 §3.4.2.2, Figure 1).
_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
_URN = "|".join(re.escape(urn) for urn in EXTENSION_SCHEMAS)
_PATH = re.compile(rf"(?:(?:{_URN}):)?{_NAME}(?:\.{_NAME})?")
_ELEMENT_PATH = re.compile(_NAME)
_MULTI_PATH = re.compile(rf"(?:(?:{_URN}):)?{_NAME}")
_PATH_HINTS = {
    _PATH: 'a canonical attribute path: "userName", "name.givenName", or "<extension schema URN>:<name>" '
           "with the enterprise or custom User extension URN",
    _ELEMENT_PATH: 'a sub-attribute name relative to the element, such as "type" or "value"',
    _MULTI_PATH: 'a multi-valued attribute without sub-attribute, such as "emails"',
}


class _Walk:
    """One validation: counts nodes across the whole tree and names the node at fault.

    Written by hand rather than as a marshmallow Schema per node: it runs on every search, in
    scim-api and again in the directory, and a Schema.load costs ~30 µs a node where this costs ~2.
    """

    def __init__(self) -> None:
        self.nodes = 0

    def load(self, data: Any, where: str, depth: int, element: bool) -> dict[str, Any]:
        if depth > MAX_DEPTH:  # checked before recursing: a hostile tree cannot exhaust the stack
            raise _error(where, f"The filter nests more than {MAX_DEPTH} levels deep.")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(where, f"The filter has more than {MAX_NODES} conditions and operators.")
        if not isinstance(data, Mapping):
            raise _error(where, "A filter node must be an object with an 'op'.")
        op = _op(data.get("op"), where, element)
        _check_keys(data, _KEYS[op], where)
        node: dict[str, Any] = {"op": op}
        if "attr" in data:
            node["attr"] = _attr(data["attr"], op, element, f"{where}.attr")
        if "value" in data:
            node["value"] = _scalar(data["value"], f"{where}.value")
        if "args" in data:
            node["args"] = self._args(data["args"], f"{where}.args", depth, element)
        if "arg" in data:
            node["arg"] = self.load(data["arg"], f"{where}.arg", depth + 1, element)
        if "filter" in data:  # inside a value path, names are relative to one element
            node["filter"] = self.load(data["filter"], f"{where}.filter", depth + 1, True)
        return node

    def _args(self, args: Any, where: str, depth: int, element: bool) -> list[dict[str, Any]]:
        if not isinstance(args, list) or not 2 <= len(args) <= MAX_NODES:
            raise _error(where, f"Must be a list of 2 to {MAX_NODES} filter nodes.")
        return [self.load(arg, f"{where}.{i}", depth + 1, element) for i, arg in enumerate(args)]


def _op(op: Any, where: str, element: bool) -> str:
    if element and op == "has":  # valFilter holds no valuePath (RFC 7644 §3.4.2.2)
        raise _error(f"{where}.op", "A value path cannot hold another value path.")
    if not isinstance(op, str) or op not in _KEYS:
        raise _error(f"{where}.op", f"Must be one of: {', '.join(ALL_OPS)} (lower case).")
    return op


def _check_keys(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    problems = {f"{where}.{k}": ["Unknown field."] for k in data if k not in keys}
    problems.update({f"{where}.{k}": ["Missing data for required field."] for k in keys if k not in data})
    if problems:
        raise ValidationError(problems)


def _attr(value: Any, op: str, element: bool, where: str) -> str:
    pattern = _MULTI_PATH if op == "has" else _ELEMENT_PATH if element else _PATH
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _error(where, f"Must be {_PATH_HINTS[pattern]}.")
    return value


def _scalar(value: Any, where: str) -> Any:
    """compValue = false / null / true / number / string (RFC 7644 §3.4.2.2); NaN and Infinity are not JSON."""
    if value is None or isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise _error(where, "Must be a string, a finite number, true, false or null.")


def _error(where: str, message: str) -> ValidationError:
    return ValidationError({where: [message]})


def load_filter(data: Any) -> dict[str, Any]:
    """A validated copy of the filter AST; ValidationError names the faulty node, e.g. 'filter.args.1.attr'."""
    return _Walk().load(data, "filter", 1, element=False)


class FilterField(fields.Field):
    """A marshmallow field holding a filter AST, validated by load_filter() (null when allow_none)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        return load_filter(value)
