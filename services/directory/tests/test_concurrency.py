"""Concurrent writers: uniqueness holds through the unique indexes, membership adds never lose each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask

from directory.models import Group, Membership, User, db
from shared.http import INTERNAL_KEY_HEADER

from .conftest import TENANT, user_body


def in_parallel(app: Flask, key: str, calls: list[tuple[str, str, Any]]) -> list[int]:
    """Each call from its own thread with its own test client, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: tuple[str, str, Any]) -> int:
        method, path, body = call
        client = app.test_client()
        barrier.wait()
        try:
            resp = client.open(f"/internal/v1/tenants/{TENANT}{path}", method=method, json=body,
                               headers={INTERNAL_KEY_HEADER: key})
            return resp.status_code
        finally:
            if not db.is_closed():  # SQLite keeps one connection per thread: close this thread's
                db.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def cases(text: str, n: int) -> list[str]:
    """n spellings of `text` that differ only in case."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    out = []
    for k in range(n):
        chars = list(text)
        for bit, pos in enumerate(letters):
            if (k >> bit) & 1:
                chars[pos] = chars[pos].upper()
        out.append("".join(chars))
    return out


def test_50_concurrent_creates_of_one_user_name_in_different_cases_make_exactly_one_user(
        app: Flask, env: dict[str, str]) -> None:
    spellings = cases("ann.example@example.com", 50)
    assert len(set(spellings)) == 50
    statuses = in_parallel(app, env["INTERNAL_API_KEY"], [("POST", "/users", user_body(s)) for s in spellings])
    assert statuses.count(201) == 1 and statuses.count(409) == 49, statuses
    assert User.select().count() == 1


def test_50_concurrent_creates_of_one_group_name_in_different_cases_make_exactly_one_group_R_DIR_9(
        app: Flask, env: dict[str, str]) -> None:
    spellings = cases("sales emea team", 50)
    statuses = in_parallel(app, env["INTERNAL_API_KEY"],
                           [("POST", "/groups", {"displayName": s}) for s in spellings])
    assert statuses.count(201) == 1 and statuses.count(409) == 49, statuses
    # One provisioned group, and the tenant's built-in "All Users" its first write created, once.
    assert sorted(g.source for g in Group.select()) == ["builtin", "scim"]


def test_8_concurrent_member_adds_keep_the_union_and_count_every_version(
        app: Flask, env: dict[str, str], make_user: Callable[..., dict], make_group: Callable[..., dict]) -> None:
    shared_member = make_user("everyone@example.com")["id"]
    batches = [[make_user(f"u{t}-{i}@example.com")["id"] for i in range(5)] for t in range(8)]
    group = make_group("Sales")
    calls = [("PATCH", f"/groups/{group['id']}", {"addMembers": [*batch, shared_member]}) for batch in batches]
    statuses = in_parallel(app, env["INTERNAL_API_KEY"], calls)
    assert statuses == [200] * 8
    stored = {m for (m,) in Membership.select(Membership.member).where(Membership.group == group["id"]).tuples()}
    assert stored == {shared_member, *(uid for batch in batches for uid in batch)}
    # Every PATCH added members, so each bumped the version once: version = version + 1 in SQL.
    assert Group.get_by_id(group["id"]).version == 1 + 8


def test_concurrent_adds_and_removes_of_different_members_never_undo_each_other(
        app: Flask, env: dict[str, str], make_user: Callable[..., dict], make_group: Callable[..., dict]) -> None:
    keep = [make_user(f"keep{i}@example.com")["id"] for i in range(4)]
    leave = [make_user(f"leave{i}@example.com")["id"] for i in range(4)]
    join = [make_user(f"join{i}@example.com")["id"] for i in range(4)]
    group = make_group("Sales", keep + leave)
    path = f"/groups/{group['id']}"
    calls = [("PATCH", path, {"removeMembers": [uid]}) for uid in leave] + \
            [("PATCH", path, {"addMembers": [uid]}) for uid in join]
    assert in_parallel(app, env["INTERNAL_API_KEY"], calls) == [200] * 8
    stored = {m for (m,) in Membership.select(Membership.member).where(Membership.group == group["id"]).tuples()}
    assert stored == set(keep + join)
