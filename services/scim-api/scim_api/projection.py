"""The `attributes` and `excludedAttributes` projection of RFC 7644 §3.4.2.5 and §3.9."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .attributes import ResourceSpec
from .errors import ScimError

# Returned whatever the client asks (RFC 7643 §3.1 'returned: always' for id; schemas and meta are the
# envelope a client needs to read the rest).
ALWAYS = frozenset({"id", "schemas", "meta"})
Tree = dict[str, Any]  # lower-case name → True (the whole value) or a sub-tree


def split_names(raw: str | Iterable[str] | None) -> list[str]:
    """'a, b.c' (query string) or ['a', 'b.c'] (SearchRequest body) → ['a', 'b.c']."""
    if raw is None:
        return []
    if not isinstance(raw, str | list):  # a SearchRequest may hold any JSON here: true, 3, {"a": 1}
        raise ScimError(400, "'attributes' and 'excludedAttributes' are attribute names: a comma-separated string "
                             "or a list of strings (RFC 7644 §3.4.3).", "invalidValue")
    parts = raw.split(",") if isinstance(raw, str) else raw
    return [p.strip() for p in parts if isinstance(p, str) and p.strip()]


def selection(names: Iterable[str], spec: ResourceSpec) -> Tree:
    """Attribute paths as a tree: 'name.givenName' → {'name': {'givenname': True}}; URN prefixes resolved."""
    tree: Tree = {}
    for name in names:
        _insert(tree, _steps(name, spec))
    return tree


def _steps(name: str, spec: ResourceSpec) -> list[str]:
    split = spec.split_urn(name)
    if split is None:
        return [s.lower() for s in name.split(".", 1)]
    urn, rest = split
    inner = [s.lower() for s in rest.split(".", 1)] if rest else []
    return inner if urn is None else [urn.lower(), *inner]


def _insert(tree: Tree, steps: list[str]) -> None:
    head, rest = steps[0], steps[1:]
    if not rest:
        tree[head] = True
    elif tree.get(head) is not True:
        _insert(tree.setdefault(head, {}), rest)


def mentions(names: Iterable[str], spec: ResourceSpec, attribute: str) -> bool:
    """Whether `attribute` (or one of its sub-attributes) is named in the list."""
    return attribute.lower() in selection(names, spec)


def project(doc: dict[str, Any], spec: ResourceSpec, attributes: Iterable[str] = (),
            excluded: Iterable[str] = ()) -> dict[str, Any]:
    """Keep only `attributes` (plus ALWAYS), or drop `excluded`; attributes wins when both are given."""
    keep = selection(attributes, spec)
    if keep:
        for name in ALWAYS:
            keep[name] = True
        return _keep(doc, keep)
    drop = selection(excluded, spec)
    for name in ALWAYS:
        drop.pop(name, None)
    return _drop(doc, drop) if drop else doc


def _keep(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_keep(v, tree) for v in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, sub in value.items():
        wanted = tree.get(key.lower())
        if wanted is True:
            out[key] = sub
        elif wanted:
            out[key] = _keep(sub, wanted)
    return out


def _drop(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        return [_drop(v, tree) for v in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, sub in value.items():
        unwanted = tree.get(key.lower())
        if unwanted is True:
            continue
        out[key] = _drop(sub, unwanted) if unwanted else sub
    return out
