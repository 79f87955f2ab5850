"""A change of a user (the contract's UserChange), applied to the stored user: the directory's PATCH.

scim-api turns every SCIM PATCH form Entra sends into these operations, in the contract's terms: an
attribute of the user, of the enterprise extension or a custom attribute, optionally a sub-attribute and
an element filter. Applying them here, under the user's lock, makes a PATCH one call and keeps R-DIR-7
("a blank keeps the old value") in the directory alone (rules.is_blank). Pure functions, no database.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from shared.catalogue import Attribute
from shared.errors import Problem
from shared.resource_types import USER

from .rules import QUALIFIERS, is_blank


def _invalid(detail: str, code: str = "invalid_value") -> Problem:
    return Problem(400, detail, code=code)


def _spec(container: str | None, name: str | None) -> Attribute | None:
    if name is None:
        return None
    if container is None:
        return next((a for a in USER.top_level() if a.name == name), None)
    schema = next((s for s in USER.extensions if s.key == container), None)
    return schema.attribute(name) if schema is not None and not schema.open else None


def apply(user: Mapping[str, Any], operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The user after every operation, in order (all or nothing: the caller stores the result or nothing)."""
    new = copy.deepcopy(dict(user))
    for op in operations:
        _apply(new, op["op"], op.get("container"), op.get("attribute"), op.get("sub"), op.get("filter"),
               op.get("value"))
    return new


def _apply(user: dict[str, Any], name: str, container: str | None, attr: str | None, sub: str | None,
           flt: Any, value: Any) -> None:
    if container is not None and attr is None:  # the whole extension object
        if name == "remove":
            user.pop(container, None)
        return
    holder = user if container is None else user.setdefault(container, {})
    if not isinstance(holder, dict):
        holder = user[container] = {}
    spec = _spec(container, attr)
    if flt is not None:
        return _apply_filtered(holder, name, attr, spec, sub, flt, value)
    if spec is not None and spec.multi_valued:
        return _apply_multi(holder, name, attr, sub, value)
    if spec is not None and spec.complex and not spec.as_value:
        return _apply_complex(holder, name, attr, sub, value)
    if name == "remove":
        holder.pop(attr, None)
    elif not is_blank(value):  # R-DIR-7; also how Entra "clears" a manager (replace with "")
        holder[attr] = value


def _apply_complex(holder: dict[str, Any], name: str, attr: str, sub: str | None, value: Any) -> None:
    if name != "remove" and is_blank(value):
        return
    current = holder.get(attr)
    current = dict(current) if isinstance(current, Mapping) else {}
    if sub:
        if name == "remove":
            current.pop(sub, None)
        elif not is_blank(value):
            current[sub] = value
    elif name == "remove":
        holder.pop(attr, None)
        return
    elif isinstance(value, Mapping):  # RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged
        current.update({k: v for k, v in value.items() if not is_blank(v)})
    else:
        raise _invalid(f"The value for '{attr}' must be an object of sub-attributes.")
    holder[attr] = current


def _elements(holder: dict[str, Any], attr: str) -> list[Any]:
    values = holder.get(attr)
    return values if isinstance(values, list) else []


def _apply_multi(holder: dict[str, Any], name: str, attr: str, sub: str | None, value: Any) -> None:
    if name == "remove" and not sub:
        holder.pop(attr, None)
        return
    if sub:  # 'emails.value' without a filter: every value (RFC 7644 §3.5.2)
        elements = _elements(holder, attr) or ([] if name == "remove" else [{}])
        holder[attr] = elements
        for element in elements:
            _set_sub(element, name, sub, value)
        _prune(holder, attr)
        return
    if is_blank(value):
        return
    new = value if isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in new):
        raise _invalid(f"The value for '{attr}' must be a list of objects.")
    if name == "replace":  # RFC 7644 §3.5.2.3: the whole list
        holder[attr] = [dict(v) for v in new]
    else:
        holder[attr] = _merge(_elements(holder, attr), new)
    _one_primary(holder[attr])


def _merge(current: list[Any], new: list[dict[str, Any]]) -> list[Any]:
    """RFC 7644 §3.5.2.1 add; a value whose 'type' exists updates it (Entra: 'type' values are unique)."""
    merged = [dict(e) if isinstance(e, dict) else e for e in current]
    for item in new:
        same = next((e for e in merged if isinstance(e, dict) and item.get("type") is not None
                     and str(e.get("type", "")).lower() == str(item["type"]).lower()), None)
        if same is not None:
            same.update({k: v for k, v in item.items() if not is_blank(v)})
        elif item not in merged:
            merged.append(dict(item))
    return merged


