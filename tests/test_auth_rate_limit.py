"""Failed authentication is rate-limited per client and tenant, through real processes.

Past AUTH_FAILURE_LIMIT a failed attempt is answered 429 with Retry-After, in each API's own format:
a SCIM error on the SCIM API, a problem body on every admin API. A valid token or admin key is never
throttled, another client or tenant has its own count, and once the window has moved on attempts are
allowed again. Counters are per worker process: a keep-alive connection stays on one worker, so the
exact count is seen over one; over new connections a client gets at most WEB_CONCURRENCY x the limit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from shared.testing import System, wait_until

pytestmark = pytest.mark.integration
LIMIT, WINDOW_S = 4, 2  # AUTH_FAILURE_LIMIT of this System
WORKERS = 2
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PROBE = {"filter": 'userName eq "nobody@contoso.com"'}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(Path(tmp_path_factory.mktemp("ratelimit")), AUTH_FAILURE_LIMIT=f"{LIMIT} per {WINDOW_S} seconds",
                     WEB_CONCURRENCY=str(WORKERS))
    try:
        with ThreadPoolExecutor(len(running.processes)) as pool:  # no service needs another to boot
            list(pool.map(lambda proc: proc.start(), running.processes.values()))
        yield running
    finally:
        running.stop()


@dataclass
class Tenant:
    name: str
    token: str
    admin_key: str


def make_tenant(system: System) -> Tenant:
    name = f"rl-{uuid.uuid4().hex[:8]}"
    assert system.admin("POST", "/admin/v1/tenants", {"id": name}).status == 201
    token = system.admin("POST", f"/admin/v1/tenants/{name}/tokens", {}).json()["token"]
    key = system.admin("POST", f"/admin/v1/tenants/{name}/admin-keys", {"name": "ops"}).json()["key"]
    return Tenant(name, token, key)


class Client:
    """One caller over one keep-alive connection (so: one worker of each service), from `address`
    (any 127.x address is loopback on Linux, so a second client needs no second machine)."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.http = urllib3.PoolManager(maxsize=1, block=True, source_address=(address, 0))

    def get(self, url: str, secret: str | None, **fields: str) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return self.http.request("GET", url, fields=fields or None, headers=headers, timeout=10.0, retries=False)


def scim_users(system: System, tenant: str) -> str:
    return f"{system.url('scim-api')}/scim/v2/{tenant}/Users"


def admin_urls(system: System, tenant: str) -> dict[str, str]:
    """One admin route of each service, for `tenant`."""
    return {
        "token-service": f"{system.url('token-service')}/admin/v1/tenants/{tenant}/tokens",
        "directory": f"{system.url('directory')}/admin/v1/tenants/{tenant}/users",
        "notifications": f"{system.url('notifications')}/admin/v1/tenants/{tenant}/notifications",
    }


def fail_until_throttled(client: Client, url: str, wrong: str, fields: dict[str, str]) -> urllib3.BaseHTTPResponse:
    """LIMIT failures answered 401, then the 429; returns the 429."""
    statuses = [client.get(url, wrong, **fields).status for _ in range(LIMIT)]
    throttled = client.get(url, wrong, **fields)
    assert [*statuses, throttled.status] == [401] * LIMIT + [429], (url, statuses, throttled.status)
    assert 1 <= int(throttled.headers["Retry-After"]) <= WINDOW_S
    return throttled


def allowed_again(client: Client, url: str, wrong: str, fields: dict[str, str]) -> None:
    """Failures keep getting the 429 (uncounted, so the wait does not grow) until the window has moved on,
    then a failure is a 401 again: polled, at most WINDOW_S and a margin after the throttling."""
    answers: list[int] = []

    def answered_401() -> bool:
        answers.append(client.get(url, wrong, **fields).status)
        return answers[-1] == 401

    assert wait_until(answered_401, WINDOW_S + 3.0, interval=0.1), answers
    assert set(answers[:-1]) <= {429}, answers


def test_scim_failures_past_the_limit_are_a_scim_429_and_valid_tokens_are_never_throttled(limited: System) -> None:
    acme, other = make_tenant(limited), make_tenant(limited)
    client, url = Client(), scim_users(limited, acme.name)
    throttled = fail_until_throttled(client, url, other.token, PROBE)  # a genuine token, of another tenant
    body = json.loads(throttled.data)
    assert throttled.headers["Content-Type"].startswith("application/scim+json")
    assert body["schemas"] == [ERROR] and body["status"] == "429" and body["detail"]
    # Entra's burst of valid calls from that same client, on that same worker, in parallel too.
    assert [client.get(url, acme.token, **PROBE).status for _ in range(30)] == [200] * 30
    with ThreadPoolExecutor(4) as pool:
        burst = list(pool.map(lambda _: Client().get(url, acme.token, **PROBE).status, range(40)))
    assert burst == [200] * 40
    assert client.get(url, "forged", **PROBE).status == 429  # still over the limit for failures
    # Another tenant from the same client, and another client for the same tenant: their own counts.
    assert client.get(scim_users(limited, other.name), acme.token, **PROBE).status == 401
    assert Client("127.0.0.2").get(url, other.token, **PROBE).status == 401
    allowed_again(client, url, other.token, PROBE)


@pytest.mark.parametrize("service", ["token-service", "directory", "notifications"])
def test_admin_key_failures_past_the_limit_are_a_problem_429_and_valid_keys_are_never_throttled(
        limited: System, service: str) -> None:
    acme, other = make_tenant(limited), make_tenant(limited)
    client, url = Client(), admin_urls(limited, acme.name)[service]
    throttled = fail_until_throttled(client, url, "sta_wrong", {})
    body = json.loads(throttled.data)
    assert throttled.headers["Content-Type"].startswith("application/problem+json")
    assert (body["status"], body["code"]) == (429, "too_many_failed_attempts") and body["detail"]
    assert [client.get(url, acme.admin_key).status for _ in range(20)] == [200] * 20
    assert [client.get(url, limited.admin_key).status for _ in range(5)] == [200] * 5
    assert client.get(url, None).status == 429  # no key at all is a failure too
    assert client.get(admin_urls(limited, other.name)[service], "sta_wrong").status == 401
    assert Client("127.0.0.2").get(url, "sta_wrong").status == 401
    allowed_again(client, url, "sta_wrong", {})


def test_over_new_connections_a_client_gets_at_most_the_limit_per_worker(limited: System) -> None:
    """The scope, stated in shared/ratelimit.py: counters are per worker process, in memory."""
    tenant = make_tenant(limited)
    url = scim_users(limited, tenant.name)
    statuses = []
    for _ in range(3 * WORKERS * LIMIT):
        resp = urllib3.PoolManager().request("GET", url, fields=PROBE, headers={"Authorization": "Bearer x.y.z"},
                                             timeout=10.0, retries=False)
        statuses.append(resp.status)
    assert set(statuses) == {401, 429}
    assert statuses.count(401) <= WORKERS * LIMIT, statuses
