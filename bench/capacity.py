"""Multi-tenant capacity: how many tenants, each provisioned at Entra's pace, one server keeps up with.

Entra sends a gallery app's provisioning job at most about 25 requests a second. A step runs N tenants
at once for `hold` seconds, each on its own connection and thread at that pace, in Entra's create-and-
update mix: a userName filter that finds nothing, the POST that follows it, then a PATCH of a user the
tenant created. The schedule is open: each request is due at a fixed time, and its latency counts from
that time, so a server that falls behind shows it in the p99 instead of slowing the client down (no
coordinated omission); requests still due when the step ends count with the wait they had.

A step is held when no request failed and the p99 stayed under one second. N doubles until a step is not
held, then the bisection between the last held and the first failed N finds the largest N held.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .workload import Recorder, Target, Workload, eq, percentile, user_body, user_patch

RATE = 25.0  # requests per second per tenant
P99_LIMIT_MS = 1000.0
GRACE = 1.0  # seconds after the hold for requests in flight; past it, what is still due counts as waited


@dataclass
class Step:
    tenants: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rps: float
    client_cpu_share: float
    first_error: dict[str, str] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return self.errors == 0 and self.requests > 0 and self.p99_ms <= P99_LIMIT_MS

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "first_error" or v}, "held": self.held}


class Tenant:
    """One tenant's client; its users are numbered across steps, so that a later step creates new ones."""

    def __init__(self, target: Target, work: Workload) -> None:
        self.target, self.work = target, work
        self.sent = 0  # slots of the create-and-update cycle sent so far, over every step


def _tenant(tenant: Tenant, start: float, deadline: float, rec: Recorder) -> None:
    """One tenant's paced stream; `start` is staggered per tenant so that N tenants do not send in bursts."""
    target, work, first = tenant.target, tenant.work, -(-tenant.sent // 3) * 3  # a whole cycle, from its GET
    k = 0
    while True:
        due = start + k / RATE
        if due >= deadline:
            return
        now = time.perf_counter()
        if now > deadline + GRACE:  # hopelessly behind: what is still due waited at least this long
            for j in range(k, math.ceil((deadline - start) * RATE)):
                rec.add("fell_behind", now - (start + j / RATE), True)
            return
        if due > now:
            time.sleep(due - now)
        tenant.sent = first + k + 1
        n, slot = divmod(first + k, 3)
        user_name, external_id = f"{work.prefix}-u{n}@bench.example", f"{work.prefix}-x{n}"
        if slot == 0:
            target.call(rec, "filter_username_miss", "GET", "/Users", params={"filter": eq("userName", user_name)},
                        since=due)
        elif slot == 1:
            created = target.call(rec, "post_user", "POST", "/Users", user_body(user_name, external_id, n),
                                  expect=(201,), since=due)
            if created and "id" in created:
                work.users.append((created["id"], user_name, external_id))
        elif work.users:
            target.call(rec, "patch_user", "PATCH", f"/Users/{work.users[-1][0]}", user_patch(n),
                        expect=(200, 204), since=due)
        k += 1


def run_step(tenants: list[Tenant], hold: float) -> Step:
    rec = Recorder()
    begin = time.perf_counter() + 0.05
    deadline = begin + hold
    spread = 1 / (RATE * len(tenants))
    threads = [threading.Thread(target=_tenant, args=(t, begin + i * spread, deadline, rec), daemon=True)
               for i, t in enumerate(tenants)]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - begin
    values = sorted(v for samples in rec.samples.values() for v in samples)
    client_cpu = (time.process_time() - cpu) / (seconds * (os.cpu_count() or 1))
    return Step(len(tenants), len(values), sum(rec.errors.values()),
                round(percentile(values, 0.50) * 1000, 2), round(percentile(values, 0.99) * 1000, 2),
                round(len(values) / seconds, 1), round(client_cpu, 3), dict(rec.first_error))


def largest(held: Callable[[int], bool], limit: int) -> tuple[int, int | None]:
    """(largest n held, smallest n found not held or None): doubling from 1 up to `limit`, then bisection
    to within an eighth of the answer. Assumes that past the capacity no larger n is held."""
    low, n = 0, 1
    while n <= limit and held(n):
        low = n
        n = limit + 1 if n == limit else min(n * 2, limit)
    high = n if n <= limit else None
    while high is not None and high - low > max(1, low // 8):
        mid = (low + high) // 2
        if held(mid):
            low = mid
        else:
            high = mid
    return low, high


def find_capacity(tenant: Callable[[int], tuple[Target, Workload]], hold: float, max_tenants: int,
                  log: Callable[[Step], None]) -> dict[str, Any]:
    """The largest N (≤ max_tenants) held for `hold` seconds; `tenant(i)` makes the i-th tenant's client."""
    made: list[Tenant] = []
    steps: list[Step] = []

    def held(n: int) -> bool:
        while len(made) < n:
            made.append(Tenant(*tenant(len(made))))
        step = run_step(made[:n], hold)
        steps.append(step)
        log(step)
        return step.held

    low, high = largest(held, max_tenants)
    return {"largest_held": low, "first_not_held": high, "hold_seconds": hold, "rate_per_tenant": RATE,
            "p99_limit_ms": P99_LIMIT_MS, "steps": [s.as_dict() for s in steps]}
