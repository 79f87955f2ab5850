"""RFC 7644 §3.5.2 PATCH with every form Entra sends, parsed into operations and applied to a SCIM User."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from .attributes import USER, ResourceSpec
from .entra import coerce, lower_keys, normalise_object, op_name, to_bool
from .errors import ScimError
from .paths import Path, equalities, matches, parse_path

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


def _blank(value: Any) -> bool:
    # R-DIR-7: "" or null keeps the stored value, so such an add/replace changes nothing.
    return value is None or value == ""


# --- users: applied to the whole SCIM document --------------------------------------------------


def apply_user_patch(doc: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """The new SCIM User document after every operation, in order (RFC 7644 §3.5.2: all or nothing)."""
    new = copy.deepcopy(dict(doc))
    for name, path, value in operations(body, USER):
        _apply(new, name, path, value)
    return new


def _apply(doc: dict[str, Any], name: str, path: Path, value: Any) -> None:
    if path.spec is not None and path.spec.read_only:
        raise ScimError(400, f"'{path.attr}' is read-only and cannot be changed by PATCH.", "mutability")
    if path.urn and path.attr is None:
        return _apply_extension(doc, name, path, value)
    holder = doc.setdefault(path.urn, {}) if path.urn else doc
    if not isinstance(holder, dict):
        holder = doc[path.urn] = {}
    if path.filter is not None:
        return _apply_filtered(holder, name, path, value)
    if path.spec is not None and path.spec.multi:
        return _apply_multi(holder, name, path, value)
    if path.spec is not None and path.spec.kind == "complex":
        return _apply_complex(holder, name, path, value)
    if name == "remove":
        holder.pop(path.attr, None)
    elif path.sub:  # an unknown attribute with a sub-attribute: kept for the 'dropped' report
        holder[f"{path.attr}.{path.sub}"] = value
    elif not _blank(value):
        holder[path.attr] = coerce(path.spec, value)


def _apply_extension(doc: dict[str, Any], name: str, path: Path, value: Any) -> None:
    if name == "remove":
        doc.pop(path.urn, None)
        return
    if not isinstance(value, Mapping):
        raise ScimError(400, f"The value for '{path.text}' must be an object of its attributes.", "invalidValue")
    for key, sub in value.items():
        _apply(doc, name, parse_path(f"{path.urn}:{key}", USER), sub)


def _apply_complex(holder: dict[str, Any], name: str, path: Path, value: Any) -> None:
    if name != "remove" and _blank(value):
        return  # R-DIR-7; this is also how Entra "clears" a manager (replace with "")
    current = holder.get(path.attr)
    current = dict(current) if isinstance(current, Mapping) else {}
    if path.sub:
        if name == "remove":
            current.pop(path.sub, None)
        else:
            current[path.sub] = coerce(path.spec.child(path.sub), value)
    elif name == "remove":
        holder.pop(path.attr, None)
        return
    elif isinstance(value, Mapping):  # RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged
        current.update({k: v for k, v in normalise_object(value, path.spec.sub).items() if not _blank(v)})
    elif path.attr == "manager" and isinstance(value, str | int):
        current = {"value": str(value)}  # Entra's bare-string manager id (HOW, SCIM-SDK issue 686)
    else:
        raise ScimError(400, f"The value for '{path.text}' must be an object of sub-attributes.", "invalidValue")
    holder[path.attr] = current


def _elements(holder: dict[str, Any], attr: str) -> list[Any]:
    values = holder.get(attr)
    return values if isinstance(values, list) else []


def _apply_multi(holder: dict[str, Any], name: str, path: Path, value: Any) -> None:
    if name == "remove" and not path.sub:
        holder.pop(path.attr, None)
        return
    if path.sub:  # 'emails.value' without a filter: every value (RFC 7644 §3.5.2)
        elements = _elements(holder, path.attr) or ([] if name == "remove" else [{}])
        holder[path.attr] = elements
        for element in elements:
            _set_sub(element, name, path, value)
        _prune(holder, path.attr)
        return
    if _blank(value):
        return
    new = [coerce(path.spec, v) for v in (value if isinstance(value, list) else [value])]
    if not all(isinstance(v, dict) for v in new):
        raise ScimError(400, f"The value for '{path.text}' must be a list of objects.", "invalidValue")
    if name == "replace":  # RFC 7644 §3.5.2.3: the whole list
        holder[path.attr] = new
    else:
        holder[path.attr] = _merge(_elements(holder, path.attr), new)
    _one_primary(holder[path.attr])


def _merge(current: list[Any], new: list[dict[str, Any]]) -> list[Any]:
    """RFC 7644 §3.5.2.1 add; a value whose 'type' exists updates it (TUT: 'type' values are unique)."""
    merged = [dict(e) if isinstance(e, dict) else e for e in current]
    for item in new:
        same = next((e for e in merged if isinstance(e, dict) and item.get("type") is not None
                     and str(e.get("type", "")).lower() == str(item["type"]).lower()), None)
        if same is not None:
            same.update({k: v for k, v in item.items() if not _blank(v)})
        elif item not in merged:
            merged.append(item)
    return merged


def _apply_filtered(holder: dict[str, Any], name: str, path: Path, value: Any) -> None:
    elements = _elements(holder, path.attr)
    hits = [e for e in elements if matches(path.filter, e)]
    if name == "remove":
        if path.sub:
            for element in hits:
                element.pop(path.sub, None)
        else:
            elements = [e for e in elements if not any(e is h for h in hits)]
        holder[path.attr] = elements
        _prune(holder, path.attr)
        return
    if _blank(value):
        return
    if not hits:  # Entra: create the value the filter describes (SCIM-SDK issue 416, REF issue 48)
        seed = equalities(path.filter)
        if seed is None:
            raise ScimError(400, f"No value of '{path.attr}' matches '{path.text}'.", "noTarget")
        hits = [dict(seed)]
        elements = [*elements, hits[0]]
    holder[path.attr] = elements
    for element in hits:
        if path.sub:
            _set_sub(element, name, path, value)
        elif isinstance(value, Mapping):
            replacement = normalise_object(value, path.spec.sub)
            element.update(replacement) if name == "add" else _replace_all(element, replacement)
        else:
            raise ScimError(400, f"The value for '{path.text}' must be an object.", "invalidValue")
    _one_primary(elements)


def _replace_all(element: dict[str, Any], replacement: dict[str, Any]) -> None:
    kept = {k: v for k, v in element.items() if k == "type"}
    element.clear()
    element.update({**kept, **replacement})


def _set_sub(element: Any, name: str, path: Path, value: Any) -> None:
    if not isinstance(element, dict):
        return
    if name == "remove":
        element.pop(path.sub, None)
    elif not _blank(value):
        element[path.sub] = coerce(path.spec.child(path.sub) if path.spec else None, value)


def _one_primary(elements: list[Any]) -> None:
    """RFC 7643 §2.4: at most one value has primary true; the last one set wins."""
    primaries = [e for e in elements if isinstance(e, dict) and to_bool(e.get("primary")) is True]
    for element in primaries[:-1]:
        element["primary"] = False


def _prune(holder: dict[str, Any], attr: str) -> None:
    """A value left with only its labels ('type', 'primary') after a remove is gone: it has no data."""
    labels = {"type", "primary", "display"}
    holder[attr] = [e for e in _elements(holder, attr)
                    if not isinstance(e, dict) or any(k not in labels and not _blank(v) for k, v in e.items())]
    if not holder[attr]:
        holder.pop(attr)
