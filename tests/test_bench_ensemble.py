"""Smoke test of ``benchmarks/ensemble.py`` (issue #6, item 9): ``--quick`` into a temporary file.

The full benchmark (1,000 replicates x 500 steps against Mesa's ``batch_run``) takes minutes and
is run by hand; this checks that the script runs the real ``run_experiment`` and ``batch_run`` at
tiny sizes, that its report has every figure with run counts that match, and that ``--write``
replaces its own section only. BENCHMARKS.md is never touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mesa")
pytest.importorskip("duckdb")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import ensemble  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_reports_every_figure(tmp_path):
    real = ROOT / "BENCHMARKS.md"
    real_before = real.read_bytes() if real.exists() else None
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(f"# Benchmarks\n\nkept above\n\n{ensemble.START}\nold section\n{ensemble.END}\n\nkept below\n")
    js = tmp_path / "ensemble.json"
    assert ensemble.main(["--quick", "--write", "--out", str(out), "--json", str(js)]) == 0

    r = json.loads(js.read_text())
    cfg = r["config"]
    assert cfg["quick"] and cfg["workers"] == [1, 2] and cfg["steps"] == ensemble.QUICK["steps"]
    for w in ("1", "2"):
        u, m = r["uprising"][w], r["mesa"][w]
        # every replicate ran, completed and left its two files (and no failure)
        assert u["runs"] == u["completed"] == cfg["replicates"] and u["failed"] == 0
        assert u["files"] == {"series": cfg["replicates"], "outcomes": cfg["replicates"], "failures": 0}
        assert u["steps"] == m["steps"] == [cfg["steps"]]  # batch_run made exactly as many steps
        assert m["runs"] == cfg["mesa_runs"] == sum(p["runs"] for p in m["parts"])
        for side in (u, m):
            assert 1100 < side["agents_mean"] < 1400  # 0.774 x 1600 agents, binomial placement, both models
            assert side["agent_steps"] == pytest.approx(side["runs"] * cfg["steps"] * side["agents_mean"])
            assert side["wall_s"] > 0 and side["rate"] == pytest.approx(side["agent_steps"] / side["wall_s"])
            assert side["process_wall_s"] >= side["wall_s"]
            assert side["peak_rss_total_mb"] > 50 and side["hwm_self_mb"] > 50
        assert u["hwm_workers_mb"] > 50 and u["hwm_sweep_mb"] > 50  # the pool's workers were seen
        assert r["ratio"][w] == pytest.approx(u["rate"] / m["rate"])
        assert u["run_rate_median"] > 0 and u["store_bytes"] > 0
    assert r["scaling"]["from"] == 1 and r["scaling"]["to"] == 2
    assert r["scaling"]["uprising"] == pytest.approx(r["uprising"]["2"]["rate"] / r["uprising"]["1"]["rate"])
    assert r["ensemble"]["workers"] == 2 and r["ensemble"]["runs"] == cfg["replicates"]
    assert not r["targets"]["full_size"]
    assert len(r["load_before"]) == len(r["load_after"]) == 3

    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept above\n") and text.endswith("\n\nkept below\n")
    assert "old section" not in text and text.count(ensemble.START) == text.count(ensemble.END) == 1
    assert "smoke run, not the benchmark" in text and "Whole ensemble" in text and "Scaling from 1 to 2" in text
    assert sum(line.startswith(("| uprising", "| Mesa")) for line in text.splitlines()) == 4
    assert (real.read_bytes() if real.exists() else None) == real_before


def test_sections_and_halves(tmp_path):
    # Mesa's subset runs half before, half after the ensemble; one run goes after it
    assert ensemble._halves(8) == [4, 4] and ensemble._halves(7) == [3, 4] and ensemble._halves(1) == [1]
    parts = [{"workers": 2, "runs": 4, "steps": [500], "agents_mean": 1200.0, "agent_steps": 2.4e6, "wall_s": 100.0,
              "rate": 2.4e4, "load_before": 0.5, "load_after": 0.6, "peak_rss_total_mb": 300.0,
              "peak_pss_total_mb": 200.0, "hwm_self_mb": 180.0, "hwm_workers_mb": 170.0, "process_wall_s": 101.0},
             {"workers": 2, "runs": 4, "steps": [500], "agents_mean": 1250.0, "agent_steps": 2.5e6, "wall_s": 150.0,
              "rate": 2.5e6 / 150, "load_before": 0.7, "load_after": 0.9, "peak_rss_total_mb": 310.0,
              "peak_pss_total_mb": 210.0, "hwm_self_mb": 181.0, "hwm_workers_mb": None, "process_wall_s": 152.0}]
    both = ensemble._combine_mesa(parts)
    assert both["runs"] == 8 and both["wall_s"] == 250.0 and both["rate"] == pytest.approx(4.9e6 / 250)
    assert both["peak_rss_total_mb"] == 310.0 and both["hwm_workers_mb"] == 170.0 and both["process_wall_s"] == 253.0
    # a file without the markers gets the section appended; the text before it stays
    path = tmp_path / "B.md"
    path.write_text("# Benchmarks\n\nother figures\n")
    ensemble.replace_section(path, "## ensemble\nbody")
    ensemble.replace_section(path, "## ensemble\nnew body")
    text = path.read_text()
    assert text == f"# Benchmarks\n\nother figures\n\n{ensemble.START}\n## ensemble\nnew body\n{ensemble.END}\n"
