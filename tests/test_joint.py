"""The joint posterior of several episodes (uprising.experiment.joint; `uprising joint`).

The two towns fitted jointly with themselves: the first episode's calibration (100 prior points and a generation
of 50, 150 runs of 60 ms) proposes the points, the second episode runs each of them once with its own legitimacy
drawn from a prior, and the joint posterior keeps the 30 of smallest summed loss. Both episodes read the same
known record (legitimacy 0.8), so each one's legitimacy must hold 0.8 in its 90% interval.
"""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest

from conftest import ROOT
from country_helpers import assert_one_line_error, uprising
from uprising.experiment import joint as J
from uprising.experiment.posterior import importance, nearest, read_posterior
from uprising.experiment.store import ResultStore

DATA = ROOT / "tests" / "data"


def absolute(text: str) -> str:
    """A spec's text with the data files it names made absolute, so that it can be written anywhere (each test
    writes its own under its tmp_path: test processes running side by side never share one)."""
    for name in ("two-towns-joint-first.toml", "two-towns-known-targets.csv", "two-towns.toml"):
        text = text.replace(f'"{name}"', f'"{DATA / name}"')
    return text


def spec_in(tmp_path, **changes) -> J.JointSpec:
    text = absolute((DATA / "two-towns-joint.toml").read_text().replace('"STORE"', f'"{tmp_path / "first-store"}"'))
    for old, new in changes.items():
        text = text.replace(old, new)
    path = tmp_path / "joint.toml"
    path.write_text(text)
    return J.JointSpec.load(path), path


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("joint")
    spec, path = spec_in(tmp)
    try:
        with cf.ProcessPoolExecutor(2) as pool:
            run = J.joint_posterior(spec, tmp / "stores", pool)
        yield spec, path, tmp, run
    finally:
        path.unlink(missing_ok=True)


def test_every_point_of_the_first_calibration_runs_once_in_the_later_episode(joint):
    spec, _, tmp, run = joint
    first, again = run.episodes
    assert len(first.distances) == len(again.distances) == 150
    assert all(len(ids) == 1 for ids in again.run_ids)
    assert len(ResultStore(tmp / "stores" / "again").completed()) == 150
    # the shared behaviour is the first episode's value at the same point; the own legitimacy is drawn anew
    shared = [p.name for p in again.priors].index("repression.arrest_per_hour")
    assert np.allclose(again.values[:, shared], first.values[:, [p.name for p in first.priors].index(
        "repression.arrest_per_hour")])
    own = [p.name for p in again.priors].index("rules.legitimacy")
    assert (again.values[:, own] >= 0.6).all() and (again.values[:, own] <= 0.95).all()
    assert not np.allclose(again.values[:, own], first.values[:, 0])


def test_the_joint_posterior_keeps_the_smallest_summed_loss_with_the_importance_weights(joint):
    _, _, _, run = joint
    total = run.episodes[0].distances + run.episodes[1].distances
    assert np.array_equal(run.kept, nearest(total, 30))
    w = importance(run.generations)[run.kept]
    assert np.allclose(run.weights, w / w.sum()) and abs(run.weights.sum() - 1.0) < 1e-12
    tension = {row["posterior"]: row for row in J.tension(run)}
    # each episode's loss is lowest under its own posterior alone; the joint one sits between (or on) them
    assert tension["first alone"]["loss first"] <= tension["joint"]["loss first"] + 1e-9
    assert tension["again alone"]["loss again"] <= tension["joint"]["loss again"] + 1e-9


def test_each_episode_holds_the_known_legitimacy(joint):
    # both episodes read the record of the two towns at legitimacy 0.8: both legitimacies' 90% intervals hold it
    _, _, _, run = joint
    for k in (0, 1):
        post = run.posterior(k)
        lo, hi = post.quantile("rules.legitimacy", 0.05), post.quantile("rules.legitimacy", 0.95)
        assert lo <= 0.8 <= hi, (k, lo, hi)


def test_a_second_call_makes_no_run_and_gives_the_same_posterior(joint):
    spec, _, tmp, run = joint
    again = J.joint_posterior(spec, tmp / "stores")
    assert again.made == 0
    assert np.array_equal(again.kept, run.kept) and np.array_equal(again.weights, run.weights)


