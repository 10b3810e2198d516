"""`uprising sensitivity`: Sobol' and Morris indices of an experiment's outcomes with SALib (issue #6, item 5).

Everything is real: the command runs in a subprocess on the default process pool, SALib analyses what
the store holds. Runs are tiny (15x15 lattices, vision 3, 40 steps), so the cost is starting processes.
The known-answer outcomes in ``sensitivity_helpers`` read the run's own legitimacy: their indices are
known exactly, which checks that each Y lines up with its design point.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SCENARIOS, cli_cmd
from uprising.experiment import Experiment, ResultStore, run_experiment
from uprising.cli.experiments import draw_sensitivity
from uprising.experiment.sensitivity import SensitivityError, analyse, metadata, responses, write_outputs
from uprising.cli import main
from uprising.scenario import Scenario

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
LEG = "sensitivity_helpers:legitimacy"
PART = "sensitivity_helpers:legitimacy_above_07"  # NaN where legitimacy < 0.7
ANALYSED = ["mean_active_fraction", "mean_jailed_fraction", LEG]
PARAMS = ["legitimacy", "cop_density"]


def small_base() -> Scenario:
    return Scenario.load(RUN2).replace(width=15, height=15, citizen_vision=3.0, cop_vision=3.0, steps=40)


def experiment_toml(base: Path, kind: str = "sobol", name: str = "tiny-sobol") -> str:
    outcomes = json.dumps(ANALYSED + [PART])
    return f"""
name = "{name}"
base = {json.dumps(str(base))}
replicates = 1
outcomes = {outcomes}

[design]
kind = "{kind}"
samples = 8

[parameters]
legitimacy = {{ low = 0.6, high = 0.9 }}
cop_density = {{ low = 0.02, high = 0.08 }}
"""


def uprising(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=ENV)


def assert_one_line_error(proc, *needles, after_runs: bool = False):
    """Exit 2 with one error line on stderr (the only line, or after the runs' progress lines)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 or after_runs, proc.stderr
    assert [line for line in lines if line.startswith("uprising: error: ")] == lines[-1:], proc.stderr
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])


def by_key(table) -> dict[tuple[str, str, str], dict]:
    return {(r["outcome"], r["parameter"], r["index"]): r for r in table.to_pylist()}


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One `uprising sensitivity` run of a 32-point Sobol' design (N = 8, two parameters, one replicate)."""
    folder = tmp_path_factory.mktemp("sensitivity")
    base = folder / "base.toml"
    base.write_text(small_base().to_toml(), encoding="utf-8")
    exp = folder / "tiny.toml"
    exp.write_text(experiment_toml(base), encoding="utf-8")
    store = folder / "store"
    args = ["sensitivity", str(exp), "--store", str(store), "--workers", "2"]
    for name in ANALYSED:
        args += ["--outcome", name]
    proc = uprising(*args)
    assert proc.returncode == 0, proc.stderr
    return SimpleNamespace(folder=folder, base=base, exp=exp, store=store, out=store / "sensitivity", args=args,
                           proc=proc)


