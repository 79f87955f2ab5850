"""Request paths under the Target SCIM URL put in the spelling the routes use, before routing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.scim import SCIM_BASE_PATH

# The first path segment of every SCIM route (RFC 7644 §3.2); tests check that the routes agree.
ENDPOINTS = ("Users", "Groups", "Schemas", "ResourceTypes", "ServiceProviderConfig", ".search")
SEARCH = ".search"  # RFC 7644 §3.4.3, also under /Users and /Groups
_CANONICAL = {name.lower(): name for name in ENDPOINTS}
_PREFIX = SCIM_BASE_PATH + "/"


def canonical_path(path: str) -> str:
    """'/scim/v2/acme/users/' → '/scim/v2/acme/Users'; '/scim/v2/acme/GROUPS/4f0c/' → '/scim/v2/acme/Groups/4f0c'.

    Microsoft's SCIMReferenceCode Postman collection sends both forms. Only endpoint names are folded: ids
    are caseExact (RFC 7643 §3.1), so '/Users/ABC' keeps its id as sent. One trailing slash is dropped; the
    base URL itself and paths outside it are left alone.
    """
    if not path.startswith(_PREFIX):
        return path
    tenant, slash, rest = path[len(_PREFIX):].partition("/")
    if not slash or not rest.strip("/"):
        return path
    segments = rest.removesuffix("/").split("/")
    segments[0] = _CANONICAL.get(segments[0].lower(), segments[0])
    if len(segments) == 2 and segments[0] in ("Users", "Groups") and segments[1].lower() == SEARCH:
        segments[1] = SEARCH
    return f"{_PREFIX}{tenant}/{'/'.join(segments)}"


class CanonicalPaths:
    """WSGI: route '/users/' as '/Users' directly. A redirect would not do: Entra and Postman do not
    reliably follow a 308 on POST, and a 301/302 turns it into a GET."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["PATH_INFO"] = canonical_path(environ.get("PATH_INFO", ""))
        return self.app(environ, start_response)
