"""kill -9 of the directory in the middle of an Entra provisioning run.

Entra re-sends whatever failed (docs/entra-behaviour.md, Retries and quarantine): it filters for the userName again
and POSTs only if nothing matched, and it repeats a member PATCH. So a directory that dies with writes in
flight must leave each of them whole or absent, never half-written: after the restart every user exists
once, every group has exactly its members, and the audit log and the outbox of sync outcomes hold exactly
one creation per user and one membership event per member. While it is down the SCIM API answers 503 with
Retry-After and a SCIM error, never a 500. This test kills a service, so it runs on a System of its own.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import urllib3

from shared.http import INTERNAL_KEY_HEADER
from shared.testing import GunicornProcess, System, wait_until

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "services" / "scim-api" / "tests" / "data"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USERS, GROUPS, CLIENTS, BATCH = 2_000, 20, 4, 10
KILL_AT = 700  # users provisioned before the kill: well inside the run, with every client busy
RUN_DEADLINE_S = 300.0  # bounds every loop; a healthy run needs a fraction of it
RETRY_PAUSE_S = 0.1  # Entra retries in a later cycle; here that cycle comes at once
QUICK = signal.SIGQUIT
T = TypeVar("T")


@pytest.fixture(scope="module")
def crashable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # The relay is off: the outbox is read here, and notifications play no part in the run.
    running = System(Path(tmp_path_factory.mktemp("crash")), RELAY_SECONDS="0")
    needed = [running.processes[name] for name in ("token-service", "directory", "scim-api")]
    try:
        with ThreadPoolExecutor(len(needed)) as pool:
            list(pool.map(lambda proc: proc.start(), needed))
        yield running
    finally:
        for proc in needed:
            proc.stop(QUICK)


def body(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((DATA / name).read_text()))


def user_name(i: int) -> str:
    return f"user{i:04d}@contoso.com"


def group_of_chunk(chunk: int) -> int:
    # Neighbouring chunks belong to different clients: every group gets member PATCHes from all of them.
    return (chunk // CLIENTS) % GROUPS


@dataclass
class Run:
    """What the clients share: progress, the 503s seen, and a stop signal should the test fail."""

    deadline: float = field(default_factory=lambda: time.monotonic() + RUN_DEADLINE_S)
    provisioned: int = 0
    unavailable: int = 0
    abort: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)


class Entra:
    """One provisioning client over one keep-alive connection; retries what answered 503, as Entra does."""

    def __init__(self, base: str, token: str, run: Run) -> None:
        self.base, self.token, self.run = base, token, run
        self.http = urllib3.PoolManager(maxsize=1)

    def call(self, method: str, path: str, doc: Any = None, **fields: str) -> urllib3.BaseHTTPResponse:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if doc is not None:
            headers["Content-Type"] = "application/scim+json"
            data = json.dumps(doc).encode()
        resp = self.http.request(method, self.base + path, body=data, fields=fields or None, headers=headers,
                                 timeout=30.0, retries=False)
        assert resp.status != 500, (method, path, resp.data[:500])
        assert resp.headers["Content-Type"].startswith("application/scim+json"), (method, path, resp.status)
        if resp.status == 503:
            assert_retry_later(resp, f"{method} {path}")
            self.run.count("unavailable")
        return resp

    def until_done(self, step: Callable[[], T | None], what: str) -> T:
        """Repeat an Entra step until it gets through; None from `step` means it met a 503."""
        while time.monotonic() < self.run.deadline and not self.run.abort.is_set():
            result = step()
            if result is not None:
                return result
            time.sleep(RETRY_PAUSE_S)
        raise AssertionError(f"{what} never got through")

    def find(self, resource: str, filter_: str) -> list[dict[str, Any]] | None:
        fields = {"filter": filter_}
        if resource == "Groups":
            fields["excludedAttributes"] = "members"
        resp = self.call("GET", f"/{resource}", **fields)
        if resp.status == 503:
            return None
        assert resp.status == 200, resp.data[:500]
        return resp.json().get("Resources", [])

    def create(self, resource: str, filter_: str, doc: dict[str, Any]) -> str:
        """Filter, then POST if nothing matched; after a 503, all of it again."""

        def step() -> str | None:
            found = self.find(resource, filter_)
            if found is None:
                return None
            if found:
                assert len(found) == 1, found
                return found[0]["id"]
            resp = self.call("POST", f"/{resource}", doc)
            if resp.status == 503:
                return None
            assert resp.status == 201, (filter_, resp.status, resp.data[:500])
            return resp.json()["id"]

        return self.until_done(step, f"create {filter_}")

    def create_user(self, i: int) -> str:
        doc = body("tut-create-user.json")
        doc.update(userName=user_name(i), externalId=f"ext-{i:04d}")
        doc["emails"][0]["value"] = user_name(i)
        return self.create("Users", f'userName eq "{user_name(i)}"', doc)

    def create_group(self, g: int) -> str:
        doc = {**body("tut-create-group.json"), "displayName": f"Group {g:02d}", "externalId": f"grp-{g:02d}"}
        return self.create("Groups", f'displayName eq "Group {g:02d}"', doc)

    def add_members(self, group_id: str, member_ids: list[str]) -> None:
        patch = body("tut-patch-group-add-members.json")
        patch["Operations"][0]["value"] = [{"$ref": None, "value": i} for i in member_ids]

        def step() -> bool | None:
            resp = self.call("PATCH", f"/Groups/{group_id}", patch)
            if resp.status == 503:
                return None
            assert resp.status == 200, resp.data[:500]
            return True

        self.until_done(step, f"member PATCH of {group_id}")


def assert_retry_later(resp: urllib3.BaseHTTPResponse, what: str) -> None:
    assert int(resp.headers["Retry-After"]) > 0, what
    doc = resp.json()
    assert doc["schemas"] == [ERROR] and doc["status"] == "503" and doc["detail"], (what, doc)


@dataclass
class Intended:
    """What the run means to leave behind: ids as the SCIM API gave them, members as Entra sent them."""

    group_ids: list[str]
    user_ids: dict[int, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)


def provision(entra: Entra, client: int, intended: Intended) -> None:
    """One client's share of the run: its chunks of users, each chunk then added to its group."""
    for chunk in range(client, USERS // BATCH, CLIENTS):
        ids = {}
        for i in range(chunk * BATCH, (chunk + 1) * BATCH):
            ids[i] = entra.create_user(i)
            entra.run.count("provisioned")
        group_id = intended.group_ids[group_of_chunk(chunk)]
        entra.add_members(group_id, list(ids.values()))
        with entra.run.lock:
            intended.user_ids.update(ids)
            intended.members.setdefault(group_id, set()).update(ids.values())


def process_tree(master: int) -> list[int]:
    """The master's children (its workers), read from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            children.append(int(entry))
    return children


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def kill_hard(proc: GunicornProcess) -> None:
    """SIGKILL the master and every worker: nothing shuts down cleanly, nothing is finished."""
    assert proc.proc is not None
    master = proc.proc.pid
    os.kill(master, signal.SIGSTOP)  # a frozen master cannot replace the workers killed under it
    workers: list[int] = []
    try:
        workers = process_tree(master)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    finally:
        os.kill(master, signal.SIGKILL)
    proc.proc.wait(10)
    assert workers, "gunicorn had no workers"
    assert wait_until(lambda: all(gone(pid) for pid in workers), 10), workers


def crash_and_restart(directory: GunicornProcess, run: Run) -> int:
    """Kill the directory mid-run, let every client meet it down, restart it; returns the 503s seen."""
    assert wait_until(lambda: run.provisioned >= KILL_AT, RUN_DEADLINE_S), run.provisioned
    assert run.provisioned < USERS - USERS // 4, "the run ended before the kill: it is no longer mid-run"
    kill_hard(directory)
    before = run.unavailable
    # In-flight calls fail first; then calls meet a directory that is not there at all.
    assert wait_until(lambda: run.unavailable >= before + 2 * CLIENTS, 20), "the clients met no 503"
    seen = run.unavailable - before
    directory.start()
    return seen


class Internal:
    """The directory's internal API (docs/internal-api.md), as the scim-api calls it."""

    def __init__(self, system: System, tenant: str) -> None:
        self.base = f"{system.url('directory')}/internal/v1/tenants/{tenant}"
        self.headers = {INTERNAL_KEY_HEADER: system.env["INTERNAL_API_KEY"]}
        self.http = urllib3.PoolManager()

    def get(self, path: str, **fields: str) -> Any:
        resp = self.http.request("GET", self.base + path, fields=fields, headers=self.headers, timeout=30.0)
        assert resp.status == 200, resp.data[:500]
        return resp.json()

    def audit(self, kind: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        page = self.get("/audit", kind=kind, limit="200")
        for _ in range(USERS):  # bounded: a page holds at least one event
            events += page["items"]
            if page["next_before"] is None:
                return events
            page = self.get("/audit", kind=kind, limit="200", before=str(page["next_before"]))
        raise AssertionError("the audit log never ended")

    def outcomes(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after = 0
        for _ in range(USERS):
            page = self.get("/sync-outcomes", after=str(after), limit="500")
            if not page["items"]:
                return items
            items += page["items"]
            after = page["next_after"]
        raise AssertionError("the outbox never ended")


def scim_users(entra: Entra) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    for start in range(1, USERS + 2, 200):
        page = entra.call("GET", "/Users", startIndex=str(start), count="200", attributes="userName").json()
        assert page["totalResults"] == USERS, page["totalResults"]
        users += page.get("Resources", [])
    return users


def assert_exactly_once(counted: Counter[str], expected: set[str], what: str) -> None:
    assert set(counted) == expected, (what, len(set(counted) - expected), len(expected - set(counted)))
    doubled = {key: n for key, n in counted.items() if n != 1}
    assert not doubled, (what, doubled)


def run_with_a_crash(system: System, entra: Entra, run: Run) -> tuple[Intended, int]:
    intended = Intended([entra.create_group(g) for g in range(GROUPS)])
    clients = [Entra(entra.base, entra.token, run) for _ in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(provision, client, k, intended) for k, client in enumerate(clients)]
        try:
            seen = crash_and_restart(system.processes["directory"], run)
            for future in futures:
                future.result(timeout=RUN_DEADLINE_S)
        finally:
            run.abort.set()  # on failure the clients stop at their next retry instead of at the deadline
    return intended, seen


def assert_each_user_once_and_groups_exact(entra: Entra, intended: Intended) -> None:
    users = scim_users(entra)
    assert sorted(u["userName"] for u in users) == [user_name(i) for i in range(USERS)]
    assert {u["id"] for u in users} == set(intended.user_ids.values())
    assert set(intended.members) == set(intended.group_ids)
    assert sum(len(m) for m in intended.members.values()) == USERS
    for group_id, expected in intended.members.items():
        group = entra.call("GET", f"/Groups/{group_id}").json()
        assert {m["value"] for m in group.get("members", [])} == expected, group["displayName"]


def assert_logged_once(internal: Internal, intended: Intended) -> None:
    """R-DIR-13, R-NOT-4: one creation per user and group, one event per member added, in the audit log and
    the outbox alike; a repeated member PATCH adds no event, and no retried write was refused."""
    user_ids, group_ids = set(intended.user_ids.values()), set(intended.group_ids)
    for kind, expected in (("user.created", user_ids), ("group.created", group_ids)):
        assert_exactly_once(Counter(e["subjectId"] for e in internal.audit(kind)), expected, kind)
    added = Counter(f"{e['subjectId']}/{e['memberId']}" for e in internal.audit("membership.added"))
    assert_exactly_once(added, {f"{g}/{u}" for g, ids in intended.members.items() for u in ids}, "membership.added")
    outcomes = internal.outcomes()
    assert not [o for o in outcomes if o["status"] == "refused"], "a retried write was refused"
    for operation, expected in (("POST /Users", user_ids), ("POST /Groups", group_ids)):
        assert_exactly_once(Counter(o["subjectId"] for o in outcomes if o["operation"] == operation), expected,
                            f"{operation} outcomes")


def test_kill_9_of_the_directory_mid_run_loses_and_doubles_nothing(crashable: System) -> None:
    tenant = f"crash-{uuid.uuid4().hex[:8]}"
    assert crashable.admin("POST", "/admin/v1/tenants", {"id": tenant}).status == 201
    issued = crashable.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
    run = Run()
    entra = Entra(issued["scim_url"], issued["token"], run)
    intended, seen = run_with_a_crash(crashable, entra, run)
    assert seen >= 2 * CLIENTS
    assert_each_user_once_and_groups_exact(entra, intended)
    assert_logged_once(Internal(crashable, tenant), intended)
