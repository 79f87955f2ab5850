"""Request and response plumbing every SCIM view shares: JSON bodies, ETags, list queries, answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, g, request

from shared import jsonio
from shared.etags import entity_versions
from shared.schemas.queries import MAX_PAGE
from shared.scim import SCIM_MEDIA_TYPE, target_scim_url
from shared.storable import unstorable

from ..attributes import ResourceSpec
from ..directory_client import DirectoryClient
from ..entra import lower_keys, query_args
from ..errors import ScimError, unsupported_media_type
from ..filters import FilterError, parse_filter
from ..paths import parse_path
from ..projection import split_names
from ..resources import etag

# RFC 7644 §3.8 and §8.1: SCIM bodies are application/scim+json, and older clients send application/json; Entra
# sends either, sometimes with '; charset=utf-8' (a parameter JSON does not define: RFC 8259 §11, so ignored).
BODY_MEDIA_TYPES = (SCIM_MEDIA_TYPE, "application/json")


def directory() -> DirectoryClient:
    return current_app.extensions["directory"]


def base_url() -> str:
    """The tenant's Target SCIM URL, for meta.location and $ref (R-TOK-4: fixed for the tenant's life)."""
    return target_scim_url(current_app.extensions["settings"].public_base_url, g.tenant)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object. Every view reads its body here, so the media type rule is here too:
    a body labelled anything but JSON is 415, in any case and with any parameters. A body without a Content-Type
    is read as JSON: RFC 9110 §8.3 lets the recipient examine it, and junk is then a 400 anyway."""
    raw = request.get_data(cache=True)
    if raw and request.mimetype and request.mimetype not in BODY_MEDIA_TYPES:
        raise unsupported_media_type(request.mimetype, BODY_MEDIA_TYPES)
    try:
        text = raw.decode("utf-8")  # strict: invalid bytes and encoded lone surrogates are refused
        body = json.loads(text) if text else None
        if body is not None:  # lone surrogates written as \ud800 escapes: no database stores them
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ScimError(400, "The request body nests JSON arrays or objects too deeply.", "invalidSyntax") from None
    except UnicodeError:
        raise ScimError(400, "The request body is not valid UTF-8 text.", "invalidSyntax") from None
    except ValueError as exc:
        raise ScimError(400, f"The request body is not valid JSON ({exc}).", "invalidSyntax") from None
    found = unstorable(body)  # a NUL here: encoded surrogates were refused above
    if found:
        raise ScimError(400, f"The request body contains {found}, which no attribute may hold.", "invalidValue")
    if not isinstance(body, dict):
        raise ScimError(400, "The request body must be a JSON object.", "invalidSyntax")
    return body


def scim_response(doc: Any, status: int = 200, *, version: int | None = None,
                  location: str | None = None) -> Response:
    response = Response(jsonio.dumps(doc), status=status, mimetype=SCIM_MEDIA_TYPE)
    if version is not None:
        response.headers["ETag"] = etag(version)  # RFC 7644 §3.14
    if location:
        response.headers["Location"] = location  # RFC 7644 §3.3: the created resource
    return response


def no_content(version: int | None = None) -> Response:
    response = Response(status=204, mimetype=SCIM_MEDIA_TYPE)
    if version is not None:
        response.headers["ETag"] = etag(version)
    return response


# --- RFC 7644 §3.14 versions ------------------------------------------------------------------


def not_modified(version: int) -> Response | None:
    """304 when If-None-Match names the current version (or is '*')."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return None
    versions = entity_versions(header)
    if versions is None or version in versions:
        response = Response(status=304, mimetype=SCIM_MEDIA_TYPE)
        response.headers["ETag"] = etag(version)
        return response
    return None


def expected_version(current: Callable[[], int]) -> int | None:
    """The version to send the directory as If-Match, or None without a precondition.

    One tag goes through as is; several (or '*' with a resource that must exist) need the current one.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    versions = entity_versions(header)
    if versions is not None and len(versions) == 1:
        return next(iter(versions))
    version = current()  # raises 404 when the resource is gone
    if versions is not None and version not in versions:
        raise precondition_failed()
    return version


def precondition_failed() -> ScimError:
    return ScimError(412, "The resource changed since you read it (If-Match does not match its current "
                          "version); read it again and retry.")


# --- RFC 7644 §3.4.2 list parameters ----------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    filter: str | None = None
    start_index: int = 1
    count: int = MAX_PAGE
    sort_by: str | None = None
    descending: bool = False
    attributes: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls) -> ListQuery:
        return cls.parse(query_args(request.args.items(multi=True)))

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ListQuery:
        """A SearchRequest body (RFC 7644 §3.4.3): the same parameters, in JSON."""
        names = {k.lower(): k for k in ("filter", "startIndex", "count", "sortBy", "sortOrder", "attributes",
                                        "excludedAttributes")}
        return cls.parse({names[k]: v for k, v in lower_keys(body).items() if k in names})

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> ListQuery:
        text = params.get("filter")
        return cls(
            filter=text.strip() if isinstance(text, str) and text.strip() else None,
            # RFC 7644 §3.4.2.4: below 1 means 1, negative count means 0; we cap the page at MAX_PAGE.
            start_index=max(1, _integer(params.get("startIndex"), "startIndex", 1)),
            count=min(MAX_PAGE, max(0, _integer(params.get("count"), "count", MAX_PAGE))),
            sort_by=params.get("sortBy") or None,
            descending=str(params.get("sortOrder") or "").lower().startswith("desc"),
            attributes=split_names(params.get("attributes")),
            excluded=split_names(params.get("excludedAttributes")),
        )

    def search(self, spec: ResourceSpec, **extra: Any) -> dict[str, Any]:
        """The directory's Search body (shared.schemas.queries.SearchSchema)."""
        body = {"filter": self.filter_ast(spec), "startIndex": self.start_index, "count": self.count,
                "sortOrder": "descending" if self.descending else "ascending", **extra}
        if self.sort_by:
            try:
                body["sortBy"] = canonical_path(self.sort_by, spec)
            except ScimError:
                raise ScimError(400, f"sortBy '{_excerpt(str(self.sort_by))}' is not an attribute path.",
                                "invalidValue") from None
        return body

    def filter_ast(self, spec: ResourceSpec) -> Any:
        if self.filter is None:
            return None
        if "\x00" in self.filter or "\\u0000" in self.filter.lower():
            raise ScimError(400, "The filter contains a NUL character (U+0000), which no attribute holds.",
                            "invalidFilter")
        try:
            return parse_filter(self.filter, spec.name)
        except FilterError as exc:
            raise ScimError(400, f"The filter '{_excerpt(self.filter)}' is not valid: {exc}", "invalidFilter") from None


def projection_args() -> tuple[list[str], list[str]]:
    """`attributes` and `excludedAttributes` of a single-resource request (RFC 7644 §3.9)."""
    params = query_args(request.args.items(multi=True))
    return split_names(params.get("attributes")), split_names(params.get("excludedAttributes"))


def canonical_path(text: str, spec: ResourceSpec) -> str:
    """'NAME.familyname' → 'name.familyName' (sortBy): names in RFC spelling, URN prefix kept."""
    path = parse_path(text, spec)
    name = path.attr or ""
    if path.sub:
        name += "." + path.sub
    return f"{path.urn}:{name}" if path.urn else name


def _excerpt(text: str, limit: int = 200) -> str:
    """At most `limit` characters of a client's text in an error detail (a filter may be 4 KiB or more)."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _integer(raw: Any, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ScimError(400, f"'{name}' must be an integer, not '{_excerpt(str(raw))}'.", "invalidValue") from None
