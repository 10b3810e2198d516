"""`uprising calibrate`: ABC-SMC with pyabc on the experiment layer's executors and store.

Everything runs for real (pyabc, the default process pool, a thread pool, the command line) on
tiny models: 15x15 lattices, 30 steps. The known answer comes from ``calibration_helpers:legitimacy_used``,
an outcome equal to the legitimacy a run was made with: a target on it pins legitimacy down, while
cop density, which no target depends on, should stay as spread as its prior.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SCENARIOS, cli_cmd
from uprising.cli import main
from uprising.experiment import Experiment, run_seed
from uprising.experiment.store import ResultStore
from uprising.scenario import Scenario, ScenarioError
from uprising.simulate import simulate

pytest.importorskip("pyabc")

from uprising.experiment.calibrate import (  # noqa: E402
    UNDEFINED_Z, ParticleModel, Target, TargetDistance, calibrate, load_targets)

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
       "ABC_LOG_LEVEL": "WARNING"}
TRUE_LEGITIMACY = 0.6
LEG_RANGE, COP_RANGE = (0.2, 0.95), (0.0, 0.1)


def tiny_base() -> Scenario:
    """Run 2's rules on a 15x15 lattice with vision 3."""
    return Scenario.load(RUN2).replace(name="tiny", width=15, height=15, citizen_vision=3.0, cop_vision=3.0)


def experiment_file(folder: Path, kind: str = "lhs") -> Path:
    """An experiment file on the tiny base: ranges of legitimacy and cop density, or a factorial list."""
    (folder / "tiny.toml").write_text(tiny_base().to_toml(), encoding="utf-8")
    if kind == "factorial":
        design, params = 'kind = "factorial"', "legitimacy = [0.5, 0.7]"
    else:
        design = f'kind = "{kind}"\nsamples = 4'
        params = "legitimacy = { low = 0.2, high = 0.95 }\ncop_density = { low = 0.0, high = 0.1 }"
    path = folder / f"cal-{kind}.toml"
    path.write_text(f"""
name = "tiny-cal"
base = "tiny.toml"
steps = 30
outcomes = ["mean_active_fraction", "mean_jailed_fraction"]

[design]
{design}

[parameters]
{params}
""", encoding="utf-8")
    return path


def tiny_experiment() -> Experiment:
    """Legitimacy and cop density over ranges, on a 15x15 lattice with vision 3, 30 steps."""
    return Experiment.from_dict({"name": "tiny-cal", "base": "tiny", "steps": 30,
                                 "design": {"kind": "lhs", "samples": 4},
                                 "outcomes": ["mean_active_fraction", "mean_jailed_fraction"],
                                 "parameters": {"legitimacy": {"low": LEG_RANGE[0], "high": LEG_RANGE[1]},
                                                "cop_density": {"low": COP_RANGE[0], "high": COP_RANGE[1]}}},
                                base=tiny_base())


TARGETS = [Target("calibration_helpers:legitimacy_used", TRUE_LEGITIMACY, 0.02)]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """One calibration on the default process pool (2 workers): 3 populations of 40 after the prior sample."""
    root = tmp_path_factory.mktemp("calibrate")
    events: list[tuple[str, dict]] = []
    result = calibrate(tiny_experiment(), TARGETS, root / "store", root / "out", workers=2, populations=3,
                       population_size=40, check_replicates=2,
                       progress=lambda event, info: events.append((event, dict(info))))
    return result, events, root


