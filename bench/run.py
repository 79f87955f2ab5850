"""`python -m bench.run [--scale ci|small|full] [--engine sqlite|postgresql] [--levels N,N] [--out FILE] [--skip-…]`

Starts our four services under gunicorn (shared.testing.System: the launcher's command, fresh
databases), the ceiling (bench.ceiling) and the peer (bench.peer, scim2-server from PyPI), drives all
three with the same Entra-shaped workload (bench.workload), finds how many tenants at Entra's pace ours
and the peer keep up with (bench.capacity), then seeds the directory directly
(bench.seed) to each scale level and measures the same lookups single-client. Prints a progress line
per phase, a table, and writes every figure to a JSON file. Every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.launcher import ROOT
from shared.testing import TEST_DATABASE_ENV, System

from . import capacity, seed
from .procs import RssMonitor, Server
from .workload import MEMBER_BATCH, PhaseResult, Target, Workload, eq, run_phase, tasks

TENANT = "bench"
WARM_UP = 50  # unrecorded requests of each read before its measured phase at each scale level
PEER_TOKEN = "bench-peer-token"
READ_OPS = ("get_by_id", "username_eq", "externalid_eq", "list_page")
OP_NAMES = {"get_by_id": "get_user_by_id", "username_eq": "filter_username_eq",
            "externalid_eq": "filter_externalid_eq", "list_page": "list_users_page"}
WRITE_PHASES = ("users_create", "users_patch", "groups_create", "groups_add_members")


@dataclass(frozen=True)
class Scale:
    users: int  # created through SCIM per target (filter-then-POST)
    groups: int
    member_batches: int  # Add PATCHes of MEMBER_BATCH members, spread over the groups
    duration: float  # seconds of each 4-client read phase
    latency_count: int  # requests of each single-client phase
    levels: tuple[int, ...]  # seeded users of each scale phase
    big_group: int  # members of the big group
    small_group: int
    scale_count: int  # requests per operation in each scale phase
    capacity_hold: float  # seconds each multi-tenant capacity step runs
    capacity_max: int  # tenants at most in a capacity step
    concurrency: int = 4


SCALES = {
    # CI's smoke run (tests/test_bench_smoke.py): every phase, a few seconds; its figures mean nothing.
    "ci": Scale(users=20, groups=2, member_batches=2, duration=0.2, latency_count=10, levels=(150, 300),
                big_group=100, small_group=10, scale_count=8,
                capacity_hold=0.5, capacity_max=2),
    "small": Scale(users=200, groups=4, member_batches=8, duration=0.5, latency_count=50, levels=(1_000, 2_000),
                   big_group=1_000, small_group=10, scale_count=30,
                   capacity_hold=3.0, capacity_max=8),
    "full": Scale(users=2_000, groups=200, member_batches=200, duration=10.0, latency_count=1_000,
                  levels=(10_000, 100_000, 1_000_000), big_group=100_000, small_group=10, scale_count=1_000,
                  capacity_hold=30.0, capacity_max=64),
}


CLIENT_CPU_LIMIT = 0.25  # a quarter of the machine
# The Entra workload's ours / peer target by engine: a durable store on PostgreSQL pays a network round trip per
# statement that the in-memory peer never does, so there it is asked to be level, on SQLite ahead.
ENTRA_TARGET = {"sqlite": 1.2, "postgresql": 1.0}


def log(message: str) -> None:
    print(f"[bench {dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def phase_line(target: str, result: PhaseResult) -> None:
    ops = ", ".join(f"{op} p50 {o['p50_ms']:.2f} p99 {o['p99_ms']:.2f} ms" for op, o in result.ops.items())
    errors = f", {result.errors} ERRORS {result.first_error}" if result.errors else ""
    log(f"{target:8} {result.name:28} c={result.concurrency} {result.requests:6} req {result.seconds:6.2f}s "
        f"{result.rps:8.1f} req/s, client CPU {result.client_cpu_share:.0%} of the machine ({ops}){errors}")


# --- the comparison: the same workload against ours, the peer and the ceiling ------------------------------


def compare(targets: dict[str, Target], scale: Scale) -> dict[str, dict[str, Any]]:
    """Entra-shaped writes with 4 clients, then each read at 4 clients (throughput) and 1 (latency).
    Phase by phase, each phase run against every target in turn, so that whatever else the machine does
    weighs on the three alike."""
    # scim2-server refuses Entra's extra group schema URN (400 invalidSyntax "Unknown extension
    # schemas"): the peer gets the group body without it, and the results say so.
    works = {name: Workload(f"{name}-{os.getpid()}", entra_group_urn=name != "peer") for name in targets}
    c = scale.concurrency
    out: dict[str, dict[str, Any]] = {name: {} for name in targets}

    def each(phase: str, make: Any, concurrency: int, **bounds: Any) -> None:
        for name, target in targets.items():
            result = run_phase(phase, target, make(works[name]), concurrency, **bounds)
            phase_line(name, result)
            out[name][phase] = {**result.as_dict(), "loadavg_1m": round(os.getloadavg()[0], 2)}

    def need(phase: str, attr: str) -> None:
        for name in targets:
            if not getattr(works[name], attr):
                raise RuntimeError(f"{name}: nothing created in {phase}: {out[name][phase].get('first_error')}")

    each("users_create", lambda w: (w.create_user_task(n) for n in range(scale.users)), c)
    need("users_create", "users")
    each("users_patch", lambda w: (w.patch_user_task(i) for i in range(scale.users)), c)
    each("groups_create", lambda w: (w.create_group_task(n) for n in range(scale.groups)), c)
    need("groups_create", "groups")
    each("groups_add_members", lambda w: (w.add_members_task(b, b) for b in range(scale.member_batches)), c)
    for name in targets:
        requests = sum(out[name][p]["requests"] for p in WRITE_PHASES)
        seconds = sum(out[name][p]["seconds"] for p in WRITE_PHASES)
        cpu = sum(out[name][p]["client_cpu_share"] * out[name][p]["seconds"] for p in WRITE_PHASES) / seconds
        out[name]["entra"] = {"requests": requests, "seconds": round(seconds, 3),
                              "rps": round(requests / seconds, 1), "client_cpu_share": round(cpu, 3),
                              "errors": sum(out[name][p]["errors"] for p in WRITE_PHASES)}
        log(f"{name:8} {'entra (all writes above)':28} c={c} {requests:6} req {seconds:6.2f}s "
            f"{requests / seconds:8.1f} req/s")
    factories = {"get_by_id": lambda w: w.get_by_id_task, "username_eq": lambda w: w.username_eq_task,
                 "externalid_eq": lambda w: w.external_id_eq_task,
                 "list_page": lambda w: lambda i: w.list_page_task(i, 100, max(1, len(w.users) // 100))}
    cap = int(scale.duration * 20_000)
    for op in READ_OPS:
        each(f"{op}_c{c}", lambda w, op=op: tasks(factories[op](w)), c, duration=scale.duration, max_tasks=cap)
        each(f"{op}_c1", lambda w, op=op: tasks(factories[op](w), 7), 1, max_tasks=scale.latency_count,
             duration=max(30.0, scale.duration * 3))
    return out


# --- multi-tenant capacity: ours with a tenant and token each, the peer with a userName prefix each ---------


def capacities(system: System, peer_url: str, scale: Scale) -> dict[str, Any]:
    def ours(i: int) -> tuple[Target, Workload]:
        tenant = f"cap{i}"
        assert system.admin("POST", "/admin/v1/tenants", {"id": tenant}).status in (201, 409)
        issued = system.admin("POST", f"/admin/v1/tenants/{tenant}/tokens", {}).json()
        return Target(f"ours/{tenant}", issued["scim_url"], issued["token"], 1), Workload(f"{tenant}-{os.getpid()}")

    def peer(i: int) -> tuple[Target, Workload]:
        return Target(f"peer/cap{i}", peer_url, PEER_TOKEN, 1), Workload(f"cap{i}-{os.getpid()}")

    out: dict[str, Any] = {}
    for name, make in (("ours", ours), ("peer", peer)):
        def line(step: capacity.Step, name: str = name) -> None:
            errors = f", {step.errors} ERRORS {step.first_error}" if step.errors else ""
            log(f"{name:8} {f'capacity {step.tenants} tenants':28} {step.requests:6} req {step.rps:8.1f} req/s "
                f"p50 {step.p50_ms:.1f} p99 {step.p99_ms:.1f} ms, client CPU {step.client_cpu_share:.0%}: "
                f"{'held' if step.held else 'NOT HELD'}{errors}")

        out[name] = capacity.find_capacity(make, scale.capacity_hold, scale.capacity_max, line)
        log(f"{name:8} capacity: {out[name]['largest_held']} tenants held for {scale.capacity_hold:g}s "
            f"at {capacity.RATE:g} req/s each")
    return out


# --- the scale phases: ours only, the directory seeded directly --------------------------------------------


class SeededTasks:
    """Lookups of random seeded users (a different row each time) and filter-then-POST of new ones."""

    def __init__(self, population: int, rng: random.Random) -> None:
        self.population = population
        self.rng = rng

    def pick(self) -> tuple[str, str, str]:
        return seed.seed_identity(TENANT, self.rng.randrange(self.population))

    def get_by_id(self, t: Target, rec: Any) -> None:
        t.call(rec, "get_user_by_id", "GET", f"/Users/{self.pick()[0]}")

    def username_eq(self, t: Target, rec: Any) -> None:
        t.call(rec, "filter_username_eq", "GET", "/Users", params={"filter": eq("userName", self.pick()[1])})

    def externalid_eq(self, t: Target, rec: Any) -> None:
        t.call(rec, "filter_externalid_eq", "GET", "/Users", params={"filter": eq("externalId", self.pick()[2])})

    def list_page(self, t: Target, rec: Any) -> None:
        t.call(rec, "list_users_page", "GET", "/Users", params={"startIndex": "1", "count": "100"})


def scale_phases(system: System, target: Target, scale: Scale, levels: tuple[int, ...], monitor: RssMonitor
                 ) -> dict[str, Any]:
    directory = seed.Directory(system.processes["directory"].env["DATABASE_URL"])
    out: dict[str, Any] = {"levels": {}, "seed_seconds": {}, "groups": {}}
    rng = random.Random(6)
    seeded = 0
    try:
        for level in levels:
            if level > seeded:
                log(f"seed     users {seeded:,} → {level:,} straight into the directory database")
                seconds = seed.seed_users(directory, TENANT, seeded, level)
                directory.analyze()
                out["seed_seconds"][f"users_{level}"] = round(seconds, 1)
                log(f"seed     {level - seeded:,} users in {seconds:.1f}s ({(level - seeded) / seconds:,.0f} rows/s)")
                seeded = level
            monitor.reset()
            picks = SeededTasks(seeded, rng)
            work = Workload(f"scale{level}-{os.getpid()}")
            figures: dict[str, Any] = {}
            for name in READ_OPS:
                task = getattr(picks, name)
                # Unrecorded warm-up: the first reads after a bulk load measure a cold page cache, not the service.
                run_phase(f"warm-up {name}@{level}", target, (task for _ in range(WARM_UP)), 1, duration=30.0)
                result = run_phase(f"{name}@{level}", target, (task for _ in range(scale.scale_count)), 1,
                                   duration=120.0)
                phase_line("ours", result)
                figures[name] = result.as_dict()
            n = max(1, scale.scale_count // 4)
            result = run_phase(f"users_create@{level}", target, (work.create_user_task(i) for i in range(n)), 1,
                               duration=120.0)
            phase_line("ours", result)
            figures["users_create"] = result.as_dict()
            out["levels"][str(level)] = {"figures": figures, "rss_mib": monitor.peaks()}
            log(f"rss      peak per process at {level:,} users (MiB): {out['levels'][str(level)]['rss_mib']}")
        # Last, so that the levels' RSS does not carry what reading a 100k-member group leaves behind.
        monitor.reset()
        out["groups"] = group_phases(directory, target, scale, out["seed_seconds"])
        out["rss_mib_groups"] = monitor.peaks()
        log(f"rss      peak per process during the group phases (MiB): {out['rss_mib_groups']}")
    finally:
        directory.close()
    return out


def group_phases(directory: seed.Directory, target: Target, scale: Scale, seed_seconds: dict[str, float]
                 ) -> dict[str, Any]:
    """Add-member PATCH (Entra's request, which reads nothing back) and GET with excludedAttributes=members,
    on a group of `big_group` members against an empty group and one of `small_group`."""
    work = Workload(f"groups-{os.getpid()}")
    for n in range(3):
        result = run_phase("groups_create", target, [work.create_group_task(n)], 1)
        if result.errors:
            raise RuntimeError(f"group create failed: {result.first_error}")
    empty, small, big = work.groups
    log(f"seed     {scale.big_group:,} memberships of one group")
    seed_seconds[f"memberships_{scale.big_group}"] = round(
        seed.seed_memberships(directory, TENANT, big, 0, scale.big_group), 1)
    seed.seed_memberships(directory, TENANT, small, 0, scale.small_group)
    directory.analyze()
    # Members to add: seeded users beyond the big group, MEMBER_BATCH per PATCH, new to each group.
    count = max(1, scale.scale_count // 4)
    base = scale.big_group

    def adder(group_id: str, offset: int) -> Any:
        def task(t: Target, rec: Any) -> None:
            first = base + offset + adder.batch * MEMBER_BATCH  # type: ignore[attr-defined]
            adder.batch += 1  # type: ignore[attr-defined]
            ids = [seed.seed_identity(TENANT, first + k)[0] for k in range(MEMBER_BATCH)]
            from .workload import add_members

            t.call(rec, "patch_group_add_members", "PATCH", f"/Groups/{group_id}", add_members(ids),
                   expect=(200, 204))

        return task

    out: dict[str, Any] = {}
    for label, group_id in (("add_members@0", empty), (f"add_members@{scale.big_group}", big)):
        adder.batch = 0  # type: ignore[attr-defined]
        result = run_phase(label, target, (adder(group_id, 0) for _ in range(count)), 1, duration=120.0)
        phase_line("ours", result)
        out[label] = result.as_dict()
    for label, group_id in ((f"get_group_excl_members@{scale.small_group}", small),
                            (f"get_group_excl_members@{scale.big_group}", big)):
        result = run_phase(label, target, (work.get_group_task(group_id) for _ in range(scale.scale_count)), 1,
                           duration=120.0)
        phase_line("ours", result)
        out[label] = result.as_dict()
    return out


# --- report ------------------------------------------------------------------------------------------------


def _p50(phase: dict[str, Any]) -> float:
    return next(iter(phase["ops"].values()))["p50_ms"] if phase.get("ops") else float("nan")


def _p99(phase: dict[str, Any]) -> float:
    return max((o["p99_ms"] for o in phase.get("ops", {}).values()), default=float("nan"))


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if a and b and a == a and b == b else None


def summarise(results: dict[str, Any], scale: Scale) -> None:
    """Ratios and the issue's targets, computed from the figures."""
    cmp = results["compare"]
    ours, peer, ceil = cmp.get("ours", {}), cmp.get("peer", {}), cmp.get("ceiling", {})
    c = scale.concurrency
    ratios: dict[str, Any] = {}
    for phase in ("entra", *WRITE_PHASES, *(f"{n}_c{c}" for n in READ_OPS)):
        if phase in ours:
            ratios[phase] = {"ours_vs_peer": _ratio(ours[phase]["rps"], peer.get(phase, {}).get("rps", 0)),
                             "ours_vs_ceiling": _ratio(ours[phase]["rps"], ceil.get(phase, {}).get("rps", 0))}
    cap = results.get("capacity", {})
    if cap:
        ratios["capacity"] = {"ours_vs_peer": _ratio(cap["ours"]["largest_held"], cap["peer"]["largest_held"])}
    results["ratios"] = ratios
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, at_least: bool) -> None:
        ok = None if value is None else (value >= limit if at_least else value <= limit)
        checks.append({"target": name, "value": value, "limit": f"{'≥' if at_least else '≤'} {limit}", "met": ok})

    entra_target = ENTRA_TARGET[results["meta"]["engine"]]
    check(f"Entra workload rps, {c} clients: ours / peer", ratios.get("entra", {}).get("ours_vs_peer"),
          entra_target, True)
    for phase in WRITE_PHASES:
        check(f"{phase} rps, {c} clients: ours / peer", ratios.get(phase, {}).get("ours_vs_peer"), 1.0, True)
    for name in ("get_by_id", "username_eq"):
        check(f"{name} rps, {c} clients: ours / peer", ratios.get(f"{name}_c{c}", {}).get("ours_vs_peer"),
              1.2, True)
        check(f"{name} rps, {c} clients: ours / ceiling", ratios.get(f"{name}_c{c}", {}).get("ours_vs_ceiling"),
              0.6, True)
    if "get_by_id_c1" in ours:
        check("get_by_id p50, 1 client: ours / peer", _ratio(_p50(ours["get_by_id_c1"]),
                                                             _p50(peer.get("get_by_id_c1", {}))), 1.3, False)
    sc = results.get("scale", {})
    levels = sc.get("levels", {})
    if levels:
        first, last = min(levels, key=int), max(levels, key=int)
        results["scale_ratios"] = {
            lvl: {name: {"p50_ratio": _ratio(_p50(levels[lvl]["figures"][name]), _p50(levels[first]["figures"][name])),
                         "p99_ratio": _ratio(_p99(levels[lvl]["figures"][name]), _p99(levels[first]["figures"][name]))}
                  for name in (*READ_OPS, "users_create")}
            for lvl in levels}
        for name in ("username_eq", "externalid_eq"):
            check(f"{name} p50 at {int(last):,} / at {int(first):,} users",
                  results["scale_ratios"][last][name]["p50_ratio"], 1.2, False)
        for name in READ_OPS:
            check(f"{name} p99 single client at {int(last):,} users (ms)", _p99(levels[last]["figures"][name]),
                  10.0, False)
        check(f"peak RSS of one service process at {int(last):,} users (MiB)",
              max(levels[last]["rss_mib"].values(), default=None), 150.0, False)
    groups = sc.get("groups", {})
    if groups:
        big, small = scale.big_group, scale.small_group
        check(f"group add-member p50 at {big:,} / at 0 members",
              _ratio(_p50(groups[f"add_members@{big}"]), _p50(groups["add_members@0"])), 1.2, False)
        check(f"GET group excludedAttributes=members p50 at {big:,} / at {small} members",
              _ratio(_p50(groups[f"get_group_excl_members@{big}"]),
                     _p50(groups[f"get_group_excl_members@{small}"])), 1.2, False)
    results["targets"] = checks


