"""The SCIM attributes of User and Group as the mapping and PATCH read them, derived from shared.catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared import resource_types
from shared.catalogue import Attribute, Resource


@dataclass(frozen=True)
class Attr:
    """One attribute: canonical RFC spelling, kind, multi-valued or not, sub-attributes by lower name."""

    name: str
    kind: str = "string"  # "string", "boolean" or "complex"
    multi: bool = False
    sub: Mapping[str, Attr] = field(default_factory=dict)
    read_only: bool = False

    def child(self, name: str) -> Attr | None:
        return self.sub.get(name.lower())


def _catalogue(*attrs: Attr) -> dict[str, Attr]:
    return {a.name.lower(): a for a in attrs}


def _view(attribute: Attribute) -> Attr:
    kind = attribute.type if attribute.type in ("boolean", "complex") else "string"
    return Attr(attribute.name, kind, attribute.multi_valued, _catalogue(*map(_view, attribute.sub_attributes)),
                attribute.read_only)


# `schemas` is protocol, not an attribute (RFC 7643 §3): read-only like id and meta, and never stored.
_SCHEMAS = Attr("schemas", multi=True, read_only=True)


@dataclass(frozen=True)
class ResourceSpec:
    """A resource type: its core URN, core attributes and extensions (None = any sub-attribute name)."""

    name: str
    endpoint: str
    core_urn: str
    attrs: Mapping[str, Attr]
    extensions: Mapping[str, tuple[str, Mapping[str, Attr] | None]]

    def attr(self, name: str) -> Attr | None:
        return self.attrs.get(name.lower())

    def extension(self, urn: str) -> tuple[str, Mapping[str, Attr] | None] | None:
        return self.extensions.get(urn.lower())

    def split_urn(self, text: str) -> tuple[str | None, str] | None:
        """('urn', rest) for an extension prefix, (None, rest) for the core prefix, None without a known one.

        RFC 7644 §3.10: an attribute may be written with its schema URN; URNs are case-insensitive.
        """
        lowered = text.lower()
        for key, (urn, _attrs) in self.extensions.items():
            if lowered == key or lowered.startswith(key + ":"):
                return urn, text[len(key) + 1:]
        core = self.core_urn.lower()
        if lowered.startswith(core + ":"):
            return None, text[len(core) + 1:]
        return None


def _spec(resource: Resource) -> ResourceSpec:
    # An open extension (the tenant's custom attributes) takes any sub-attribute name: None.
    return ResourceSpec(
        name=resource.name,
        endpoint=resource.endpoint,
        core_urn=resource.core.urn,
        attrs=_catalogue(*map(_view, resource.top_level()), _SCHEMAS),
        extensions={s.urn.lower(): (s.urn, None if s.open else _catalogue(*map(_view, s.attributes)))
                    for s in resource.extensions},
    )


USER = _spec(resource_types.USER)
# Entra adds Microsoft's group schema URN to `schemas` on create; it carries no attribute, and `schemas` is
# read as information only, so it needs no entry here.
GROUP = _spec(resource_types.GROUP)
