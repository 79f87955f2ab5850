"""SCIM filter expressions (RFC 7644 §3.4.2.2) parsed into the canonical AST of shared.schemas.filters.

Why not scim2-filter-parser (0.7.0, the PyPI parser the issue suggests): downloaded and tried, it
does not fit, for concrete reasons:
- `and` and `or` share one precedence level (`precedence = (("left", OR, AND), ...)`), so
  `a eq 1 or b eq 2 and c eq 3` parses as `(a or b) and c`: silently wrong results, where
  RFC 7644 §3.4.2.2 makes `and` bind tighter than `or`;
- a number is one digit (`NUMBER = r"[0-9]"`): `x eq 10` is a syntax error, `1.5` and `-1` are
  illegal characters;
- a string is `"[^"]*"`: an escaped quote `\\"` is an illegal character and `\\u00e9` stays six
  characters, where compValue follows JSON (RFC 7159) strings;
- `true`, `false` and `null` are lexed before names, so an attribute named `falsehood` fails;
- its errors read `Parsing error at: Token(type='NUMBER', ...)` or `Parsing error at: None`,
  which Entra would show an admin as is;
- it pins `sly==0.5` exactly, a second dependency for a grammar this small.
Hence a small recursive-descent parser, bounded in length, nesting and size, which also maps
names to their canonical spelling (case-insensitive names, RFC 7643 §2.1) in the same pass.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from marshmallow import ValidationError

from shared import resource_types
from shared.catalogue import Attribute, Resource, is_custom_name
from shared.schemas.filters import COMPARISON_OPS, MAX_DEPTH, load_filter

MAX_LENGTH = 4096  # characters; Entra's own filters are one comparison


class FilterError(ValueError):
    """A filter that cannot be read; its message is for an admin (400 invalidFilter, RFC 7644 §3.12)."""


@dataclass(frozen=True)
class Attr:
    """A filterable attribute: canonical name, sub-attributes, and what a comparison on it alone means."""

    name: str
    subs: tuple[str, ...] = ()
    multi: bool = False
    implied: str | None = None  # sub-attribute compared when none is named

    def sub(self, name: str) -> str | None:
        return next((s for s in self.subs if s.lower() == name.lower()), None)


def _filterable(attribute: Attribute) -> Attr:
    subs = tuple(s.name for s in attribute.sub_attributes if s.filterable)
    # RFC 7644 §3.4.2.2: a multi-valued attribute compared without a sub-attribute means its "value"; so does
    # the manager, which Entra writes as a bare id (`manager eq "<id>"`).
    implied = "value" if (attribute.multi_valued or attribute.as_value) and "value" in subs else None
    return Attr(attribute.name, subs, attribute.multi_valued, implied)


def _table(attributes: Iterable[Attribute]) -> dict[str, Attr]:
    return {a.name.lower(): _filterable(a) for a in attributes if a.filterable}


def _schemas(resource: Resource) -> tuple[tuple[str, Mapping[str, Attr] | None], ...]:
    """Schema URN → filterable attributes, core (with the common ones) first. None: the custom extension
    is open, any custom attribute name (the directory decides whether the tenant defined it, R-DIR-11)."""
    core = (resource.core.urn, _table((*resource.common, *resource.core.attributes)))
    return (core, *((s.urn, None if s.open else _table(s.attributes)) for s in resource.extensions))


_SCHEMAS = {r.name: _schemas(r) for r in (resource_types.USER, resource_types.GROUP)}
_ATTR_PATH = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_-]*)(?:\.(?P<sub>[A-Za-z][A-Za-z0-9_-]*))?")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # JSON number (RFC 7159 §6)
_LITERALS = {"true": True, "false": False, "null": None}
_TOKEN = re.compile(r'(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+)',
                    re.S)


class Token(NamedTuple):
    kind: str  # "word", "string", "(", ")", "[", "]" or "end"
    text: str
    pos: int


@dataclass(frozen=True)
class Ref:
    """An attribute as named in a filter: canonical URN prefix ("" for core), attribute, sub-attribute."""

    prefix: str
    attr: Attr
    sub: str | None = None

    def path(self) -> str:
        base = self.prefix + self.attr.name
        return f"{base}.{self.sub}" if self.sub else base

    def compared(self, pos: int) -> str:
        if self.sub or not self.attr.subs:
            return self.path()
        if self.attr.implied:
            return f"{self.path()}.{self.attr.implied}"
        # RFC 7644 §3.4.2.2: "For complex attributes, a fully qualified sub-attribute MUST be specified".
        raise FilterError(f'"{self.attr.name}" at position {pos} is a complex attribute: compare one of its '
                          f'sub-attributes, such as "{self.attr.name}.{self.attr.subs[0]}".')


def tokenize(text: str) -> list[Token]:
    """Words, JSON strings and brackets with their positions, ending with an "end" token."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only an opening quote can fail every alternative
            raise FilterError(f"The string starting at position {pos} has no closing quote.")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(match[0] if kind == "punct" else kind, match[0], pos))
        pos = match.end()
    return [*tokens, Token("end", "", len(text))]


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the filter"
    return f'"{token.text[:40]}"' + ("..." if len(token.text) > 40 else "")


