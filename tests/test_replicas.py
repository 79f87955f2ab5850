"""Two replicas of scim-api, directory and notifications (two gunicorn workers each) on one
database per service, driven at once through both SCIM replicas: no duplicate user, no lost membership
change, no lost acknowledged update, and every sync outcome relayed to notifications exactly once."""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import urllib3

from shared.db import connect_url
from shared.http import INTERNAL_KEY_HEADER
from shared.testing import ReplicatedSystem, wait_until

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "services" / "scim-api" / "tests" / "data"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
REPLICAS = {"scim-api": 2, "directory": 2, "notifications": 2}
THREADS = 8  # client threads, split across both SCIM replicas
WAIT_SECONDS = 30  # bound on polling for the relays; they read every 0.2 s here


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedSystem]:
    system = ReplicatedSystem(Path(tmp_path_factory.mktemp("replicas")), REPLICAS, RELAY_SECONDS="0.2")
    try:
        system.start()
        for replica in system.replicas["notifications"]:
            wake_every_worker(replica.url)
        yield system
    finally:
        system.stop()


def wake_every_worker(url: str) -> None:
    """Each notifications worker starts its relay thread on its first request; gunicorn hands each new
    connection to whichever worker accepts it first, so 16 fresh connections in a row reach both workers of
    a replica in practice. Then four relays read the same outbox at once."""
    for _ in range(16):
        resp = urllib3.PoolManager().request("GET", url + "/healthz", headers={"Connection": "close"}, timeout=5.0)
        assert resp.status == 200


def entra_user(user_name: str, **extra: Any) -> dict[str, Any]:
    user = copy.deepcopy(json.loads((DATA / "tut-create-user.json").read_text()))
    user.update(userName=user_name, externalId=user_name.split("@")[0].lower(), **extra)
    user["emails"][0]["value"] = user_name
    return user


def members_patch(op: str, *ids: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members",
                                                    "value": [{"$ref": None, "value": i} for i in ids]}]}


