"""The posterior of a country scenario (uprising.experiment.posterior) and counterfactuals over it.

* A known answer: the two towns' targets (tests/data/two-towns-known-targets.csv) are the mean outcomes of runs
  at rules.legitimacy = 0.8 and 45 police per 1,000; the calibration must hold both values inside its 90%
  credible intervals, and must not when the targets are shifted.
* The calibration is a deterministic function of its inputs: run again it makes no new simulation and gives the
  same posterior; killed with SIGKILL mid-way, the same command resumes and gives the same posterior.
* Counterfactuals over the posterior are the same numbers on any executor.

Budget: 200 prior points, then 2 generations of 100, keeping 50 (400 runs of 60 ms).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from conftest import ROOT, cli_cmd
from uprising import execution as E
from uprising.country import compare as C
from uprising.country.fit import load_targets
from uprising.experiment import Experiment
from uprising.experiment.posterior import (LocalKernel, Prior, Settings, calibrate_country, posterior_predictive, propose,
                                           proposal_density, read_posterior, regression_adjust, systematic_resample,
                                           write_posterior)
from uprising.experiment.store import ResultStore
from uprising.scenario import ScenarioError

DATA = ROOT / "tests" / "data"
EXPERIMENT = DATA / "two-towns-posterior.toml"
TARGETS = DATA / "two-towns-known-targets.csv"
TRUTH = {"rules.legitimacy": 0.8, "cities.*.police_per_1000": 45.0}
SMALL = Settings(first=200, generations=2, size=100, keep=50, seed=1)


def targets(scale: float = 1.0):
    exp = Experiment.load(EXPERIMENT)
    tf = load_targets(TARGETS, exp.base_scenario)
    fit = tf.of_split("fit")
    if scale != 1.0:  # the record moved: every count scaled
        fit = [type(t)(**{**t.__dict__, "low": t.low * scale, "high": t.high * scale}) for t in fit]
    return exp, fit, tf.of_split("test")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    store = tmp_path_factory.mktemp("posterior") / "store"
    exp, fit, test = targets()
    with cf.ProcessPoolExecutor(2) as pool:
        run = calibrate_country(exp, fit, store, SMALL, pool, test_targets=test)
    return exp, store, run


def test_the_known_answer_lies_inside_the_90_percent_credible_intervals(calibrated):
    _, _, run = calibrated
    post = run.posterior
    assert run.total_runs == 400 and len(post.weights) >= 2
    for name, truth in TRUTH.items():
        lo, hi = post.quantile(name, 0.05), post.quantile(name, 0.95)
        assert lo <= truth <= hi, (name, lo, truth, hi)
    # and the data narrowed the prior: each 90% interval is narrower than the prior's
    for row in post.summary():
        assert row["width_ratio"] < 0.9, row
    eps = [g["epsilon"] for g in post.generations]
    assert all(b <= a for a, b in zip(eps, eps[1:])), eps  # the tolerance never grows


def test_shifted_targets_move_the_posterior_off_the_truth(tmp_path):
    # the counts three times as large as the truth's: fewer police and a lower legitimacy arrest and kill more, so
    # at least one parameter's 90% interval must leave the truth out
    exp, fit, test = targets(scale=3.0)
    with cf.ProcessPoolExecutor(2) as pool:
        post = calibrate_country(exp, fit, tmp_path / "store", SMALL, pool).posterior
    outside = [n for n, truth in TRUTH.items() if not post.quantile(n, 0.05) <= truth <= post.quantile(n, 0.95)]
    assert outside, [(n, post.quantile(n, 0.05), post.quantile(n, 0.95)) for n in TRUTH]


def test_a_second_calibration_makes_no_new_simulation_and_gives_the_same_posterior(calibrated):
    exp, store, first = calibrated
    _, fit, test = targets()
    again = calibrate_country(exp, fit, store, SMALL, workers=1, test_targets=test)
    assert again.simulated == 0
    assert np.array_equal(again.posterior.values, first.posterior.values)
    assert np.array_equal(again.posterior.weights, first.posterior.weights)


def test_the_posterior_file_reads_back(calibrated, tmp_path):
    _, _, run = calibrated
    path = write_posterior(run.posterior, tmp_path / "posterior.json")
    back = read_posterior(path)
    assert np.array_equal(back.values, run.posterior.values)
    assert np.allclose(back.weights, run.posterior.weights, rtol=0, atol=1e-15)
    assert back.draw(20, seed=3) == back.draw(20, seed=3) != back.draw(20, seed=4)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ScenarioError) as err:
        read_posterior(bad)
    assert err.value.field == "format"


def test_the_predictive_check_runs_each_particle_on_fresh_seeds(calibrated):
    exp, store, run = calibrated
    _, fit, test = targets()
    rows, fresh = posterior_predictive(exp, run.posterior, [*fit, *test], store, workers=1)
    assert len(rows) == 4 and {r.split for r in rows} == {"fit", "test"}
    assert len(fresh) == len(run.posterior.weights)
    kept = {rid for ids in run.posterior.run_ids for rid in ids}
    assert not kept & {r["run_id"] for r in fresh}  # other runs than the calibration's
    # the truth's own outcomes are reproduced: the record lies within the predictive interval of every target
    assert all(r.covered for r in rows), [(r.label, r.q5, r.low, r.high, r.q95) for r in rows]


@pytest.fixture(scope="module")
def adjusted(calibrated):
    """The same calibration regression-adjusted over its 200 nearest points (the store has every run: none made)."""
    exp, store, _ = calibrated
    _, fit, test = targets()
    settings = Settings(**{**SMALL.__dict__, "adjust": 200})
    return calibrate_country(exp, fit, store, settings, workers=1, test_targets=test)


def test_the_regression_adjustment_keeps_the_truth_and_narrows_the_posterior(calibrated, adjusted):
    # over 4 times the points kept (200 of 400), moved along the local regression to the record: the truth stays
    # inside each 90% interval and each interval is narrower than the unadjusted posterior's (0.60 against 0.72 of
    # the prior's for the legitimacy, 0.16 against 0.34 for the police when this test was written)
    _, _, plain = calibrated
    assert adjusted.simulated == 0 and adjusted.posterior.adjusted
    post = adjusted.posterior
    for name, truth in TRUTH.items():
        assert post.quantile(name, 0.05) <= truth <= post.quantile(name, 0.95), name
    widths = {r["parameter"]: r["width_ratio"] for r in post.summary()}
    before = {r["parameter"]: r["width_ratio"] for r in plain.posterior.summary()}
    assert all(widths[n] < before[n] for n in TRUTH), (widths, before)
    info = post.meta["adjustment"]
    assert info["points"] == 200 and info["ess_before_resampling"] > plain.posterior.ess
    assert post.generations[-1]["generation"] == "adjusted"


def test_an_adjusted_posterior_reads_back_and_its_predictive_runs_its_own_values(adjusted, calibrated, tmp_path):
    exp, store, _ = calibrated
    post = adjusted.posterior
    back = read_posterior(write_posterior(post, tmp_path / "adjusted.json"))
    assert back.adjusted and np.array_equal(back.values, post.values)
    assert np.array_equal(back.run_values, post.run_values)
    assert not np.array_equal(post.values, post.run_values)  # the particles moved
    _, fit, test = targets()
    rows, fresh = posterior_predictive(exp, back, [*fit, *test], store, workers=1)
    assert len(fresh) == len(post.weights)  # one run per adjusted particle (its replicate 0: a new point)
    assert not {rid for ids in post.run_ids for rid in ids} & {r["run_id"] for r in fresh}
    assert all(r.covered for r in rows), [(r.label, r.q5, r.low, r.high, r.q95) for r in rows]


def test_the_local_kernel_calibration_keeps_the_truth(calibrated):
    # the last generation proposed by the local kernel around the posterior pooled after the first (100 new runs in
    # the same store: generations 0 and 1 are the fixture's): the truth stays inside both 90% intervals, and the
    # generation's proposals lie nearer the record than the component-wise kernel's did (median distance)
    exp, store, plain = calibrated
    _, fit, test = targets()
    local = calibrate_country(exp, fit, store, Settings(**{**SMALL.__dict__, "local_from": 2}), workers=2,
                              test_targets=test)
    assert local.simulated == 100
    post = local.posterior
    for name, truth in TRUTH.items():
        assert post.quantile(name, 0.05) <= truth <= post.quantile(name, 0.95), name
    assert [g["proposal"] for g in post.generations][:3] == ["prior", "componentwise", "local"]
    assert np.median(local.generations[2].distances) < np.median(plain.generations[2].distances)


def test_a_calibration_killed_mid_way_resumes_from_the_store(calibrated, tmp_path):
    _, _, uninterrupted = calibrated
    store, out = tmp_path / "store", tmp_path / "out"
    args = cli_cmd("calibrate", str(EXPERIMENT), "--targets", str(TARGETS), "--store", str(store), "--out", str(out),
                   "--first", "200", "--populations", "2", "--size", "100", "--population-size", "50",
                   "--seed", "1", "--workers", "2", "--no-plot")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 240
    outcomes = store / "outcomes"
    while time.time() < deadline and proc.poll() is None:  # kill it once a third of the runs are in
        if outcomes.is_dir() and len(list(outcomes.glob("*.parquet"))) >= 130:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the calibration ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = len(ResultStore(store).completed())
    assert 130 <= done < 400
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    post = read_posterior(out / "posterior.json")
    assert post.meta["runs_made_this_call"] <= 400 - done + 50  # the rest (and the killed runs in flight)
    assert np.array_equal(post.values, uninterrupted.posterior.values)
    assert np.allclose(post.weights, uninterrupted.posterior.weights, rtol=0, atol=1e-15)
    for name in ("posterior.csv", "particles.csv", "generations.csv", "predictive.csv"):
        assert (out / name).is_file(), name


def test_posterior_counterfactuals_are_the_same_on_every_executor(calibrated, tmp_path):
    exp, _, run = calibrated
    scenario = exp.base_scenario
    draws = run.posterior.draw(6, seed=5)
    tasks = C.posterior_tasks(scenario, ["no-shoot-order", "no-blackout"], draws, seed=9, replicates=2)
    assert len(tasks) == 3 * 2 + 6 * 3
    here = E.run_many(tasks)
    with cf.ThreadPoolExecutor(2) as pool:
        threads = E.run_many(tasks, pool)
    with cf.ProcessPoolExecutor(2) as pool:
        processes = E.run_many(tasks, pool)
    assert here == threads == processes
    point, drawn = C.posterior_values(here, ["no-shoot-order", "no-blackout"], 2, 6)
    rows = C.compare_posterior(point, drawn)
    assert {r.variant for r in rows} == {"no-shoot-order", "no-blackout"}
    c = next(r for r in rows if r.variant == "no-blackout" and r.outcome == "deaths_total")
    d = drawn["no-blackout"]["deaths_total"] - drawn["baseline"]["deaths_total"]
    assert c.posterior_mean == pytest.approx(d.mean()) and c.draws == 6 and c.point_runs == 2
    assert c.posterior_interval[0] <= c.posterior_mean <= c.posterior_interval[1]


def test_compare_posterior_from_the_command_line_is_the_same_with_one_or_two_workers(calibrated, tmp_path):
    _, _, run = calibrated
    post = write_posterior(run.posterior, tmp_path / "posterior.json")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = subprocess.run(cli_cmd("compare", str(DATA / "two-towns.toml"), "--posterior", str(post), "--draws", "8",
                                      "--replicates", "3", "--variant", "no-troops", "--workers", workers,
                                      "--out", str(out)), cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs.append((out / "compare-posterior.csv").read_bytes())
    assert outs[0] == outs[1]
    bad = tmp_path / "bad.json"
    data = json.loads(post.read_text())
    data["parameters"][0]["name"] = "rules.no_such"
    for q in data["particles"]:
        q["values"]["rules.no_such"] = q["values"].pop("rules.legitimacy")
    bad.write_text(json.dumps(data))
    proc = subprocess.run(cli_cmd("compare", str(DATA / "two-towns.toml"), "--posterior", str(bad)), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert str(bad) in proc.stderr and "rules.no_such" in proc.stderr


# ------------------------------------------------------------------ the sampler's pieces
@hsettings(max_examples=60, deadline=None)
@given(st.floats(0.001, 10.0), st.floats(1.5, 100.0), st.booleans(), st.floats(0.0, 1.0))
def test_a_prior_maps_its_quantiles_to_values_and_back(low, factor, log, u):
    p = Prior("x", low, low * factor, log)
    x = p.value(u)
    assert low * (1 - 1e-12) <= x <= low * factor * (1 + 1e-12)
    assert float(p.quantile(x)) == pytest.approx(u, abs=1e-9)


def test_the_proposal_density_is_the_density_of_the_proposals():
    # one coordinate, a lopsided population near the cube's edge (where the kernel's truncation matters): the
    # histogram of 400,000 proposals against the density in each of 20 bins. A bin holds 20,000 points or so, so
    # its count's relative standard error is under 1%; 4% is four of them (the density varies within a bin too).
    rng = np.random.default_rng(11)
    units = rng.beta(2, 8, (40, 1))
    weights = rng.uniform(0.5, 1.5, 40)
    weights /= weights.sum()
    x = propose(units, weights, 400_000, np.random.default_rng(12))
    assert x.min() >= 0 and x.max() <= 1
    counts, edges = np.histogram(x[:, 0], bins=20, range=(0, 1))
    fine = np.linspace(0, 1, 2001)[:, None]
    density = proposal_density(fine, units, weights)
    assert np.trapezoid(density, fine[:, 0]) == pytest.approx(1.0, abs=1e-3)  # it integrates to 1 over the cube
    expected = np.array([np.trapezoid(density[(fine[:, 0] >= a) & (fine[:, 0] <= b)],
                                  fine[(fine[:, 0] >= a) & (fine[:, 0] <= b), 0]) for a, b in zip(edges, edges[1:])])
    big = expected > 0.01
    assert np.all(np.abs(counts[big] / len(x) / expected[big] - 1) < 0.04)


def test_importance_weights_undo_the_proposal():
    # points proposed from a spread population with uneven weights, weighted by 1 / proposal density, are a sample
    # of the prior (uniform on the cube): the weighted mean of each coordinate is 1/2. 20,000 points: the weighted
    # mean's standard error is about 0.003 here, so 0.015 is five of them.
    rng = np.random.default_rng(11)
    units = rng.uniform(0, 1, (40, 3)) ** np.array([1.0, 2.0, 0.5])
    weights = rng.uniform(0.2, 1.8, 40)
    weights /= weights.sum()
    x = propose(units, weights, 20000, np.random.default_rng(12))
    w = 1.0 / proposal_density(x, units, weights)
    mean = (w @ x) / w.sum()
    assert np.all(np.abs(mean - 0.5) < 0.015), mean
    plain = x.mean(axis=0)  # unweighted, the proposal's own lean shows
    assert np.abs(plain - 0.5).max() > 0.03, plain


def test_the_local_kernel_is_a_density_and_its_weights_undo_it():
    # in one dimension its density integrates to 1 over the cube (the logit's Jacobian included); in three, points
    # proposed from a lopsided population weighted by 1 / density are a sample of the uniform prior (weighted means
    # 1/2: 20,000 points, a standard error near 0.003, so 0.015 is five of them) though their plain means are not
    rng = np.random.default_rng(11)
    one = LocalKernel(rng.uniform(0, 1, (5, 1)), np.full(5, 0.2), np.arange(5.0))
    grid = np.linspace(1e-7, 1 - 1e-7, 200_001)[:, None]
    assert np.trapezoid(one.density(grid), grid[:, 0]) == pytest.approx(1.0, abs=1e-3)
    units = rng.uniform(0, 1, (40, 3)) ** np.array([1.0, 2.0, 0.5])
    weights = rng.uniform(0.2, 1.8, 40)
    kernel = LocalKernel(units, weights / weights.sum(), rng.uniform(0, 1, 40))
    x = kernel.propose(20000, np.random.default_rng(12))
    assert np.all((x > 0) & (x < 1))
    w = 1.0 / kernel.density(x)
    assert np.all(np.abs((w @ x) / w.sum() - 0.5) < 0.015)
    assert np.abs(x.mean(axis=0) - 0.5).max() > 0.05
    # the same seed, the same proposals
    assert np.array_equal(kernel.propose(50, np.random.default_rng(3)), kernel.propose(50, np.random.default_rng(3)))


def test_regression_adjustment_recovers_a_linear_posterior():
    # a known answer: z = logit(u) with u uniform on the cube, a summary s = 2 z + e (e ~ N(0, 0.1)), the record at
    # s = 0. The posterior of z given s = 0 is centred at 0 with sd 0.05 (= 0.1 / 2): the adjustment, z - s/2 in
    # effect, must give that from points spread over the whole prior. 4,000 points: the sd's relative standard error
    # is about 1%, so 10% is ten of them; a second, useless summary (noise) must not move the answer.
    rng = np.random.default_rng(5)
    u = rng.uniform(0.001, 0.999, (4000, 1))
    z = np.log(u) - np.log1p(-u)
    stats = np.hstack([2.0 * z + rng.normal(0, 0.1, z.shape), rng.normal(0, 1, z.shape)])
    adjusted, slopes = regression_adjust(u, stats, np.zeros(2), np.ones(len(u)), ridge=1e-9)
    za = np.log(adjusted) - np.log1p(-adjusted)
    assert abs(za.mean()) < 0.01 and za.std() == pytest.approx(0.05, rel=0.10)
    assert abs(slopes[0, 1]) < 0.05 * abs(slopes[0, 0])  # the noise summary carries no weight
    # summaries that say nothing leave the points where they were, up to the noise of the fit
    same, _ = regression_adjust(u, rng.normal(0, 1, (4000, 2)), np.zeros(2), np.ones(len(u)))
    assert np.abs(same - u).max() < 0.05


@hsettings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40), st.integers(1, 300), st.integers(0, 2 ** 31))
def test_systematic_resampling_draws_each_point_its_expected_number_of_times(raw, n, seed):
    w = np.array(raw)
    if w.sum() <= 0:
        w = np.ones_like(w)
    counts = systematic_resample(w, n, seed)
    assert counts.sum() == n and len(counts) == len(w)
    expected = n * w / w.sum()
    assert np.all(counts >= np.floor(expected - 1e-9) - 1) and np.all(counts <= np.ceil(expected + 1e-9) + 1)
    assert np.all(counts[w == 0] == 0)


def test_the_settings_are_checked_before_any_run():
    with pytest.raises(ScenarioError) as err:
        Settings(first=100, generations=1, size=40, keep=50).check("x")
    assert err.value.field == "keep"
    with pytest.raises(ScenarioError) as err:
        Settings(first=100, generations=2, size=100, keep=50, local_from=3).check("x")
    assert err.value.field == "local_from"
    proc = subprocess.run(cli_cmd("calibrate", str(EXPERIMENT), "--targets", str(TARGETS), "--population-size", "500",
                                  "--first", "100"), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "keep" in proc.stderr
