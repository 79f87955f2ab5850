"""Invitation mail (R-DIR-12 "Automatically invite users imported from Entra ID"): composing and sending.

Sending is pluggable: SMTP when a relay is configured (`SMTP_HOST`), else a JSON-lines outbox file
under DATA_DIR, so that local runs and tests see every mail without a mail server. The caller
decides when to invite (once per user) and records it; nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import smtplib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shared.config import ConfigError

from .templates import preferred_email

DEFAULT_FROM = "no-reply@localhost"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@runtime_checkable
class MailSender(Protocol):
    """Delivers one plain-text mail; raises on failure so that the caller can retry or report it."""

    def send(self, to: str, subject: str, body: str) -> None: ...


def _message(from_address: str, to: str, subject: str, body: str) -> EmailMessage:
    # EmailMessage (policy default) refuses CR/LF in header values: no header injection via `to`/`subject`.
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


@dataclass(frozen=True)
class SmtpSender:
    """Sends through an SMTP relay (smtplib): STARTTLS with certificate checks unless turned off, login
    when a user is set. A connection per mail: invitations are rare, and a held connection goes stale."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    starttls: bool = True
    from_address: str = DEFAULT_FROM
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str) -> None:
        message = _message(self.from_address, to, subject, body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


# One lock per outbox file, shared by every sender instance in the process; flock covers the other
# gunicorn workers, which are processes.
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path), threading.Lock())


@dataclass(frozen=True)
class OutboxFileSender:
    """Appends each mail as one JSON line to a file (local runs, tests, or a relay that ships the file).

    Each line is written with a single O_APPEND write under a thread lock and an exclusive flock, so
    concurrent senders in threads or processes never interleave lines.
    """

    path: Path
    from_address: str = DEFAULT_FROM

    def send(self, to: str, subject: str, body: str) -> None:
        _message(self.from_address, to, subject, body)  # same header checks as SMTP: the outbox is no laxer
        record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                  "from": self.from_address, "to": to, "subject": subject, "body": body}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        path = self.path.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock_for(path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                _flock(fd)
                view = memoryview(line)
                while view:  # a regular file takes the whole line at once; loop in case it does not
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)  # closing releases the flock

    def read(self) -> list[dict[str, Any]]:
        """The mails sent so far (for tests and the local launcher)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line.strip()]


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: the thread lock and O_APPEND still hold within one process
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def sender_from_env(env: Mapping[str, str]) -> MailSender:
    """SMTP when SMTP_HOST is set (SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS, SMTP_TIMEOUT),
    else the outbox file MAIL_OUTBOX_FILE (default `$DATA_DIR/outbox/mail.jsonl`). MAIL_FROM is the
    sender address for both. Raises ConfigError for a malformed value, so the service refuses to start."""
    from_address = (env.get("MAIL_FROM") or "").strip() or DEFAULT_FROM
    host = (env.get("SMTP_HOST") or "").strip()
    if not host:
        outbox = (env.get("MAIL_OUTBOX_FILE") or "").strip()
        data_dir = (env.get("DATA_DIR") or "").strip() or "var"
        path = Path(outbox) if outbox else Path(data_dir) / "outbox" / "mail.jsonl"
        return OutboxFileSender(path, from_address)
    starttls = _flag(env, "SMTP_STARTTLS", True)
    user = (env.get("SMTP_USER") or "").strip() or None
    password = env.get("SMTP_PASSWORD") or None
    if user and password is None:
        raise ConfigError("SMTP_USER is set but SMTP_PASSWORD is not")
    if user and not starttls and not _is_loopback(host):
        raise ConfigError("SMTP_USER without SMTP_STARTTLS would send the password in clear to a remote host")
    return SmtpSender(host=host, port=_number(env, "SMTP_PORT", 587, int), user=user, password=password,
                      starttls=starttls, from_address=from_address,
                      timeout=_number(env, "SMTP_TIMEOUT", 10.0, float))


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a valid bool")


def _number(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def recipient(user: Mapping[str, Any]) -> str | None:
    """Where a user's invitation goes: the primary, else work, else first email (R-DIR-1 makes one exist)."""
    return preferred_email(user)


def _plain(value: Any, limit: int = 200) -> str:
    """A user-supplied value made safe for a plain-text line: control characters (newlines included)
    collapse to a space, so a display name cannot forge extra lines or headers; long values are cut."""
    text = _CONTROL.sub(" ", str(value or "")).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invitation(user: Mapping[str, Any], tenant: str, *, register_url: str | None = None,
               product: str = "device management") -> tuple[str, str]:
    """(subject, body) of the invitation a user imported from Entra ID gets (R-DIR-12), in plain text.

    Values are inserted as text, not HTML: the mail is text/plain, so no markup is interpreted; they are
    only stripped of control characters. `register_url`, when given, is where the user registers.
    """
    name = user.get("name") or {}
    greeting = _plain(user.get("displayName") or name.get("formatted")
                      or " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
                      or user.get("userName"))
    organisation = _plain(tenant, 64)
    subject = f"You are invited to register with {organisation}"
    lines = [
        f"Hello {greeting}," if greeting else "Hello,",
        "",
        f"Your administrator at {organisation} invites you to register your devices for {_plain(product)}.",
        f"Your user name: {_plain(user.get('userName'), 256)}",
    ]
    if register_url:
        lines.append(f"Register here: {_plain(register_url, 2000)}")
    lines += ["", "If you did not expect this invitation, you can ignore this email.", ""]
    return subject, "\n".join(lines)