def replace_patch(path: str, value: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": path, "value": value}]}


def version_of(headers: Any) -> int:
    """The integer in the weak ETag W/"<version>" (RFC 7644 §3.14)."""
    return int(headers["ETag"].removeprefix("W/").strip('"'))


class Tenant:
    """One tenant with one token, spoken to through either SCIM replica (0 or 1) as Entra would."""

    def __init__(self, system: ReplicatedSystem, prefix: str) -> None:
        self.system, self.name = system, f"{prefix}-{uuid.uuid4().hex[:8]}"
        assert system.admin("POST", "/admin/v1/tenants", {"id": self.name}).status == 201
        issued = system.admin("POST", f"/admin/v1/tenants/{self.name}/tokens", {}).json()
        self.token, path = issued["token"], urlsplit(issued["scim_url"]).path
        self.bases = [copy.url + path for copy in system.replicas["scim-api"]]
        self.http = urllib3.PoolManager(maxsize=THREADS)

    def call(self, replica: int, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        """(status, JSON body, headers); a 5xx fails the test: replicas must never break a write."""
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        resp = self.http.request(method, self.bases[replica] + path, json=body, headers=all_headers,
                                 timeout=20.0, retries=False)
        assert resp.status < 500, (method, path, resp.status, resp.data[:300])
        return resp.status, (resp.json() if resp.data else None), resp.headers

    def get(self, replica: int, path: str, **params: str) -> Any:
        status, doc, _ = self.call(replica, "GET", path + ("?" + urlencode(params) if params else ""))
        assert status == 200, doc
        return doc

    def create_user(self, replica: int, user_name: str) -> dict[str, Any]:
        status, user, _ = self.call(replica, "POST", "/Users", entra_user(user_name))
        assert status == 201, user
        return user

    def admin(self, service: str, replica: int, path: str, **params: str) -> Any:
        """The directory or notifications admin API of one replica, with the deployment key."""
        url = f"{self.system.replica_url(service, replica)}/admin/v1/tenants/{self.name}{path}"
        resp = self.http.request("GET", url, fields=params or None, timeout=10.0, retries=False,
                                 headers={"Authorization": f"Bearer {self.system.admin_key}"})
        assert resp.status == 200, resp.data[:300]
        return resp.json()


def in_parallel(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Run the tasks on THREADS client threads, in order of submission, and return their results."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(lambda task: task(), tasks))


def served(system: ReplicatedSystem, service: str, path: str) -> list[bool]:
    """For each replica of `service`: did its access log record a request for `path`? Evidence that the
    traffic really went through both copies, not one."""
    return [f'"path":"{path}"' in copy.log() for copy in system.replicas[service]]


# --- concurrent creates of one userName -----------------------------------------------------------

CASES = (str.lower, str.upper, str.title, str.swapcase, lambda s: s[0].upper() + s[1:].lower(),
         lambda s: s.lower().replace("contoso", "CONTOSO"))


def test_concurrent_creates_of_one_user_name_through_both_replicas_make_one_user(
        replicated: ReplicatedSystem) -> None:
    """userName is unique case-insensitively across both directory replicas: one 201 per name, the rest
    409 uniqueness, and exactly one user stored and found, whichever replica is asked."""
    tenant = Tenant(replicated, "replica-create")
    names = [f"racer{i}@contoso.com" for i in range(4)]
    # Name-major order: the six spellings of one name run at the same time, alternating replicas.
    sent = [(name, case(name), n % 2) for name in names for n, case in enumerate(CASES)]
    answers = in_parallel([lambda s=s: tenant.call(s[2], "POST", "/Users", entra_user(s[1]))[:2] for s in sent])
    for name in names:
        mine = [answer for (base, _, _), answer in zip(sent, answers, strict=True) if base == name]
        assert sorted(status for status, _ in mine) == [201] + [409] * (len(CASES) - 1), mine
        assert all(doc["scimType"] == "uniqueness" for status, doc in mine if status == 409)
        winner = next(doc["id"] for status, doc in mine if status == 201)
        for replica in (0, 1):
            found = tenant.get(replica, "/Users", filter=f'userName eq "{name.upper()}"')["Resources"]
            assert [u["id"] for u in found] == [winner]
    assert served(replicated, "directory", f"/internal/v1/tenants/{tenant.name}/users") == [True, True]
    for replica in (0, 1):  # the directory's own view: no second row under another spelling
        stored = tenant.admin("directory", replica, "/users", limit="200")["items"]
        assert sorted(u["userName"].lower() for u in stored) == sorted(names)


# --- concurrent member PATCHes of one group -------------------------------------------------------


def test_concurrent_member_adds_and_removes_through_both_replicas_lose_nothing(
        replicated: ReplicatedSystem) -> None:
    """Membership changes are per-member rows: adds and removes racing through two scim-api and two
    directory replicas end as exactly (initial + added) minus removed, each PATCH one new group version."""
    tenant = Tenant(replicated, "replica-group")
    ids = [u["id"] for u in in_parallel([lambda i=i: tenant.create_user(i % 2, f"member{i}@contoso.com")
                                         for i in range(24)])]
    kept, removed, added = ids[:8], ids[8:16], ids[16:]
    status, group, headers = tenant.call(0, "POST", "/Groups", {
        **json.loads((DATA / "tut-create-group.json").read_text()), "displayName": "Racers",
        "members": [{"value": i} for i in kept + removed]})
    assert status == 201, group
    path = f"/Groups/{group['id']}"
    # Adds and removes interleaved, one member per PATCH, alternating replicas.
    changes = [("Add", a) for a in added] + [("Remove", r) for r in removed]
    random.Random(6).shuffle(changes)
    answers = in_parallel([lambda n=n, c=c: tenant.call(n % 2, "PATCH", path, members_patch(*c))[0]
                           for n, c in enumerate(changes)])
    assert answers == [200] * len(changes), answers
    assert served(replicated, "directory", f"/internal/v1/tenants/{tenant.name}{path.lower()}") == [True, True]
    for replica in (0, 1):
        _, final, final_headers = tenant.call(replica, "GET", path)
        assert sorted(m["value"] for m in final["members"]) == sorted(kept + added)
        assert version_of(final_headers) == version_of(headers) + len(changes)
        detail = tenant.admin("directory", replica, f"/groups/{group['id']}")
        assert sorted(m["value"] for m in detail["members"]) == sorted(kept + added)


# --- concurrent PATCH updates of one user ---------------------------------------------------------

# (attribute path, SCIM replica, whether the writer sends If-Match): each writer owns one attribute.
WRITERS = (("title", 0, False), ("nickName", 1, False), ("displayName", 0, True), ("userType", 1, True),
           (f"{ENTERPRISE}:department", 0, False), (f"{ENTERPRISE}:costCenter", 1, True))
ROUNDS = 4
TRIES = 60  # per round; a 412 or a 409 "kept changing" (Retry-After) is retried, as Entra retries


def stored_value(user: dict[str, Any], path: str) -> Any:
    if path.startswith(ENTERPRISE):
        return user.get(ENTERPRISE, {}).get(path.rsplit(":", 1)[1])
    return user.get(path)


def write_rounds(tenant: Tenant, user_id: str, writer: tuple[str, int, bool]) -> list[tuple[int, str, Any]]:
    """One writer: ROUNDS values of its attribute, each retried until acknowledged. Returns each
    acknowledged write as (version from its ETag, value sent, value the answer shows)."""
    path, replica, if_match = writer
    acked = []
    for round_ in range(ROUNDS):
        value = f"{path.rsplit(':', 1)[-1]}-{round_}"
        for _ in range(TRIES):
            headers = {}
            if if_match:  # read, then write only that version (RFC 7644 §3.14)
                headers["If-Match"] = tenant.call(replica, "GET", f"/Users/{user_id}")[2]["ETag"]
            status, doc, answer_headers = tenant.call(replica, "PATCH", f"/Users/{user_id}",
                                                      replace_patch(path, value), headers)
            if status == 200:
                acked.append((version_of(answer_headers), value, stored_value(doc, path)))
                break
            # Refused, so not stored: 412 for a stale If-Match, 409 + Retry-After when the server gave up.
            assert status == 412 if if_match else (status == 409 and "Retry-After" in answer_headers), doc
            time.sleep(random.uniform(0, 0.02))
    return acked


def test_concurrent_patches_of_one_user_through_both_replicas_lose_no_acknowledged_update(
        replicated: ReplicatedSystem) -> None:
    """Six writers, each owning one attribute, PATCH one user at once through both replicas, half with
    If-Match: every acknowledged value is stored at the end, and the acknowledged versions are exactly
    the next versions of the user, one each (none overwritten by a concurrent read-modify-write)."""
    tenant = Tenant(replicated, "replica-patch")
    user = tenant.create_user(0, "target@contoso.com")
    first = int(user["meta"]["version"].removeprefix("W/").strip('"'))
    results = in_parallel([lambda w=w: write_rounds(tenant, user["id"], w) for w in WRITERS])
    for writer, acked in zip(WRITERS, results, strict=True):
        assert [value for _, value, _ in acked] == [f"{writer[0].rsplit(':', 1)[-1]}-{r}" for r in range(ROUNDS)]
        assert all(sent == shown for _, sent, shown in acked), acked  # each answer shows its own write
        versions = [version for version, _, _ in acked]
        assert versions == sorted(set(versions)), acked  # strictly increasing for each writer
    assert served(replicated, "directory", f"/internal/v1/tenants/{tenant.name}/users/{user['id']}") == [True, True]
    every_version = sorted(version for acked in results for version, _, _ in acked)
    assert every_version == list(range(first + 1, first + 1 + len(WRITERS) * ROUNDS))
    for replica in (0, 1):
        _, final, headers = tenant.call(replica, "GET", f"/Users/{user['id']}")
        assert version_of(headers) == every_version[-1]
        assert {w[0]: stored_value(final, w[0]) for w in WRITERS} == {
            w[0]: f"{w[0].rsplit(':', 1)[-1]}-{ROUNDS - 1}" for w in WRITERS}


# --- both notifications replicas relaying one outbox ----------------------------------------------


class WebhookReceiver:
    """A tenant's webhook endpoint on 127.0.0.1: records each event it is sent."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        received = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append((payload["event"], payload["notification"]["id"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


def provisioning_burst(tenant: Tenant) -> None:
    """40 writes at once through both replicas, four kinds of sync outcome: ok (201), refused for a missing
    email (400), refused as a duplicate (409), partial for an undefined custom attribute (201)."""
    tenant.create_user(0, "taken@contoso.com")
    partial = {CUSTOM: {"costCode": "42"}}

    def body(i: int) -> dict[str, Any]:
        kind = i % 4
        if kind == 1:
            return {k: v for k, v in entra_user(f"nomail{i}@contoso.com").items() if k != "emails"}
        if kind == 2:
            return entra_user("TAKEN@contoso.com")
        user = entra_user(f"user{i}@contoso.com", **(partial if kind == 3 else {}))
        user["schemas"] += [CUSTOM] if kind == 3 else []
        return user

    statuses = in_parallel([lambda i=i: tenant.call(i % 2, "POST", "/Users", body(i))[0] for i in range(40)])
    assert statuses == [(201, 400, 409, 201)[i % 4] for i in range(40)]


def outbox(system: ReplicatedSystem, tenant: str) -> list[dict[str, Any]]:
    """Every sync outcome of the tenant, read from the directory's internal API as the relay reads it."""
    url = f"{system.url('directory')}/internal/v1/tenants/{tenant}/sync-outcomes"
    items, after = [], "0"
    while True:
        resp = urllib3.request("GET", url, fields={"after": after, "limit": "500"}, timeout=10.0,
                               headers={INTERNAL_KEY_HEADER: system.env["INTERNAL_API_KEY"]})
        assert resp.status == 200, resp.data[:300]
        page = resp.json()
        if not page["items"]:
            return items
        items, after = items + page["items"], str(page["next_after"])


def relayed_outcome_ids(system: ReplicatedSystem, tenant: str) -> list[int]:
    """The outcome ids the notifications database recorded for the tenant (its dedupe table)."""
    database = connect_url(system.processes["notifications"].env["DATABASE_URL"])
    try:
        cursor = database.execute_sql(
            f"SELECT outcome_id FROM outcomes_seen WHERE tenant = {database.param}", (tenant,))
        return [row[0] for row in cursor.fetchall()]
    finally:
        database.close()


def counts_by_kind(tenant: Tenant) -> Counter[str]:
    items = tenant.admin("notifications", 1, "/notifications", per_page="100")["items"]
    return Counter({kind: sum(n["count"] for n in items if n["kind"] == kind) for kind in {n["kind"] for n in items}})


def test_both_notifications_replicas_relay_every_outcome_exactly_once(
        replicated: ReplicatedSystem, webhook: WebhookReceiver) -> None:
    """R-NOT-4 with four relays (two replicas of two workers each) reading the same outbox every 0.2 s: each
    outcome is recorded once (none missing, none doubled), so each notification counts exactly its
    outcomes, and each notification reaches the tenant's webhook as raised exactly once."""
    tenant = Tenant(replicated, "replica-relay")
    put = replicated.request("PUT", f"{replicated.url('notifications')}/admin/v1/tenants/{tenant.name}/webhook",
                             json_body={"url": webhook.url}, token=replicated.admin_key)
    assert put.status == 200, put.data
    provisioning_burst(tenant)
    # Each notifications replica reads the outbox through its own directory replica: both logs show it.
    assert wait_until(lambda: served(replicated, "directory", f"/internal/v1/tenants/{tenant.name}/sync-outcomes")
                      == [True, True], WAIT_SECONDS)
    outcomes = outbox(replicated, tenant.name)
    assert len(outcomes) == 41  # one per write, the setup create included
    ids = sorted(o["id"] for o in outcomes)
    assert wait_until(lambda: sorted(relayed_outcome_ids(replicated, tenant.name)) == ids, WAIT_SECONDS)
    expected = Counter({"all_not_synchronized": sum(o["status"] == "refused" for o in outcomes),
                        "some_not_synchronized": sum(o["status"] == "partial" for o in outcomes)})
    assert expected == Counter(all_not_synchronized=20, some_not_synchronized=10)
    assert wait_until(lambda: counts_by_kind(tenant) == expected, WAIT_SECONDS), counts_by_kind(tenant)
    notifications = tenant.admin("notifications", 0, "/notifications", per_page="100")["items"]
    raised_once = sorted(n["id"] for n in notifications)
    assert wait_until(lambda: sorted(i for e, i in webhook.events if e == "raised") == raised_once,
                      WAIT_SECONDS), webhook.events
    # Read again after the webhooks settled: a late second relay of a page would show up by now.
    assert sorted(relayed_outcome_ids(replicated, tenant.name)) == ids
    assert counts_by_kind(tenant) == expected
    assert set(Counter(webhook.events).values()) == {1}, webhook.events  # no event sent twice
