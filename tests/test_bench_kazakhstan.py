"""Smoke test of ``benchmarks/kazakhstan.py`` (issue #3, item 8) at a tiny scale, into a temporary file.

The full-scale run (one agent per resident, ~7.9 million citizens) takes minutes and is run by hand; this
checks that the script runs the real scenario and Mesa's example in one process, that its figures are
consistent with one another, and that ``--write`` replaces its own section only. BENCHMARKS.md is never
touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mesa")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import kazakhstan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_consistent_figures_and_keeps_the_rest_of_the_file(tmp_path):
    real = ROOT / "BENCHMARKS.md"
    before = real.read_bytes()
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(f"# Benchmarks\n\nkept above\n\n{kazakhstan.START}\nold section\n{kazakhstan.END}\n\nkept below\n")
    js = tmp_path / "k.json"
    assert kazakhstan.main(["--scale", "0.002", "--threads", "2", "--mesa-edge", "20", "--mesa-steps", "2",
                            "--write", "--out", str(out), "--json", str(js)]) == 0
    r = json.loads(js.read_text())
    u = r["uprising"]
    # 0.2% of the 7.9 million residents of the 14 cities, 480 hourly steps (1-20 January)
    assert 15_000 < u["citizens"] < 16_500 and u["steps"] == 480 and u["threads"] == 2
    assert u["agent_steps"] > u["citizens"] * u["steps"]  # cops are counted too
    assert u["rate"] == pytest.approx(u["agent_steps"] / u["kernel_wall_s"])
    assert u["wall_s"] >= u["kernel_wall_s"] > 0 and u["peak_rss_bytes"] > 50 * 1024 ** 2
    # every target of the file that the model measures is scored (the rest are listed as not measured)
    from uprising.country import fit as F
    from uprising.country.scenario import CountryScenario

    measured = len(F.load_targets(kazakhstan.TARGETS, CountryScenario.load(kazakhstan.SCENARIO)).targets)
    assert measured >= 24 and u["targets"] == measured and 0 <= u["hits"] <= measured
    for side in (r["mesa_before"], r["mesa_after"]):
        assert side["agents"] > 200 and side["rate"] == pytest.approx(side["agents"] * side["steps"] / side["wall_s"])
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept above\n\n") and text.endswith("\n\nkept below\n")
    assert "old section" not in text and text.count(kazakhstan.START) == 1 and "Under 10 minutes" in text
    assert real.read_bytes() == before