def _join(op: str, args: list[dict[str, Any]]) -> dict[str, Any]:
    """One n-ary and/or: `a and (b and c)` flattens, keeping the tree shallow."""
    flat: list[dict[str, Any]] = []
    for arg in args:
        flat.extend(arg["args"] if arg["op"] == op else [arg])
    return {"op": op, "args": flat}


class Parser:
    """FILTER of RFC 7644 §3.4.2.2: or < and < not/grouping; `parent` set inside `attr[...]`."""

    def __init__(self, text: str, resource: str) -> None:
        self.tokens, self.i, self.depth, self.schemas = tokenize(text), 0, 0, _SCHEMAS[resource]

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def keyword(self, word: str) -> bool:
        return self.peek().kind == "word" and self.peek().text.lower() == word  # operators in any case

    def parse(self) -> dict[str, Any]:
        node = self.or_expr(None)
        token = self.peek()
        if token.kind in (")", "]"):
            raise FilterError(f'Unexpected "{token.text}" at position {token.pos}: nothing opened it.')
        if token.kind != "end":
            raise FilterError(f'Expected "and", "or" or the end of the filter at position {token.pos}, '
                              f"found {_describe(token)}.")
        return node

    def or_expr(self, parent: Ref | None) -> dict[str, Any]:
        return self.chain("or", self.and_expr, parent)

    def and_expr(self, parent: Ref | None) -> dict[str, Any]:
        return self.chain("and", self.unary, parent)  # and binds tighter than or (RFC 7644 §3.4.2.2)

    def chain(self, op: str, operand: Callable[[Ref | None], dict[str, Any]], parent: Ref | None) -> dict[str, Any]:
        args = [operand(parent)]
        while self.keyword(op):  # a loop, not recursion: long chains cost no stack
            self.take()
            args.append(operand(parent))
        return args[0] if len(args) == 1 else _join(op, args)

    def unary(self, parent: Ref | None) -> dict[str, Any]:
        token = self.peek()
        if token.kind == "(":
            return self.group(parent, "(", ")")
        if self.keyword("not"):
            self.take()
            if self.peek().kind != "(":
                raise FilterError(f'Expected "(" after "not" at position {self.peek().pos}: write '
                                  f"not (expression) (RFC 7644 §3.4.2.2).")
            return {"op": "not", "arg": self.group(parent, "(", ")")}
        if token.kind == "word" and token.text.lower() not in ("and", "or"):
            return self.attribute_expression(parent)
        raise FilterError(f'Expected an attribute name, "(" or "not" at position {token.pos}, '
                          f"found {_describe(token)}.")

    def group(self, parent: Ref | None, opening: str, closing: str) -> dict[str, Any]:
        start = self.take()
        self.depth += 1
        if self.depth > MAX_DEPTH:  # before recursing further: a hostile filter cannot exhaust the stack
            raise FilterError(f"The filter nests more than {MAX_DEPTH} levels deep (position {start.pos}).")
        node = self.or_expr(parent)
        end = self.take()
        if end.kind != closing:
            raise FilterError(f'Expected "{closing}" to close the "{opening}" at position {start.pos}, '
                              f"found {_describe(end)} at position {end.pos}.")
        self.depth -= 1
        return node

    def attribute_expression(self, parent: Ref | None) -> dict[str, Any]:
        word = self.take()
        ref = self.element(word, parent) if parent else self.resolve(word)
        if self.peek().kind == "[":
            return self.value_path(ref, word, parent)
        return self.condition(ref, word)

    def value_path(self, ref: Ref, word: Token, parent: Ref | None) -> dict[str, Any]:
        """attr[valFilter] and Entra's attr[valFilter].sub op value (RFC 7644 §3.4.2.2, §3.5.2)."""
        if parent is not None:
            raise FilterError(f'A "[...]" filter cannot be nested in another one (position {self.peek().pos}).')
        if not ref.attr.multi or ref.sub:
            raise FilterError(f'"{word.text}" at position {word.pos} cannot take a "[...]" filter: only a '
                              'multi-valued attribute can, as in emails[type eq "work"].')
        inner = self.group(ref, "[", "]")
        node = {"op": "has", "attr": ref.path(), "filter": inner}
        after = self.peek()
        if after.kind == "word" and after.text.startswith("."):
            self.take()
            sub = self.element(Token("word", after.text[1:], after.pos + 1), ref)
            node["filter"] = _join("and", [inner, self.condition(sub, after)])
        return node

    def condition(self, ref: Ref, word: Token) -> dict[str, Any]:
        """attrExp = attrPath SP "pr" / attrPath SP compareOp SP compValue (RFC 7644 §3.4.2.2)."""
        token = self.take()
        if token.kind != "word":
            raise FilterError(f'Expected an operator after "{word.text}" at position {token.pos}, '
                              f"found {_describe(token)}.")
        op = token.text.lower()
        if op == "pr":
            return {"op": "pr", "attr": ref.path()}
        if op not in COMPARISON_OPS:
            raise FilterError(f'Unknown operator "{token.text}" at position {token.pos}: use eq, ne, co, sw, '
                              "ew, gt, ge, lt, le or pr.")
        return {"op": op, "attr": ref.compared(word.pos), "value": self.value()}

    def value(self) -> Any:
        """compValue = false / null / true / number / string, by JSON's rules (RFC 7159)."""
        token = self.take()
        if token.kind == "string":
            return _string(token)
        if token.kind == "word" and token.text.lower() in _LITERALS:  # "True" too: Entra's dialect (COMPAT)
            return _LITERALS[token.text.lower()]
        if token.kind == "word" and _NUMBER.fullmatch(token.text):
            number = json.loads(token.text)
            if isinstance(number, float) and not math.isfinite(number):
                raise FilterError(f"The number at position {token.pos} is too large.")
            return number
        raise FilterError(f"Expected a value at position {token.pos} (a \"quoted string\", a number, true, "
                          f"false or null), found {_describe(token)}.")

    def resolve(self, word: Token) -> Ref:
        """A name in any case, with or without its schema URN (RFC 7643 §2.1, RFC 7644 §3.10)."""
        prefix, rest, table = self.split_urn(word.text)
        match = _ATTR_PATH.fullmatch(rest)
        ref = match and _lookup(prefix, table, match["name"], match["sub"])
        if not ref:
            raise FilterError(f'Unknown attribute "{word.text}" in filter at position {word.pos}.')
        return ref

    def split_urn(self, text: str) -> tuple[str, str, Mapping[str, Attr] | None]:
        """(canonical prefix, name, attributes); URNs compare case-insensitively, core loses its prefix."""
        core_urn, core = self.schemas[0]
        for urn, attrs in self.schemas:
            if text.lower().startswith(urn.lower() + ":"):
                return ("" if urn == core_urn else urn + ":"), text[len(urn) + 1:], attrs
        return "", text, core

    @staticmethod
    def element(word: Token, parent: Ref) -> Ref:
        """A sub-attribute named relative to the element inside `parent[...]`."""
        sub = parent.attr.sub(word.text)
        if sub is None:
            raise FilterError(f'Unknown attribute "{word.text}" in filter at position {word.pos}: '
                              f'"{parent.attr.name}" has {", ".join(parent.attr.subs)}.')
        return Ref("", Attr(sub))


