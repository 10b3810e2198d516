"""Experiments: files, design points, seeds, the results store, the runner and the command line.

Everything runs for real: the default process pool, a thread pool, subprocesses of the command
line, Ctrl-C. Runs are tiny (15x15 lattices, 40 steps), so the cost is in starting processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

os.environ.setdefault("UPRISING_TEST_DIR", tempfile.mkdtemp(prefix="uprising-test-"))  # before any worker starts

import experiment_helpers as H  # noqa: E402
from conftest import ROOT, SCENARIOS, cli_cmd  # noqa: E402
from uprising.analysis import outbursts  # noqa: E402
from uprising.experiment import Experiment, evaluate, run_id, run_seed  # noqa: E402
from uprising.experiment.outcomes import DEFAULT_OUTCOMES, UnknownOutcome, outburst_threshold  # noqa: E402
from uprising.experiment.runner import ExperimentInterrupted, run_experiment  # noqa: E402
from uprising.experiment.store import PROVENANCE, ResultStore  # noqa: E402
from uprising.scenario import Scenario, ScenarioError  # noqa: E402
from uprising.simulate import simulate  # noqa: E402

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}

TINY = f"""
name = "tiny"
base = {json.dumps(str(RUN2))}
steps = 40
replicates = 2
outcomes = ["mean_active_fraction", "peak_active_fraction", "outbursts_per_1000_steps",
            "mean_wait_between_outbursts", "experiment_helpers:mark"]

[design]
kind = "factorial"

