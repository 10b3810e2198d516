"""Experiments on a real Dask cluster: a scheduler and two single-threaded worker processes on loopback.

The cluster is the one `uprising cluster local --workers 2` starts (a distributed.LocalCluster with
processes), in a subprocess; the tests reach it through its address as a user does. Runs sleep in
an outcome (experiment_helpers:slow) so that a sweep lasts long enough to be hit mid-way without
loading the machine's two cores.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

os.environ.setdefault("UPRISING_TEST_DIR", tempfile.mkdtemp(prefix="uprising-test-"))  # before any worker starts

import experiment_helpers as H  # noqa: E402
from conftest import ROOT, SCENARIOS, cli_cmd  # noqa: E402
from uprising.experiment import Experiment  # noqa: E402
from uprising.execution import dask_executor  # noqa: E402
from uprising.experiment.runner import run_experiment  # noqa: E402
from uprising.experiment.store import PROVENANCE, ResultStore  # noqa: E402

distributed = pytest.importorskip("distributed")

RUN2 = SCENARIOS / "epstein-2002" / "run2.toml"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}


def experiment(tmp_path: Path, name: str, steps: int, replicates: int, slow: bool = False) -> Path:
    outcomes = ["mean_active_fraction", "outbursts_per_1000_steps", "mean_wait_between_outbursts",
                "experiment_helpers:mark"] + (["experiment_helpers:slow"] if slow else [])
    path = tmp_path / f"{name}.toml"
    path.write_text(f"""
