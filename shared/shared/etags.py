"""Entity tags as every service reads them: a resource's integer version, sent as `W/"<version>"`."""

from __future__ import annotations


def entity_versions(header: str | None) -> frozenset[int] | None:
    """The versions an If-Match / If-None-Match header names: `5`, `"5"` or `W/"5"`, comma-separated;
    None for any (absent, blank or `*`). A tag that is not one of our versions matches nothing
    (RFC 9110 §13.1.1)."""
    if header is None or header.strip() in {"", "*"}:
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip()
        tag = tag[2:] if tag[:2].upper() == "W/" else tag
        tag = tag.strip('"')
        if tag.isdigit():
            versions.add(int(tag))
    return frozenset(versions)