def test_known_answer_posterior_moves_to_the_truth_and_narrows(calibrated, report):
    result, events, _ = calibrated
    post = {row["parameter"]: row for row in result.posterior}
    leg, cop = post["legitimacy"], post["cop_density"]
    prior_sd = (LEG_RANGE[1] - LEG_RANGE[0]) / math.sqrt(12)
    assert leg["prior_sd"] == pytest.approx(prior_sd)
    assert abs(leg["mean"] - TRUE_LEGITIMACY) < 0.05  # the prior's mean is 0.575 +- 0.22
    assert leg["sd"] < 0.35 * prior_sd
    assert leg["q2.5"] < TRUE_LEGITIMACY < leg["q97.5"]
    # cop density enters no target: its posterior stays about as wide as its prior
    assert cop["sd"] > 0.5 * cop["prior_sd"]
    # epsilon shrinks from population to population
    eps = [e["epsilon"] for kind, e in events if kind == "end" and e["t"] >= 0]
    assert len(eps) == 3 and all(a > b for a, b in zip(eps, eps[1:]))
    assert abs(result.best_parameters["legitimacy"] - TRUE_LEGITIMACY) < 0.05
    report("calibrate known answer", f"legitimacy {leg['mean']:.3f} +- {leg['sd']:.3f} (truth {TRUE_LEGITIMACY}, "
           f"prior sd {prior_sd:.3f}); epsilon {', '.join(f'{e:.3g}' for e in eps)}; {result.wall_seconds:.1f} s")


def test_progress_reports_every_population_and_particles(calibrated):
    _, events, _ = calibrated
    starts = [e["label"] for kind, e in events if kind == "start"]
    assert starts == ["prior sample", "population 1/3", "population 2/3", "population 3/3"]
    ends = [e for kind, e in events if kind == "end"]
    assert [e["accepted"] for e in ends] == [40] * 4
    assert all(e["simulated"] >= e["accepted"] and e["wall_seconds"] > 0 for e in ends)
    assert ends[-1]["eta_seconds"] == 0 and ends[1]["eta_seconds"] > 0
    particles = [e for kind, e in events if kind == "particle"]
    assert particles and max(e["accepted"] for e in particles) >= 40
    assert any(kind == "check" for kind, _ in events)


def test_records_match_the_store(calibrated):
    """Every particle of every population is a run of the store, with the outcomes pyabc saw."""
    result, _, root = calibrated
    particles = pq.read_table(result.out / "particles.parquet").to_pylist()
    pops = pq.read_table(result.out / "populations.parquet").to_pylist()
    assert [p["t"] for p in pops] == [0, 1, 2]
    assert all(p["particles"] == 40 and 0 < p["acceptance_rate"] <= 1 and p["wall_seconds"] > 0 for p in pops)
    assert len(particles) == 3 * 40
    for t in range(3):
        assert sum(p["weight"] for p in particles if p["t"] == t) == pytest.approx(1.0)
    store = ResultStore(root / "store", create=False)
    done = store.completed()
    for p in particles:
        assert p["run_id"] in done
        row = store.outcome_row(p["run_id"])
        assert row["legitimacy"] == pytest.approx(p["legitimacy"], abs=0)
        assert row["calibration_helpers:legitimacy_used"] == p["calibration_helpers:legitimacy_used"]
        assert row["experiment"] in ("tiny-cal-prior", "tiny-cal-t0", "tiny-cal-t1", "tiny-cal-t2")
        assert p["distance"] == pytest.approx(abs(p["legitimacy"] - TRUE_LEGITIMACY) / 0.02)
    labels = {r["experiment"] for r in store.query("SELECT DISTINCT experiment FROM outcomes").to_pylist()}
    assert {"tiny-cal-prior", "tiny-cal-t0", "tiny-cal-t2", "tiny-cal-best"} <= labels
    # pyabc's own history is there and agrees
    import pyabc

    history = pyabc.History(f"sqlite:///{result.out / 'abc.db'}", create=False)
    assert history.max_t == 2
    df, w = history.get_distribution(m=0, t=2)
    assert sorted(df["legitimacy"]) == pytest.approx(sorted(p["legitimacy"] for p in particles if p["t"] == 2))


