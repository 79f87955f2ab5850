"""Invitation mail (R-DIR-12 auto-invite): composing, the outbox file, SMTP through a local aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import multiprocessing
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from directory import mail
from directory.mail import MailSender, OutboxFileSender, SmtpSender, invitation, recipient, sender_from_env
from shared.config import ConfigError

USER = {"userName": "ann@example.com", "displayName": "Ann Example",
        "emails": [{"value": "ann@example.com", "type": "work", "primary": True}]}


# --- composing --------------------------------------------------------------------------------------

def test_invitation_names_the_user_the_tenant_and_where_to_register_r_dir_12() -> None:
    subject, body = invitation(USER, "acme", register_url="https://mdm.example.com/register")
    assert subject == "You are invited to register with acme"
    assert body.startswith("Hello Ann Example,\n")
    assert "Your user name: ann@example.com" in body
    assert "Register here: https://mdm.example.com/register" in body


def test_invitation_greets_by_name_parts_or_user_name_when_there_is_no_display_name() -> None:
    _, body = invitation({"userName": "bob", "name": {"givenName": "Bob", "familyName": "Jones"}}, "acme")
    assert body.startswith("Hello Bob Jones,")
    _, body = invitation({"userName": "bob"}, "acme")
    assert body.startswith("Hello bob,")
    assert "Register here" not in body


def test_invitation_values_are_plain_text_and_cannot_forge_lines_or_headers() -> None:
    evil = {"userName": "eve", "displayName": "Eve\r\nBcc: all@example.com\n<b>boss</b>"}
    subject, body = invitation(evil, "ac\nme")
    assert "\n" not in subject and "\r" not in subject
    first = body.splitlines()[0]
    assert first == "Hello Eve Bcc: all@example.com <b>boss</b>,"  # markup kept as text: the mail is text/plain
    assert "\r" not in body


def test_invitation_cuts_very_long_values() -> None:
    _, body = invitation({"userName": "u", "displayName": "x" * 5000}, "acme")
    assert len(body.splitlines()[0]) < 220


def test_recipient_is_the_primary_or_work_email() -> None:
    assert recipient(USER) == "ann@example.com"
    assert recipient({"emails": [{"value": "h@example.com", "type": "home"},
                                 {"value": "w@example.com", "type": "work"}]}) == "w@example.com"
    assert recipient({"emails": []}) is None


# --- choosing the sender ----------------------------------------------------------------------------

def test_outbox_file_under_data_dir_when_no_smtp_host(tmp_path: Path) -> None:
    sender = sender_from_env({"DATA_DIR": str(tmp_path), "MAIL_FROM": "mdm@example.com", "SMTP_HOST": " "})
    assert sender == OutboxFileSender(tmp_path / "outbox" / "mail.jsonl", "mdm@example.com")
    assert isinstance(sender, MailSender)


def test_outbox_defaults_and_override() -> None:
    assert sender_from_env({}) == OutboxFileSender(Path("var/outbox/mail.jsonl"), mail.DEFAULT_FROM)
    assert sender_from_env({"MAIL_OUTBOX_FILE": "/x/m.jsonl"}) == OutboxFileSender(Path("/x/m.jsonl"))


def test_smtp_when_smtp_host_is_set() -> None:
    sender = sender_from_env({"SMTP_HOST": "smtp.example.com", "SMTP_PORT": "2525", "SMTP_USER": "mdm",
                              "SMTP_PASSWORD": "s3cret", "MAIL_FROM": "mdm@example.com", "SMTP_TIMEOUT": "3"})
    assert sender == SmtpSender(host="smtp.example.com", port=2525, user="mdm", password="s3cret",
                                starttls=True, from_address="mdm@example.com", timeout=3.0)
    assert isinstance(sender, MailSender)
    assert "s3cret" not in repr(sender)


def test_smtp_defaults() -> None:
    assert sender_from_env({"SMTP_HOST": "relay"}) == SmtpSender(host="relay")


@pytest.mark.parametrize("env", [
    {"SMTP_HOST": "relay", "SMTP_PORT": "smtp"},
    {"SMTP_HOST": "relay", "SMTP_PORT": "0"},
    {"SMTP_HOST": "relay", "SMTP_TIMEOUT": "soon"},
    {"SMTP_HOST": "relay", "SMTP_STARTTLS": "maybe"},
    {"SMTP_HOST": "relay", "SMTP_USER": "mdm"},
    {"SMTP_HOST": "relay", "SMTP_USER": "mdm", "SMTP_PASSWORD": "p", "SMTP_STARTTLS": "false"},
])
def test_malformed_or_unsafe_smtp_settings_stop_the_service(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        sender_from_env(env)


def test_login_without_starttls_is_allowed_to_a_loopback_relay() -> None:
    for host in ("localhost", "127.0.0.1", "::1"):
        env = {"SMTP_HOST": host, "SMTP_USER": "u", "SMTP_PASSWORD": "p", "SMTP_STARTTLS": "off"}
        assert sender_from_env(env) == SmtpSender(host=host, user="u", password="p", starttls=False)


# --- the outbox file --------------------------------------------------------------------------------

def test_outbox_appends_one_json_line_per_mail_creating_parents(tmp_path: Path) -> None:
    sender = OutboxFileSender(tmp_path / "a" / "b" / "mail.jsonl", "mdm@example.com")
    assert sender.read() == []
    sender.send("ann@example.com", "Hello", "Body\nline 2 ✓")
    sender.send("bob@example.com", "Hi", "x")
    lines = (tmp_path / "a" / "b" / "mail.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert {k: first[k] for k in ("from", "to", "subject", "body")} == {
        "from": "mdm@example.com", "to": "ann@example.com", "subject": "Hello", "body": "Body\nline 2 ✓"}
    assert dt.datetime.fromisoformat(first["at"]).tzinfo is not None
    assert [m["to"] for m in sender.read()] == ["ann@example.com", "bob@example.com"]


def test_outbox_refuses_header_injection_like_smtp(tmp_path: Path) -> None:
    sender = OutboxFileSender(tmp_path / "mail.jsonl")
    with pytest.raises(ValueError):
        sender.send("ann@example.com", "Hi\r\nBcc: all@example.com", "x")
    assert sender.read() == []


def test_outbox_lines_never_interleave_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "mail.jsonl"
    body = "z" * 70_000  # larger than a pipe buffer and than one stdio buffer

    def work(n: int) -> None:
        sender = OutboxFileSender(path)  # separate instances share the file's lock
        for i in range(25):
            sender.send(f"t{n}@example.com", f"{n}-{i}", body)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    mails = OutboxFileSender(path).read()
    assert len(mails) == 200
    assert {m["subject"] for m in mails} == {f"{n}-{i}" for n in range(8) for i in range(25)}
    assert all(m["body"] == body for m in mails)


def _send_many(path: str, n: int) -> None:
    sender = OutboxFileSender(Path(path))
    for i in range(20):
        sender.send("p@example.com", f"p{n}-{i}", "y" * 100_000)


def test_outbox_lines_never_interleave_across_processes(tmp_path: Path) -> None:
    """gunicorn workers are processes: the flock keeps their lines whole."""
    path = tmp_path / "mail.jsonl"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_send_many, args=(str(path), n)) for n in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert len(OutboxFileSender(path).read()) == 60


# --- SMTP against a local aiosmtpd server ------------------------------------------------------------

class Recorder:
    """aiosmtpd handler: keeps what it received; refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test trusts it explicitly)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _start(handler: Recorder, **kwargs: Any) -> Controller:
    for _ in range(5):  # the free port can be taken between probe and bind: try another
        controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), ready_timeout=5, **kwargs)
        try:
            controller.start()
            return controller
        except OSError:
            continue
    raise RuntimeError("no free port for the SMTP test server")


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, Recorder]]:
    handler = Recorder()
    controller = _start(handler)
    yield controller, handler
    controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Controller, Recorder, list]]:
    handler = Recorder()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mdm", b"s3cret")
        logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 on failure

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    controller = _start(handler, tls_context=context, require_starttls=True, authenticator=authenticator,
                        auth_require_tls=True)
    yield controller, handler, logins
    controller.stop()


