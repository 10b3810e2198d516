"""The targets file's fit/test split (issue 14, deliverable 6), the targets this model does not measure yet, and
the injury targets: read, scored and reported apart. Hand-made inputs; exact checks."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from country_helpers import TWO_TOWNS, assert_one_line_error, two_towns, uprising
from uprising.country import fit as F
from uprising.country.simulate import CountryResult
from uprising.kernels import codes
from uprising.scenario import ScenarioError

KAZAKHSTAN_TARGETS = ROOT / "scenarios" / "kazakhstan-2022-targets.csv"

SPLIT = """quantity,value_low,value_high,date,split,source
detained_cumulative,100,200,2022-01-02,fit,a test figure
deaths_total_official,5,10,2022-01-03,test,a test figure
day_protests_start (Oilton),2022-01-01,2022-01-01,2022-01-01,fit,a test figure
participants_day,700,700,2022-01-02,test,a figure this model does not measure
population_oilton,150000,150000,2021,fit,an input: not scored
"""


def write(tmp_path, text: str, name: str = "targets.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_split_column_is_read_and_unmeasured_targets_are_kept(tmp_path):
    t = F.load_targets(write(tmp_path, SPLIT), two_towns())
    assert [(x.quantity, x.split) for x in t.targets] == [("detained_cumulative", "fit"),
                                                          ("deaths_total_official", "test"),
                                                          ("day_protests_start (Oilton)", "fit")]
    assert [x.quantity for x in t.of_split("test")] == ["deaths_total_official"]
    # a quantity the model does not measure is a target of its split, reported, never silently dropped
    assert [(x.quantity, x.split, x.low, x.date) for x in t.unmeasured] == [
        ("participants_day", "test", 700.0, dt.date(2022, 1, 2))]
    assert t.skipped == [("population_oilton", "input: city populations")]
    rows = F.unmeasured_rows(t.unmeasured, dt.date(2022, 1, 1))
    assert rows == [{"target": "participants_day on 02 Jan", "split": "test", "record": "700",
                     "model": "not measured by this model", "model_90": "-", "error": None,
                     "verdict": "not measured", "source": "a figure this model does not measure"}]


def test_without_a_split_column_every_target_is_fit(tmp_path):
    text = "\n".join(",".join(p for i, p in enumerate(line.split(",")) if i != 4) for line in SPLIT.splitlines()) + "\n"
    assert text.splitlines()[0] == "quantity,value_low,value_high,date,source"
    t = F.load_targets(write(tmp_path, text), two_towns())
    assert {x.split for x in t.targets + t.unmeasured} == {"fit"} and len(t.targets) == 3


@pytest.mark.parametrize("bad", ["train", "", "Fit "])
def test_a_bad_split_is_a_one_line_error_naming_file_row_and_field(tmp_path, bad):
    path = write(tmp_path, SPLIT.replace("2022-01-03,test,", f"2022-01-03,{bad},"))
    with pytest.raises(ScenarioError) as err:
        F.load_targets(path, two_towns())
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line 3.split: ") and "fit or test" in message, message


def test_uprising_fit_with_a_bad_split_is_a_one_line_error_before_any_run(tmp_path):
    path = write(tmp_path, SPLIT.replace("2022-01-02,fit,a test", "2022-01-02,holdout,a test"))
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(path), "--replicates", "2", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, str(path), "line 2.split", "'holdout'", "fit or test")
    assert not (tmp_path / "o").exists()


def _score(split: str, kind: str, error: float) -> F.Score:
    target = F.Target("q", kind, 0.0, 1.0, None, None, "", "q", split)
    return F.Score(target, [], None, None, None, error, error == 0.0)


def test_fit_and_test_losses_are_apart():
    scores = [_score("fit", "count", 0.5), _score("test", "count", 2.0), _score("fit", "day", 3.0),
              _score("test", "day", 1.0)]
    assert F.split_losses(scores) == {"fit": 3.5, "test": 3.0}
    assert F.split_losses(scores, day_weight=0.5) == {"fit": 2.0, "test": 2.5}
    assert F.loss(scores) == 6.5  # the total is still both
    assert F.split_losses([_score("fit", "count", 1.0)]) == {"fit": 1.0, "test": 0.0}


def test_a_search_minimises_the_fit_targets_only(monkeypatch):
    pytest.importorskip("scipy")
    # the test target's error is made to fall as the parameter rises, the fit target's to rise: the search's
    # losses must follow the fit target alone
    def fake_score(targets, results):
        x = results[0]
        return [_score("fit", "count", x), _score("test", "count", 10.0 - x)]

    monkeypatch.setattr(F, "score", fake_score)
    axis = F.Axis("rules.legitimacy", 0.5, 0.9)
    trials = F.search(two_towns(), [], [axis], lambda scs: [[sc.rules["legitimacy"]] for sc in scs], samples=4,
                      seed=3)
    assert len(trials) == 4
    for t in trials:
        assert t.loss == pytest.approx(t.point["rules.legitimacy"])
        assert [s.target.split for s in t.scores] == ["fit", "test"]


# ------------------------------------------------------------------ injuries, measured from a hand-made run


def hand_made_result(per_step: dict[str, dict[str, dict[int, int]]], scenario=None) -> CountryResult:
    """A two-towns result (or one of ``scenario``) with zero counts except ``per_step[column][city][step] = agents``."""
    scenario = two_towns() if scenario is None else scenario
    steps = scenario.clock.clock().ticks
    counts = np.zeros((len(scenario.cities), steps + 1, codes.OUT_ALL_SIZE), dtype=np.int64)
    names = [c.name for c in scenario.cities]
    for column, cities in per_step.items():
        for city, at in cities.items():
            for k, n in at.items():
                counts[names.index(city), k, codes.OUT_ALL_NAMES.index(column)] = n
    citizens = np.full(len(names), 1000, dtype=np.int64)
    return CountryResult(scenario, 0, 0, counts, {}, citizens)


INJURIES = """quantity,value_low,value_high,date,split,source
security_injured_cumulative,100,100,2022-01-01,fit,a test figure
security_injured_cumulative (Portville),100,100,2022-01-02,test,a test figure
injured_sought_help (Oilton),100,100,2022-01-01,fit,a test figure
security_injured_cumulative (Atlantis),1,1,2022-01-02,test,a city the scenario lacks
"""


def test_injury_targets_count_people_by_the_end_of_their_day_and_city(tmp_path):
    t = F.load_targets(write(tmp_path, INJURIES), two_towns())
    assert t.skipped == [("security_injured_cumulative (Atlantis)", "city 'Atlantis' is not in the scenario")]
    # scale 0.01: one agent is 100 people. Steps 1-24 are 1 January, 25-48 the 2nd.
    r = hand_made_result({"injured_security": {"Oilton": {3: 1, 30: 2}, "Portville": {24: 1, 25: 4}},
                          "injured_protesters": {"Oilton": {24: 3, 25: 5}, "Hilltop": {2: 7}}})
    got = [F.measure(x, r) for x in t.targets]
    assert got == [200.0, 500.0, 400.0]  # 1+1 agents by 1 Jan; Portville 1+4 by 2 Jan; Oilton 1 + 3 by 1 Jan


def test_an_injury_count_with_an_hour_counts_the_steps_that_end_by_then(tmp_path):
    # "2022-01-01T03:00": a figure published at 03:00 counts steps 1-3 (they end at 01:00, 02:00, 03:00), not step 4
    # nor the rest of the day. Oilton has 1 agent injured in step 3 and 5 in step 4: 100 people by 03:00 (the plain
    # date counts both: 600). Fails if the hour is dropped (600) or the step that ends after it is counted (600).
    timed = INJURIES.replace("injured_sought_help (Oilton),100,100,2022-01-01", "injured_sought_help (Oilton),100,100,"
                             "2022-01-01T03:00")
    t = F.load_targets(write(tmp_path, timed), two_towns())
    sought = next(x for x in t.targets if x.quantity == "injured_sought_help (Oilton)")
    assert sought.time == dt.time(3, 0) and sought.label == "injured_sought_help (Oilton) by 01 Jan 03:00"
    r = hand_made_result({"injured_security": {"Oilton": {3: 1, 4: 5}}})
    assert F.measure(sought, r) == 100.0
    plain = next(x for x in F.load_targets(write(tmp_path, INJURIES, "plain.csv"), two_towns()).targets
                 if x.quantity == "injured_sought_help (Oilton)")
    assert plain.time is None and F.measure(plain, r) == 600.0


DELAYED = """quantity,value_low,value_high,date,split,source
security_injured_cumulative,1,1,2022-01-01,fit,a test figure
security_injured_cumulative (Oilton),1,1,2022-01-02,fit,a test figure
security_injured_final,1,1,2023-01-05 (final count),test,a test figure
injured_sought_help (Oilton),1,1,2022-01-02,fit,a test figure
"""


def test_a_reporting_delay_counts_each_security_injury_with_the_chance_it_was_reported_by_then(tmp_path):
    # Oilton: 1 agent (100 people at scale 0.01) injured in step 3 (ends 03:00 on 1 January), 2 in step 30 (ends
    # 06:00 on 2 January). With a mean delay of 10 hours a count published at the end of 1 January holds
    # 100 (1 - e^-2.1); one at the end of 2 January 100 (1 - e^-4.5) + 200 (1 - e^-1.8); the final count all 300, and
    # the health department's count of people who sought help (no delay) all 300 by 2 January. Fails if the delay
    # is ignored (100, 300), applied to the final or the sought-help count, or measured from a step's start.
    injuries = {"injured_security": {"Oilton": {3: 1, 30: 2}}}
    delayed = two_towns().replace({"reporting.security_injured_delay_hours": 10.0})
    t = F.load_targets(write(tmp_path, DELAYED), delayed)
    assert [x.quantity for x in t.targets] == ["security_injured_cumulative", "security_injured_cumulative (Oilton)",
                                               "security_injured_final", "injured_sought_help (Oilton)"]
    got = [F.measure(x, hand_made_result(injuries, delayed)) for x in t.targets]
    expected = [100 * (1 - np.exp(-2.1)), 100 * (1 - np.exp(-4.5)) + 200 * (1 - np.exp(-1.8)), 300.0, 300.0]
    assert got == pytest.approx(expected, rel=1e-12)
    # no delay (the default): every injury of a step that ends by then
    assert [F.measure(x, hand_made_result(injuries)) for x in t.targets] == [100.0, 300.0, 300.0, 300.0]


def test_the_reporting_delay_changes_what_a_target_reads_not_the_run():
    # the scenario's hash (its runs' identity in stores and caches) leaves the observation model out
    delayed = two_towns().replace({"reporting.security_injured_delay_hours": 48.0})
    assert delayed.hash() == two_towns().hash()
    assert delayed.reporting.security_injured_delay_hours == 48.0


@given(steps=st.lists(st.tuples(st.integers(1, 48), st.integers(0, 5)), max_size=8),
       delays=st.tuples(st.floats(0.0, 500.0), st.floats(0.0, 500.0)), hours=st.integers(0, 54))
def test_a_delayed_count_lies_between_none_and_every_injury_and_falls_with_the_delay(steps, delays, hours):
    from uprising.country import observables as O

    r = hand_made_result({"injured_security": {"Oilton": dict(steps), "Portville": {5: 1}}})
    when = dt.datetime(2022, 1, 1) + dt.timedelta(hours=hours)
    short, long = sorted(delays)
    sustained = O.security_injured_reported(r, when, None, 0.0)
    a = O.security_injured_reported(r, when, None, short)
    b = O.security_injured_reported(r, when, None, long)
    assert 0.0 <= b <= a + 1e-9 <= sustained + 2e-9
    assert O.security_injured_reported(r, when + dt.timedelta(hours=5), None, long) >= b - 1e-9
    assert O.security_injured_reported(r, None, None, long) == r.total_people("injured_security")


def test_an_hour_that_is_not_one_is_a_one_line_error(tmp_path):
    # 25:00 used to read as no hour at all (the end of the day), silently; now it names the file, line and field
    path = write(tmp_path, INJURIES.replace("injured_sought_help (Oilton),100,100,2022-01-01",
                                            "injured_sought_help (Oilton),100,100,2022-01-01T25:00"))
    with pytest.raises(ScenarioError, match=r"line 4\.date: '2022-01-01T25:00' is not a time of day"):
        F.load_targets(path, two_towns())


def test_an_hour_on_a_count_that_cannot_take_one_is_a_one_line_error(tmp_path):
    path = write(tmp_path, SPLIT.replace("detained_cumulative,100,200,2022-01-02,", "detained_cumulative,100,200,"
                                         "2022-01-02T12:00,"))
    with pytest.raises(ScenarioError, match=r"line 2\.date: an hour \(YYYY-MM-DDTHH:MM\) is read only for "):
        F.load_targets(path, two_towns())


def test_injured_sought_help_needs_a_city(tmp_path):
    path = write(tmp_path, INJURIES.replace("injured_sought_help (Oilton)", "injured_sought_help"))
    with pytest.raises(ScenarioError, match=r"line 4\.quantity: injured_sought_help needs a city"):
        F.load_targets(path, two_towns())


# ------------------------------------------------------------------ the committed split follows its rule

#: docs/kazakhstan.md, "Fit and test split": a row dated (its last date) on or before 7 January 2022 is fit;
#: a later one, or a tally of the whole episode with no day, is test
LAST_FIT_DAY = dt.date(2022, 1, 7)


def test_the_committed_kazakhstan_split_follows_its_stated_rule():
    with KAZAKHSTAN_TARGETS.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["split"] in ("fit", "test") for r in rows)
    for r in rows:
        day = F._last_date(r["date"])
        expected = "fit" if day is not None and day <= LAST_FIT_DAY else "test"
        assert r["split"] == expected, (r["quantity"], r["date"], r["split"])
    quantities = [r["quantity"] for r in rows]
    for new in ("participants_day (Mangystau)", "participants_day", "participants_march (Almaty)",
                "security_injured_cumulative", "security_injured_cumulative (Almaty)", "injured_sought_help (Almaty)",
                "buildings_attacked", "government_buildings_attacked", "security_injured_final"):
        assert new in quantities, new
    # the Interior Ministry's counts of injured security personnel: two on 6 January (one with its hour), fit
    ministry = [(r["date"], r["split"]) for r in rows if r["quantity"] == "security_injured_cumulative"]
    assert sorted(ministry) == [("2022-01-06", "fit"), ("2022-01-06T08:51", "fit")]


# ------------------------------------------------------------------ uprising fit: the two totals and the pattern

TOWNS_PATTERN = """city,buildings,shooting,peaceful,pattern
Oilton,seized or burnt,yes,no,violent
Portville,attacked,no report,no,clashes
Hilltop,no report,no report,yes,peaceful
"""


def test_uprising_fit_reports_fit_and_test_apart_and_the_city_pattern(tmp_path):
    import json

    from uprising.country.simulate import simulate_country

    targets, pattern, out = write(tmp_path, SPLIT), write(tmp_path, TOWNS_PATTERN, "pattern.csv"), tmp_path / "out"
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(targets), "--replicates", "2", "--workers", "1",
                    "--out", str(out), "--city-pattern", str(pattern))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not measured by this model: participants_day (test)" in proc.stderr
    results = [simulate_country(two_towns(), 0, r) for r in (0, 1)]
    scores = F.score(F.load_targets(targets, two_towns()).targets, results)
    losses = F.split_losses(scores)
    data = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert (data["loss_fit"], data["loss_test"]) == (pytest.approx(losses["fit"]), pytest.approx(losses["test"]))
    assert data["loss"] == pytest.approx(losses["fit"] + losses["test"])
    assert [r["split"] for r in data["scores"]] == ["fit", "test", "fit"]
    assert [r["model"] for r in data["not_measured"]] == ["not measured by this model"]
    md = (out / "scores.md").read_text(encoding="utf-8")
    assert f"loss of the fit targets: {losses['fit']:.3f} (2 targets)" in md
    assert f"loss of the test targets: {losses['test']:.3f} (1 targets)" in md
    assert "| participants_day on 02 Jan | test | 700 | not measured by this model |" in md
    with (out / "scores.csv").open(newline="", encoding="utf-8") as fh:
        assert [r["split"] for r in csv.DictReader(fh)] == ["fit", "test", "fit", "test"]
    got = json.loads((out / "pattern.json").read_text(encoding="utf-8"))
    want = F.score_city_pattern(F.load_city_pattern(pattern), results)
    assert got["rows"] == json.loads(json.dumps(want.rows())) and got["spearman"] == pytest.approx(want.spearman)
    assert "pattern: class agreement" in proc.stdout


def test_uprising_fit_with_a_bad_city_pattern_is_a_one_line_error_before_any_run(tmp_path):
    pattern = write(tmp_path, TOWNS_PATTERN.replace("burnt,yes,no", "burnt,maybe,no"), "pattern.csv")
    proc = uprising("fit", str(TWO_TOWNS), "--targets", str(write(tmp_path, SPLIT)), "--replicates", "2",
                    "--out", str(tmp_path / "o"), "--city-pattern", str(pattern))
    assert_one_line_error(proc, str(pattern), "line 2.shooting", "'maybe'")
    assert not (tmp_path / "o").exists()


CIVILIANS = """quantity,value_low,value_high,date,split,source
civilians_injured_cumulative,1,1,2022-01-01,fit,a test figure
civilians_injured_cumulative (Oilton),1,1,2022-01-02,test,a test figure
deaths_cumulative,1,1,2022-01-01,fit,a test figure
deaths_cumulative,1,1,2022-01-02,test,a test figure
deaths_total_official,1,1,2022-01-02,test,a test figure
"""


def test_civilians_injured_and_deaths_by_a_date_count_people_by_the_end_of_that_day(tmp_path):
    # issue 16 (an ombudsman's dated counts): civilians injured are the protesters hurt (the security personnel
    # are not), deaths by a date everyone killed by the end of it. Scale 0.01: one agent is 100 people; steps 1-24
    # are 1 January. Fails if the security injured are counted (civilians), a later day's deaths are (the 1 January
    # count), or a city's filter is dropped (Hilltop's injured in Oilton's count).
    t = F.load_targets(write(tmp_path, CIVILIANS), two_towns())
    r = hand_made_result({"injured_protesters": {"Oilton": {3: 1, 30: 2}, "Hilltop": {5: 4}},
                          "injured_security": {"Oilton": {4: 9}},
                          "killed_protesters": {"Oilton": {6: 1}}, "killed_security": {"Hilltop": {40: 2}}})
    got = [F.measure(x, r) for x in t.targets]
    assert got == [500.0, 300.0, 100.0, 300.0, 300.0]
    assert [x.split for x in t.targets] == ["fit", "test", "fit", "test", "test"]
