"""The driver: determinism across processes, seeds and chunking, snapshots, outbursts, Parquet round trip."""

from __future__ import annotations

import hashlib
import math
import subprocess

import numpy as np
import pytest

from conftest import ROOT, SCENARIOS, python_cmd, small
from uprising.kernels import codes
from uprising.scenario import Scenario
from uprising.simulate import Result, outbursts, read_parquet, simulate

RUN2 = Scenario.load(SCENARIOS / "epstein-2002" / "run2.toml")
MESA = Scenario.load(SCENARIOS / "mesa-default.toml")


def digest(result: Result) -> str:
    return hashlib.sha256(np.ascontiguousarray(result.counts).tobytes()).hexdigest()


def test_same_seed_same_counts_in_process():
    a = simulate(RUN2, 120, 7)
    b = simulate(RUN2, 120, 7)
    assert a.counts.dtype == np.int64 and a.counts.shape == (121, codes.OUT_SIZE)
    assert digest(a) == digest(b)
    assert a.column("arrests").sum() > 0  # a run with something in it


def test_same_seed_same_counts_in_another_process():
    code = ("import hashlib, numpy as np; from uprising.scenario import Scenario; from uprising.simulate import "
            "simulate; r = simulate(Scenario.load('scenarios/epstein-2002/run2.toml'), 120, 7); "
            "print(hashlib.sha256(np.ascontiguousarray(r.counts).tobytes()).hexdigest())")
    proc = subprocess.run(python_cmd(code), capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == digest(simulate(RUN2, 120, 7))


def test_different_seeds_and_replicates_differ():
    base = simulate(RUN2, 60, 1)
    assert digest(simulate(RUN2, 60, 2)) != digest(base)
    assert digest(simulate(RUN2, 60, 1, replicate=0)) != digest(base)
    assert digest(simulate(RUN2, 60, 1, replicate=0)) != digest(simulate(RUN2, 60, 1, replicate=1))
    assert digest(simulate(RUN2, 60, 1, replicate=1)) == digest(simulate(RUN2, 60, 1, replicate=1))


@pytest.mark.parametrize("scenario", [RUN2, MESA.replace(legitimacy=0.7)], ids=["run2", "mesa"])
def test_chunking_and_snapshots_do_not_change_results(scenario):
    ref = simulate(scenario, 100, 4)
    for kw in (dict(chunk=1), dict(chunk=7), dict(chunk=33, snapshot_every=10), dict(snapshot_every=100)):
        assert digest(simulate(scenario, 100, 4, **kw)) == digest(ref), kw


def test_snapshot_every():
    s = small(steps=25, jailed_hold_cell=True, jail_countdown="own_activation", legitimacy=0.6)
    r = simulate(s, 25, 0, snapshot_every=10)
    assert sorted(r.snapshots) == [0, 10, 20]
    for t, grid in r.snapshots.items():
        assert grid.shape == (s.height, s.width) and grid.dtype == np.uint8
        # the snapshot agrees with the counts of its step (prisoners hold their cells in this scenario)
        got = [int((grid == k).sum()) for k in (codes.QUIET, codes.ACTIVE, codes.JAILED, codes.COP)]
        assert got == r.counts[t, :4].tolist(), t
    assert not np.array_equal(r.snapshots[0], r.snapshots[20])  # agents moved
    assert simulate(s, 25, 0).snapshots == {}


def test_progress_is_reported_to_the_end():
    calls = []
    simulate(small(), 23, 0, chunk=5, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(5, 23), (10, 23), (15, 23), (20, 23), (23, 23)]


def test_steps_default_and_validation():
    assert simulate(small(steps=12), None, 0).steps == 12
    with pytest.raises(ValueError):
        simulate(small(), 0, 0)


def test_initial_row_and_schedules_are_recorded():
    s = small(legitimacy=0.9, legitimacy_schedule=dict(kind="step", start=5, value=0.6),
              cop_density=0.1, cop_schedule=dict(kind="step", start=3, value=0.02))
    r = simulate(s, 8, 0)
    assert r.counts[0].tolist()[:4] == [r.citizens, 0, 0, round(0.1 * 180)]
    assert r.counts[0, codes.OUT_ARRESTS] == r.counts[0, codes.OUT_RELEASES] == 0
    assert r.legitimacy.tolist() == [0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6]
    assert r.column("cops").tolist() == [18, 18, 18, 4, 4, 4, 4, 4, 4]  # 0.02 * 180 = 3.6 -> 4 from step 3


# ------------------------------------------------------------------- outbursts


@pytest.mark.parametrize(("series", "threshold", "expected"), [
    ([0, 10, 60, 70, 40, 0, 51, 0], 50, [(2, 2, 130), (6, 1, 51)]),
    ([50, 50, 50], 50, []),  # "more than threshold": 50 is not an outburst
    ([51, 52, 0, 0, 80], 50, [(0, 2, 103), (4, 1, 80)]),  # starting and ending above
    ([], 50, []),
    ([5, 6, 7], 4, [(0, 3, 18)]),
])
def test_outbursts(series, threshold, expected):
    assert outbursts(np.array(series, dtype=np.int64), threshold) == expected


def test_summary_on_a_hand_made_result():
    active = [0, 60, 70, 0, 0, 0, 55, 0, 0, 0, 0]
    counts = np.zeros((11, codes.OUT_SIZE), dtype=np.int64)
    counts[:, codes.OUT_ACTIVE] = active
    counts[:, codes.OUT_QUIET] = 200 - np.array(active)
    counts[:, codes.OUT_COPS] = 10
    counts[:, codes.OUT_ARRESTS] = [0, 3, 4, 0, 0, 0, 1, 0, 0, 0, 0]
    r = Result(small(), 0, None, counts, np.full(11, 0.8), 200)
    summ = r.summary()
    assert summ["outbursts_above_50"] == 2 and summ["peak_active"] == 70 and summ["total_arrests"] == 8
    assert summ["mean_wait_between_outbursts"] == 5.0  # starts at steps 1 and 6
    assert summ["mean_outburst_activation"] == (130 + 55) / 2
    assert summ["mean_active_fraction"] == pytest.approx(185 / 10 / 200)
    assert math.isnan(summ["agent_steps_per_second"])  # no wall time recorded


# ------------------------------------------------------------------- Parquet


def test_parquet_round_trip(tmp_path):
    s = RUN2.replace(name="round-trip", description="with a \"quote\" and a newline\nin it")
    r = simulate(s, 40, 5, replicate=2)
    path = r.to_parquet(tmp_path / "sub" / "r.parquet")
    assert path.is_file() and not list(tmp_path.rglob("*.partial"))
    table, scenario = read_parquet(path)
    s = s.replace(steps=40)  # the recorded scenario is the run that was made
    assert scenario == s and scenario.hash() == s.hash()
    assert table.num_rows == 41
    assert table.column("run_id").to_pylist() == [f"{s.hash()}-s5-r2"] * 41
    assert table.column("replicate").to_pylist() == [2] * 41
    for i, name in enumerate(codes.OUT_NAMES):
        assert np.array_equal(table.column(name).to_numpy(), r.counts[:, i]), name
    assert np.array_equal(table.column("legitimacy").to_numpy(), r.legitimacy)
    frac = table.column("jailed_fraction").to_numpy()
    assert np.allclose(frac, r.counts[:, codes.OUT_JAILED] / r.citizens)
    assert table.schema.metadata[b"uprising.seed"] == b"5"


def test_read_parquet_without_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"step": [0, 1]}), tmp_path / "plain.parquet")
    table, scenario = read_parquet(tmp_path / "plain.parquet")
    assert scenario is None and table.num_rows == 2