[parameters]
width = [15]
height = [15]
citizen_vision = [3.0]
cop_vision = [3.0]
legitimacy = [0.6, 0.8]
cop_density = [0.02, 0.06]
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def uprising(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=ENV)


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("uprising: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def outcome_rows(store: ResultStore) -> dict[str, dict]:
    rows = {}
    for path in sorted(store.outcomes_dir.glob("*.parquet")):
        row = pq.read_table(path).to_pylist()[0]
        rows[row["run_id"]] = {k: v for k, v in row.items() if k not in PROVENANCE}
    return rows


def same_numbers(a: dict, b: dict) -> bool:
    """Equal rows, nan equal to nan (bit for bit otherwise)."""
    if a.keys() != b.keys():
        return False
    return all((isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or x == y
               for x, y in zip(a.values(), (b[k] for k in a)))


# ------------------------------------------------------------------ outcomes
def test_outcomes_measure_the_run():
    result = simulate(Scenario.load(RUN2), steps=300, seed=4)
    values = evaluate(result, DEFAULT_OUTCOMES)
    assert list(values) == list(DEFAULT_OUTCOMES)
    active = result.column("active")
    n = result.citizens
    assert values["mean_active_fraction"] == pytest.approx(active[1:].mean() / n)
    assert values["peak_active_fraction"] == pytest.approx(active[1:].max() / n)
    assert values["final_jailed_fraction"] == pytest.approx(result.column("jailed")[-1] / n)
    assert values["arrests_per_step_per_citizen"] == pytest.approx(result.column("arrests")[1:].sum() / 300 / n)
    # at Run 2's 1120 citizens the scaled threshold is Epstein's 50 actives
    assert n == 1120 and outburst_threshold(n) == 50
    ep = outbursts(active, 50)
    assert values["outbursts_per_1000_steps"] == pytest.approx(1000 * len(ep) / 300)
    if len(ep) >= 2:
        assert values["mean_wait_between_outbursts"] == pytest.approx(np.mean(np.diff([e[0] for e in ep])))
    else:
        assert math.isnan(values["mean_wait_between_outbursts"])


def test_outcomes_are_nan_where_undefined_and_names_are_checked():
    calm = simulate(Scenario.load(RUN2).replace(legitimacy=1.0), steps=20, seed=1)
    values = evaluate(calm, ["outbursts_per_1000_steps", "mean_wait_between_outbursts", "mean_outburst_activation"])
    assert values["outbursts_per_1000_steps"] == 0.0
    assert math.isnan(values["mean_wait_between_outbursts"]) and math.isnan(values["mean_outburst_activation"])
    with pytest.raises(UnknownOutcome) as err:
        evaluate(calm, ["mean_active_fraction", "nope"])
    msg = str(err.value)
    assert "\n" not in msg and "'nope'" in msg and "mean_active_fraction" in msg and "module:function" in msg


# ------------------------------------------------------------------ experiment files
def test_factorial_points_are_the_product_in_file_order(tmp_path):
    exp = Experiment.load(write(tmp_path, f"""
base = {json.dumps(str(RUN2))}
replicates = 3
[parameters]
legitimacy = [0.7, 0.8]
arrest_rule = ["floor", "ratio"]
"legitimacy_schedule.start" = [5, 6]
"""))
    assert exp.name == "exp" and exp.design.kind == "factorial" and exp.outcomes == list(DEFAULT_OUTCOMES)
    points = exp.points()
    assert len(points) == 8 and points[0] == {"legitimacy": 0.7, "arrest_rule": "floor", "legitimacy_schedule.start": 5}
    assert points[1]["legitimacy_schedule.start"] == 6 and points[-1] == {
        "legitimacy": 0.8, "arrest_rule": "ratio", "legitimacy_schedule.start": 6}
    runs = exp.runs()
    assert len(runs) == 24 and [r.replicate for r in runs[:4]] == [0, 1, 2, 0]
    assert runs[0].scenario == Scenario.load(RUN2).replace(legitimacy=0.7, arrest_rule="floor",
                                                           **{"legitimacy_schedule.start": 5})
    assert exp.design_matrix().shape == (8, 3)
    with pytest.raises(ValueError, match="factorial"):
        exp.salib_problem()


def test_dotted_keys_as_toml_tables_and_an_ensemble_without_parameters(tmp_path):
    a = Experiment.load(write(tmp_path, f'base = {json.dumps(str(RUN2))}\n[parameters]\n'
                              'legitimacy_schedule.start = [3, 4]\n', "a.toml"))
    b = Experiment.load(write(tmp_path, f'base = {json.dumps(str(RUN2))}\n[parameters]\n'
                              '"legitimacy_schedule.start" = [3, 4]\n', "b.toml"))
    assert a.points() == b.points() == [{"legitimacy_schedule.start": 3}, {"legitimacy_schedule.start": 4}]
    ens = Experiment.from_dict({"name": "ensemble", "base": str(RUN2), "replicates": 5, "steps": 10})
    assert ens.points() == [{}] and len(ens.run_ids()) == 5
    assert {r.scenario.steps for r in ens.runs()} == {10}


@pytest.mark.parametrize("kind,samples,count", [("lhs", 7, 7), ("sobol", 8, 8 * (2 + 2)), ("morris", 3, 3 * (2 + 1))])
def test_sampled_designs_are_deterministic_and_in_range(tmp_path, kind, samples, count):
    text = f"""
base = {json.dumps(str(RUN2))}
seed = 11
[design]
kind = "{kind}"
samples = {samples}
[parameters]
legitimacy = {{ low = 0.6, high = 0.9 }}
"legitimacy_schedule.start" = {{ low = 10, high = 50 }}
"""
    a = Experiment.load(write(tmp_path, text, "a.toml"))
    b = Experiment.load(write(tmp_path, text, "b.toml"))
    assert a.points() == b.points() and len(a.points()) == count
    assert np.array_equal(a.design_matrix(), b.design_matrix())
    assert a.salib_problem() == {"num_vars": 2, "names": ["legitimacy", "legitimacy_schedule.start"],
                                 "bounds": [[0.6, 0.9], [10.0, 50.0]]}
    for p in a.points():
        assert 0.6 <= p["legitimacy"] <= 0.9 and isinstance(p["legitimacy_schedule.start"], int)
        assert 10 <= p["legitimacy_schedule.start"] <= 50
    other = Experiment.load(write(tmp_path, text.replace("seed = 11", "seed = 12"), "c.toml"))
    if kind != "morris" or other.points() != a.points():  # a coarse Morris grid may coincide; LHS/Sobol never
        assert other.points() != a.points()


def test_seeds_derive_from_the_scenario_hash_and_replicate_only():
    h = Scenario.load(RUN2).hash()
    assert run_seed(h) == int(h, 16) % 2**63 and run_id(h, 3) == f"{h}-r3"
    assert run_seed(h, 5) != run_seed(h) and 0 <= run_seed(h, 5) < 2**63 and run_id(h, 3, 5) == f"{h}-seed5-r3"
    e1 = Experiment.from_dict({"name": "a", "base": str(RUN2), "replicates": 2, "parameters": {"legitimacy": [0.7, 0.8]}})
    e2 = Experiment.from_dict({"name": "b", "base": str(RUN2), "replicates": 2, "parameters": {"legitimacy": [0.8]}})
    shared = {r.run_id: r.seed for r in e1.runs() if r.params["legitimacy"] == 0.8}
    assert shared == {r.run_id: r.seed for r in e2.runs()}  # same scenario, same runs, whatever the experiment


def test_an_experiment_at_points_of_a_driver_s_choosing(tmp_path):
    exp = Experiment.from_dict({"name": "grid", "base": str(RUN2), "replicates": 2,
                                "parameters": {"legitimacy": [0.7, 0.8]}})
    pop = exp.at([{"legitimacy": np.float64(0.8)}, {"legitimacy": 0.75, "legitimacy_schedule.start": 3.4}],
                 name="grid-pop1")
    assert (pop.name, exp.name) == ("grid-pop1", "grid")
    assert pop.points() == [{"legitimacy": 0.8}, {"legitimacy": 0.75, "legitimacy_schedule.start": 3}]
    assert pop.varied == ["legitimacy", "legitimacy_schedule.start"]
    assert pop.run_ids()[:2] == exp.run_ids()[2:]  # the same scenario is the same runs
    assert np.isnan(pop.design_matrix()[0, 1]) and pop.design_matrix()[1].tolist() == [0.75, 3.0]
    with pytest.raises(ScenarioError, match=r"parameters.colour: unknown parameter"):
        exp.at([{"colour": 1}])
    with pytest.raises(ScenarioError, match=r"parameters.legitimacy: design point 0"):
        exp.at([{"legitimacy": 1.2}])
    with pytest.raises(ScenarioError, match=r": name: "):
        exp.at([{"legitimacy": 0.5}], name="no spaces")


BAD = {
    "unknown parameter": ("[parameters]\ncolour = [1, 2]\n", "parameters.colour", "allowed: "),
    "bad value": ("[parameters]\nlegitimacy = [0.5, 1.5]\n", "parameters.legitimacy", "[0.0, 1.0]"),
    "bad point": ("[parameters]\ncop_density = [0.04, 0.5]\n", "parameters", "citizen_density + cop_density"),
    "bad kind": ('[design]\nkind = "grid"\n', "design.kind", "factorial | lhs | sobol | morris"),
    "no samples": ('[design]\nkind = "lhs"\n[parameters]\nlegitimacy = {low = 0.1, high = 0.2}\n',
                   "design.samples", "samples"),
    "sobol not a power of 2": ('[design]\nkind = "sobol"\nsamples = 6\n[parameters]\n'
                               'legitimacy = {low = 0.1, high = 0.2}\n', "design.samples", "power of 2"),
    "range on a choice": ('[design]\nkind = "lhs"\nsamples = 4\n[parameters]\narrest_rule = {low = 0, high = 1}\n',
                          "parameters.arrest_rule", "numeric"),
    "list in a sampled design": ('[design]\nkind = "lhs"\nsamples = 4\n[parameters]\nlegitimacy = [0.1]\n',
                                 "parameters.legitimacy", "range"),
    "unknown outcome": ('outcomes = ["nope"]\n', "outcomes", "mean_active_fraction"),
    "unknown key": ("colour = 1\n", "colour", "allowed keys"),
    "zero replicates": ("replicates = 0\n", "replicates", "[1, 1000000]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_experiment_is_one_line_naming_file_and_field(tmp_path, case):
    body, field, allowed = BAD[case]
    path = write(tmp_path, f"base = {json.dumps(str(RUN2))}\n" + body)
    with pytest.raises(ScenarioError) as err:
        Experiment.load(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path}: {field}: ") and allowed in msg, msg


def test_missing_base_names_the_field(tmp_path):
    path = write(tmp_path, 'base = "nowhere.toml"\n')
    with pytest.raises(ScenarioError, match=r": base: no such scenario file"):
        Experiment.load(path)


@pytest.mark.parametrize("body,needle", [("[parameters]\ncolour = [1]\n", "parameters.colour"),
                                         ('[design]\nkind = "grid"\n', "design.kind")])
def test_cli_rejects_a_bad_experiment_in_one_line(tmp_path, body, needle):
    path = write(tmp_path, f"base = {json.dumps(str(RUN2))}\n" + body)
    proc = uprising("experiment", str(path), "--store", str(tmp_path / "store"))
    assert_one_line_error(proc, str(path), needle)
    assert not (tmp_path / "store").exists()  # nothing ran, nothing written


# ------------------------------------------------------------------ store and runner
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny experiment run twice: by the default process pool and by a thread pool."""
    root = tmp_path_factory.mktemp("tiny")
    exp = Experiment.load(write(root, TINY, "tiny.toml"))
    marks = {rid: H.marks(rid) for rid in exp.run_ids()}
    seen = []
    procs = run_experiment(exp, root / "procs", progress=lambda d, t, r: seen.append((d, t, r)), workers=2)
    with cf.ThreadPoolExecutor(2) as pool:
        threads = run_experiment(exp, root / "threads", executor=pool)
    return exp, root, procs, threads, seen, marks


def test_process_and_thread_executors_give_identical_files(tiny):
    exp, root, procs, threads, seen, _ = tiny
    assert procs.completed == threads.completed == 8 and procs.failed == procs.lost == 0
    a, b = ResultStore(root / "procs"), ResultStore(root / "threads")
    assert a.completed() == b.completed() == set(exp.run_ids())
    rows_a, rows_b = outcome_rows(a), outcome_rows(b)
    assert all(same_numbers(rows_a[i], rows_b[i]) for i in rows_a)
    for rid in exp.run_ids():
        assert a.series_path(rid).read_bytes() == b.series_path(rid).read_bytes()
    # progress: once at the start, then after every run
    assert seen[0] == (0, 8, None) and [d for d, _, _ in seen[1:]] == list(range(1, 9))
    assert {r["status"] for _, _, r in seen[1:]} == {"ok"}


def test_stored_runs_reproduce_by_hand_and_carry_their_parameters(tiny):
    exp, root, *_ = tiny
    store = ResultStore(root / "procs")
    for run in exp.runs()[::3]:
        direct = simulate(run.scenario, seed=run.seed, replicate=run.replicate)
        assert np.array_equal(store.result(run.run_id).counts, direct.counts)
        row = store.outcome_row(run.run_id)
        assert (row["legitimacy"], row["cop_density"], row["point_index"], row["replicate"]) == (
            run.params["legitimacy"], run.params["cop_density"], run.point_index, run.replicate)
        assert row["mean_active_fraction"] == evaluate(direct, ["mean_active_fraction"])["mean_active_fraction"]
        series = store.series(run.run_id)
        assert set(series.column("run_id").to_pylist()) == {run.run_id}
        assert set(series.column("experiment").to_pylist()) == {"tiny"}
        assert set(series.column("cop_density").to_pylist()) == {run.params["cop_density"]}
    table = store.outcomes_for(exp)
    assert table.column("run_id").to_pylist() == [r.run_id for r in exp.runs()]
    m = store.outcome_matrix(exp, "mean_active_fraction")
    assert m.shape == (4, 2) and not np.isnan(m).any()


def test_rerun_skips_completed_runs(tiny):
    exp, root, *_, marks = tiny
    before = {rid: H.marks(rid) for rid in exp.run_ids()}
    assert {before[rid] - marks[rid] for rid in before} == {1 + 1}  # once by the process pool, once by the threads
    again = run_experiment(exp, root / "procs", workers=2)
    assert (again.already, again.completed, again.total) == (8, 0, 8)
    assert {rid: H.marks(rid) for rid in exp.run_ids()} == before


def test_a_failing_run_is_recorded_and_the_rest_complete(tmp_path, capsys):
    text = TINY.replace('name = "tiny"', 'name = "fragile"').replace("steps = 40", "steps = 38").replace(
        '"experiment_helpers:mark"]', '"experiment_helpers:mark", "experiment_helpers:fragile"]')
    exp = Experiment.load(write(tmp_path, text))
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, tmp_path / "store", executor=pool)
    assert (summary.completed, summary.failed, summary.lost) == (4, 4, 0)
    store = ResultStore(tmp_path / "store")
    bad = {r.run_id for r in exp.runs() if r.params["legitimacy"] > 0.7}
    assert store.failed() == bad == set(summary.failed_ids) and store.completed() == set(exp.run_ids()) - bad
    rec = store.failure(sorted(bad)[0])
    assert rec["error"].startswith("ValueError: fragile: undefined for legitimacy 0.8")
    assert "Traceback" in rec["traceback"] and "in fragile" in rec["traceback"]
    assert "ValueError: fragile" in rec["traceback"] and rec["params"]["legitimacy"] == 0.8
    failures = store.query("SELECT run_id, error FROM failures ORDER BY run_id")
    assert failures.column("run_id").to_pylist() == sorted(bad)
    runs = store.query("SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status").to_pylist()
    assert runs == [{"status": "failed", "n": 4}, {"status": "ok", "n": 4}]
    # a re-run retries the failed runs only
    counts = {rid: H.marks(rid) for rid in exp.run_ids()}
    with cf.ThreadPoolExecutor(2) as pool:
        again = run_experiment(exp, tmp_path / "store", executor=pool)
    assert (again.already, again.failed) == (4, 4)
    assert {rid: H.marks(rid) - counts[rid] for rid in exp.run_ids()} == {rid: int(rid in bad) for rid in exp.run_ids()}
    # the command line says so and exits with 1, after completing what it could
    proc = Cli(capsys)("experiment", str(tmp_path / "exp.toml"), "--store", str(tmp_path / "store"), "--workers", "1")
    assert proc.returncode == 1 and "8 runs, on 1 local processes" in proc.stderr
    assert "4/8 runs complete" in proc.stdout and "4 already there), 4 failed" in proc.stdout
    assert proc.stderr.splitlines()[-1].startswith("uprising: 4 runs failed; see `uprising runs ls --store ")
    ls = Cli(capsys)("runs", "ls", "--store", str(tmp_path / "store"), "--failed")
    assert ls.returncode == 0 and all(rid in ls.stdout for rid in bad) and "ValueError: fragile" in ls.stdout


def test_partial_files_never_count_and_are_cleaned(tmp_path):
    exp = Experiment.load(write(tmp_path, TINY.replace("steps = 40", "steps = 39")))
    store = ResultStore(tmp_path / "store")
    with cf.ThreadPoolExecutor(2) as pool:
        run_experiment(exp, store, executor=pool)
    first, second = exp.run_ids()[:2]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = os.uname().nodename
    # a writer killed mid-write of the outcomes row: a truncated file under its partial name
    store.outcomes_path(first).unlink()
    leftover = store.outcomes_dir / f"{first}.parquet.{host}.{dead.pid}.0badc0de.partial"
    leftover.write_bytes(b"PAR1\x00\x00truncated")
    # a writer killed between the series and the outcomes row: the series alone
    store.outcomes_path(second).unlink()
    assert store.series_path(second).is_file()
    assert not store.has(first) and not store.has(second) and len(store.completed()) == 6
    assert store.query("SELECT count(*) AS n FROM runs").column("n")[0].as_py() == 6
    assert store.query("SELECT count(DISTINCT run_id) AS n FROM series").column("n")[0].as_py() == 6
    counts = {rid: H.marks(rid) for rid in exp.run_ids()}
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, store, executor=pool)
    assert (summary.already, summary.completed) == (6, 2) and not leftover.exists()
    assert not list(store.root.rglob("*.partial"))
    assert {rid: H.marks(rid) - counts[rid] for rid in exp.run_ids()} == {
        rid: int(rid in (first, second)) for rid in exp.run_ids()}
    assert store.query("SELECT count(*) AS n FROM series").column("n")[0].as_py() == 8 * 40


class Cli:
    """The command line's entry point called in this process (as the console script calls it)."""

    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        from uprising.cli import main

        self.capsys.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
        out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)


def test_runs_commands_on_a_store(tiny, tmp_path, capsys):
    exp, root, *_ = tiny
    run = Cli(capsys)
    store = str(root / "procs")
    ls = run("runs", "ls", "--store", store)
    assert ls.returncode == 0, ls.stderr
    assert "tiny: 8 runs planned, 8 ok, 0 failed, 0 not run" in ls.stdout
    assert all(rid in ls.stdout for rid in exp.run_ids())
    rid = exp.run_ids()[0]
    assert_one_line_error(run("runs", "show", rid[:-1], "--store", store), "matches 2 runs")
    show = run("runs", "show", rid, "--store", store)
    assert show.returncode == 0 and "mean_active_fraction" in show.stdout
    assert str(ResultStore(store).series_path(rid)) in show.stdout
    q = run("runs", "query", "SELECT legitimacy, count(*) AS n FROM outcomes GROUP BY 1 ORDER BY 1", "--store",
            store, "--csv")
    assert q.returncode == 0 and q.stdout.splitlines() == ['"legitimacy","n"', "0.6,4", "0.8,4"]
    table = run("runs", "query", "SELECT run_id, mean_active_fraction FROM outcomes", "--store", store)
    assert table.returncode == 0 and all(r in table.stdout for r in exp.run_ids())
    assert_one_line_error(run("runs", "query", "SELECT nope FROM outcomes", "--store", store), "runs query: SQL:",
                          "nope")
    assert_one_line_error(run("runs", "query", "SELEC 1", "--store", store), "syntax error")
    out = tmp_path / "series.parquet"
    assert run("runs", "export", str(out), "--what", "series", "--store", store).returncode == 0
    assert pq.read_table(out).num_rows == 8 * 41
    csv = tmp_path / "outcomes.csv"
    assert run("runs", "export", str(csv), "--store", store).returncode == 0
    assert len(csv.read_text().splitlines()) == 9
    assert not list(tmp_path.glob("*.partial"))
    assert_one_line_error(run("runs", "export", str(tmp_path / "x.json"), "--store", store), ".csv or .parquet")
    assert_one_line_error(run("runs", "show", "ffff", "--store", store), "no run 'ffff'")
    assert_one_line_error(run("runs", "ls", "--store", str(tmp_path / "empty")), "no results store")
    # the catalog file answers the DuckDB client directly
    import duckdb

    con = duckdb.connect(str(root / "procs" / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 8
    con.close()


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path):
    text = TINY.replace('name = "tiny"', 'name = "interrupted"').replace("steps = 40", "steps = 41").replace(
        '"experiment_helpers:mark"]', '"experiment_helpers:mark", "experiment_helpers:slow"]').replace(
        "replicates = 2", "replicates = 4")
    path = write(tmp_path, text)
    exp = Experiment.load(path)
    (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").write_text("0.4")
    store = ResultStore(tmp_path / "store")
    try:
        proc = subprocess.Popen(cli_cmd("experiment", str(path), "--store", str(store.root), "--workers", "2"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
        deadline = time.time() + 60
        while len(store.completed()) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").unlink()
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("uprising: interrupted: ") and "run the same command again to resume" in last, err
    assert "Traceback" not in err
    done = store.completed()
    assert 2 <= len(done) < 16 and f"{len(done)} of 16 runs" in last
    assert all(pq.read_table(store.outcomes_path(r)).num_rows == 1 for r in done)
    again = uprising("experiment", str(path), "--store", str(store.root), "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert store.completed() == set(exp.run_ids()) and not store.failed()
    assert f"16/16 runs complete" in again.stdout and f"{len(done)} already there" in again.stdout
    assert not list(store.root.rglob("*.partial"))
    assert all(H.marks(r) == 1 for r in done)  # the completed ones did not run again


def _slow_experiment(tmp_path: Path, name: str, steps: int) -> Path:
    return write(tmp_path, TINY.replace('name = "tiny"', f'name = "{name}"').replace("steps = 40", f"steps = {steps}")
                 .replace('"experiment_helpers:mark"]', '"experiment_helpers:mark", "experiment_helpers:slow"]')
                 .replace("replicates = 2", "replicates = 4"), f"{name}.toml")


def _sound(store: ResultStore, exp: Experiment) -> None:
    assert sorted(p.name for p in store.outcomes_dir.iterdir()) == sorted(f"{r}.parquet" for r in exp.run_ids())
    assert all(pq.read_table(store.outcomes_path(r)).num_rows == 1 for r in exp.run_ids())
    assert not store.failed() and not list(store.root.rglob("*.partial"))


def test_a_local_worker_killed_mid_sweep_is_replaced_and_nothing_is_lost(tmp_path):
    import threading

    import psutil

    exp = Experiment.load(_slow_experiment(tmp_path, "local-kill", 37))
    store = ResultStore(tmp_path / "store")
    marks = {rid: H.marks(rid) for rid in exp.run_ids()}
    killed = []

    def kill_a_worker() -> None:
        deadline = time.time() + 60
        while len(store.completed()) < 3 and time.time() < deadline:
            time.sleep(0.01)
        workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
        killed.append((len(store.completed()), workers[0].pid))
        workers[0].kill()

    (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").write_text("0.25")
    thread = threading.Thread(target=kill_a_worker)
    try:
        thread.start()
        summary = run_experiment(exp, store, workers=2)
    finally:
        thread.join()
        (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").unlink()
    assert 3 <= killed[0][0] < 16
    assert (summary.completed, summary.failed, summary.lost) == (16, 0, 0)
    _sound(store, exp)
    counts = [H.marks(rid) - marks[rid] for rid in exp.run_ids()]
    assert min(counts) == 1 and max(counts) <= 2  # runs in flight when the pool broke ran again, once


def test_kill_9_of_the_sweep_leaves_no_orphan_workers_and_resumes(tmp_path):
    import psutil

    path = _slow_experiment(tmp_path, "local-kill9", 36)
    exp = Experiment.load(path)
    store = ResultStore(tmp_path / "store")
    marks = {rid: H.marks(rid) for rid in exp.run_ids()}
    command = cli_cmd("experiment", str(path), "--store", str(store.root), "--workers", "2")
    (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").write_text("0.25")
    try:
        sweep = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
        deadline = time.time() + 60
        while len(store.completed()) < 3 and time.time() < deadline and sweep.poll() is None:
            time.sleep(0.01)
        children = psutil.Process(sweep.pid).children(recursive=True)
        sweep.kill()  # SIGKILL of the sweep's process only: its workers must not live on
        sweep.wait(timeout=10)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, alive
        done_before = store.completed()
        assert 3 <= len(done_before) < 16
        resume = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=ENV)
    finally:
        (Path(os.environ["UPRISING_TEST_DIR"]) / "sleep").unlink()
    assert resume.returncode == 0, resume.stderr
    _sound(store, exp)
    for rid in exp.run_ids():
        n = H.marks(rid) - marks[rid]
        assert (n == 1) if rid in done_before else (1 <= n <= 2), (rid, n)


def test_outcomes_added_later_are_computed_from_the_stored_series(tmp_path):
    text = TINY.replace('name = "tiny"', 'name = "grows"').replace("steps = 40", "steps = 35")
    first = Experiment.load(write(tmp_path, text.replace(', "experiment_helpers:mark"]', "]"), "a.toml"))
    store = ResultStore(tmp_path / "store")
    with cf.ThreadPoolExecutor(2) as pool:
        assert run_experiment(first, store, executor=pool).completed == 8
    stamps = {rid: store.series_path(rid).stat().st_mtime_ns for rid in first.run_ids()}
    walls = {rid: store.outcome_row(rid)["wall_seconds"] for rid in first.run_ids()}
    more = Experiment.load(write(tmp_path, text.replace('"experiment_helpers:mark"]',
                                                        '"experiment_helpers:mark", "final_jailed_fraction"]'), "b.toml"))
    assert more.run_ids() == first.run_ids()
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(more, store, executor=pool)
    assert (summary.already, summary.completed, summary.reevaluated, summary.failed) == (0, 0, 8, 0)
    for run in more.runs():
        row = store.outcome_row(run.run_id)
        direct = evaluate(simulate(run.scenario, seed=run.seed, replicate=run.replicate), ["final_jailed_fraction"])
        assert row["final_jailed_fraction"] == direct["final_jailed_fraction"]
        assert row["wall_seconds"] == walls[run.run_id]  # the simulation's time, kept
        assert store.series_path(run.run_id).stat().st_mtime_ns == stamps[run.run_id]  # not simulated again
    assert not np.isnan(store.outcome_matrix(more, "final_jailed_fraction")).any()
    # the first experiment's outcomes are all still there, so it has nothing to do
    with cf.ThreadPoolExecutor(2) as pool:
        assert run_experiment(first, store, executor=pool).already == 8


def test_sampled_jail_term_is_rounded_to_whole_steps():
    from uprising.experiment import Experiment
    from uprising.scenario import Scenario

    exp = Experiment.from_dict({"name": "jail", "base": "x", "replicates": 1,
                                "design": {"kind": "lhs", "samples": 16},
                                "parameters": {"max_jail_term": {"low": 5, "high": 40}}},
                               base=Scenario(width=15, height=15, steps=10))
    terms = [p["max_jail_term"] for p in exp.points()]
    assert all(t == int(t) and 5 <= t <= 40 for t in terms) and len(set(terms)) > 8
