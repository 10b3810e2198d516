"""The validation suite, reduced for CI: Epstein (2002)'s named results on small seeded ensembles.

The full suite is ``uprising validate`` (docs/validation.md). Here each result
is checked on fewer runs, with bands wide enough for that sample but narrow
enough that a silent change of rule fails: with the plain ratio instead of the
floor rule there are no outbursts at all, and with Mesa's rounding the
outbursts are half the size.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from uprising import analysis as A
from uprising import validation as V
from uprising.validation import runs
from uprising.cli import cli
from uprising.scenario import Scenario
from uprising.viz.validation_plots import suite_figures

ROOT = Path(__file__).resolve().parents[1]
PAPER_DIR = ROOT / "scenarios" / "epstein-2002"
SEEDS = range(16)


def paper_run(n: int, **changes) -> Scenario:
    s = Scenario.load(PAPER_DIR / f"run{n}.toml")
    return s.replace(**changes) if changes else s


@pytest.fixture(scope="module")
def run2_floor():
    """Run 2 as shipped (floor rule, Euclidean vision): 16 runs of 700 steps, first 100 dropped."""
    return [runs.run2_job(paper_run(2), seed, steps=700) for seed in SEEDS]


def test_run2_as_shipped_gives_punctuated_equilibrium(run2_floor):
    st = A.run2_stats([r["active"] for r in run2_floor], burn_in=100)
    # Bands: the quick suite (20 runs x 900 steps) measured 37 outbursts per 1000 steps, waits 27 (sd 9) and
    # total activation 811 (sd 474, 95% CI 767-860). With 16 runs x 600 steps (~350 outbursts) the standard
    # error of the mean size is about 474 / sqrt(350) * 1.3 (runs are clusters) ~ 33, of the wait ~ 1;
    # the bands are about +-4 standard errors. Mesa's rounding gives sizes near 390 and the plain ratio none.
    assert 28 <= st["episodes_per_1000_steps"] <= 48
    assert 22 <= st["wait_mean"] <= 33
    assert 650 <= st["size_mean"] <= 980
    assert st["distance"] < 1.2


def test_run2_arrest_rule_decides():
    ratio = [runs.run2_job(paper_run(2, arrest_rule="ratio"), seed, steps=700)["active"] for seed in SEEDS]
    assert A.run2_stats(ratio, burn_in=100)["episodes"] == 0  # the paper's printed rule: no outbursts
    rounded = [runs.run2_job(paper_run(2, arrest_rule="round_half_even"), seed, steps=700)["active"]
               for seed in SEEDS]
    st = A.run2_stats(rounded, burn_in=100)
    # quick suite: 388 (CI 351-431); the floor rule's band above starts at 650
    assert st["episodes"] > 100 and st["size_mean"] < 550


def test_tension_builds_in_calm_and_is_released(run2_floor):
    st = A.tension_stats(run2_floor, burn_in=100)
    # quick suite: release 201 (CI 195-207), build-up 206 (CI 199-212), all positive; band halves and doubles it
    assert V.tension_verdict(st) == "reproduced"
    assert 100 <= st["release_mean"] <= 400 and 100 <= st["buildup_mean"] <= 400
    assert st["release_positive"] > 0.95 and st["buildup_positive"] > 0.95


def test_run1_deception():
    jobs = [runs.run1_job(paper_run(1), seed, steps=100, snapshots=(50, 100), null_draws=100) for seed in range(8)]
    st = A.run1_stats(jobs)
    # quick suite: r = -0.133 against -0.030 shuffled; 38% of deterred citizens turn active when the cops in
    # their vision fell against 19% otherwise. Bands: the r of one snapshot has sd ~ 0.02.
    assert st["defined"] == 16
    assert st["r_obs_mean"] < -0.08 and st["r_obs_mean"] < st["null_mean"] - 0.05
    assert st["significant"] >= 0.9
    assert st["fell_total"] > 500
    assert st["fell_turned"] / st["fell_total"] > st["other_turned"] / st["other_total"] + 0.1
    assert V.run1_verdict(st) == "reproduced"


def test_runs_3_and_4_before_and_after_the_event():
    for seed in range(6):
        r3 = runs.run34_job(paper_run(3), seed, steps=120)
        r4 = runs.run34_job(paper_run(4), seed, steps=120)
        # row t is the state after step t; the schedules act from step 77 on.
        # L = 0.9 gives G = 0.1 H <= T = 0.1: nobody can be active before (strict inequality in rule A)
        assert r3["legitimacy"][76] == r4["legitimacy"][76] == 0.9
        assert r3["active"][:77].max() == 0 and r4["active"][:77].max() == 0
        assert r3["jailed"][76] == 0 and r4["jailed"][76] == 0
        # the jump to 0.7 frees about 7% of citizens from any deterrence (0.3 H - R > 0.1): they rise at once
        # and are jailed at once; the ramp reaches that point only gradually
        assert r4["jailed"][80] > r3["jailed"][80] + 30
        assert r4["legitimacy"][77] == pytest.approx(0.7) and r3["legitimacy"].min() == pytest.approx(0.6)
        assert (np.diff(r3["legitimacy"]) <= 0).all() and r3["legitimacy"][77] > 0.85


def test_run34_stats_and_verdict():
    quiet = [np.zeros(200, dtype=np.int64)] * 10
    loud = [np.r_[np.zeros(80), np.full(120, 300)].astype(np.int64)] * 10
    st = A.run34_stats(quiet, loud, [1120] * 10, 77)
    assert st["run3"]["fraction"] == 0 and st["run4"]["fraction"] == 1 and st["fisher_p"] < 1e-4
    assert V.run34_verdict(st) == "reproduced"
    assert V.run34_verdict(A.run34_stats(loud, loud, [1120] * 10, 77)) == "not reproduced: both paths explode"


TINY = dataclasses.replace(V.QUICK, name="tiny", seeds_run1=2, steps_run1=40, snapshots_run1=(40,), null_draws=20,
                           seeds_run2=3, steps_run2=400, seeds_run34=3, steps_run34=100)


def test_validate_writes_report_figures_and_json(tmp_path):
    out = tmp_path / "validation.md"
    out.write_text("# Validation\n\n<!-- mesa-equivalence:start -->\nkept\n<!-- mesa-equivalence:end -->\n")
    res = V.run_suite(TINY, workers=1, root=ROOT, mesa_dir=tmp_path / "no-mesa")
    assert res.mesa is None and res.closest in res.run2
    figures = suite_figures(res, tmp_path / "figures", out.parent)
    V.write_report(res, out, tmp_path / "v.json", ROOT, "uprising validate --quick", figures)
    text = out.read_text()
    for heading in ("### Summary", "### Run 2: punctuated equilibrium", "### Run 1: deception",
                    "### Runs 3 and 4", "### Tension"):
        assert heading in text
    for label in ("ratio, euclidean", "floor, von neumann", "round, euclidean", "Mesa's rules (all switches)"):
        assert label in text
    assert "kept" in text and text.count(V.MARK_START) == 1
    assert "Mesa's own values are missing" in text
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    assert len(pngs) == 6
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"figures/{png.name}" in text
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["closest_run2"] == res.closest and set(data["run2"]) == set(res.run2)
    # every variant measured carries its changes: its scenario is rebuilt without reading its key
    assert set(data["changes"]) >= set(res.run2) | set(res.run1) | set(res.run34)
    assert data["changes"]["round_half_even-von_neumann"] == {"arrest_rule": "round_half_even",
                                                              "vision_shape": "von_neumann"}
    assert data["changes"]["floor-euclidean-all-move"]["movement"] is True


def test_validate_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "QUICK", TINY)  # a smaller ensemble; everything else runs for real
    args = ["validate", "--quick", "--root", str(ROOT), "--workers", "1", "--out", str(tmp_path / "v.md"),
            "--figures", str(tmp_path / "f"), "--json", str(tmp_path / "v.json"), "--mesa-data", str(tmp_path)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Run 2 closest to the paper:" in result.output and (tmp_path / "v.md").exists()


def test_validate_cli_bad_root(tmp_path, capfd):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "uprising", "validate", "--quick", "--root", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "epstein-2002" in lines[0] and "--root" in lines[0]
    assert not (tmp_path / "docs").exists()  # nothing written


@pytest.mark.skipif(not (ROOT / "docs" / "data" / "mesa-validation.json").exists(), reason="no Mesa data")
def test_mesa_data_is_measured_like_ours():
    mesa = V.load_mesa(ROOT / "docs" / "data")
    st = A.mesa_stats(mesa, V.QUICK.burn_in)
    assert st["meta"]["mesa_version"].startswith("3.")
    if "run2" in st:
        # Mesa's own rules: small outbursts (model-notes: 190 per outburst, waits ~57)
        assert st["run2"]["episodes"] > 0 and st["run2"]["size_mean"] < 400
    for setting in st.get("run1", {}).values():
        assert setting["r_obs_mean"] < setting["null_mean"]


def test_validate_quick_writes_to_an_output_folder_not_the_docs(tmp_path, monkeypatch):
    """`uprising validate --quick` leaves the committed docs alone (issue 13, item 10): without --write-docs
    it writes results/validation/ (the Markdown, its JSON and figures); --write-docs writes docs/ as before."""
    import shutil

    monkeypatch.setattr(V, "QUICK", TINY)
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    runs_file = tmp_path / "runs.pickle"
    result = CliRunner().invoke(cli, ["validate", "--quick", "--root", str(root), "--workers", "1",
                                      "--save-runs", str(runs_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = root / "results" / "validation"
    assert (out / "validation.md").is_file() and (out / "validation.json").is_file()
    assert len(list((out / "figures").glob("*.png"))) >= 5
    assert not (root / "docs").exists()
    assert str(out / "validation.md") in result.output
    result = CliRunner().invoke(cli, ["validate", "--quick", "--root", str(root), "--load-runs", str(runs_file),
                                      "--write-docs"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (root / "docs" / "validation.md").is_file() and (root / "docs" / "data" / "validation.json").is_file()
    assert len(list((root / "docs" / "figures").glob("*.png"))) >= 5
