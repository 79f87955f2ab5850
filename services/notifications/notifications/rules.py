"""What a sync outcome means for admins (R-NOT-2/3): its causes, their messages and fixes, and which
earlier causes a later write clears. Pure functions: no Flask, no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UNREACHABLE = "entra_unreachable"  # R-NOT-1
ALL_NOT_SYNCHRONIZED = "all_not_synchronized"  # R-NOT-2
SOME_NOT_SYNCHRONIZED = "some_not_synchronized"  # R-NOT-3
KINDS = (UNREACHABLE, ALL_NOT_SYNCHRONIZED, SOME_NOT_SYNCHRONIZED)
KIND_TITLES = {
    UNREACHABLE: "Entra ID service is unreachable",
    ALL_NOT_SYNCHRONIZED: "All user attributes are not synchronized",
    SOME_NOT_SYNCHRONIZED: "Some user attributes are not synchronized",
}
SEVERITY = {UNREACHABLE: "error", ALL_NOT_SYNCHRONIZED: "error", SOME_NOT_SYNCHRONIZED: "warning"}
RECENT_SUBJECTS = 20  # the most recent affected users and groups a notification lists

CUSTOM_URN = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:user:"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"
# Group membership is sent as deltas: a PATCH that does not repeat a dropped member says nothing about it.
MEMBERSHIP_REASONS = frozenset({"nested_group", "unknown_member"})
MAPPINGS = "Entra ID → Enterprise application → Provisioning → Mappings"


@dataclass(frozen=True)
class Cause:
    """One reason for a notification: grouped by (kind, key) per tenant."""

    kind: str
    key: str
    attribute: str | None
    reason: str | None
    message: str
    fix: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


@dataclass(frozen=True)
class Subject:
    """The user or group an outcome is about. `key` is recorded; a later write clears any of `keys`
    (a refused create has no id yet, so it is known by name until a create succeeds)."""

    key: str
    keys: tuple[str, ...]
    label: str
    type: str


def attribute_key(name: str) -> str:
    """One spelling for an attribute in `dropped` (SCIM paths, URNs) and `stored` (`custom.<name>`)."""
    lowered = name.strip().lower()
    for urn, prefix in ((CUSTOM_URN, "custom."), (ENTERPRISE_URN, "enterprise.")):
        if lowered.startswith(urn):
            return prefix + lowered[len(urn):]
    return lowered


def display_attribute(name: str) -> str:
    """The short name an admin recognises: custAttr1 rather than its URN."""
    for urn in (CUSTOM_URN, ENTERPRISE_URN):
        if name.lower().startswith(urn):
            return name[len(urn):]
    return name


def method_of(outcome: Mapping[str, Any]) -> str:
    """POST, PUT, PATCH or DELETE: what the write was, read from the outcome's operation in one place."""
    return outcome["operation"].split(" ")[0].upper()


def subject_of(outcome: Mapping[str, Any]) -> Subject:
    """A refused create is known as "the new user (or group) named N": only a later create of that name is the
    same object. Keyed by the bare name, a uniqueness refusal would be cleared by any write of the existing
    user or group that holds the name, while the refused one was never created (R-NOT-4). A create also
    answers to the bare name, which is how refused creates were keyed before, so that those still resolve."""
    kind = "group" if "group" in outcome["operation"].lower() else "user"
    name = outcome.get("subjectName")
    folded = name.strip().lower() if name else None
    by_id = f"{kind}:id:{outcome['subjectId']}" if outcome.get("subjectId") else None
    by_name = (f"{kind}:new:{folded}", f"{kind}:name:{folded}") if folded and method_of(outcome) == "POST" else ()
    keys = tuple(k for k in (by_id, *by_name) if k)
    key = keys[0] if keys else f"{kind}:unknown"
    return Subject(key, keys or (key,), name or outcome.get("subjectId") or "(unnamed)", kind)


def causes_of(outcome: Mapping[str, Any]) -> list[Cause]:
    """R-NOT-2 for a write refused whole, R-NOT-3 once per dropped (attribute, reason)."""
    if outcome["status"] == "refused":
        refusal = outcome.get("refusal") or {"attribute": "unknown"}
        return [refused_cause(refusal["attribute"], refusal.get("reason"))]
    causes: dict[str, Cause] = {}
    for drop in outcome.get("dropped") or ():
        cause = dropped_cause(drop["attribute"], drop["reason"])
        causes.setdefault(cause.key, cause)
    return list(causes.values())


