"""A group PATCH as a delta (shared.schemas.groups.GroupPatchSchema): one call, never a read-modify-write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .attributes import GROUP
from .entra import lower_keys
from .errors import ScimError
from .patch import operations
from .paths import Path, alternatives, invalid_path


def group_delta(body: Any) -> dict[str, Any]:
    """Membership changes per member, so concurrent PATCHes never undo each other (docs/entra-behaviour.md, Groups)."""
    delta = _Delta()
    for name, path, value in operations(body, GROUP):
        delta.apply(name, path, value)
    return delta.result()


class _Delta:
    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.add: list[str] = []
        self.remove: list[str] = []
        self.replace: list[str] | None = None
        self.dropped: list[dict[str, Any]] = []

    def apply(self, name: str, path: Path, value: Any) -> None:
        if path.spec is not None and path.spec.read_only:
            raise ScimError(400, f"'{path.attr}' is read-only and cannot be changed by PATCH.", "mutability")
        if path.spec is None:
            if name != "remove" and all(d["attribute"] != path.text for d in self.dropped):
                self.dropped.append({"attribute": path.text, "reason": "unknown_attribute",
                                     "detail": "Groups have no such attribute; remove its mapping in Entra ID."})
        elif path.attr == "members":
            self._members(name, path, value)
        elif path.sub or path.filter:
            raise invalid_path(path.text, f"'{path.attr}' has no sub-attributes")
        else:
            self._simple(name, path.attr, value)

    def _simple(self, name: str, attr: str, value: Any) -> None:
        if name == "remove":
            if attr == "displayName":
                raise ScimError(400, "A group must keep its displayName; it cannot be removed.", "invalidValue")
            self.fields.pop("externalId", None)
            self.fields["removeExternalId"] = True
        elif value is None or value == "":
            return  # R-DIR-7: a blank keeps the stored value
        elif not isinstance(value, str):
            raise ScimError(400, f"'{attr}' must be a string.", "invalidValue")
        else:
            self.fields[attr] = value
            if attr == "externalId":
                self.fields.pop("removeExternalId", None)

    def _members(self, name: str, path: Path, value: Any) -> None:
        if path.sub:
            raise invalid_path(path.text, "change members as a whole or by members[value eq \"<id>\"]")
        if path.filter is not None:
            ids = alternatives(path.filter, "value")
            if name != "remove" or ids is None:
                raise invalid_path(path.text, "only 'remove' with members[value eq \"<id>\"] is supported")
            return self._remove([str(i) for i in ids])
        if name == "remove" and value is None:
            return self._replace([])  # RFC 7644 §3.5.2.2: no filter, no value: all members go
        if name != "remove" and (value is None or value == ""):
            return
        ids = _member_ids(value, path.text)
        {"add": self._add, "remove": self._remove, "replace": self._replace}[name](ids)

    def _add(self, ids: list[str]) -> None:
        if self.replace is not None:
            self.replace += [i for i in ids if i not in self.replace]
            return
        self.remove = [i for i in self.remove if i not in ids]
        self.add += [i for i in ids if i not in self.add]

    def _remove(self, ids: list[str]) -> None:
        if self.replace is not None:
            self.replace = [i for i in self.replace if i not in ids]
            return
        self.add = [i for i in self.add if i not in ids]
        self.remove += [i for i in ids if i not in self.remove]

    def _replace(self, ids: list[str]) -> None:
        self.replace = list(dict.fromkeys(ids))
        self.add, self.remove = [], []

    def result(self) -> dict[str, Any]:
        out = dict(self.fields)
        if self.replace is not None:
            out["replaceMembers"] = self.replace
        out.update(addMembers=self.add, removeMembers=self.remove, dropped=self.dropped)
        return out


def _member_ids(value: Any, path: str) -> list[str]:
    """[{"value": id, "$ref": null}, …] (TUT), a single such object, or bare ids → ids in order."""
    items = value if isinstance(value, list) else [value]
    ids = []
    for item in items:
        member = lower_keys(item).get("value") if isinstance(item, Mapping) else item
        if not isinstance(member, str) or not member:
            raise ScimError(400, f"Each member in '{path}' needs a 'value' holding a user id.", "invalidValue")
        ids.append(member)
    return list(dict.fromkeys(ids))
