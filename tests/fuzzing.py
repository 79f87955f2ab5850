"""What both fuzz files share: a time limit on each answer, and the run's count of generated requests."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def answered_within(seconds: float) -> Iterator[None]:
    """Turn a request that never returns into a test failure instead of a CI run that never ends."""

    def hung(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


TALLY = "fuzz_requests"  # the user property each fuzz test records its count in
FUZZ_FILES = ("test_fuzz_scim.py", "test_fuzz_admin.py")
TOTAL_PER_RUN = 10_000


def assert_total(request: pytest.FixtureRequest, own_minimum: int) -> None:
    """Every test of the fuzz files records its count. All of them have: the whole run's count; some have yet
    to run (the other file comes later): this file's count, and the other file's last test checks the whole."""
    items = [i for i in request.session.items if i.path.name in FUZZ_FILES and i.name != request.node.name]
    counts = {i.nodeid: [v for k, v in i.user_properties if k == TALLY] for i in items}
    mine = sum(sum(v) for nodeid, v in counts.items() if request.node.path.name in nodeid)
    if all(counts.values()):
        both = {i.path.name for i in items} == set(FUZZ_FILES)
        assert sum(sum(v) for v in counts.values()) >= (TOTAL_PER_RUN if both else own_minimum), counts
    else:
        assert mine >= own_minimum, counts
