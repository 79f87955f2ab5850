"""JSON log lines with request id and tenant, and a filter that keeps secrets out of them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys

from flask import g, has_request_context

# Bearer values, JWTs and our key formats: never written to a log, whatever the message.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s\"']+"),
    re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}"),
    re.compile(r"\b(?:sta|stk)_[A-Za-z0-9_-]{16,}"),
]


_LITERAL_SECRETS: set[str] = set()


def redact(text: str) -> str:
    """Replace anything shaped like a credential, or a configured secret, with '[redacted]'."""
    for secret in _LITERAL_SECRETS:
        text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            if getattr(g, "tenant", None):
                entry["tenant"] = g.tenant
        for key in ("event", "tenant", "token_id", "status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(service: str, level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """Send every log record of the process to stderr as one redacted JSON line."""
    _LITERAL_SECRETS.update(s for s in secrets if s and len(s) >= 8)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
