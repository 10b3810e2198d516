"""The Ecuador 2019 targets file (issue 16, item 2): its fit/test split is committed before any fit and follows its
rule, every row has a source, and the model measures every quantity of it.

The rule (docs/episodes.md, "Ecuador's targets and their split"): a target whose record is dated on or before
11 October 2019 (the rise: before the 24-hour curfew of 12 October, the talks and the repeal) is ``fit``; one dated
later, or a final tally, is ``test``.
"""

from __future__ import annotations

import csv
import datetime as dt

from conftest import ROOT
from uprising.country import fit as F
from uprising.country.scenario import CountryScenario

ECUADOR_TARGETS = ROOT / "scenarios" / "ecuador-2019-targets.csv"
CUT = dt.date(2019, 10, 11)
UNITS = ("Quito", "Guayaquil", "Cuenca", "Cotopaxi", "Chimborazo", "Imbabura")


def stand_in() -> CountryScenario:
    """The two towns' scenario moved to October 2019 with the six units' names, no events and casualties in people:
    enough to read the targets file as the Ecuador scenario will."""
    data = CountryScenario.load(ROOT / "tests" / "data" / "two-towns.toml").to_dict()
    first = data["cities"][0]
    data["cities"] = [{**first, "name": name, "lat": first["lat"] + i, "lon": first["lon"]}
                      for i, name in enumerate(UNITS)]
    data["events"], data["variants"] = [], {}
    data["clock"] = {**data["clock"], "start": "2019-10-01T00:00", "end": "2019-10-21T00:00"}
    data["repression"] = {**data.get("repression", {}), "casualties": "people"}  # participants need people
    return CountryScenario.from_dict(data, source="stand-in")


def test_the_ecuador_split_follows_its_rule_and_every_row_has_a_source():
    with ECUADOR_TARGETS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 20
    for row in rows:
        assert row["source"].strip(), row["quantity"]
        final = "final" in row["date"]
        last = dt.date.fromisoformat(row["date"].split("..")[-1].strip()[:10])
        expected = "test" if final or last > CUT else "fit"
        assert row["split"] == expected, (row["quantity"], row["date"], row["split"])
    # both splits hold each kind the issue names: detentions, injuries and deaths by date, and the end
    for split in ("fit", "test"):
        kinds = {r["quantity"].split(" (")[0] for r in rows if r["split"] == split}
        assert {"detained_cumulative", "civilians_injured_cumulative", "deaths_cumulative"} <= kinds, split
    assert any(r["quantity"] == "day_unrest_ends" and r["split"] == "test" for r in rows)


def test_the_model_measures_every_ecuador_target():
    targets = F.load_targets(ECUADOR_TARGETS, stand_in())
    assert not targets.skipped and not targets.unmeasured
    with ECUADOR_TARGETS.open(encoding="utf-8") as fh:
        assert len(targets.targets) == sum(1 for _ in csv.DictReader(fh))
    start = dt.date(2019, 10, 1)
    ends = next(t for t in targets.targets if t.quantity == "day_unrest_ends")
    assert (ends.low, ends.high) == ((dt.date(2019, 10, 13) - start).days, (dt.date(2019, 10, 15) - start).days)
