"""Signing key rotation without downtime, under load, through real processes.

An operator rotates the token signing key as systemd's `reload` or a mounted secret's update does it:
the key files get new contents (a NEW private key in TOKEN_SIGNING_KEY_FILE, the old public key in
TOKEN_PREVIOUS_PUBLIC_KEY_FILES) and gunicorn's master gets SIGHUP, so new workers start with the new
keys before the old ones leave. Meanwhile Entra keeps calling with the token it has: not one of its
calls may fail; tokens issued afterwards carry the new key id and work at once; and once the old
public key is dropped, the old token is refused within the SCIM API's bounds.

A stop-then-start instead leaves the token service unreachable for a few seconds (a graceful gunicorn
stop takes ~2.7 s here, a boot ~1.8 s). The SCIM API bridges that from the token states it refreshed
within the last second, as long as the gap is shorter than the rest of the 5 s bound; past it, calls
get 503 with Retry-After (tests/test_faults.py), never 401. SIGHUP needs no such luck.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import urllib3

from scim_api.auth import KEYS_MAX_AGE_SECONDS
from shared.local_secrets import generate_signing_key_pem
from shared.testing import System, wait_until
from token_service.signing import SigningKeys

pytestmark = pytest.mark.integration
CACHE_S = 5.0  # TOKEN_STATE_CACHE_SECONDS of this System, the most the SCIM API allows
KEYS_S = KEYS_MAX_AGE_SECONDS  # the SCIM API trusts its copy of the published keys this long
MARGIN_S = 3.0  # process scheduling on a busy machine, the calls themselves
THREADS = 3
PROBE = {"filter": 'userName eq "nobody@contoso.com"'}


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    data_dir = Path(tmp_path_factory.mktemp("rotation"))
    previous = data_dir / "previous-public-keys.pem"
    previous.write_bytes(b"")  # no retired key yet
    running = System(data_dir, TOKEN_STATE_CACHE_SECONDS=str(CACHE_S),
                     TOKEN_PREVIOUS_PUBLIC_KEY_FILES=str(previous)).start()
    try:
        yield running
    finally:
        running.stop()


class Stream:
    """Entra's side: a few threads calling SCIM with one token, each over its own keep-alive connection,
    bounded in time and count; every answer is recorded."""

    def __init__(self, url: str, token: str, limit_s: float = 90.0, max_calls: int = 20_000) -> None:
        self.url, self.token = url, token
        self.deadline, self.max_calls = time.monotonic() + limit_s, max_calls
        self.answers: list[tuple[float, int, str]] = []
        self.last_answer_at = [float("-inf")] * THREADS  # per thread, so per connection
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(THREADS)]

    def __enter__(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, thread: int) -> None:
        http = urllib3.PoolManager(maxsize=1)
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self._stop.is_set() and time.monotonic() < self.deadline and len(self.answers) < self.max_calls:
            started = time.monotonic()
            try:
                resp = http.request("GET", self.url, fields=PROBE, headers=headers, timeout=15.0, retries=False)
                self.answers.append((time.monotonic(), resp.status, resp.data[:200].decode(errors="replace")))
            except urllib3.exceptions.HTTPError as exc:
                self.answers.append((time.monotonic(), 0, repr(exc)))
            self.last_answer_at[thread] = started
            time.sleep(0.01)

    def wait_for_every_connection(self, since: float = float("-inf")) -> None:
        """Poll until each thread has had an answer to a call it began after `since` (monotonic time)."""
        assert wait_until(lambda: min(self.last_answer_at) > since, 60.0), (since, self.last_answer_at)

    def failures(self) -> list[tuple[float, int, str]]:
        return [answer for answer in self.answers if answer[1] != 200]


def key_id_of(private_pem: bytes) -> str:
    return SigningKeys(private_pem, "EdDSA").kid


def public_pem(private_pem: bytes) -> bytes:
    return SigningKeys(private_pem, "EdDSA").public_pem()


def replace_file(path: Path, content: bytes) -> None:
    """Atomically, as a secret mount or a careful operator updates it: never half a key."""
    staged = path.with_suffix(".new")
    staged.write_bytes(content)
    os.replace(staged, path)


def reload_token_service(system: System, expected_kids: set[str]) -> None:
    """SIGHUP to gunicorn's master, then wait until every answer publishes the new key set (the old
    workers have stopped taking requests)."""
    master = system.processes["token-service"].proc
    assert master is not None
    master.send_signal(signal.SIGHUP)
    seen = []

    def eight_in_a_row() -> bool:
        seen.append(jwks_kids(system) == expected_kids)
        return seen[-8:] == [True] * 8

    assert wait_until(eight_in_a_row, 30.0), "the token service never published the new keys"


def scim_status(url: str, token: str) -> int:
    """One call over a new connection, so that it may land on any SCIM API worker."""
    resp = urllib3.PoolManager().request("GET", url, fields=PROBE, headers={"Authorization": f"Bearer {token}"},
                                         timeout=15.0, retries=False)
    return resp.status


def jwks_kids(system: System) -> set[str]:
    """The published key ids, asked over a new connection (any worker may answer)."""
    resp = urllib3.PoolManager().request("GET", system.url("token-service") + "/.well-known/jwks.json",
                                         timeout=10.0, retries=False)
    return {key["kid"] for key in resp.json()["keys"]}


def test_rotating_the_signing_key_under_load_fails_no_request(rotating: System) -> None:
    tenant = f"rot-{uuid.uuid4().hex[:8]}"
    assert rotating.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    issued = rotating.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
    old_token, users = issued["token"], issued["scim_url"] + "/Users"
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    env = rotating.processes["token-service"].env
    key_file, previous_file = Path(env["TOKEN_SIGNING_KEY_FILE"]), Path(env["TOKEN_PREVIOUS_PUBLIC_KEY_FILES"])
    new_key = generate_signing_key_pem()
    new_kid = key_id_of(new_key)

    with Stream(users, old_token) as stream:
        stream.wait_for_every_connection()  # the stream is under way on every connection before the rotation
        replace_file(previous_file, public_pem(key_file.read_bytes()))
        replace_file(key_file, new_key)
        reload_token_service(rotating, {old_kid, new_kid})
        rotated_at = time.monotonic()
        # Past both bounds: every worker has checked the old token and fetched the keys again.
        stream.wait_for_every_connection(since=rotated_at + max(CACHE_S, KEYS_S) + 1.0)
    assert stream.failures() == [], (len(stream.answers), stream.failures()[:5])

    new = rotating.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {})
    assert new.status == 201, new.data
    new_token = new.json()["token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    assert [scim_status(users, new_token) for _ in range(6)] == [200] * 6  # at once, on any worker
    assert [scim_status(users, old_token) for _ in range(6)] == [200] * 6

    # The old public key is dropped: the old token stops working within the bounds, on every worker;
    # Entra's calls with the new token go on without a failure.
    with Stream(users, new_token) as new_stream:
        new_stream.wait_for_every_connection()
        replace_file(previous_file, b"")
        reload_token_service(rotating, {new_kid})
        dropped_at = time.monotonic()
        statuses: list[tuple[float, int]] = []

        def refused_eight_times_in_a_row() -> bool:
            statuses.append((time.monotonic() - dropped_at, scim_status(users, old_token)))
            return [s for _, s in statuses[-8:]] == [401] * 8

        assert wait_until(refused_eight_times_in_a_row, KEYS_S + MARGIN_S, interval=0.1), statuses
    assert {s for _, s in statuses} <= {200, 401}, statuses
    assert new_stream.answers and new_stream.failures() == [], new_stream.failures()[:5]
