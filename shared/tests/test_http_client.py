"""ServiceClient: an internal call ends within its time limit (a read timeout is not retried),
while a refused connection, where nothing was sent, is still retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.errors import ServiceUnavailable
from shared.http import ServiceClient
from shared.testing import free_port

TIMEOUT_S = 0.3


class Slow(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        Slow.seen.append(self.path)
        time.sleep(TIMEOUT_S * 3)
        try:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def slow_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Slow.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_get_that_times_out_is_not_sent_again(slow_url: str) -> None:
    client = ServiceClient(slow_url, "key", timeout=TIMEOUT_S)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        client.get("/internal/v1/tenants/acme/users/u1")
    assert time.monotonic() - started < TIMEOUT_S * 2
    assert Slow.seen == ["/internal/v1/tenants/acme/users/u1"]


def test_a_refused_connection_is_a_prompt_service_unavailable() -> None:
    client = ServiceClient(f"http://127.0.0.1:{free_port()}", "key", timeout=TIMEOUT_S)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        client.post("/internal/v1/introspect", json_body={"token_hash": "0" * 64})
    assert caught.value.status == 503 and caught.value.headers["Retry-After"]
    assert time.monotonic() - started < 1.0
    assert "127.0.0.1" not in caught.value.detail  # the caller's client never learns internal addresses


class ClosesAfterOne(BaseHTTPRequestHandler):
    """Says keep-alive, then drops the connection: the next call on it finds the socket closed."""

    protocol_version = "HTTP/1.1"
    served = 0

    def do_GET(self) -> None:
        ClosesAfterOne.served += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *_args: Any) -> None:
        pass


def test_calls_keep_working_when_the_service_drops_keep_alive_connections() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClosesAfterOne)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ServiceClient(f"http://127.0.0.1:{server.server_address[1]}", "key", timeout=2)
        ClosesAfterOne.served = 0
        assert [client.get("/x").status for _ in range(3)] == [200, 200, 200]
        assert ClosesAfterOne.served == 3
    finally:
        server.shutdown()
        server.server_close()
