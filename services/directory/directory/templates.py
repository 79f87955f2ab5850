"""R-DIR-11 configuration templates: `${attributeName}` in a configuration field, resolved for one user.

An admin writes e.g. `"${userName} in ${department} (${custAttr1})"` in a configuration field; the
directory resolves it for a user in the shared user shape (`shared.schemas.users`). Pure functions:
the caller passes the user dict and the tenant's custom attribute names, nothing here reads the
database.

Syntax (the `string.Template` rules, with dotted and URN names inside braces):
- `${name}` is replaced by the user's value of attribute `name` (spaces inside the braces ignored);
- `$$` is a literal `$`, so `$${userName}` gives the text `${userName}`;
- any other `$` is literal text (`US$ 5` stays as written);
- a `${` with no `}`, or braces holding something that is not a name, is refused (400).
Names are case-insensitive, as SCIM attribute names are (RFC 7643 §2.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from shared.catalogue import NotStored
from shared.errors import Problem
from shared.resource_types import USER
from shared.scim import CUSTOM_USER_SCHEMA

# Long enough for any configuration field; short enough that a stored template cannot grow without bound.
MAX_TEMPLATE_LENGTH = 2000
_TOKEN = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<name>[^{}$]*)\}|(?P<bad>\{))")
# A catalogued name, dotted or URN-qualified, or a custom one (shared.catalogue.CUSTOM_NAME).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")

Getter = Callable[[Mapping[str, Any]], Any]


def preferred_email(user: Mapping[str, Any]) -> str | None:
    """The user's address for mail and for a Managed Apple ID: the primary one, else the work one, else
    the first; blank values never count (Entra sends `emails[type eq "work"]` and marks it primary)."""
    emails = [e for e in user.get("emails") or () if isinstance(e, Mapping) and _text(e.get("value"))]
    for chosen in (
        next((e for e in emails if e.get("primary") is True), None),
        next((e for e in emails if str(e.get("type") or "").lower() == "work"), None),
        emails[0] if emails else None,
    ):
        if chosen is not None:
            return str(chosen["value"]).strip()
    return None


def _text(value: Any) -> str:
    """A value as template text: absent and null become "", strings lose surrounding blanks (a blank one
    is no value, as in R-DIR-7), anything else its string form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip() if isinstance(value, str) else str(value)


def _top(key: str) -> Getter:
    return lambda user: user.get(key)


def _sub(parent: str, key: str) -> Getter:
    return lambda user: (user.get(parent) or {}).get(key)


def _core_names() -> dict[str, tuple[str, Getter]]:
    """Folded name → (canonical spelling, getter), for every text attribute of the catalogue
    (shared.resource_types) plus three conveniences (givenName, familyName, email). Core and enterprise
    names win over a custom attribute of the same bare name, so that defining a custom attribute never
    changes what a saved template means; `custom.<name>` (or the custom URN) reaches the custom one."""
    table: dict[str, tuple[str, Getter]] = {}

    def add(spelling: str, getter: Getter) -> None:
        table[spelling.lower()] = (spelling, getter)

    for attr in USER.top_level():
        if attr.text:
            add(attr.name, _top(attr.name))
        elif attr.complex and not attr.multi_valued and not isinstance(attr.stored, NotStored):
            for sub in attr.sub_attributes:
                if sub.text:
                    add(f"{attr.name}.{sub.name}", _sub(attr.name, sub.name))
    add("givenName", _sub("name", "givenName"))
    add("familyName", _sub("name", "familyName"))
    add("email", preferred_email)
    for schema in (s for s in USER.extensions if not s.open):
        for attr in (a for a in schema.attributes if a.text):
            getter = _sub(schema.key, attr.name)
            suffixes = (attr.name, f"{attr.name}.value") if attr.as_value else (attr.name,)  # SCIM: manager.value
            for suffix in suffixes:
                add(suffix, getter)
                add(f"{schema.key}.{suffix}", getter)
                add(f"{schema.urn}:{suffix}", getter)
    return table


CORE_NAMES = _core_names()
_CUSTOM_PREFIXES = ("custom.", f"{CUSTOM_USER_SCHEMA}:".lower())


