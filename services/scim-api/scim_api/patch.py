"""RFC 7644 §3.5.2 PATCH with every form Entra sends, parsed into operations and applied to a SCIM User."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .attributes import USER, ResourceSpec
from .entra import coerce, lower_keys, op_name
from .errors import ScimError
from .paths import Path, parse_path
from .resources import EXTENSION_KEYS, custom_values, drop_once, manager_id, unknown_attribute

Op = tuple[str, Path, Any]  # (add|replace|remove, path, value)
_IGNORED_IN_VALUE = frozenset({"schemas", "meta", "id"})  # envelope keys some clients echo in a path-less value


def operations(body: Any, spec: ResourceSpec) -> Iterator[Op]:
    """The operations of a PatchOp body (RFC 7644 §3.5.2), path-less ones split into one op per key."""
    if not isinstance(body, Mapping):
        raise _syntax("The PATCH body must be a JSON object with an 'Operations' list.")
    ops = lower_keys(body).get("operations")
    if not isinstance(ops, list) or not ops:
        raise _syntax("The PATCH body needs a non-empty 'Operations' list (RFC 7644 §3.5.2).")
    for raw in ops:
        if not isinstance(raw, Mapping):
            raise _syntax("Each PATCH operation must be an object with 'op', 'path' and 'value'.")
        yield from _expand(lower_keys(raw), spec)


def _expand(raw: dict[str, Any], spec: ResourceSpec) -> Iterator[Op]:
    name = op_name(raw.get("op"))
    if name is None:
        raise _syntax(f"'{raw.get('op')}' is not a PATCH operation; use add, replace or remove.")
    path, value = raw.get("path"), raw.get("value")
    if path not in (None, ""):
        if name != "remove" and "value" not in raw:
            raise ScimError(400, f"The '{name}' of '{path}' has no 'value' (RFC 7644 §3.5.2.1).", "invalidValue")
        yield name, parse_path(path, spec), value
        return
    if name == "remove":  # RFC 7644 §3.5.2.2
        raise ScimError(400, "A 'remove' operation needs a 'path' naming what to remove.", "noTarget")
    if not isinstance(value, Mapping):
        raise ScimError(400, f"A '{name}' without 'path' needs an object 'value' of attributes.", "invalidValue")
    # Path-less add/replace: keys may be plain, dotted ('name.givenName') or URN-qualified (COMPAT).
    for key, sub in value.items():
        if str(key).lower() not in _IGNORED_IN_VALUE:
            yield name, parse_path(str(key), spec), sub


def _syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


# --- users: SCIM operations in the contract's terms (the directory applies them) ----------------------


def user_change(body: Any) -> dict[str, Any]:
    """A SCIM PATCH of a user as the contract's UserChange: every Entra form turned into operations on the
    directory's user (attribute, sub-attribute, element filter, value in canonical spelling and types).
    What this server has no attribute for is reported in `dropped`, as for a POST or PUT."""
    out: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for name, path, value in operations(body, USER):
        _translate(out, dropped, name, path, value)
    return {"operations": out, "dropped": dropped}


def _translate(out: list[dict[str, Any]], dropped: list[dict[str, Any]], name: str, path: Path, value: Any) -> None:
    if path.spec is not None and path.spec.read_only:
        raise ScimError(400, f"'{path.attr}' is read-only and cannot be changed by PATCH.", "mutability")
    container = EXTENSION_KEYS.get(path.urn) if path.urn else None
    if path.urn and path.attr is None:  # the whole extension object
        if name == "remove":
            out.append(_op(name, container, None))
        elif not isinstance(value, Mapping):
            raise ScimError(400, f"The value for '{path.text}' must be an object of its attributes.", "invalidValue")
        else:
            for key, sub in value.items():
                _translate(out, dropped, name, parse_path(f"{path.urn}:{key}", USER), sub)
        return
    if container == "custom":
        return _translate_custom(out, dropped, name, path, value)
    unknown = _unknown_name(path)
    if unknown:
        drop_once(dropped, unknown)
        return
    if container == "enterprise" and path.attr == "manager":  # kept as the manager's user id
        if path.sub in (None, "value"):
            out.append(_op(name, container, "manager", value=manager_id(value)))
        return  # $ref and displayName are answered from the id, never kept
    spec = path.spec
    coerced = coerce(spec.child(path.sub) if path.sub else spec, value)
    out.append(_op(name, container, path.attr, path.sub, path.filter, coerced))


def _unknown_name(path: Path) -> str | None:
    """The attribute as named, when this server keeps nothing under it."""
    if path.spec is None:
        if path.urn is None and path.attr and path.attr.lower().startswith("urn:"):
            return path.text  # an extension this server does not serve
        name = f"{path.urn}:{path.attr}" if path.urn else path.attr
        return name + (f".{path.sub}" if path.sub else "")
    if path.sub and path.spec.child(path.sub) is None:
        return f"{path.attr}.{path.sub}"
    return None


def _translate_custom(out: list[dict[str, Any]], dropped: list[dict[str, Any]], name: str, path: Path,
                      value: Any) -> None:
    if path.sub or path.filter is not None:
        dropped.append(unknown_attribute(path.text, "A custom attribute holds one text value."))
        return
    kept = custom_values({path.attr: value}, dropped)
    if path.attr in kept or name == "remove":
        out.append(_op(name, "custom", path.attr, value=kept.get(path.attr)))


def _op(name: str, container: str | None, attr: str | None, sub: str | None = None, flt: Any = None,
        value: Any = None) -> dict[str, Any]:
    return {"op": name, "container": container, "attribute": attr, "sub": sub,
            "filter": None if flt is None else _as_lists(flt), "value": value}


def _as_lists(flt: Any) -> Any:
    return [_as_lists(part) if isinstance(part, tuple) else part for part in flt]