def _lookup(prefix: str, table: Mapping[str, Attr] | None, name: str, sub: str | None) -> Ref | None:
    if table is None:  # the open custom extension: single-valued strings
        return Ref(prefix, Attr(name)) if sub is None and is_custom_name(name) else None
    attr = table.get(name.lower())
    if attr is None or (sub is not None and attr.sub(sub) is None):
        return None
    return Ref(prefix, attr, attr.sub(sub) if sub else None)


def _string(token: Token) -> str:
    try:
        text = json.loads(token.text)
        text.encode("utf-8")  # a lone surrogate (\ud800) could not reach the database
    except ValueError as exc:  # JSONDecodeError and UnicodeEncodeError both are
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "it holds an unpaired \\u surrogate"
        raise FilterError(f"The string at position {token.pos} is not valid: {why}. Escape \" and \\ with "
                          "a backslash.") from None
    return text


def parse_filter(text: str, resource: str) -> dict[str, Any]:
    """The canonical AST of a SCIM filter on "User" or "Group"; FilterError with an admin's message."""
    if resource not in _SCHEMAS:
        raise ValueError(f"Unknown resource type {resource!r}")
    if not isinstance(text, str) or not text.strip():
        raise FilterError("The filter is empty.")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"The filter is {len(text)} characters long; at most {MAX_LENGTH} are accepted.")
    node = Parser(text, resource).parse()
    try:
        return load_filter(node)  # the contract's own bounds: depth and number of nodes
    except ValidationError as exc:
        raise FilterError(_messages(exc)) from None


def _messages(exc: ValidationError) -> str:
    found = exc.messages.values() if isinstance(exc.messages, dict) else [exc.messages]
    return " ".join(str(m) for ms in found for m in (ms if isinstance(ms, list) else [ms]))