def known_names(custom_names: Mapping[str, str]) -> list[str]:
    """Every name a template may use for this tenant, in canonical spelling (for error messages and UIs).
    URN-qualified aliases are accepted but not listed, to keep the list readable."""
    core = sorted({spelling for spelling, _ in CORE_NAMES.values() if not spelling.startswith("urn:")},
                  key=str.lower)
    return core + sorted(custom_names.values(), key=str.lower)


def resolve_template(template: str, user: Mapping[str, Any], custom_names: Mapping[str, str]) -> str:
    """R-DIR-11: the template with every `${name}` replaced by this user's value.

    A known attribute that this user has no value for (absent, null or blank; a custom attribute the
    tenant defined but the user was never given) resolves to "": a configuration field must still get
    a value for every user, and R-DIR-7 already keeps old values rather than storing blanks.
    An unknown name is refused (Problem 400 `unknown_attribute`, listing the unknown and the known
    names) rather than left in place: a typo should fail when the admin saves the field, not reach a device.
    Values are inserted as they are; escaping for the target format (HTML, XML…) is the caller's job.
    """
    tokens = _scan(template)
    folded = _fold_keys(custom_names)
    getters = _lookup([value for kind, value, _ in tokens if kind == "name"], folded)
    out: list[str] = []
    for kind, value, literal in tokens:
        out.append(_text(getters[value](user)) if kind == "name" else literal)
    return "".join(out)


def _fold_keys(custom_names: Mapping[str, str]) -> dict[str, str]:
    # Callers pass lowered name → spelling; folding again costs nothing and forgives a spelling → spelling map.
    return {key.lower(): spelling for key, spelling in custom_names.items()}


def _lookup(names: list[str], custom: Mapping[str, str]) -> dict[str, Getter]:
    getters: dict[str, Getter] = {}
    unknown: list[str] = []
    for name in names:
        getter = _getter(name, custom)
        if getter is None:
            if name not in unknown:
                unknown.append(name)
        else:
            getters[name] = getter
    if unknown:
        known = known_names(custom)
        raise Problem(
            400,
            f"Unknown attribute name(s) in the template: {', '.join(unknown)}. Known names: {', '.join(known)}; "
            "a custom attribute must be defined for the tenant first.",
            code="unknown_attribute", unknown=unknown, known=known,
        )
    return getters


def _getter(name: str, custom: Mapping[str, str]) -> Getter | None:
    key = name.lower()
    if key in CORE_NAMES:
        return CORE_NAMES[key][1]
    for prefix in _CUSTOM_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    spelling = custom.get(key)
    return None if spelling is None else _custom(spelling)


def _custom(spelling: str) -> Getter:
    def get(user: Mapping[str, Any]) -> Any:
        values = user.get("custom") or {}
        if spelling in values:
            return values[spelling]
        # Stored under the defined spelling (rules.split_custom); a differently cased key still counts.
        folded = spelling.lower()
        return next((v for k, v in values.items() if k.lower() == folded), None)

    return get


def _scan(template: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, name, literal text) tokens: kind "text" or "name"."""
    if not isinstance(template, str):
        raise Problem(400, "A template must be text.", code="invalid_template")
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise Problem(400, f"The template is {len(template)} characters long; the limit is {MAX_TEMPLATE_LENGTH}.",
                      code="invalid_template")
    return _tokens(template)


@lru_cache(maxsize=512)  # a few templates are resolved for many users: parse each once
def _tokens(template: str) -> tuple[tuple[str, str, str], ...]:
    tokens: list[tuple[str, str, str]] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            tokens.append(("text", "", template[position:match.start()]))
        position = match.end()
        if match.group("dollar"):
            tokens.append(("text", "", "$"))
            continue
        name = (match.group("name") or "").strip()
        if match.group("bad") is not None or not _NAME.fullmatch(name):
            shown = template[match.start():match.start() + 40]
            raise Problem(
                400,
                f"Malformed placeholder at position {match.start()} ({shown!r}): write ${{attributeName}}, "
                "a name of letters, digits, '_', '-', '.' or ':'; write $$ for a literal $.",
                code="invalid_template", position=match.start(),
            )
        tokens.append(("name", name, match.group(0)))
    if position < len(template):
        tokens.append(("text", "", template[position:]))
    return tuple(tokens)