def test_outputs_of_the_command(tmp_path):
    """The command end to end: files, a loadable best scenario, non-empty figures, one line per population."""
    exp = experiment_file(tmp_path)
    targets = tmp_path / "targets.csv"
    targets.write_text("outcome,value,scale,source\ncalibration_helpers:legitimacy_used,0.6,0.05,test\n"
                       "mean_active_fraction,0.05,0.5,loose\n", encoding="utf-8")
    proc = subprocess.run(cli_cmd("calibrate", str(exp), "--targets", str(targets), "--store", str(tmp_path / "st"),
                                  "--workers", "2", "--populations", "2", "--population-size", "16"),
                          capture_output=True, text=True, env=ENV, timeout=240)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any("prior sample" in line for line in lines)
    assert sum("population 1/2" in line for line in lines) == 1 and sum("population 2/2" in line for line in lines) == 1
    assert "eta" in next(line for line in lines if "population 1/2" in line)
    assert "posterior" in proc.stdout and "best (" in proc.stdout
    out = tmp_path / "st" / "calibration"
    for name in ("abc.db", "posterior.csv", "particles.parquet", "particles.csv", "populations.parquet",
                 "populations.csv", "best.toml", "best_check.csv", "calibration.json", "posterior.png", "epsilon.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in ("posterior.png", "epsilon.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    best = Scenario.load(out / "best.toml")
    meta = json.loads((out / "calibration.json").read_text())
    assert best.width == 15 and best.steps == 30
    assert best.legitimacy == pytest.approx(meta["best"]["parameters"]["legitimacy"])
    assert meta["best"]["rule"] in {c["rule"] for c in meta["candidates"]}
    header = (out / "posterior.csv").read_text().splitlines()[0]
    assert header.replace('"', "").split(",")[:6] == ["parameter", "mean", "sd", "q2.5", "q50", "q97.5"]
    assert pq.read_table(out / "particles.parquet").num_rows == 2 * 16
    # the simulated particles are runs any `uprising runs` command sees
    ls = subprocess.run(cli_cmd("runs", "ls", "--store", str(tmp_path / "st"), "--limit", "0"), capture_output=True,
                        text=True, env=ENV, timeout=60)
    assert ls.returncode == 0 and "tiny-cal-t1" in ls.stdout


@pytest.mark.parametrize("body, field", [
    ("outcome,value,scale\nno_such_outcome,1,1\n", "line 2, outcome"),
    ("outcome,value,scale\nmean_active_fraction,abc,1\n", "line 2, value"),
    ("outcome,value,scale\nmean_active_fraction,0.1,0\n", "line 2, scale"),
    ("outcome,value\nmean_active_fraction,0.1\n", "scale"),
    ("outcome,value,scale\nmean_active_fraction,0.1,1\nmean_active_fraction,0.2,1\n", "line 3, outcome"),
    ("outcome,value,scale\n", "(rows)"),
])
def test_bad_targets_exit_2_with_one_line(tmp_path, capsys, body, field):
    exp = experiment_file(tmp_path)
    targets = tmp_path / "targets.csv"
    targets.write_text(body, encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", str(exp), "--targets", str(targets), "--store", str(tmp_path / "st")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(targets) in err and f": {field}:" in err
    assert not (tmp_path / "st").exists()  # nothing started


def test_bad_targets_messages_say_what_is_allowed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("outcome,value,scale\nno_such_outcome,1,1\n")
    with pytest.raises(ScenarioError, match="allowed: mean_active_fraction.*module:function"):
        load_targets(path)
    path.write_text("outcome,value\nmean_active_fraction,0.1\n")
    with pytest.raises(ScenarioError, match="required columns: outcome,value,scale"):
        load_targets(path)
    path.write_text("outcome,value,scale,note\n# a comment\nmean_active_fraction,0.1,0.02,why\n")
    assert load_targets(path) == [Target("mean_active_fraction", 0.1, 0.02)]


def test_factorial_experiment_is_refused_with_one_line(tmp_path, capsys):
    exp = experiment_file(tmp_path, "factorial")
    targets = tmp_path / "targets.csv"
    targets.write_text("outcome,value,scale\nmean_active_fraction,0.1,1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", str(exp), "--targets", str(targets), "--store", str(tmp_path / "st")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{exp}: parameters.legitimacy: calibrate needs ranges" in err and "lhs, sobol or morris" in err


def test_the_model_is_deterministic_per_particle_on_any_executor(tmp_path, calibrated):
    """pyabc's proposals are not reproducible (its executor sampler reseeds from OS entropy), but the model
    function is: a particle's outcomes depend on its parameters only, in-process, on threads or processes."""
    result, _, root = calibrated
    exp = tiny_experiment()
    names = ["mean_active_fraction", "mean_jailed_fraction"]
    points = [{"legitimacy": 0.55, "cop_density": 0.03}, {"legitimacy": 0.7, "cop_density": 0.08}]
    direct = [ParticleModel(exp, tmp_path / "a", names)(p) for p in points]
    with cf.ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(ParticleModel(exp, tmp_path / "b", names), points))
    again = [ParticleModel(exp, tmp_path / "a", names)(p) for p in points]  # read back from the store
    assert direct == threaded == again
    assert direct[0] != direct[1]
    # the seed is the store's: from the particle's scenario hash
    run = exp.at([points[0]]).runs()[0]
    assert run.seed == run_seed(run.scenario_hash)
    sim = simulate(run.scenario, seed=run.seed, replicate=0)
    from uprising.experiment import evaluate

    assert evaluate(sim, names) == direct[0]
    # and the calibration's particles (made on the process pool) come out the same in this process
    particles = pq.read_table(result.out / "particles.parquet").to_pylist()[:3]
    store = ResultStore(root / "store", create=False)
    fresh = ParticleModel(exp, tmp_path / "c", names)
    for p in particles:
        assert fresh({"legitimacy": p["legitimacy"], "cop_density": p["cop_density"]}) == {
            n: store.outcome_row(p["run_id"])[n] for n in names}


def test_distance_handles_undefined_outcomes():
    d = TargetDistance([Target("a", 60.0, 55.0), Target("b", 708.0, 230.0)])
    assert d({"a": 115.0, "b": 708.0}, {"a": 60.0, "b": 708.0}) == pytest.approx(1.0)
    assert d({"a": 60.0, "b": 938.0}, {"a": 60.0, "b": 708.0}) == pytest.approx(1.0)
    assert d({"a": math.nan, "b": 708.0}, {"a": 60.0, "b": 708.0}) == pytest.approx(UNDEFINED_Z)
    assert d({"b": math.inf}, {"a": 60.0, "b": 708.0}) == pytest.approx(math.sqrt(2) * UNDEFINED_Z)
    assert np.isfinite(d({}, {"a": 60.0, "b": 708.0}))


def test_run2_files_are_valid():
    """The shipped first use: Run 2's calibration experiment and the paper's targets."""
    exp = Experiment.load(ROOT / "experiments" / "calibrate-run2.toml")
    from uprising.experiment.calibrate import check_ranges

    assert check_ranges(exp) == {"legitimacy": (0.75, 0.9), "cop_density": (0.02, 0.07)}
    assert exp.base_scenario.steps == 1000 and exp.base_scenario.legitimacy == 0.82
    targets = load_targets(ROOT / "experiments" / "targets-run2.csv")
    assert targets == [Target("mean_wait_between_outbursts", 60.0, 55.0),
                       Target("mean_outburst_activation", 708.0, 230.0)]


def test_calibration_on_a_dask_executor(tmp_path):
    """The same driver on Dask's ClientExecutor (an in-process LocalCluster: two single-threaded workers)."""
    distributed = pytest.importorskip("distributed")
    from uprising.execution import dask_executor

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        executor, close = dask_executor(lc.scheduler_address)
        try:
            result = calibrate(tiny_experiment(), TARGETS, tmp_path / "store", tmp_path / "out", executor,
                               populations=2, population_size=16, check_replicates=2)
        finally:
            close()
    post = {row["parameter"]: row for row in result.posterior}
    assert post["legitimacy"]["sd"] < post["legitimacy"]["prior_sd"]
    particles = pq.read_table(result.out / "particles.parquet").to_pylist()
    store = ResultStore(tmp_path / "store", create=False)
    assert len(particles) == 32 and all(p["run_id"] in store.completed() for p in particles)
    assert not (result.out / "posterior.png").exists()  # the driver draws nothing; the command does