def test_command_writes_every_output(tiny):
    out = tiny.out
    for name in ("indices.csv", "indices.parquet", "indices.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for stem in ("mean_active_fraction", "mean_jailed_fraction", "sensitivity_helpers_legitimacy"):
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        assert b"<svg" in svg.read_bytes()[:2000], stem
    table = pq.read_table(out / "indices.parquet")
    assert table.column_names == ["outcome", "parameter", "method", "index", "value", "conf_low", "conf_high"]
    assert pcsv.read_csv(out / "indices.csv").num_rows == table.num_rows
    rows = by_key(table)
    assert {r["method"] for r in rows.values()} == {"sobol"}
    assert set(rows) == {(o, p, i) for o in ANALYSED for p in PARAMS for i in ("S1", "ST")}  # no S2: not asked
    for key, r in rows.items():
        assert math.isfinite(r["value"]), key
        assert r["conf_low"] <= r["value"] <= r["conf_high"], key
    meta = metadata(table)
    assert (meta["points"], meta["replicates"], meta["samples"], meta["conf_level"]) == (32, 1, 8, 0.95)
    md = (out / "indices.md").read_text()
    assert "| outcome | parameter | S1 | ST |" in md and "mean over replicates" in md
    assert all(o in md for o in ANALYSED)
    assert "S1" in tiny.proc.stdout and "cop_density" in tiny.proc.stdout  # the rich table
    assert "32/32 runs complete" in tiny.proc.stdout


def test_known_answer_lines_up_y_with_the_design(tiny):
    """An outcome equal to the run's legitimacy: ST(legitimacy) ~ 1 and ST(cop_density) = 0, only if each Y
    is matched with its own design point."""
    rows = by_key(pq.read_table(tiny.out / "indices.parquet"))
    assert rows[(LEG, "legitimacy", "ST")]["value"] > 0.8
    assert rows[(LEG, "legitimacy", "S1")]["value"] > 0.8
    assert abs(rows[(LEG, "cop_density", "ST")]["value"]) < 0.1
    assert abs(rows[(LEG, "cop_density", "S1")]["value"]) < 0.1

    # analyse() in this process on the same store gives the same table (fixed bootstrap seed)
    exp = Experiment.load(tiny.exp)
    store = ResultStore(tiny.store, create=False)
    again = analyse(exp, store, ANALYSED)
    assert again.to_pylist() == pq.read_table(tiny.out / "indices.parquet").to_pylist()

    # Y is the store's outcome matrix averaged over replicates, in design order
    y = responses(exp, store)[LEG]["Y"]
    assert np.allclose(y, [p["legitimacy"] for p in exp.points()])
    assert np.allclose(y, store.outcome_matrix(exp, LEG).mean(axis=1))

    # the check has teeth: the same Y shifted by one row fails it
    from SALib.analyze import sobol

    shifted = sobol.analyze(exp.salib_problem(), np.roll(y, 1), calc_second_order=False, seed=1)
    assert not (shifted["ST"][0] > 0.8 and abs(shifted["ST"][1]) < 0.1), shifted


def test_rerun_is_a_resume_with_the_same_table(tiny):
    series, outcomes = mtimes(tiny.store / "runs"), mtimes(tiny.store / "outcomes")
    before = (tiny.out / "indices.csv").read_bytes()
    proc = uprising(*tiny.args)
    assert proc.returncode == 0, proc.stderr
    assert "(0 now, 32 already there)" in proc.stdout
    assert mtimes(tiny.store / "runs") == series and mtimes(tiny.store / "outcomes") == outcomes  # nothing simulated
    assert (tiny.out / "indices.csv").read_bytes() == before


def in_process(capsys, *args: str) -> SimpleNamespace:
    """The command line run in this process (no interpreter to start): exit code, stdout, stderr."""
    previous = signal.getsignal(signal.SIGTERM)  # `experiment` makes SIGTERM act as Ctrl-C: put it back after
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        code = exit_info.value.code
    finally:
        signal.signal(signal.SIGTERM, previous)
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def test_outcome_nan_somewhere_is_refused(tiny, capsys):
    proc = in_process(capsys, "sensitivity", str(tiny.exp), "--store", str(tiny.store), "--no-plot")  # PART too
    low = sum(p["legitimacy"] < 0.7 for p in Experiment.load(tiny.exp).points())
    assert 0 < low < 32
    assert_one_line_error(proc, str(tiny.exp), PART, f"NaN at {low} of 32 design points", f"{low} runs gave NaN",
                          "mean_active_fraction", after_runs=True)  # after the experiment's line (0 runs to make)
    assert "(0 now, 32 already there)" in proc.stdout


def test_bad_kind_is_one_line_and_runs_nothing(tiny, capsys):
    exp = tiny.folder / "lhs.toml"
    exp.write_text(experiment_toml(tiny.base, kind="lhs", name="tiny-lhs"), encoding="utf-8")
    store = tiny.folder / "lhs-store"
    proc = uprising("sensitivity", str(exp), "--store", str(store))  # a real process, as a user runs it
    assert_one_line_error(proc, str(exp), "design.kind", "sobol | morris", "'lhs'")
    assert not store.exists()
    proc = in_process(capsys, "sensitivity", str(tiny.exp), "--store", str(tiny.store), "--outcome",
                      "peak_active_fraction")
    assert_one_line_error(proc, "--outcome", "peak_active_fraction", "mean_active_fraction")


def test_morris_known_answer_in_process(tmp_path):
    """Morris on a thread pool: mu_star of the legitimacy outcome is legitimacy's range, cop density's 0."""
    exp = Experiment.from_dict({
        "name": "tiny-morris", "replicates": 1, "outcomes": [LEG, "mean_active_fraction", PART],
        "design": {"kind": "morris", "samples": 4, "levels": 4},
        "parameters": {"legitimacy": {"low": 0.6, "high": 0.9}, "cop_density": {"low": 0.02, "high": 0.08}},
    }, base=small_base())
    store = ResultStore(tmp_path / "store")
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, store, executor=pool)
    assert summary.failed == 0
    with pytest.raises(SensitivityError, match="NaN at"):
        analyse(exp, store)
    table = analyse(exp, store, [LEG, "mean_active_fraction"])
    rows = by_key(table)
    assert set(i for _, _, i in rows) == {"mu_star", "mu", "sigma"}
    assert rows[(LEG, "legitimacy", "mu_star")]["value"] == pytest.approx(0.3)
    assert rows[(LEG, "legitimacy", "sigma")]["value"] == pytest.approx(0.0, abs=1e-9)
    assert rows[(LEG, "cop_density", "mu_star")]["value"] == pytest.approx(0.0, abs=1e-12)
    r = rows[(LEG, "legitimacy", "mu_star")]
    assert r["conf_low"] <= r["value"] <= r["conf_high"]
    assert rows[(LEG, "legitimacy", "mu")]["conf_low"] is None  # mu and sigma have no interval
    written = write_outputs(table, tmp_path / "out") + draw_sensitivity(table, tmp_path / "out")
    assert {p.name for p in written} >= {"indices.csv", "indices.parquet", "indices.md",
                                         "sensitivity_helpers_legitimacy.png", "mean_active_fraction.svg"}
    assert "| outcome | parameter | mu_star | mu | sigma |" in (tmp_path / "out" / "indices.md").read_text()
