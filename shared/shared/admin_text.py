"""What admins read carries none of our internals: the patterns tests look for in every such text.

Admins read SCIM error details (Entra ID shows them in its provisioning log), notifications (the JSON
API, the page and webhooks) and the admin APIs' problem details. Requirement ids, service names, raw
ids, SCIM verbs, key ids and codes belong in code, logs and fields meant for scripts, never in those
sentences. The words themselves are checked by the tests of each text; this is the net under them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

LEAKS = {
    "a requirement id": re.compile(r"\bR-[A-Z]{2,6}-\d+"),
    "a raw id": re.compile(r"\b[0-9a-f]{32}\b"),
    "a service's name": re.compile(r"\b(scim[-_]api|token[-_ ]service|notifications service|directory service|"
                                   r"entra[-_]sync|the directory did)\b", re.IGNORECASE),
    "a SCIM verb": re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) /"),
    "an admin key id": re.compile(r"admin-key:"),
    "a code in parentheses": re.compile(r"\(([a-z]+_[a-z_]+)\)"),
}
# The keys of JSON answers that hold words for an admin (SCIM errors, problems, notifications).
TEXT_KEYS = frozenset({"detail", "message", "fix", "title", "summary"})


def leaks(text: str) -> list[str]:
    """What `text` gives away, one line per find (what it is, then the text found); empty when it is plain."""
    return [f"{what}: {m.group(0)!r}" for what, pattern in LEAKS.items() for m in pattern.finditer(text)]


def admin_texts(doc: Any) -> Iterator[str]:
    """Every string under a TEXT_KEYS key of a JSON document, however deep."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in TEXT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from admin_texts(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from admin_texts(item)


def leaks_in(doc: Any) -> dict[str, list[str]]:
    """Each admin text of `doc` that leaks, with what it leaks."""
    return {text: found for text in admin_texts(doc) if (found := leaks(text))}