def test_the_command_writes_each_episodes_posterior_for_compare(joint, tmp_path):
    _, path, tmp, run = joint
    proc = uprising("joint", str(path), "--store", str(tmp / "stores"), "--out", str(tmp_path / "out"),
                    "--workers", "2", "--no-plot")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, k in (("first", 0), ("again", 1)):
        post = read_posterior(tmp_path / "out" / name / "posterior.json")
        assert post.names == [p.name for p in run.episodes[k].priors]
        assert np.allclose(post.weights, run.weights)
        assert post.meta["predictive"]["fit"]["targets"] == 3
    summary = json.loads((tmp_path / "out" / "joint.json").read_text())
    assert set(summary["episodes"]) == {"first", "again"} and summary["runs_made_this_call"] == 0


def test_a_shared_behaviour_set_as_an_episodes_own_is_refused_in_one_line(tmp_path):
    spec_text = (DATA / "two-towns-joint.toml").read_text()
    own = '"rules.legitimacy" = { low = 0.6, high = 0.95, reason = "test: the episode\'s own legitimacy" }\n'
    assert own in spec_text
    bad = spec_text.replace(own, own + '"repression.arrest_per_hour" = { low = 0.1, high = 0.9 }\n')
    path = tmp_path / "joint-bad.toml"
    path.write_text(absolute(bad))
    try:
        assert_one_line_error(uprising("joint", str(path), "--no-plot"), "episodes[0].parameters.repression.arrest_per_hour",
                              "shared")
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def joint_out(joint):
    _, path, tmp, _ = joint
    out = tmp / "joint-out"
    proc = uprising("joint", str(path), "--store", str(tmp / "stores"), "--out", str(out), "--workers", "1",
                    "--no-plot")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def prediction_spec(tmp_path, joint_out, draws: int = 6) -> tuple:
    from uprising.country import predict as PR

    path = tmp_path / "prediction.toml"
    path.write_text(f'name = "towns-prediction"\nscenario = "{DATA / "two-towns.toml"}"\njoint = "{joint_out}"\ndraws = {draws}\n'
                    'seed = 5\nnotes = ["a test"]\n[own]\n"events.cabinet-falls.delta" = { low = -0.01, high = 0.01 }\n')
    return PR.PredictionSpec.load(path), path


def test_a_prediction_draws_the_joint_behaviour_and_a_fitted_episodes_legitimacy(joint, joint_out, tmp_path):
    from uprising.country import predict as PR

    _, _, _, run = joint
    spec, path = prediction_spec(tmp_path, joint_out)
    try:
        draws = PR.prediction_draws(spec)
        assert draws == PR.prediction_draws(spec)  # deterministic in the seed
        first, again = (run.posterior(0), run.posterior(1))
        for d in draws:
            # the behaviour is a joint particle's, and the legitimacy that same particle's in one of the episodes
            i = int(np.argmin(np.abs(first.values[:, 1] - d["repression.arrest_per_hour"])))
            assert d["repression.arrest_per_hour"] == pytest.approx(first.values[i, 1])
            legit = [post.values[i, post.names.index("rules.legitimacy")] for post in (first, again)]
            assert d["rules.legitimacy"] in [pytest.approx(v) for v in legit]
            assert -0.01 <= d["events.cabinet-falls.delta"] <= 0.01
            assert 0.01 <= d["travel.join_per_hour"] <= 0.1  # shared behaviour only the later view carries
    finally:
        path.unlink(missing_ok=True)


