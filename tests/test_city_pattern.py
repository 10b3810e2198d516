"""The record's per-city pattern (data/kz2022/city_pattern.csv) and its score (issue 14, deliverable 3): the table
is checked against the rows it cites, and the score is checked exactly on hand-made runs of the two towns."""

from __future__ import annotations

import csv
import re

import pytest

from conftest import ROOT
from country_helpers import KAZAKHSTAN
from test_targets_split import hand_made_result
from uprising.country import fit as F
from uprising.country.scenario import CountryScenario
from uprising.scenario import ScenarioError

DATA = ROOT / "data" / "kz2022"
PATTERN = DATA / "city_pattern.csv"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------ the committed table


def test_one_row_per_scenario_city_and_the_pattern_follows_its_rule():
    record = F.load_city_pattern(PATTERN)
    assert list(record) == [c.name for c in CountryScenario.load(KAZAKHSTAN).cities]
    for c in record.values():
        # data/kz2022/README.md: violent if buildings were seized or burnt or there was shooting; else peaceful if
        # the protest stayed peaceful; else clashes
        expected = ("violent" if c.buildings == "seized or burnt" or c.shooting == "yes"
                    else "peaceful" if c.peaceful == "yes" else "clashes")
        assert c.pattern == expected, c
    assert record["Almaty"].pattern == "violent"
    assert record["Zhanaozen"].pattern == record["Aktau"].pattern == "peaceful"


def test_every_statement_cites_rows_that_exist_and_their_sources():
    events, timeline = read("city_events.csv"), read("timeline.csv")
    for row in read("city_pattern.csv"):
        for field in ("buildings", "shooting", "peaceful"):
            cited = row[f"{field}_sources"]
            if row[field] == "no report":
                assert cited == "" and row[f"{field}_dates"] == "", (row["city"], field)
                continue
            assert cited and row[f"{field}_dates"], (row["city"], field)
            for part in cited.split(" ; "):
                m = re.fullmatch(r"(city_events|timeline)\.csv:(\d+) (\S+)", part)
                assert m, part
                rows = events if m.group(1) == "city_events" else timeline
                line = int(m.group(2))
                assert 2 <= line <= len(rows) + 1, part
                cited_row = rows[line - 2]  # line 1 is the header; no field spans lines
                assert cited_row["source"] == m.group(3), part
                where = cited_row.get("city") or cited_row["city_or_region"]
                assert row["city"] in where or row["city"] in cited_row["event"], part  # the row is about the city