def _trust(monkeypatch: pytest.MonkeyPatch, cert_file: Path) -> None:
    real = ssl.create_default_context
    monkeypatch.setattr(mail.ssl, "create_default_context", lambda *a, **k: real(cafile=str(cert_file)))


def test_smtp_sender_delivers_a_plain_text_mail(plain_server: tuple[Controller, Recorder]) -> None:
    controller, handler = plain_server
    subject, body = invitation(USER, "acme")
    SmtpSender(host="127.0.0.1", port=controller.port, starttls=False, from_address="mdm@example.com",
               timeout=5).send("ann@example.com", subject, body)
    (envelope,) = handler.envelopes
    assert envelope.mail_from == "mdm@example.com"
    assert envelope.rcpt_tos == ["ann@example.com"]
    text = envelope.content.decode("utf-8")
    assert f"Subject: {subject}" in text
    assert "Content-Type: text/plain" in text
    assert "Hello Ann Example," in text


def test_smtp_sender_uses_starttls_and_logs_in(tls_server: tuple, certificate: tuple[Path, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    controller, handler, logins = tls_server
    _trust(monkeypatch, certificate[0])
    SmtpSender(host="127.0.0.1", port=controller.port, user="mdm", password="s3cret",
               from_address="mdm@example.com", timeout=5).send("ann@example.com", "Hi", "Body")
    assert [ok for _, ok in logins] == [True]
    assert len(handler.envelopes) == 1


def test_smtp_sender_refuses_an_untrusted_certificate(tls_server: tuple) -> None:
    controller, handler, _ = tls_server
    with pytest.raises(ssl.SSLError):
        SmtpSender(host="127.0.0.1", port=controller.port, timeout=5).send("ann@example.com", "Hi", "Body")
    assert handler.envelopes == []


def test_smtp_sender_raises_on_wrong_password(tls_server: tuple, certificate: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    controller, handler, _ = tls_server
    _trust(monkeypatch, certificate[0])
    with pytest.raises(smtplib.SMTPAuthenticationError):
        SmtpSender(host="127.0.0.1", port=controller.port, user="mdm", password="wrong", timeout=5).send(
            "ann@example.com", "Hi", "Body")
    assert handler.envelopes == []


def test_smtp_sender_raises_when_the_recipient_is_refused(plain_server: tuple[Controller, Recorder]) -> None:
    controller, handler = plain_server
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        SmtpSender(host="127.0.0.1", port=controller.port, starttls=False, timeout=5).send(
            "nobody@refused.example", "Hi", "Body")
    assert handler.envelopes == []


def test_smtp_sender_raises_when_the_relay_is_down() -> None:
    with pytest.raises(OSError):
        SmtpSender(host="127.0.0.1", port=_free_port(), starttls=False, timeout=2).send("a@example.com", "s", "b")


def test_smtp_sender_refuses_header_injection_before_connecting() -> None:
    with pytest.raises(ValueError):
        SmtpSender(host="127.0.0.1", port=1, starttls=False, timeout=1).send("a@example.com", "s\nBcc: x@y", "b")
