"""The three episodes' files (issue 16): each country file that names the shared behaviour file holds country inputs
only and loads; Iran's cities follow the population rule and its file reads nothing but inputs; Ecuador's march
carries people to Quito; and the people who travel do not depend on the scale."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from conftest import ROOT
from country_helpers import two_towns
from uprising.country.inputs import behavioural_keys
from uprising.country.scenario import CountryScenario
from uprising.country.simulate import simulate_country

SCENARIOS = ROOT / "scenarios"
EPISODES = sorted(p for p in SCENARIOS.glob("*.toml") if "behaviour" in tomllib.loads(p.read_text(encoding="utf-8")))


def test_the_three_episodes_name_the_one_behaviour_file():
    assert [p.stem for p in EPISODES] == ["ecuador-2019", "iran-2019", "kazakhstan-2022-v2"]


@pytest.mark.parametrize("path", EPISODES, ids=lambda p: p.stem)
def test_each_episode_file_holds_country_inputs_only_and_loads(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["behaviour"] == "behaviour/v2.toml"
    assert not behavioural_keys(data, CountryScenario.mechanisms)
    scenario = CountryScenario.load(path)
    for name in scenario.variants:
        scenario.variant(name)
    # the shared behaviour is the same in every episode: the fitted threshold and lethal force of the v2 file
    assert scenario.base_rules().threshold == 0.2 and scenario.lethal_force.kill_violent == pytest.approx(0.43897)


def test_irans_cities_are_every_city_of_a_million_in_the_2016_census_and_it_reads_only_inputs():
    # the rule set before any outcome was read: every city of at least 1,000,000 in the 2016 census; the census
    # list's next city, Kermanshah (946,651), is below the line and absent
    text = (SCENARIOS / "iran-2019.toml").read_text(encoding="utf-8")
    iran = CountryScenario.load(SCENARIOS / "iran-2019.toml")
    assert [c.name for c in iran.cities] == ["Tehran", "Mashhad", "Isfahan", "Karaj", "Shiraz", "Tabriz", "Qom", "Ahvaz"]
    assert all(c.population >= 1_000_000 for c in iran.cities) and "Kermanshah" not in text.split("[[cities]]", 1)[1]
    populations = [c.population for c in iran.cities]
    assert populations == sorted(populations, reverse=True)
    # every event cites the episode's inputs, and there is no record to score against
    assert all("inputs.csv" in e.source for e in iran.events)
    assert not (SCENARIOS / "iran-2019-targets.csv").exists()


def test_ecuadors_march_carries_people_from_the_highlands_to_quito():
    # Ecuador at scale 0.002 (the smallest unit, Cuenca, keeps 660 agents), one run: during the march (8-13 October)
    # Quito holds more citizens than it started with and the three provinces fewer; before it, neither
    ecuador = CountryScenario.load(SCENARIOS / "ecuador-2019.toml").replace({"scale": 0.002})
    r = simulate_country(ecuador, 7, 0)
    citizens = r.column("quiet") + r.column("active") + r.column("violent") + r.column("jailed")
    names = list(r.names)
    k = int(np.argmax(np.array([t.date().isoformat() >= "2019-10-10" for t in
                                (r.clock.time_of(i) for i in range(r.steps + 1))])))
    assert citizens[names.index("Quito"), k] > citizens[names.index("Quito"), 1]
    highlands = [names.index(n) for n in ("Cotopaxi", "Chimborazo", "Imbabura")]
    assert citizens[highlands, k].sum() < citizens[highlands, 1].sum()


def _marching(scale: float) -> CountryScenario:
    data = two_towns().to_dict()
    data["scale"] = scale
    data["events"] = [*data["events"], {"kind": "march", "id": "march", "start": "2022-01-01T12:00",
                                        "cities": ["Oilton", "Hilltop"], "to": "Portville", "travel_hours": 6.0}]
    data["travel"] = {"join_per_hour": 0.03}
    data["variants"] = {"no-march": {"description": "no march", "drop": ["march"]}}
    return CountryScenario.from_dict(data)


def test_the_people_who_travel_do_not_depend_on_the_scale():
    # The two towns with a march at scales 0.01 and 0.03 (1 agent per 100 and per 33 residents), 8 replicates each.
    # Each step's leavers are Binomial(the origin's protesters in agents, p), so in residents their expectation is
    # p times the protesters in residents, whatever the scale. What is measured: the residents who arrived in
    # Portville by the march's height (step 30), over the residents protesting in the origins in steps 12-29 of the
    # same seeds without the march. The two towns' own unrest is not scale-free at these lattice sizes (the origins'
    # protester-hours are 11% higher at 0.03 than at 0.01 when this test was written), so the arrivals are compared
    # per protester-hour: 0.0205 and 0.0218 then (6% apart); the band, 15%, is about 2.5 times that.
    ratios = []
    for scale in (0.01, 0.03):
        sc = _marching(scale)
        quiet = sc.variant("no-march")
        arrived, protesting = [], []
        for rep in range(8):
            r = simulate_country(sc, 2022, rep)
            c = r.column("quiet") + r.column("active") + r.column("violent") + r.column("jailed")
            arrived.append((c[1, 30] - c[1, 0]) / scale)
            protesting.append(simulate_country(quiet, 2022, rep).unrest()[[0, 2], 12:30].sum() / scale)
        assert np.mean(arrived) > 5_000, arrived  # thousands of residents march (measured 26,500-31,500)
        ratios.append(float(np.mean(arrived) / np.mean(protesting)))
    assert abs(ratios[0] - ratios[1]) < 0.15 * np.mean(ratios), ratios


def test_the_committed_iran_prediction_names_its_commit_and_its_inputs_are_unchanged_since():
    # docs/predictions/iran-2019.md is never adjusted after its commit: the commit it was made at is in this history,
    # its tree was clean, and the scenario and the joint posterior it read are still the ones it names (a later
    # model makes a new, dated prediction beside it instead of changing these)
    import hashlib
    import json
    import subprocess

    meta = json.loads((ROOT / "docs" / "predictions" / "iran-2019" / "prediction.json").read_text())
    assert meta["tree_clean"] is True and len(meta["commit"]) == 40
    git = subprocess.run(["git", "merge-base", "--is-ancestor", meta["commit"], "HEAD"], cwd=ROOT, capture_output=True)
    if git.returncode not in (0, 1):
        pytest.skip("no git history here")
    assert git.returncode == 0, f"{meta['commit']} is not an ancestor of HEAD"
    assert CountryScenario.load(SCENARIOS / "iran-2019.toml").replace({"scale": meta["scale"]}).hash() == \
        meta["scenario_hash"]
    for name, digest in meta["joint_posterior_sha256"].items():
        data = (ROOT / "docs" / "data" / "joint-v2" / name / "posterior.json").read_bytes()
        assert hashlib.sha256(data).hexdigest()[:16] == digest
    page = (ROOT / "docs" / "predictions" / "iran-2019.md").read_text()
    assert meta["commit"] in page and meta["command"] in page