def _apply_filtered(holder: dict[str, Any], name: str, attr: str, spec: Attribute | None, sub: str | None,
                    flt: Any, value: Any) -> None:
    if spec is None or not spec.multi_valued:
        raise _invalid(f"A filter only applies to a multi-valued attribute, not '{attr}'.")
    elements = _elements(holder, attr)
    hits = [e for e in elements if matches(flt, e)]
    if name == "remove":
        if sub:
            for element in hits:
                element.pop(sub, None)
        else:
            elements = [e for e in elements if not any(e is h for h in hits)]
        holder[attr] = elements
        _prune(holder, attr)
        return
    if is_blank(value):
        return
    if not hits:  # Entra: create the value the filter describes (emails[type eq "work"].value on a new user)
        seed = equalities(flt)
        if seed is None:
            raise _invalid(f"No value of '{attr}' matches the filter of the change.", "no_target")
        hits = [dict(seed)]
        elements = [*elements, hits[0]]
    holder[attr] = elements
    for element in hits:
        if sub:
            _set_sub(element, name, sub, value)
        elif isinstance(value, Mapping):
            element.update(value) if name == "add" else _replace_all(element, value)
        else:
            raise _invalid(f"The value for '{attr}' must be an object.")
    _one_primary(elements)


def _replace_all(element: dict[str, Any], replacement: Mapping[str, Any]) -> None:
    kept = {k: v for k, v in element.items() if k == "type"}
    element.clear()
    element.update({**kept, **replacement})


def _set_sub(element: Any, name: str, sub: str, value: Any) -> None:
    if not isinstance(element, dict):
        return
    if name == "remove":
        element.pop(sub, None)
    elif not is_blank(value):
        element[sub] = value


def _one_primary(elements: list[Any]) -> None:
    """RFC 7643 §2.4: at most one value has primary true; the last one set wins."""
    primaries = [e for e in elements if isinstance(e, dict) and e.get("primary") is True]
    for element in primaries[:-1]:
        element["primary"] = False


def _prune(holder: dict[str, Any], attr: str) -> None:
    """A value left with only its labels ('type', 'primary') after a remove is gone: it has no data."""
    holder[attr] = [e for e in _elements(holder, attr)
                    if not isinstance(e, dict) or any(k not in QUALIFIERS and not is_blank(v) for k, v in e.items())]
    if not holder[attr]:
        holder.pop(attr)


# --- element filters: ["cmp", sub, op, value] | ["pr", sub] | ["and"|"or", a, b] | ["not", a] ----------


def matches(flt: Sequence[Any], element: Any) -> bool:
    """Whether one value of a multi-valued attribute matches; text compares ignore case (caseExact false)."""
    if not isinstance(element, dict) or not isinstance(flt, Sequence) or not flt:
        return False
    kind = flt[0]
    if kind == "and":
        return matches(flt[1], element) and matches(flt[2], element)
    if kind == "or":
        return matches(flt[1], element) or matches(flt[2], element)
    if kind == "not":
        return not matches(flt[1], element)
    value = element.get(flt[1])
    if kind == "pr":
        return value not in (None, "", [])
    return _compare(value, flt[2], flt[3])


def _compare(have: Any, op: str, want: Any) -> bool:
    if isinstance(have, str) and isinstance(want, str):
        have, want = have.lower(), want.lower()
    if op in ("eq", "ne"):
        return (have == want) == (op == "eq")
    if have is None or want is None or type(have) is not type(want):
        return False
    if op in ("co", "sw", "ew"):
        return isinstance(have, str) and {"co": want in have, "sw": have.startswith(want),
                                          "ew": have.endswith(want)}[op]
    return {"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[op]


def equalities(flt: Sequence[Any] | None) -> dict[str, Any] | None:
    """{'type': 'work'} for 'type eq "work"' (and-joined eq only); None when the filter is anything else."""
    if not flt:
        return None
    if flt[0] == "cmp" and flt[2] == "eq":
        return {flt[1]: flt[3]}
    if flt[0] == "and":
        left, right = equalities(flt[1]), equalities(flt[2])
        return {**left, **right} if left is not None and right is not None else None
    return None