def test_the_predict_command_writes_the_distributions_with_its_command_and_commit(joint_out, tmp_path):
    spec, path = prediction_spec(tmp_path, joint_out, draws=4)
    try:
        proc = uprising("predict", str(path), "--out", str(tmp_path / "pred"), "--workers", "2")
        assert proc.returncode == 0, proc.stderr[-3000:]
        meta = json.loads((tmp_path / "pred" / "prediction.json").read_text())
        assert meta["draws"] == 4 and meta["command"].startswith("uprising predict")
        assert len(meta["commit"]) == 40 or meta["commit"] == "unknown"
        page = (tmp_path / "pred" / "prediction.md").read_text()
        assert "## The predicted distributions" in page and "deaths (protesters, bystanders and security)" in page
        assert "Oilton" in page and "a test" in page
        rows = {r["quantity"]: r for r in meta["summary"]}
        assert rows["deaths"]["runs"] == 4 and rows["cities_rising"]["q95"] <= 3
        # the same command again: the same numbers (each draw's run is seeded by the file's seed and its index)
        again = uprising("predict", str(path), "--out", str(tmp_path / "pred2"), "--workers", "1")
        assert again.returncode == 0, again.stderr[-3000:]
        assert (tmp_path / "pred" / "runs.csv").read_text() == (tmp_path / "pred2" / "runs.csv").read_text()
    finally:
        path.unlink(missing_ok=True)


def test_a_prediction_with_an_unknown_episode_is_refused_in_one_line(joint_out, tmp_path):
    path = tmp_path / "prediction-bad.toml"
    path.write_text(f'name = "bad"\nscenario = "{DATA / "two-towns.toml"}"\njoint = "{joint_out}"\nlegitimacy_from = ["mars"]\n')
    try:
        assert_one_line_error(uprising("predict", str(path), "--out", str(tmp_path / "o")), "legitimacy_from",
                              "mars")
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize(("table", "key", "needle"), [
    ("shared", "rules.legitimacy", "a country's input is not shared"),
    ("shared", "repression.arrest_per_hour", "already calibrates it"),
])
def test_a_shared_table_takes_only_behaviour_the_first_episode_does_not_calibrate(tmp_path, table, key, needle):
    text = (DATA / "two-towns-joint.toml").read_text().replace(
        "[episodes.shared]", f'[episodes.shared]\n"{key}" = {{ low = 0.1, high = 0.9 }}')
    path = tmp_path / "joint-shared.toml"
    path.write_text(absolute(text))
    try:
        assert_one_line_error(uprising("joint", str(path), "--no-plot"), f"episodes[0].{table}.{key}", needle)
    finally:
        path.unlink(missing_ok=True)


def test_behaviour_the_first_episode_cannot_inform_is_drawn_from_its_prior_and_carried_by_the_later_view(joint):
    # the two towns have no march: the first calibration leaves travel.join_per_hour alone; the second episode draws
    # it over its prior (log-uniform 0.01-0.1) at each point, and its view of the posterior carries it
    _, _, _, run = joint
    first, again = run.episodes
    assert "travel.join_per_hour" not in [p.name for p in first.priors]
    v = again.values[:, [p.name for p in again.priors].index("travel.join_per_hour")]
    assert (v >= 0.01).all() and (v <= 0.1).all()
    assert (np.log(v) < np.log(0.0316)).mean() == pytest.approx(0.5, abs=0.15)  # half below the log-midpoint
    assert "travel.join_per_hour" in run.posterior(1).names


def test_fit_scores_an_episode_over_its_view_of_the_joint_posterior(joint_out, tmp_path):
    # `uprising fit --posterior`: each run at a parameter set drawn from the posterior; the fit and test losses are
    # reported apart (the "uprising fit scores ... under one behavioural posterior")
    proc = uprising("fit", str(DATA / "two-towns.toml"), "--targets", str(DATA / "two-towns-known-targets.csv"),
                    "--posterior", str(joint_out / "again" / "posterior.json"), "--replicates", "4", "--workers", "2",
                    "--out", str(tmp_path / "fit"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = json.loads((tmp_path / "fit" / "scores.json").read_text())
    assert scores["posterior"].endswith("posterior.json") and scores["replicates"] == 4
    assert {r["split"] for r in scores["scores"]} == {"fit", "test"}
    assert np.isfinite(scores["loss_fit"]) and np.isfinite(scores["loss_test"])
    bad = uprising("fit", str(DATA / "two-towns.toml"), "--targets", str(DATA / "two-towns-known-targets.csv"),
                   "--posterior", str(joint_out / "again" / "posterior.json"), "--search", "2", "--vary",
                   "rules.legitimacy=0.7:0.9")
    assert_one_line_error(bad, "--posterior", "--search")
