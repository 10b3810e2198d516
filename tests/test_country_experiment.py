"""Country scenarios through the experiment machinery: files, dotted parameters, named outcomes, the store.

The runs are the two towns' (three cities, 48 hourly steps, milliseconds each), so the cost is in the process
pool's start.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import math
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import cli_cmd, ROOT
from country_helpers import TWO_TOWNS, two_towns
from uprising.country import fit as F
from uprising.country.simulate import simulate_country
from uprising.experiment import Experiment, evaluate
from uprising.experiment.country_outcomes import DEFAULT_COUNTRY_OUTCOMES, parse_target, target_outcome
from uprising.experiment.kinds import scenario_from_text, scenario_text
from uprising.experiment.outcomes import UnknownOutcome, resolve
from uprising.experiment.runner import run_experiment
from uprising.experiment.store import ResultStore
from uprising.scenario import ScenarioError

OUTCOMES = ["deaths_total", "detained_by@2022-01-02", "onset_day@Hilltop", "violence_share@Oilton",
            "target@detained_cumulative@2022-01-02", "target@injured_sought_help (Oilton)@2022-01-01T12:00",
            "cities_risen", "end_of_unrest"]


def experiment(**changes) -> Experiment:
    data = {"name": "towns", "base": TWO_TOWNS.name, "replicates": 2, "outcomes": OUTCOMES,
            "design": {"kind": "factorial"},
            "parameters": {"rules.legitimacy": [0.75, 0.85], "cities.*.police_per_1000": [40.0]}}
    data.update(changes)
    return Experiment.from_dict(data, source="towns.toml", directory=TWO_TOWNS.parent)


def test_a_country_experiment_sets_dotted_parameters_on_every_city():
    exp = experiment()
    assert exp.kind == "country"
    runs = exp.runs()
    assert len(runs) == 4 and len(exp.run_ids()) == 4
    for run in runs:
        assert all(c.police_per_1000 == 40.0 for c in run.scenario.cities)
        assert run.scenario.rules["legitimacy"] == run.params["rules.legitimacy"]
    assert exp.points() == [{"rules.legitimacy": 0.75, "cities.*.police_per_1000": 40.0},
                            {"rules.legitimacy": 0.85, "cities.*.police_per_1000": 40.0}]


def test_a_country_experiment_records_the_country_outcomes_by_default():
    data = {"name": "towns", "base": TWO_TOWNS.name, "parameters": {"rules.legitimacy": [0.8]}}
    exp = Experiment.from_dict(data, source="towns.toml", directory=TWO_TOWNS.parent)
    assert exp.outcomes == list(DEFAULT_COUNTRY_OUTCOMES)


def test_the_store_holds_country_runs_bit_for_bit_and_a_second_call_makes_none(tmp_path):
    exp = experiment()
    with cf.ThreadPoolExecutor(2) as pool:
        first = run_experiment(exp, tmp_path / "store", pool)
        again = run_experiment(exp, tmp_path / "store", pool)
    assert (first.completed, first.failed, first.lost) == (4, 0, 0)
    assert (again.already, again.completed) == (4, 0)
    store = ResultStore(tmp_path / "store")
    for run in exp.runs():
        direct = simulate_country(run.scenario, run.seed, run.replicate)
        stored = store.stored_outcomes(run.run_id)
        expected = evaluate(direct, OUTCOMES)
        assert set(stored) == set(expected)
        for name in OUTCOMES:  # the same run whatever process made it, nan where undefined
            assert (stored[name] == expected[name]) or (math.isnan(stored[name]) and math.isnan(expected[name])), name
        rebuilt = store.result(run.run_id)  # from the stored series: no simulation
        assert np.array_equal(rebuilt.counts, direct.counts)
        assert evaluate(rebuilt, ["deaths_total", "cities_risen"]) == evaluate(direct, ["deaths_total", "cities_risen"])
    # the varied parameters are columns of the outcomes view
    table = store.query('SELECT "rules.legitimacy", deaths_total FROM outcomes ORDER BY 1')
    assert table.num_rows == 4


def test_adding_an_outcome_to_a_stored_country_run_simulates_nothing(tmp_path):
    exp = experiment(outcomes=["deaths_total"])
    run_experiment(exp, tmp_path, workers=1)
    more = experiment(outcomes=["deaths_total", "peak_day"])
    summary = run_experiment(more, tmp_path, workers=1)
    assert (summary.reevaluated, summary.completed) == (4, 0)
    store = ResultStore(tmp_path)
    run = more.runs()[0]
    assert store.stored_outcomes(run.run_id)["peak_day"] == evaluate(simulate_country(run.scenario, run.seed,
                                                                                      run.replicate), ["peak_day"])["peak_day"]


def test_a_target_outcome_measures_what_the_fit_measures():
    scenario = two_towns()
    targets = F.load_targets(ROOT / "tests" / "data" / "two-towns-known-targets.csv", scenario).targets
    result = simulate_country(scenario, 3, 0)
    for t in targets:
        name = target_outcome(t)
        assert evaluate(result, [name])[name] == F.measure(t, result)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["detained_cumulative", "injured_sought_help (Oilton)", "day_protests_start (Hilltop)",
                        "deaths_total_official"]),
       st.one_of(st.none(), st.dates(dt.date(2021, 12, 1), dt.date(2022, 2, 1))),
       st.one_of(st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0))))
def test_a_target_outcome_name_reads_back_to_the_same_target(quantity, day, at):
    base = F.Target(quantity, "day" if quantity.startswith("day_") else "count", 0, 0, day, None, "", quantity,
                    "fit", at if day is not None else None)
    again = parse_target(target_outcome(base).removeprefix("target@"))
    assert (again.quantity, again.kind, again.date, again.time) == (base.quantity, base.kind, base.date, base.time)
    assert again.city == (quantity.split("(")[1].rstrip(")") if "(" in quantity else None)


def test_country_scenarios_travel_as_text_with_their_hash():
    scenario = two_towns().replace({"events.cap.at": "2022-01-01T06:00", "rules.legitimacy": 0.81})
    assert scenario_from_text(scenario_text(scenario)).hash() == scenario.hash()


@pytest.mark.parametrize("name, needle", [("mean_active_fraction", "unknown country outcome"),
                                          ("onset_day@", "needs CITY"),
                                          ("detained_by@7 January", "not a date")])
def test_a_bad_country_outcome_is_one_line_naming_what_is_allowed(name, needle):
    with pytest.raises(ScenarioError) as err:
        experiment(outcomes=[name])
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert "outcomes" == err.value.field
    with pytest.raises(UnknownOutcome):
        resolve(name, "country")


def test_model_one_refuses_a_country_outcome():
    with pytest.raises(UnknownOutcome):
        resolve("deaths_total", "model1")


@pytest.mark.parametrize("parameters, field, needle", [
    ({"rules.no_such": [1.0]}, "parameters.rules.no_such", "not a key"),
    ({"cities.Atlantis.police_per_1000": [1.0]}, "parameters.cities.Atlantis.police_per_1000", "not a key"),
    ({"rules.legitimacy": [1.5]}, "parameters.rules.legitimacy", "design point 0"),
])
def test_a_bad_country_parameter_is_one_line_naming_it(parameters, field, needle):
    with pytest.raises(ScenarioError) as err:
        experiment(parameters=parameters)
    assert err.value.field == field and needle in str(err.value), str(err.value)


def test_steps_are_refused_for_a_country_and_set_applies_before_the_design():
    with pytest.raises(ScenarioError) as err:
        experiment(steps=10)
    assert err.value.field == "steps"
    exp = experiment(set={"scale": 0.005})
    assert all(r.scenario.scale == 0.005 for r in exp.runs())
    with pytest.raises(ScenarioError) as err:
        experiment(set={"rules": {"no_such": 1}})
    assert err.value.field.startswith("set.")


def test_a_log_uniform_range_spreads_its_points_over_the_logarithm():
    exp = experiment(design={"kind": "lhs", "samples": 64},
                     parameters={"repression.injure": {"low": 0.001, "high": 0.1, "prior": "log-uniform"}})
    x = np.array([p["repression.injure"] for p in exp.points()])
    # a Latin hypercube over ln x puts a third of the points in each decade-and-a-half: 21 or 22 of 64 below 10**-2.33
    assert 19 <= np.sum(x < 10 ** (-3 + 2 / 3)) <= 24
    assert exp.salib_problem()["bounds"] == [[math.log(0.001), math.log(0.1)]]
    with pytest.raises(ScenarioError) as err:
        experiment(design={"kind": "lhs", "samples": 4},
                   parameters={"repression.injure": {"low": 0.0, "high": 0.1, "prior": "log-uniform"}})
    assert "low > 0" in str(err.value)


def test_uprising_experiment_runs_a_country_file_from_the_command_line(tmp_path):
    exp = tmp_path / "towns.toml"
    exp.write_text(f'name = "towns"\nbase = "{TWO_TOWNS}"\nreplicates = 1\noutcomes = ["deaths_total", '
                   f'"onset_day@Oilton"]\n[parameters]\n"rules.legitimacy" = [0.8, 0.85]\n')
    proc = subprocess.run(cli_cmd("experiment", str(exp), "--store", str(tmp_path / "store"), "--workers", "1"),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ResultStore(tmp_path / "store").query("SELECT count(*) AS n FROM outcomes").column("n")[0].as_py() == 2


def test_an_effect_outcome_is_the_paired_difference_with_the_variant():
    scenario = two_towns()
    result = simulate_country(scenario, 4, 1)
    variant = simulate_country(scenario.variant("no-shoot-order"), 4, 1)
    got = evaluate(result, ["effect@no-shoot-order@deaths_total", "effect@no-shoot-order@detained_by@2022-01-02"])
    assert got["effect@no-shoot-order@deaths_total"] == evaluate(variant, ["deaths_total"])["deaths_total"] - \
        evaluate(result, ["deaths_total"])["deaths_total"]
    assert got["effect@no-shoot-order@detained_by@2022-01-02"] == \
        evaluate(variant, ["detained_by@2022-01-02"])["detained_by@2022-01-02"] - \
        evaluate(result, ["detained_by@2022-01-02"])["detained_by@2022-01-02"]
    with pytest.raises(ScenarioError) as err:
        experiment(outcomes=["effect@no-such-variant@deaths_total"])
    assert "no variant" in str(err.value) and "no-troops" in str(err.value)
    with pytest.raises(UnknownOutcome):
        resolve("effect@no-troops@effect@no-troops@deaths_total", "country")


def test_morris_screens_a_counterfactual_effect_of_a_country(tmp_path):
    # the shoot order's effect on deaths in the two towns: the legitimacy decides how many are out to be shot at, the
    # police's count how many shoot; the reporting delay changes no run (only what a published count reads)
    from uprising.experiment.sensitivity import analyse

    exp = experiment(outcomes=["effect@no-shoot-order@deaths_total"], design={"kind": "morris", "samples": 6},
                     parameters={"rules.legitimacy": {"low": 0.7, "high": 0.9},
                                 "cities.*.police_per_1000": {"low": 30.0, "high": 60.0, "prior": "log-uniform"},
                                 "reporting.security_injured_delay_hours": {"low": 1.0, "high": 100.0}})
    summary = run_experiment(exp, tmp_path, workers=2)
    assert summary.failed == 0 and summary.completed == len(exp.run_ids())
    table = analyse(exp, tmp_path).to_pylist()
    mu_star = {r["parameter"]: r["value"] for r in table if r["index"] == "mu_star"}
    # the reporting delay changes what a count reads, never a run: its elementary effects are exactly 0
    assert mu_star["reporting.security_injured_delay_hours"] == 0.0
    assert mu_star["rules.legitimacy"] > 0 and mu_star["cities.*.police_per_1000"] > 0