def refused_cause(attribute: str, reason: str | None) -> Cause:
    attr = attribute_key(attribute)
    top = attr.split(".")[0].split("[")[0]
    shown = display_attribute(attribute)
    if top == "emails":
        message = "Users without an email address were refused: email is mandatory."
        fix = (f"In {MAPPINGS}, keep the mapping of emails[type eq \"work\"].value (usually from mail or "
               "userPrincipalName), and give these users an email address in Entra ID.")
    elif top == "name":
        message = "Users with blank names were refused: a name, or a given and family name, is required."
        fix = (f"In {MAPPINGS}, keep name.givenName, name.familyName and name.formatted mapped, and fill in "
               "the first and last name (or display name) of these users in Entra ID.")
    elif top == "active":
        message = "Users sent as inactive were refused: an inactive user cannot be provisioned."
        fix = "Enable these users in Entra ID, or leave disabled users out of the provisioning scope."
    elif top in ("username", "displayname") and reason == "uniqueness":
        message = f"Writes were refused because another user or group already has this {shown}."
        fix = (f"Make {shown} unique in Entra ID, or remove the duplicate from the directory "
               "(for example a local user that Entra should take over must have the same user id).")
    else:
        message = f"Writes were refused because of attribute {shown}."  # the reason code stays in the key
        fix = f"Correct {shown} in Entra ID, or fix or delete its mapping in {MAPPINGS}; the next cycle retries."
    key = f"{attr}:{reason or 'refused'}"
    return Cause(ALL_NOT_SYNCHRONIZED, key, attribute, reason, message, fix)


def dropped_cause(attribute: str, reason: str) -> Cause:
    shown = display_attribute(attribute)
    if reason == "undefined_custom_attribute":
        message = f"Custom attribute {shown} is not defined in the directory: its values are not stored."
        fix = (f"Define custom attribute {shown} in the directory, or delete its mapping in Entra ID "
               f"({MAPPINGS}).")
    elif reason == "unknown_attribute":
        message = f"Entra ID sends attribute {shown}, which the directory does not support: it is not stored."
        fix = f"Delete the mapping for {shown} in {MAPPINGS}."
    elif reason == "nested_group":
        message = "Group members that are themselves groups were not added."
        fix = ("Nested groups are not supported: only immediate members count. Assign the nested group's "
               "users to the group directly in Entra ID, or remove the nested group from it.")
    elif reason == "unknown_member":
        message = "Group members that are not provisioned users were not added."
        fix = "Add those members to the provisioning scope in Entra ID so that they are provisioned as users first."
    elif reason == "apple_id_conflict":
        message = f"The Managed Apple ID built from {shown} is already another user's: it was not set."
        # The subdomain setting cannot part two users with one source value (both get the same subdomain ID).
        fix = ("Give each of these users a unique value of what the Managed Apple ID setting builds the ID from "
               "(their email address, or the custom attribute it names) in Entra ID.")
    elif reason == "read_only":
        message = f"Entra ID sends {shown}, which is read-only here: it is not stored."
        fix = f"Delete the mapping for {shown} in {MAPPINGS}."
    else:
        message = f"Attribute {shown} was not stored."
        fix = f"Check the mapping for {shown} in {MAPPINGS}."
    return Cause(SOME_NOT_SYNCHRONIZED, f"{attribute_key(attribute)}:{reason}", attribute, reason, message, fix)


def clears(outcome: Mapping[str, Any], kind: str, attribute: str | None, reason: str | None) -> bool:
    """Does this later write of a subject show that an earlier cause no longer applies to it?

    A delete clears everything; a refused write clears nothing. A write that succeeded clears a refusal
    (R-NOT-2). A dropped attribute (R-NOT-3) is cleared when the attribute is now stored, or by a whole
    write (POST, PUT) that no longer drops it; a PATCH only carries what changed, so its silence about
    an attribute proves nothing.
    """
    method = method_of(outcome)
    if method == "DELETE":
        return True
    if outcome["status"] == "refused":
        return False
    if kind == ALL_NOT_SYNCHRONIZED:
        return True
    attr = attribute_key(attribute or "")
    if any(attribute_key(d["attribute"]) == attr and d["reason"] == reason for d in outcome.get("dropped") or ()):
        return False
    if method in ("POST", "PUT"):
        return True
    if reason in MEMBERSHIP_REASONS:
        return False
    return attr in {attribute_key(s) for s in outcome.get("stored") or ()}


def subject_entry(subject: Subject, outcome: Mapping[str, Any], detail: str | None) -> dict[str, Any]:
    """One line of a notification's recent affected users and groups."""
    return {"key": subject.key, "type": subject.type, "id": outcome.get("subjectId"), "name": subject.label,
            "action": action_words(outcome), "detail": detail, "at": outcome["time"].isoformat() + "Z"}


# What Entra ID's write did to the user or group, in the words the page shows (no protocol verbs).
_DONE = {"POST": "created", "PUT": "replaced", "PATCH": "updated", "DELETE": "deleted"}
_REFUSED = {"POST": "not created", "PUT": "not replaced", "PATCH": "not updated", "DELETE": "not deleted"}


def action_words(outcome: Mapping[str, Any]) -> str:
    method = method_of(outcome)
    words = _REFUSED if outcome["status"] == "refused" else _DONE
    return words.get(method, "written")


def push_recent(recent: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Most recent first, once per subject, at most RECENT_SUBJECTS."""
    return [entry, *(e for e in recent if e.get("key") != entry["key"])][:RECENT_SUBJECTS]


def detail_for(outcome: Mapping[str, Any], cause: Cause) -> str | None:
    """What this outcome says about this cause for its subject (the directory's own words)."""
    if outcome["status"] == "refused":
        return (outcome.get("refusal") or {}).get("detail")
    details = [d.get("detail") for d in outcome.get("dropped") or ()
               if dropped_cause(d["attribute"], d["reason"]).key == cause.key and d.get("detail")]
    return "; ".join(dict.fromkeys(details)) or None
