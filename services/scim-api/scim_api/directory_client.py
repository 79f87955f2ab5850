"""The directory's internal API (docs/internal-api.md) as typed calls; its problems become SCIM errors."""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import quote

from flask import g

from shared.errors import ServiceUnavailable
from shared.http import ACTOR_HEADER

from .errors import ScimError

log = logging.getLogger(__name__)

# Problem `code` → (HTTP status, RFC 7644 §3.12 scimType). 412 has no scimType of its own (§3.14).
_CODES: dict[str, tuple[int, str | None]] = {
    "invalid_value": (400, "invalidValue"),
    "invalid_filter": (400, "invalidFilter"),
    "uniqueness": (409, "uniqueness"),
    "not_found": (404, None),
    "version_mismatch": (412, None),
    "no_target": (400, "noTarget"),
}
# An answer without a known code (a contract drift) is still told by its status, never as a 500.
_BY_STATUS = {400: (400, "invalidValue"), 404: (404, None), 409: (409, "uniqueness"), 412: (412, None),
              422: (400, "invalidValue")}


class Transport(Protocol):
    """shared.http.ServiceClient, or shared.testing.InProcessClient in tests."""

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Any: ...


class DirectoryClient:
    """One method per internal call; every non-2xx answer raises a ScimError an admin can act on."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    # users
    def create_user(self, tenant: str, user: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", tenant, "/users", body=user)

    def get_user(self, tenant: str, user_id: str) -> dict[str, Any]:
        return self._call("GET", tenant, f"/users/{_id(user_id)}")

    def replace_user(self, tenant: str, user_id: str, user: dict[str, Any], if_match: int | None = None
                     ) -> dict[str, Any]:
        return self._call("PUT", tenant, f"/users/{_id(user_id)}", body=user, if_match=if_match)

    def change_user(self, tenant: str, user_id: str, change: dict[str, Any], if_match: int | None = None
                    ) -> dict[str, Any]:
        """A PATCH as one call: the directory applies the change under the user's lock and answers the user."""
        return self._call("PATCH", tenant, f"/users/{_id(user_id)}", body=change, if_match=if_match)

    def delete_user(self, tenant: str, user_id: str, if_match: int | None = None) -> None:
        self._call("DELETE", tenant, f"/users/{_id(user_id)}", if_match=if_match)

    def search_users(self, tenant: str, search: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", tenant, "/users/search", body=search)

    # groups
    def create_group(self, tenant: str, group: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", tenant, "/groups", body=group)

    def get_group(self, tenant: str, group_id: str, *, members: bool = True, members_limit: int | None = None
                  ) -> dict[str, Any]:
        params = {"members": "true" if members else "false"}
        if members_limit is not None:
            params["members_limit"] = str(members_limit)
        return self._call("GET", tenant, f"/groups/{_id(group_id)}", params=params)

    def replace_group(self, tenant: str, group_id: str, group: dict[str, Any], if_match: int | None = None
                      ) -> dict[str, Any]:
        return self._call("PUT", tenant, f"/groups/{_id(group_id)}", body=group, if_match=if_match)

    def patch_group(self, tenant: str, group_id: str, delta: dict[str, Any], if_match: int | None = None, *,
                    members_limit: int | None = None) -> dict[str, Any]:
        """The delta applied; with `members_limit`, the answer holds the members too when there are at most
        that many (one call instead of a PATCH and a GET)."""
        params = None if members_limit is None else {"members": "true", "members_limit": str(members_limit)}
        return self._call("PATCH", tenant, f"/groups/{_id(group_id)}", body=delta, params=params, if_match=if_match)

    def delete_group(self, tenant: str, group_id: str, if_match: int | None = None) -> None:
        self._call("DELETE", tenant, f"/groups/{_id(group_id)}", if_match=if_match)

    def search_groups(self, tenant: str, search: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", tenant, "/groups/search", body=search)

    def custom_attributes(self, tenant: str) -> list[str]:
        return list(self._call("GET", tenant, "/custom-attributes").get("items", []))

    def _call(self, method: str, tenant: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
              if_match: int | None = None) -> Any:
        headers = {"If-Match": str(if_match)} if if_match is not None else {}
        principal = g.get("principal")
        if principal is not None:  # the audit log names the token Entra used (R-DIR-13)
            headers[ACTOR_HEADER] = f"scim:{principal.token_id}"
        try:
            resp = self.transport.request(method, f"/internal/v1/tenants/{_seg(tenant)}{path}", json_body=body,
                                          params=params, headers=headers)
        except ServiceUnavailable as exc:
            # The internal address and the socket error are for our logs, not for Entra's provisioning log.
            log.warning("directory %s %s: %s", method, path, exc.detail)
            raise ServiceUnavailable("Users and groups cannot be read or written right now; the request will be "
                                     "retried.") from exc
        if 200 <= resp.status < 300:
            return resp.data
        if resp.status == 503:
            raise _unavailable(resp.data, resp.headers)
        raise _error(resp.status, resp.data, method, path)


def _seg(value: str) -> str:
    return quote(value, safe="")


def _id(value: str) -> str:
    """A resource id from the URL as a path segment; one with a NUL or control character names nothing."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise ScimError(404, _DEFAULT_DETAIL[404])
    return _seg(value)


def _error(status: int, data: Any, method: str, path: str) -> Exception:
    problem = data if isinstance(data, dict) else {}
    code, detail = problem.get("code"), problem.get("detail")
    if code in _CODES or status in _BY_STATUS:
        http, scim_type = _CODES.get(code) or _BY_STATUS[status]
        return ScimError(http, detail or _DEFAULT_DETAIL[http], scim_type)
    # Our own misconfiguration or a directory failure: the client can only retry later (never a 4xx).
    log.error("directory %s %s answered %s: %s", method, path, status, problem or data)
    return ServiceUnavailable("The directory could not complete the request; it will be retried.")


def _unavailable(data: Any, headers: dict[str, str]) -> ServiceUnavailable:
    """The directory is up but cannot serve now (its database read-only, full or unreachable): the admin who
    reads Entra's provisioning log learns which, and Entra retries later."""
    problem = data if isinstance(data, dict) else {}
    log.warning("the directory is unavailable: %s", problem.get("reason") or problem.get("detail") or data)
    detail = problem.get("detail") if isinstance(problem.get("detail"), str) else ""
    retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), "")
    seconds = int(retry_after) if retry_after.isdigit() and int(retry_after) > 0 else 5
    return ServiceUnavailable(f"The directory could not complete the request. {detail}".strip(), retry_after=seconds)


_DEFAULT_DETAIL = {
    400: "The directory refused a value; check the attribute mapping in Entra ID.",
    404: "No such resource in this tenant; it may have been deleted.",
    409: "Another resource already has this unique value (userName or group displayName).",
    412: "The resource changed since it was read (If-Match does not match its current version).",
}
