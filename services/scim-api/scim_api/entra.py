"""Entra ID's SCIM dialect normalised in one place, before any schema or mapping runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from .attributes import Attr, ResourceSpec

# The Tenant URL flag that switches Entra to RFC-compliant PATCH (COMPAT). We accept both dialects
# whatever the flag says, so it only has to be harmless wherever it appears.
COMPLIANCE_FLAG = "aadOptscim062020"
OPS = frozenset({"add", "replace", "remove"})
QUERY_PARAMS = {p.lower(): p for p in (
    "filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes")}
_BOOLEAN_WORDS = {"true": True, "false": False}


def op_name(raw: Any) -> str | None:
    """'Add', 'Replace', 'Remove' in any case (TUT: Entra sends them capitalised) → lower case, else None."""
    if isinstance(raw, str) and raw.strip().lower() in OPS:
        return raw.strip().lower()
    return None


def lower_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Structural keys ('Operations', 'op', 'path', 'value', 'schemas') in any case (RFC 7643 §2.1)."""
    return {str(k).lower(): v for k, v in obj.items()}


def query_args(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """RFC 7644 §3.4.2 list parameters, names in any case; the compliance flag and strangers are ignored."""
    return {QUERY_PARAMS[k.lower()]: v for k, v in items if k.lower() in QUERY_PARAMS}


def to_bool(value: Any) -> Any:
    """'True'/'False' (Entra's default dialect, even on POST: COMPAT, REF) → bool; anything else unchanged."""
    if isinstance(value, str):
        return _BOOLEAN_WORDS.get(value.strip().lower(), value)
    return value


def coerce(attr: Attr | None, value: Any) -> Any:
    """Canonical sub-attribute names and real booleans inside one attribute's value."""
    if attr is None:
        return value
    if attr.multi and isinstance(value, list):
        return [_coerce_one(attr, v) for v in value]
    return _coerce_one(attr, value)


def _coerce_one(attr: Attr, value: Any) -> Any:
    if attr.kind == "boolean":
        return to_bool(value)
    if attr.kind == "complex" and isinstance(value, Mapping):
        return normalise_object(value, attr.sub)
    return value


def canonical_name(catalogue: Mapping[str, Attr] | None, name: str) -> str:
    """The RFC spelling of `name` when the catalogue knows it; unknown (or open) names are kept as sent."""
    attr = catalogue.get(name.lower()) if catalogue is not None else None
    return attr.name if attr else name


def normalise_object(obj: Mapping[str, Any], catalogue: Mapping[str, Attr] | None) -> dict[str, Any]:
    """Keys of one complex value or extension object in canonical case; None catalogue = open names."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        attr = catalogue.get(str(key).lower()) if catalogue is not None else None
        out[attr.name if attr else str(key)] = coerce(attr, value)
    return out


def normalise(body: Mapping[str, Any], spec: ResourceSpec) -> dict[str, Any]:
    """A User or Group body in canonical spelling: 'UserName' → 'userName', URN keys in any case folded
    into their extension object, 'True'/'False' → booleans (SCIM names are case-insensitive, RFC 7643 §2.1)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        key = str(key)
        split = spec.split_urn(key)
        if split is None:
            attr = spec.attr(key)
            out[attr.name if attr else key] = coerce(attr, value)
        elif split[0] is None:  # core URN prefix, allowed by RFC 7644 §3.10
            attr = spec.attr(split[1])
            out[attr.name if attr else split[1]] = coerce(attr, value)
        else:
            _put_extension(out, spec, split[0], split[1], value)
    return out


def _put_extension(out: dict[str, Any], spec: ResourceSpec, urn: str, rest: str, value: Any) -> None:
    catalogue = spec.extensions[urn.lower()][1]
    target = out.setdefault(urn, {})
    if not isinstance(target, dict):
        return
    if not rest:  # the whole extension object
        if isinstance(value, Mapping):
            target.update(normalise_object(value, catalogue))
        else:
            out[urn] = value  # not an object: resources reports it as an invalid value
        return
    attr = catalogue.get(rest.lower()) if catalogue is not None else None
    target[attr.name if attr else rest] = coerce(attr, value)


class TenantUrlFlag:
    """WSGI guard: a Tenant URL '…/scim/v2/acme?aadOptscim062020' joined naively with '/Users' puts
    the resource path inside the query string; move it back so routing still works."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = environ.get("QUERY_STRING", "")
        flag = len(COMPLIANCE_FLAG)
        if query[:flag].lower() == COMPLIANCE_FLAG.lower() and query[flag:flag + 1] == "/":
            path, _, rest = query[flag:].partition("?")
            if "&" in path and not rest:
                path, _, rest = path.partition("&")
            base = environ.get("PATH_INFO", "").rstrip("/")
            environ["PATH_INFO"] = base + unquote_to_bytes(path).decode("latin-1")
            environ["QUERY_STRING"] = rest
        return self.app(environ, start_response)
