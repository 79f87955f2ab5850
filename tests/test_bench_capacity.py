"""The capacity phase's search and schedule, against fakes: what it reports follows from what it measured."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import capacity  # noqa: E402
from bench.workload import Recorder, Workload  # noqa: E402


@pytest.mark.parametrize("limit", [8, 48, 64])
@pytest.mark.parametrize("true_capacity", [0, 1, 2, 3, 5, 11, 40, 64, 100])
def test_the_search_finds_the_largest_held_within_an_eighth_and_never_reports_an_untried_n(
        true_capacity: int, limit: int) -> None:
    tried: list[int] = []

    def held(n: int) -> bool:
        tried.append(n)
        return n <= true_capacity

    low, high = capacity.largest(held, limit)

    expected = min(true_capacity, limit)
    assert low <= expected and expected - low <= max(0, low // 8)
    assert low == 0 or low in tried  # what it reports as held was run and held
    assert max(tried) <= limit
    if true_capacity >= limit:
        assert (low, high) == (limit, None)
    else:
        assert high in tried and high > true_capacity  # the first N not held was run and failed


def test_a_step_is_held_only_without_errors_and_with_the_p99_under_a_second() -> None:
    def step(errors: int, p99: float, requests: int = 100) -> capacity.Step:
        return capacity.Step(4, requests, errors, 5.0, p99, 100.0, 0.1)

    assert step(0, 999.0).held
    assert not step(1, 10.0).held
    assert not step(0, 1001.0).held
    assert not step(0, 0.0, requests=0).held


class FakeTarget:
    """Answers each call after `delay` seconds, recording the latency the way Target.call does."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def call(self, rec: Recorder, op: str, method: str, path: str, body: Any = None, params: Any = None,
             expect: tuple[int, ...] = (200,), since: float | None = None) -> Any:
        time.sleep(self.delay)
        with self.lock:
            self.calls.append((op, method))
        rec.add(op, time.perf_counter() - (since if since is not None else time.perf_counter()), True)
        return {"id": f"id{len(self.calls)}"} if method == "POST" else None


def test_each_tenant_sends_entras_cycle_at_its_pace_and_a_later_step_creates_new_users() -> None:
    target = FakeTarget(0.0)
    tenant = capacity.Tenant(target, Workload("t"))  # type: ignore[arg-type]

    first = capacity.run_step([tenant], 0.4)
    second = capacity.run_step([tenant], 0.4)

    per_step = round(0.4 * capacity.RATE)  # due times 0, 40 ms, … before the end of the hold
    assert first.requests == second.requests == per_step
    ops = [op for op, _ in target.calls]
    assert ops[:6] == ["filter_username_miss", "post_user", "patch_user"] * 2
    names = [name for _, name, _ in tenant.work.users]
    assert len(names) == len(set(names)) == ops.count("post_user")  # the second step did not reuse a userName


def test_a_server_slower_than_the_pace_shows_in_the_p99_because_latency_counts_from_the_due_time() -> None:
    slow = FakeTarget(0.1)  # 100 ms per request against a request due every 40 ms

    step = capacity.run_step([capacity.Tenant(slow, Workload("s"))], 0.4)  # type: ignore[arg-type]

    # Each request waits for the ones before it: the last of the ten due waits far more than its own 100 ms.
    assert step.requests == round(0.4 * capacity.RATE)
    assert step.p99_ms >= 500.0
