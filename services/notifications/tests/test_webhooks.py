"""The outbound webhook: raised, acknowledged and resolved notifications POSTed after the commit, signed with
HMAC-SHA256 (X-Signature: sha256=…), retried a bounded number of times."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notifications.webhooks import sign, verify

from .conftest import Outcomes, custom_drop, only, refused_email

SECRET = "a-test-secret-of-some-length"


class Receiver:
    """A local HTTP endpoint on 127.0.0.1 that records what it is sent and answers `statuses` in turn."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                with receiver.got:
                    receiver.received.append((dict(self.headers), body))
                    receiver.got.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def hooked(client: FlaskClient, admin: dict[str, str], receiver: Receiver) -> Receiver:
    resp = client.put("/admin/v1/tenants/acme/webhook", json={"url": receiver.url, "secret": SECRET}, headers=admin)
    assert resp.status_code == 200
    return receiver


def drain(app: Flask) -> None:
    assert app.extensions["webhooks"].join(10)


def test_signature_is_hmac_sha256_of_the_body() -> None:
    import hashlib
    import hmac

    body = b'{"event":"raised"}'
    assert sign(SECRET, body) == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify(SECRET, body, sign(SECRET, body)) and not verify("other-secret", body, sign(SECRET, body))


def test_raise_acknowledge_and_resolve_are_posted_signed(app: Flask, client: FlaskClient, admin: dict[str, str],
                                                         outcomes: Outcomes, hooked: Receiver) -> None:
    outcomes("partial", user="<b>ann</b>", dropped=[custom_drop()])
    outcomes("partial", dropped=[custom_drop()])  # a repeat: counted, not posted again
    n = only(client, admin)
    client.post(f"/admin/v1/tenants/acme/notifications/{n['id']}/acknowledge", headers=admin)
    outcomes(operation="PUT /Users", user="<b>ann</b>")
    drain(app)
    assert [e["event"] for e in hooked.events()] == ["raised", "acknowledged", "resolved"]
    for headers, body in hooked.received:
        assert verify(SECRET, body, headers["X-Signature"])
        assert headers["Content-Type"] == "application/json"
    raised = hooked.events()[0]
    assert raised["tenant"] == "acme" and raised["notification"]["attribute"] == "custAttr9"
    assert raised["notification"]["recent_subjects"][0]["name"] == "<b>ann</b>"
    assert hooked.events()[2]["notification"]["state"] == "resolved"


def test_a_failing_receiver_is_retried_a_bounded_number_of_times(app: Flask, outcomes: Outcomes,
                                                                 hooked: Receiver) -> None:
    hooked.statuses = [500, 503, 500, 500]
    outcomes(**refused_email())
    drain(app)
    assert len(hooked.received) == 3  # WEBHOOK_ATTEMPTS
    hooked.statuses = [500]
    outcomes("partial", dropped=[custom_drop()])
    drain(app)
    assert len(hooked.received) == 5  # one failure, then delivered


def test_an_unreachable_receiver_does_not_hold_up_ingestion(app: Flask, client: FlaskClient, admin: dict[str, str],
                                                            outcomes: Outcomes) -> None:
    client.put("/admin/v1/tenants/acme/webhook", json={"url": "http://127.0.0.1:9/nothing"}, headers=admin)
    outcomes(**refused_email())  # answered at once; the delivery fails later, in the sender's thread
    assert only(client, admin)["count"] == 1
    drain(app)


def test_no_webhook_no_delivery(app: Flask, outcomes: Outcomes, receiver: Receiver) -> None:
    outcomes(**refused_email())
    drain(app)
    assert receiver.received == []