def table(results: dict[str, Any], scale: Scale) -> str:
    c = scale.concurrency
    cmp = results["compare"]
    names = [n for n in ("ours", "peer", "ceiling") if n in cmp]
    lines = [f"SCIM benchmark — engine {results['meta']['engine']}, scale {results['meta']['scale']}, "
             f"{results['meta']['cpus']} CPUs, {results['meta']['started']}",
             "",
             f"{'phase':24} {'clients':>7} " + " ".join(f"{n + ' req/s':>13} {n + ' p50/p99 ms':>20}" for n in names)
             + f" {'ours/peer':>9} {'ours/ceil':>9} {'client CPU':>22}"]
    for phase in ("entra", *WRITE_PHASES, *(f"{n}_c{k}" for n in READ_OPS for k in (c, 1))):
        if phase not in cmp.get("ours", {}):
            continue
        row = f"{phase:24} {c if not phase.endswith('_c1') else 1:>7} "
        for n in names:
            p = cmp[n].get(phase, {})
            lat = f"{_p50(p):.2f}/{_p99(p):.2f}" if p.get("ops") else "-"
            row += f"{p.get('rps', float('nan')):>13.1f} {lat:>20} "
        r = results["ratios"].get(phase, {})
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"  # noqa: E731
        row += f"{fmt(r.get('ours_vs_peer')):>9} {fmt(r.get('ours_vs_ceiling')):>9} "
        shares = [cmp[n].get(phase, {}).get("client_cpu_share") for n in names]
        row += f"{'/'.join(f'{v:.0%}' if v is not None else '-' for v in shares):>22}"
        heavy = any(v is not None and v > CLIENT_CPU_LIMIT for v in shares)
        errors = [f"{n}:{cmp[n][phase]['errors']}" for n in names if cmp[n].get(phase, {}).get("errors")]
        lines.append(row + (" *" if heavy else "") + (f"  errors {' '.join(errors)}" if errors else ""))
    lines.append(f"client CPU: the load generator's share of the machine for {'/'.join(names)}; * above "
                 f"{CLIENT_CPU_LIMIT:.0%}, where the client competes with the servers it measures")
    cap = results.get("capacity", {})
    if cap:
        lines += ["", f"Multi-tenant capacity: tenants at {capacity.RATE:g} req/s each (GET filter, POST, PATCH), "
                      f"held = no error and p99 ≤ {capacity.P99_LIMIT_MS:g} ms for each step's "
                      f"{next(iter(cap.values()))['hold_seconds']:g}s"]
        for name, c_out in cap.items():
            steps = ", ".join(f"{s['tenants']}: p99 {s['p99_ms']:.0f} ms {'held' if s['held'] else 'not held'}"
                              for s in c_out["steps"])
            lines.append(f"  {name:8} largest held {c_out['largest_held']:3}  ({steps})")
        r = results["ratios"].get("capacity", {}).get("ours_vs_peer")
        lines.append(f"  ours / peer: {r if r is not None else '-'}")
    sc = results.get("scale", {})
    if sc.get("levels"):
        levels = sorted(sc["levels"], key=int)
        lines += ["", "Scale (ours, single client; seeded users; ratio = p50 / p50 at the smallest level)",
                  f"{'operation':16} " + " ".join(f"{int(lv):>10,} p50/p99 ms  ratio" for lv in levels)]
        for name in (*READ_OPS, "users_create"):
            row = f"{name:16} "
            for lv in levels:
                p = sc["levels"][lv]["figures"][name]
                ratio = results["scale_ratios"][lv][name]["p50_ratio"]
                row += f"{f'{_p50(p):.2f}/{_p99(p):.2f}':>22} {ratio if ratio is not None else '-':>6} "
            lines.append(row)
        row = f"{'peak RSS MiB':16} "
        for lv in levels:
            rss = sc["levels"][lv]["rss_mib"]
            row += f"{' '.join(f'{k[:5]}={v:.0f}' for k, v in rss.items()):>29} "
        lines.append(row)
        lines.append("seed seconds: " + ", ".join(f"{k} {v}s" for k, v in sc.get("seed_seconds", {}).items()))
    if sc.get("groups"):
        lines += ["", f"Groups (ours, single client, {max(map(int, sc['levels'])):,} users; peak RSS MiB "
                      f"{sc.get('rss_mib_groups')})"]
        for label, p in sc["groups"].items():
            lines.append(f"  {label:36} p50 {_p50(p):8.2f} ms  p99 {_p99(p):8.2f} ms  n={p['requests']}"
                         + (f"  errors {p['errors']}" if p["errors"] else ""))
    lines += ["", "Targets"]
    for chk in results.get("targets", []):
        mark = {True: "met", False: "MISSED", None: "n/a"}[chk["met"]]
        lines.append(f"  {mark:6} {chk['target']}: {chk['value']} (target {chk['limit']})")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", help="JSON file (default: bench/results/<engine>-<scale>.json)")
    parser.add_argument("--levels", help="comma-separated seeded-user levels, e.g. 10000,100000 (default: the scale's)")
    parser.add_argument("--skip-compare", action="store_true", help="only the scale phases")
    parser.add_argument("--skip-scale", action="store_true", help="only the comparison with the peer and the ceiling")
    parser.add_argument("--skip-capacity", action="store_true",
                        help="no multi-tenant capacity phase (--skip-compare skips it too)")
    parser.add_argument("--keep-dir", action="store_true", help="keep the databases and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.engine == "postgresql" and not os.environ.get(TEST_DATABASE_ENV):
        # A throwaway cluster for the run: scripts/with-postgres exports TEST_DATABASE_URL.
        script = str(ROOT / "scripts" / "with-postgres")
        os.execv(script, [script, sys.executable, "-m", "bench.run", *argv])
    if args.engine == "sqlite":
        os.environ.pop(TEST_DATABASE_ENV, None)
    scale = SCALES[args.scale]
    levels = tuple(int(x) for x in args.levels.split(",")) if args.levels else scale.levels
    scale = Scale(**{**scale.__dict__, "big_group": min(scale.big_group, max(levels))})
    work_dir = Path(tempfile.mkdtemp(prefix="scim-bench-"))
    results: dict[str, Any] = {
        "meta": {"engine": args.engine, "scale": args.scale, "levels": list(levels), "cpus": os.cpu_count(),
                 "python": platform.python_version(), "started": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
                 "scale_config": scale.__dict__, "work_dir": str(work_dir),
                 "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
                 "peer": "scim2-server, its CLI's app (in-memory storage) under our gunicorn.conf.py, 1 worker",
                 "peer_adaptations": ["group POST without Entra's ADSCIM/2.0/Group schema URN, which it refuses"],
                 "ceiling": "bare Flask front + one urllib3 hop to a bare Flask back, 2 workers each"},
        "compare": {}}
    servers: list[Server] = []
    system: System | None = None
    monitor: RssMonitor | None = None

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous_handler = signal.signal(signal.SIGTERM, _on_signal)
    started = time.monotonic()
    try:
        log(f"start    our four services ({args.engine}), the peer and the ceiling; work dir {work_dir}")
        system = System(work_dir, LOG_LEVEL="WARNING").start()
        ours_pids = {name: p.proc.pid for name, p in system.processes.items() if p.proc}
        monitor = RssMonitor(ours_pids).start()
        assert system.admin("POST", "/admin/v1/tenants", {"id": TENANT}).status in (201, 409)
        issued = system.admin("POST", f"/admin/v1/tenants/{TENANT}/tokens", {}).json()
        back = Server("ceiling-back", "bench.ceiling:create_back()", work_dir, 2).start("/healthz")
        servers.append(back)
        servers.append(Server("ceiling-front", "bench.ceiling:create_front()", work_dir, 2,
                              {"BENCH_CEILING_BACK_URL": back.url}).start("/healthz"))
        peer = Server("peer", "bench.peer:create_app()", work_dir, 1, {"BENCH_PEER_TOKEN": PEER_TOKEN})
        servers.append(peer.start("/v2/ServiceProviderConfig", {"Authorization": f"Bearer {PEER_TOKEN}"}))
        targets = {
            "ours": Target("ours", issued["scim_url"], issued["token"], scale.concurrency),
            "peer": Target("peer", peer.url + "/v2", PEER_TOKEN, scale.concurrency),
            "ceiling": Target("ceiling", servers[1].url + f"/scim/v2/{TENANT}", "unused", scale.concurrency),
        }
        if not args.skip_compare:
            log(f"compare  ours, peer, ceiling: Entra-shaped workload, {scale.concurrency} clients then 1")
            results["compare"] = compare(targets, scale)
            results["rss_mib_after_compare"] = monitor.peaks()
            if not args.skip_capacity:  # beside the peer, as the comparison: `--skip-compare` is the scale alone
                log(f"capacity ours, peer: tenants at {capacity.RATE:g} req/s each, each step "
                    f"{scale.capacity_hold:g}s")
                results["capacity"] = capacities(system, peer.url + "/v2", scale)
        else:
            # The scale phases clone a user that SCIM created.
            run_phase("users_create", targets["ours"], [Workload("template").create_user_task(0)], 1)
        for server in servers:  # the references are done: give the scale phases both cores
            server.stop()
        if not args.skip_scale:
            log(f"scale    levels {', '.join(f'{lv:,}' for lv in levels)} users (ours only)")
            results["scale"] = scale_phases(system, targets["ours"], scale, levels, monitor)
        results["meta"]["seconds"] = round(time.monotonic() - started, 1)
        summarise(results, scale)
        out = Path(args.out or ROOT / "bench" / "results" / f"{args.engine}-{args.scale}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(table(results, scale), flush=True)
        log(f"done     in {results['meta']['seconds']:.0f}s; figures in {out}")
        return 0
    except KeyboardInterrupt:
        log("interrupted: stopping every process")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if monitor:
            monitor.stop()
        for server in servers:
            server.stop()
        if system:
            system.stop()
        if not args.keep_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
