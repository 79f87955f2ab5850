"""The benchmark keeps working: its smallest run, end to end, on the engine under test.
Nothing is asserted about speed: only that it completes and writes every expected figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from shared.testing import engine

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]

if str(ROOT) not in sys.path:  # `bench` is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))


def test_the_benchmark_runs_end_to_end_and_writes_every_figure(tmp_path: Path) -> None:
    from bench import run

    out = tmp_path / "results.json"
    assert run.main(["--scale", "ci", "--engine", engine(), "--out", str(out)]) == 0
    results = json.loads(out.read_text())

    assert results["meta"]["engine"] == engine()
    for target in ("ours", "peer", "ceiling"):
        figures = results["compare"][target]
        for phase in ("entra", *run.WRITE_PHASES, *(f"{op}_c{c}" for op in run.READ_OPS for c in (4, 1))):
            assert figures[phase]["rps"] > 0, (target, phase)
            assert 0 < figures[phase]["client_cpu_share"] <= 1, (target, phase)  # the client's own share
        for phase in (*run.WRITE_PHASES, *(f"{op}_c{c}" for op in run.READ_OPS for c in (4, 1))):
            assert figures[phase]["ops"], (target, phase)
            assert figures[phase]["errors"] == 0, (target, phase, figures[phase].get("first_error"))
            assert all({"n", "p50_ms", "p99_ms"} <= set(o) for o in figures[phase]["ops"].values())
        assert figures["entra"]["errors"] == 0, (target, figures)
    assert set(results["ratios"]["entra"]) == {"ours_vs_peer", "ours_vs_ceiling"}

    for target in ("ours", "peer"):  # ci scale: at most 2 tenants, each with a token (ours) or a prefix (peer)
        cap = results["capacity"][target]
        assert cap["steps"] and all(s["errors"] == 0 and s["requests"] > 0 for s in cap["steps"]), cap
        # What it reports is what its steps measured (whether a step held is speed, not asserted here).
        assert cap["largest_held"] == max((s["tenants"] for s in cap["steps"] if s["held"]), default=0), cap
    assert "ours_vs_peer" in results["ratios"]["capacity"]

    scale = results["scale"]
    assert set(scale["levels"]) == {"150", "300"}
    for level in scale["levels"].values():
        assert set(level["figures"]) == {*run.READ_OPS, "users_create"}
        assert set(level["rss_mib"]) == {"token-service", "directory", "notifications", "scim-api"}
        assert all(f["errors"] == 0 for f in level["figures"].values()), level
    assert set(scale["seed_seconds"]) == {"users_150", "users_300", "memberships_100"}
    assert set(scale["groups"]) == {"add_members@0", "add_members@100", "get_group_excl_members@10",
                                    "get_group_excl_members@100"}
    assert all(g["errors"] == 0 for g in scale["groups"].values()), scale["groups"]
    assert set(results["scale_ratios"]["300"]) == {*run.READ_OPS, "users_create"}
    # The comparison targets (Entra, four write phases, two lookups against peer and ceiling, one
    # single-client latency) and the nine scale targets, each computed from this run's figures.
    assert len(results["targets"]) == 19
    entra_limit = run.ENTRA_TARGET[results["meta"]["engine"]]  # 1.2 on SQLite, 1.0 on PostgreSQL
    assert {t["limit"] for t in results["targets"] if t["target"].startswith("Entra")} == {f"≥ {entra_limit}"}
    assert all(t["value"] is not None for t in results["targets"])


def test_the_scale_phases_run_alone_without_the_comparison_or_the_capacity_phase(tmp_path: Path) -> None:
    from bench import run

    out = tmp_path / "scale.json"
    assert run.main(["--scale", "ci", "--engine", engine(), "--skip-compare", "--out", str(out)]) == 0
    results = json.loads(out.read_text())

    assert results["compare"] == {} and "capacity" not in results  # the scale phases alone, as the README says
    assert set(results["scale"]["levels"]) == {"150", "300"}
    for level in results["scale"]["levels"].values():
        assert all(f["errors"] == 0 and f["requests"] > 0 for f in level["figures"].values()), level
