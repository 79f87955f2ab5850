"""PATCH paths of RFC 7644 §3.5.2 (attrPath / valuePath [subAttr]) and the value filter inside brackets."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .attributes import Attr, ResourceSpec
from .entra import canonical_name
from .errors import ScimError

_NAME = r"[A-Za-z$][\w$-]*"
_PATH = re.compile(rf"^(?P<attr>{_NAME})(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>{_NAME}))?$", re.S)
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<paren>[()])|(?P<word>[^\s()"]+))')
_COMPARE = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
Filter = tuple  # ("cmp", sub, op, value) | ("pr", sub) | ("and"|"or", a, b) | ("not", a)


@dataclass(frozen=True)
class Path:
    text: str
    urn: str | None  # extension URN; None for a core attribute
    attr: str | None  # canonical name (as sent when unknown); None targets the whole extension object
    spec: Attr | None  # None when unknown, or a sub-attribute of an open (custom) extension
    filter: Filter | None = None
    sub: str | None = None


def invalid_path(text: str, why: str) -> ScimError:
    return ScimError(400, f"The PATCH path '{text}' is not valid: {why}.", "invalidPath")


def parse_path(text: str, spec: ResourceSpec) -> Path:
    """Parse one path; names in any case (RFC 7643 §2.1), schema URN prefix optional (RFC 7644 §3.10)."""
    if not isinstance(text, str) or not text.strip():
        raise invalid_path(str(text), "it is empty")
    text = text.strip()
    split = spec.split_urn(text)
    if split is None and text.lower().startswith("urn:"):
        return Path(text, None, text, None)  # an extension we do not serve: dropped later
    urn, rest = split if split else (None, text)
    catalogue = spec.extensions[urn.lower()][1] if urn else spec.attrs
    if urn and not rest:
        return Path(text, urn, None, None)
    match = _PATH.match(rest)
    if not match:
        raise invalid_path(text, "expected attribute, attribute.subAttribute or attribute[filter].subAttribute")
    attr = catalogue.get(match["attr"].lower()) if catalogue is not None else None
    name = attr.name if attr else match["attr"]
    sub = canonical_name(attr.sub if attr else {}, match["sub"]) if match["sub"] else None
    if attr is not None and sub and attr.kind != "complex":
        raise invalid_path(text, f"'{name}' has no sub-attributes")
    flt = None
    if match["filter"] is not None:
        if attr is None or not attr.multi:
            raise invalid_path(text, f"a [filter] only applies to a multi-valued attribute, not '{name}'")
        flt = parse_value_filter(match["filter"], attr, text)
    return Path(text, urn, name, attr, flt, sub)


def parse_value_filter(text: str, attr: Attr, path: str) -> Filter:
    """valFilter of RFC 7644 §3.4.2.2 inside a path: comparisons joined by and/or/not, with parentheses."""
    tokens = _tokens(text, path)
    parser = _Parser(tokens, attr, path)
    result = parser.expression()
    if parser.pos != len(tokens):
        raise invalid_path(path, f"unexpected '{tokens[parser.pos][1]}' in the filter")
    return result


def _tokens(text: str, path: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise invalid_path(path, "the filter cannot be read")
            break
        kind = match.lastgroup or "end"
        out.append((kind, match[kind]))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent; 'and' binds tighter than 'or' (RFC 7644 §3.4.2.2, table 4)."""

    def __init__(self, tokens: list[tuple[str, str]], attr: Attr, path: str) -> None:
        self.tokens, self.attr, self.path, self.pos = tokens, attr, path, 0

    def peek(self) -> str:
        return self.tokens[self.pos][1].lower() if self.pos < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise invalid_path(self.path, "the filter ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expression(self) -> Filter:
        left = self.term()
        while self.peek() == "or":
            self.take()
            left = ("or", left, self.term())
        return left

    def term(self) -> Filter:
        left = self.factor()
        while self.peek() == "and":
            self.take()
            left = ("and", left, self.factor())
        return left

    def factor(self) -> Filter:
        if self.peek() == "not":
            self.take()
            return ("not", self.factor())
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            if self.take()[1] != ")":
                raise invalid_path(self.path, "a parenthesis is not closed")
            return inner
        return self.comparison()

    def comparison(self) -> Filter:
        kind, name = self.take()
        if kind != "word":
            raise invalid_path(self.path, f"expected an attribute name, found {name}")
        sub = canonical_name(self.attr.sub, name)
        op = self.take()[1].lower()
        if op == "pr":
            return ("pr", sub)
        if op not in _COMPARE:
            raise invalid_path(self.path, f"'{op}' is not a filter operator")
        return ("cmp", sub, op, _literal(self.take()[1], self.path))


def _literal(raw: str, path: str) -> Any:
    try:
        return json.loads(raw) if raw[:1] == '"' or raw in ("true", "false", "null") else json.loads(raw.lower())
    except ValueError:
        raise invalid_path(path, f"{raw} is not a string, number, true, false or null") from None


def alternatives(flt: Filter, sub: str) -> list[Any] | None:
    """['a', 'b'] for 'value eq "a" or value eq "b"'; None when the filter is anything else."""
    if flt[0] == "cmp" and flt[2] == "eq" and flt[1] == sub:
        return [flt[3]]
    if flt[0] == "or":
        left, right = alternatives(flt[1], sub), alternatives(flt[2], sub)
        return left + right if left is not None and right is not None else None
    return None