def test_a_bad_value_in_a_pattern_table_is_a_one_line_error(tmp_path):
    path = tmp_path / "pattern.csv"
    path.write_text("city,buildings,shooting,peaceful,pattern\nOilton,burnt,yes,no,violent\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        F.load_city_pattern(path)
    assert str(err.value).startswith(f"{path}: line 2.buildings: 'burnt'; use one of") and "\n" not in str(err.value)


# ------------------------------------------------------------------ the score, on hand-made runs

RECORD = {"Oilton": F.CityPattern("Oilton", "seized or burnt", "yes", "no", "violent"),
          "Portville": F.CityPattern("Portville", "attacked", "no report", "no", "clashes"),
          "Hilltop": F.CityPattern("Hilltop", "no report", "no report", "yes", "peaceful")}
CHECKS = ("Oilton has the most deaths", "Oilton has the most violent person-hours",
          "Hilltop among the 1 least violent per resident")


def run(violent: dict[str, dict[int, int]], killed: dict[str, dict[int, int]]):
    """Two towns, 1,000 citizens each at scale 0.01 (100,000 residents), one-hour steps."""
    return hand_made_result({"violent": violent, "killed_protesters": killed})


def score(results):
    return F.score_city_pattern(RECORD, results, most_violent="Oilton", least_violent=("Hilltop",))


def test_a_run_with_the_record_s_pattern_scores_full_marks():
    s = score([run({"Oilton": {1: 10, 2: 10, 3: 10, 4: 10, 5: 10}, "Portville": {7: 4}}, {"Oilton": {3: 2},
                                                                                        "Portville": {7: 1}})])
    assert s.cities == ["Oilton", "Portville", "Hilltop"]
    assert s.violent_hours == [5000.0, 400.0, 0.0]  # 50 agent-hours x 100 residents; 4 x 100
    assert s.violent_hours_per_1000 == [50.0, 4.0, 0.0]
    assert s.deaths == [200.0, 100.0, 0.0]
    assert s.model == ["violent", "clashes", "peaceful"]
    assert s.checks == dict.fromkeys(CHECKS, True) and s.runs_passing == dict.fromkeys(CHECKS, 1.0)
    assert (s.class_agreement, s.peaceful_agreement, s.spearman) == (1.0, 1.0, pytest.approx(1.0))
    assert [r["city"] for r in s.rows()] == ["Oilton", "Portville", "Hilltop"]


def test_violence_in_the_wrong_town_fails_the_checks():
    s = score([run({"Hilltop": {1: 9}, "Portville": {2: 3}, "Oilton": {3: 1}}, {"Hilltop": {1: 5}})])
    assert s.checks == dict.fromkeys(CHECKS, False)
    assert s.model == ["peaceful", "clashes", "violent"]
    assert (s.class_agreement, s.peaceful_agreement, s.spearman) == (pytest.approx(1 / 3), pytest.approx(1 / 3),
                                                                    pytest.approx(-1.0))


def test_ties_share_a_class_and_no_violence_has_no_rank_correlation():
    s = score([run({}, {})])
    assert s.model == ["clashes"] * 3  # all tied at rank 2: neither the first nor the last
    # "the most" means strictly more than every other town; nobody is less violent than Hilltop, so it is among
    # the least violent (a mean rank of 2 had failed it: a bug, below)
    assert s.checks == {CHECKS[0]: False, CHECKS[1]: False, CHECKS[2]: True}
    assert s.spearman is None and s.class_agreement == pytest.approx(1 / 3)


def test_a_peaceful_town_tied_with_others_at_no_violence_is_among_the_least_violent():
    # Kazakhstan's check is "Zhanaozen and Aktau among the 4 least violent" of 14 cities; when 10 cities had no
    # violence at all each had the mean rank 9.5, not above 14 - 4 = 10, and the check failed for a Mangystau with
    # no violence whatever (the test above is that case in small). Among the least violent now means that fewer
    # than k towns are strictly less violent: Hilltop, tied at none with Portville, passes; Oilton, the only
    # violent town, does not.
    r = run({"Oilton": {1: 10}}, {})
    assert score([r]).checks[CHECKS[2]] is True
    other = F.score_city_pattern(RECORD, [r], most_violent="Portville", least_violent=("Oilton",))
    assert other.checks["Oilton among the 1 least violent per resident"] is False


def test_the_checks_are_made_on_the_means_and_counted_per_run():
    good = run({"Oilton": {1: 10}}, {"Oilton": {1: 3}})
    bad = run({"Hilltop": {1: 4}}, {"Hilltop": {1: 1}})
    s = score([good, bad])
    assert s.violent_hours == [500.0, 0.0, 200.0] and s.deaths == [150.0, 0.0, 50.0]
    assert s.checks[CHECKS[0]] is True and s.checks[CHECKS[2]] is False  # Hilltop's mean is above Portville's
    assert s.runs_passing == {CHECKS[0]: 0.5, CHECKS[1]: 0.5, CHECKS[2]: 0.5}


def test_a_city_the_runs_lack_makes_its_check_not_applicable():
    s = F.score_city_pattern(RECORD, [run({"Oilton": {1: 1}}, {})], most_violent="Atlantis",
                             least_violent=("Hilltop",))
    assert s.checks["Atlantis has the most deaths"] is None and s.runs_passing["Atlantis has the most deaths"] is None
