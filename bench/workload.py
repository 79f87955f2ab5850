"""The Entra-shaped client: the same requests, bodies and concurrency for every target.

urllib3 with keep-alive (one pool, one connection per client thread), threads for concurrency. Every
phase is bounded in count and, where it runs for a duration, in time; each request has a timeout.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3

DATA = Path(__file__).resolve().parents[1] / "services" / "scim-api" / "tests" / "data"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEMBER_BATCH = 10  # members per Add PATCH
REQUEST_TIMEOUT = urllib3.Timeout(connect=5.0, read=60.0)


@functools.cache
def _entra_file(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def entra_body(name: str) -> dict[str, Any]:
    """A fresh copy of an exact Entra body, read from disk once (not in the client's timed loop)."""
    return copy.deepcopy(_entra_file(name))


def user_body(user_name: str, external_id: str, n: int) -> dict[str, Any]:
    """What Entra POSTs with every default mapping of "Provision Entra ID Users" (manager left out:
    it needs an existing id), from Entra's bodies in services/scim-api/tests/data
    (tut-create-user, ref-user-enterprise)."""
    body = entra_body("tut-create-user.json")
    ref = entra_body("ref-user-enterprise.json")
    body.update(
        userName=user_name,
        externalId=external_id,
        displayName=f"Bench User {n}",
        title=ref["title"],
        preferredLanguage="en-US",
        addresses=[ref["addresses"][0]],
        phoneNumbers=ref["phoneNumbers"],
    )
    body["emails"][0]["value"] = user_name
    body["name"] = {"formatted": f"Bench User {n}", "familyName": f"User{n}", "givenName": "Bench"}
    body[ENTERPRISE] = {"employeeNumber": str(100000 + n), "department": "Engineering"}
    return body


def user_patch(n: int) -> dict[str, Any]:
    """tut-patch-user-multi-valued with the other attributes an Entra update cycle typically carries."""
    body = entra_body("tut-patch-user-multi-valued.json")
    body["Operations"][0]["value"] = f"updated{n}@bench.example"
    body["Operations"][1]["value"] = f"Updated{n}"
    body["Operations"] += [
        {"op": "Replace", "path": "title", "value": "Principal engineer"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
    ]
    return body


ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def group_body(name: str, entra_urn: bool = True) -> dict[str, Any]:
    """tut-create-group; `entra_urn=False` drops Entra's extra schema URN (for a server that refuses it)."""
    body = entra_body("tut-create-group.json")
    body.update(displayName=name, externalId=str(uuid.uuid4()))
    if not entra_urn:
        body["schemas"] = [s for s in body["schemas"] if s != ADSCIM_GROUP]
    return body


def add_members(ids: Iterable[str]) -> dict[str, Any]:
    body = entra_body("tut-patch-group-add-members.json")
    body["Operations"][0]["value"] = [{"$ref": None, "value": i} for i in ids]
    return body


def eq(attr: str, value: str) -> str:
    return f'{attr} eq "{value}"'


# --- the client ----------------------------------------------------------------------------------------


class Recorder:
    """Latencies per operation name, from every thread of a phase."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.first_error: dict[str, str] = {}
        self.lock = threading.Lock()

    def add(self, op: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.samples[op].append(seconds)
            if not ok:
                self.errors[op] += 1
                self.first_error.setdefault(op, detail)


class Target:
    """One SCIM endpoint (ours, the peer or the ceiling) and the token it takes."""

    def __init__(self, name: str, base_url: str, token: str, concurrency: int = 4) -> None:
        self.name = name
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        self.pool = urllib3.PoolManager(num_pools=2, maxsize=max(1, concurrency), block=True)

    def call(self, rec: Recorder, op: str, method: str, path: str, body: Any = None,
             params: dict[str, str] | None = None, expect: tuple[int, ...] = (200,), since: float | None = None
             ) -> Any:
        """One request; its latency counts from `since` (a perf_counter time it was due) when given."""
        url = self.base + path + ("?" + urlencode(params) if params else "")
        payload = json.dumps(body).encode() if body is not None else None
        start = time.perf_counter() if since is None else since
        try:
            resp = self.pool.request(method, url, body=payload, headers=self.headers, timeout=REQUEST_TIMEOUT,
                                     retries=False)
            status, data = resp.status, resp.data
        except urllib3.exceptions.HTTPError as exc:
            rec.add(op, time.perf_counter() - start, False, repr(exc)[:300])
            return None
        seconds = time.perf_counter() - start
        ok = status in expect
        rec.add(op, seconds, ok, f"{status} {data[:300]!r}")
        if not ok or not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None


# --- phases --------------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    concurrency: int
    seconds: float
    ops: dict[str, dict[str, float]] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    first_error: dict[str, str] = field(default_factory=dict)
    # The load generator's own CPU time over the machine's capacity in the phase: it shares the cores with the
    # servers it drives, so above a quarter the figures measure the client as much as the servers.
    client_cpu_share: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency, "seconds": round(self.seconds, 3), "requests": self.requests,
                "errors": self.errors, "rps": round(self.rps, 1), "ops": self.ops,
                "client_cpu_share": round(self.client_cpu_share, 3),
                **({"first_error": self.first_error} if self.first_error else {})}


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def summarise(name: str, concurrency: int, seconds: float, rec: Recorder) -> PhaseResult:
    result = PhaseResult(name, concurrency, seconds, first_error=dict(rec.first_error))
    for op, values in sorted(rec.samples.items()):
        values.sort()
        result.ops[op] = {"n": len(values), "errors": rec.errors.get(op, 0),
                          "p50_ms": round(percentile(values, 0.50) * 1000, 3),
                          "p99_ms": round(percentile(values, 0.99) * 1000, 3),
                          "mean_ms": round(sum(values) / len(values) * 1000, 3)}
        result.requests += len(values)
        result.errors += rec.errors.get(op, 0)
    return result


Task = Callable[[Target, Recorder], None]


def run_phase(name: str, target: Target, tasks: Iterator[Task] | Iterable[Task], concurrency: int,
              duration: float | None = None, max_tasks: int | None = None) -> PhaseResult:
    """Run tasks on `concurrency` threads until they run out, `max_tasks` ran, or `duration` passed."""
    rec = Recorder()
    it = iter(tasks)
    lock = threading.Lock()
    taken = [0]
    start = time.perf_counter()
    deadline = start + duration if duration else math.inf

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if max_tasks is not None and taken[0] >= max_tasks:
                    return
                try:
                    task = next(it)
                except StopIteration:
                    return
                taken[0] += 1
            task(target, rec)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    cpu_start = time.process_time()  # every thread of this process: the client alone, the servers run apart
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    result = summarise(name, concurrency, seconds, rec)
    result.client_cpu_share = (time.process_time() - cpu_start) / (seconds * (os.cpu_count() or 1)) if seconds else 0
    return result


# --- the Entra-shaped tasks ----------------------------------------------------------------------------


class Workload:
    """State shared by the phases of one target: the users and groups it created."""

    def __init__(self, prefix: str, entra_group_urn: bool = True) -> None:
        self.prefix = prefix
        self.entra_group_urn = entra_group_urn
        self.users: list[tuple[str, str, str]] = []  # (id, userName, externalId)
        self.groups: list[str] = []
        self.lock = threading.Lock()

    def create_user_task(self, n: int) -> Task:
        """Entra's create: filter by userName (finds nothing), then POST with every mapping."""
        user_name = f"{self.prefix}-u{n}@bench.example"
        external_id = str(uuid.uuid4())

        def task(t: Target, rec: Recorder) -> None:
            t.call(rec, "filter_username_miss", "GET", "/Users", params={"filter": eq("userName", user_name)})
            created = t.call(rec, "post_user", "POST", "/Users", user_body(user_name, external_id, n), expect=(201,))
            if created and "id" in created:
                with self.lock:
                    self.users.append((created["id"], user_name, external_id))

        return task

    def patch_user_task(self, index: int) -> Task:
        def task(t: Target, rec: Recorder) -> None:
            user_id = self.users[index % len(self.users)][0]
            t.call(rec, "patch_user", "PATCH", f"/Users/{user_id}", user_patch(index), expect=(200, 204))

        return task

    def create_group_task(self, n: int) -> Task:
        name = f"{self.prefix}-g{n}"

        def task(t: Target, rec: Recorder) -> None:
            t.call(rec, "filter_group_miss", "GET", "/Groups",
                   params={"excludedAttributes": "members", "filter": eq("displayName", name)})
            created = t.call(rec, "post_group", "POST", "/Groups", group_body(name, self.entra_group_urn),
                             expect=(201,))
            if created and "id" in created:
                with self.lock:
                    self.groups.append(created["id"])

        return task

    def add_members_task(self, group_index: int, batch: int) -> Task:
        """One Entra member batch: MEMBER_BATCH users, distinct per (group, batch)."""

        def task(t: Target, rec: Recorder) -> None:
            group_id = self.groups[group_index % len(self.groups)]
            first = batch * MEMBER_BATCH
            ids = [self.users[(first + k) % len(self.users)][0] for k in range(MEMBER_BATCH)]
            t.call(rec, "patch_group_add_members", "PATCH", f"/Groups/{group_id}", add_members(ids),
                   expect=(200, 204))

        return task

    # Read tasks pick the users round robin, so every lookup is a different row.
    def get_by_id_task(self, index: int) -> Task:
        def task(t: Target, rec: Recorder) -> None:
            t.call(rec, "get_user_by_id", "GET", f"/Users/{self.users[index % len(self.users)][0]}")

        return task

    def username_eq_task(self, index: int) -> Task:
        def task(t: Target, rec: Recorder) -> None:
            name = self.users[index % len(self.users)][1]
            t.call(rec, "filter_username_eq", "GET", "/Users", params={"filter": eq("userName", name)})

        return task

    def external_id_eq_task(self, index: int) -> Task:
        def task(t: Target, rec: Recorder) -> None:
            ext = self.users[index % len(self.users)][2]
            t.call(rec, "filter_externalid_eq", "GET", "/Users", params={"filter": eq("externalId", ext)})

        return task

    def list_page_task(self, index: int, page: int = 100, pages: int = 1) -> Task:
        def task(t: Target, rec: Recorder) -> None:
            start = 1 + (index % max(1, pages)) * page
            t.call(rec, "list_users_page", "GET", "/Users", params={"startIndex": str(start), "count": str(page)})

        return task

    def get_group_task(self, group_id: str, op: str = "get_group_excl_members") -> Task:
        def task(t: Target, rec: Recorder) -> None:
            t.call(rec, op, "GET", f"/Groups/{group_id}", params={"excludedAttributes": "members"})

        return task


def tasks(factory: Callable[[int], Task], start: int = 0) -> Iterator[Task]:
    n = start
    while True:
        yield factory(n)
        n += 1