name = "{name}"
base = {json.dumps(str(RUN2))}
steps = {steps}
replicates = {replicates}
outcomes = {json.dumps(outcomes)}
[parameters]
width = [15]
height = [15]
citizen_vision = [3.0]
cop_vision = [3.0]
legitimacy = [0.6, 0.8]
cop_density = [0.02, 0.06]
""", encoding="utf-8")
    return path


def outcome_rows(store: ResultStore) -> dict[str, dict]:
    rows = {}
    for path in sorted(store.outcomes_dir.glob("*.parquet")):
        row = pq.read_table(path).to_pylist()[0]
        rows[row["run_id"]] = {k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()
                               if k not in PROVENANCE}  # repr: nan == nan, otherwise bit for bit
    return rows


def sleep_per_run(seconds: float) -> None:
    path = Path(os.environ["UPRISING_TEST_DIR"]) / "sleep"
    if seconds:
        path.write_text(str(seconds))
    else:
        path.unlink(missing_ok=True)


def complete_and_sound(store: ResultStore, exp: Experiment) -> None:
    """Every run of the experiment complete exactly once, nothing failed, no partial file anywhere."""
    files = sorted(p.name for p in store.outcomes_dir.iterdir())
    assert files == sorted(f"{rid}.parquet" for rid in exp.run_ids())
    for rid in exp.run_ids():
        assert pq.read_table(store.outcomes_path(rid)).num_rows == 1
        assert pq.read_table(store.series_path(rid)).num_rows == exp.base_scenario.steps + 1
    assert not store.failed() and not list(store.failures_dir.iterdir())
    assert not list(store.root.rglob("*.partial"))
    assert store.query("SELECT count(*) AS n, count(DISTINCT run_id) AS d FROM runs").to_pylist() == [
        {"n": len(exp.run_ids()), "d": len(exp.run_ids())}]


@pytest.fixture(scope="module")
def cluster():
    """`uprising cluster local --workers 2` on free loopback ports; yields (address, client)."""
    proc = subprocess.Popen(cli_cmd("cluster", "local", "--workers", "2", "--port", "0", "--dashboard-port", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    lines = []
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the cluster did not start: " + proc.stderr.read())
            lines.append(line)
            if line.startswith("use:"):
                break
        address = next(x.split()[1] for x in lines if x.startswith("scheduler:"))
        assert address.startswith("tcp://127.0.0.1:")
        assert any(x.startswith("dashboard: http://127.0.0.1:") for x in lines), lines
        client = distributed.Client(address, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        assert sorted(client.nthreads().values()) == [1, 1]
        yield address, client
        client.close()
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
        try:
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_dask_gives_the_local_results_bit_for_bit(cluster, tmp_path):
    address, client = cluster
    exp = Experiment.load(experiment(tmp_path, "dask-same", steps=50, replicates=3))
    executor, close = dask_executor(address)
    try:
        on_dask = run_experiment(exp, tmp_path / "dask", executor=executor)
    finally:
        close()
    with cf.ThreadPoolExecutor(2) as pool:
        local = run_experiment(exp, tmp_path / "local", executor=pool)
    assert on_dask.completed == local.completed == 12 and on_dask.failed == on_dask.lost == 0
    a, b = ResultStore(tmp_path / "dask"), ResultStore(tmp_path / "local")
    assert outcome_rows(a) == outcome_rows(b)
    for rid in exp.run_ids():
        assert a.series_path(rid).read_bytes() == b.series_path(rid).read_bytes()
    # it did run on the cluster's workers
    pids = {str(p) for p in client.run(os.getpid).values()}
    ran = set(a.query("SELECT DISTINCT split_part(worker, ':', 2) AS pid FROM outcomes").column("pid").to_pylist())
    assert ran and ran <= pids


def test_a_worker_killed_mid_sweep_loses_nothing(cluster, tmp_path):
    address, client = cluster
    exp = Experiment.load(experiment(tmp_path, "dask-kill", steps=51, replicates=4, slow=True))
    store = ResultStore(tmp_path / "store")
    marks = {rid: H.marks(rid) for rid in exp.run_ids()}  # (steps differ from test_experiment's: other run ids)
    before = client.run(os.getpid)
    victim = next(iter(before.values()))
    killed_at = []

    def kill_one_worker() -> None:
        deadline = time.time() + 60
        while len(store.completed()) < 3 and time.time() < deadline:
            time.sleep(0.01)
        killed_at.append(len(store.completed()))
        os.kill(victim, signal.SIGKILL)

    sleep_per_run(0.25)
    executor, close = dask_executor(address)
    killer = threading.Thread(target=kill_one_worker)
    try:
        killer.start()
        summary = run_experiment(exp, store, executor=executor)
    finally:
        killer.join()
        close()
        sleep_per_run(0)
    assert 3 <= killed_at[0] < 16  # the kill landed mid-sweep
    assert (summary.completed, summary.failed, summary.lost) == (16, 0, 0)
    complete_and_sound(store, exp)
    # only the run that was executing on the killed worker may have started twice
    counts = [H.marks(rid) - marks[rid] for rid in exp.run_ids()]
    assert min(counts) == 1 and sum(counts) <= 16 + 1, counts
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert victim not in client.run(os.getpid).values()


def test_kill_9_of_the_sweep_then_resume_completes_every_run_once(cluster, tmp_path):
    address, client = cluster
    client.wait_for_workers(2, timeout=60)
    path = experiment(tmp_path, "dask-kill9", steps=52, replicates=4, slow=True)
    exp = Experiment.load(path)
    marks = {rid: H.marks(rid) for rid in exp.run_ids()}
    store = ResultStore(tmp_path / "store")
    command = cli_cmd("experiment", str(path), "--store", str(store.root), "--cluster", address)
    sleep_per_run(0.25)
    try:
        sweep = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
        deadline = time.time() + 60
        while len(store.completed()) < 3 and time.time() < deadline and sweep.poll() is None:
            time.sleep(0.01)
        sweep.send_signal(signal.SIGKILL)
        sweep.wait(timeout=10)
        done_before = store.completed()
        assert 3 <= len(done_before) < 16 and sweep.returncode == -signal.SIGKILL
        # whatever was being written when it died is a .partial at most: every file under a final name is whole
        for p in store.outcomes_dir.glob("*.parquet"):
            assert pq.read_table(p).num_rows == 1
        resume = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=ENV)
    finally:
        sleep_per_run(0)
    assert resume.returncode == 0, resume.stderr
    assert "16/16 runs complete" in resume.stdout
    # tasks orphaned by the killed client may still be finishing (they write the same files): let them end
    deadline = time.time() + 30
    while any(client.run(lambda dask_worker: dask_worker.state.executing_count).values()) and time.time() < deadline:
        time.sleep(0.05)
    complete_and_sound(store, exp)
    for rid in exp.run_ids():
        n = H.marks(rid) - marks[rid]
        assert (n == 1) if rid in done_before else (1 <= n <= 2), (rid, n)


def test_a_country_calibration_and_its_counterfactuals_on_dask_are_the_local_ones(cluster, tmp_path):
    # a small calibration of the two towns (uprising.experiment.posterior) on the cluster and on local threads:
    # the same runs, the same posterior; then counterfactuals over it, the same numbers on both
    from uprising import execution as E
    from uprising.country import compare as C
    from uprising.country.fit import load_targets
    from uprising.experiment.posterior import Settings, calibrate_country

    address, _ = cluster
    exp = Experiment.load(ROOT / "tests" / "data" / "two-towns-posterior.toml")
    tf = load_targets(ROOT / "tests" / "data" / "two-towns-known-targets.csv", exp.base_scenario)
    small = Settings(first=40, generations=1, size=20, keep=10, seed=4)
    executor, close = dask_executor(address)
    try:
        on_dask = calibrate_country(exp, tf.of_split("fit"), tmp_path / "dask", small, executor)
        draws = on_dask.posterior.draw(4, seed=2)
        tasks = C.posterior_tasks(exp.base_scenario, ["no-troops"], draws, seed=3, replicates=2)
        dask_values = E.run_many(tasks, executor)
    finally:
        close()
    with cf.ThreadPoolExecutor(2) as pool:
        local = calibrate_country(exp, tf.of_split("fit"), tmp_path / "local", small, pool)
        local_values = E.run_many(tasks, pool)
    assert on_dask.simulated == local.simulated == 60
    assert (on_dask.posterior.values == local.posterior.values).all()
    assert (on_dask.posterior.weights == local.posterior.weights).all()
    assert dask_values == local_values
