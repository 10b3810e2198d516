"""Country scenarios: loading, round trip, hash, dotted replace, variants, lattice sizes, the shipped
Kazakhstan file's structure, and one-line errors through the Python API and the command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT, cli_cmd
from country_helpers import KAZAKHSTAN, TOWNS, TWO_TOWNS, assert_one_line_error, two_towns
from uprising.country.scenario import EVENT_KINDS, CountryScenario, city_seed, is_country_file
from uprising.mechanisms.intervention import InterventionEvent
from uprising.mechanisms.price import PriceEvent
from uprising.scenario import ScenarioError


# ------------------------------------------------------------------ the synthetic test country


def test_two_towns_loads_with_every_event_kind():
    sc = two_towns()
    assert is_country_file(TWO_TOWNS)
    assert [c.name for c in sc.cities] == list(TOWNS)
    # every kind but policing's, whose events change what the police do in every run they are in; the two towns'
    # results are the reference of many tests, so withdrawal and restraint are exercised on their own in
    # tests/test_mechanism_policing.py (hand-built timelines and two-towns runs with them added); the same for
    # escalation's organised core (tests/test_mechanism_escalation.py), and for the sites' armed crowds, which would do
    # nothing there (the two towns have no buildings: sites is off) and are tested in tests/test_mechanism_sites.py; and
    # for travel, whose march would move people in every run (tests/test_mechanism_travel.py adds one)
    assert {e.kind for e in sc.events} == set(EVENT_KINDS) - {"withdrawal", "restraint", "organised", "armed", "march"}
    assert sc.clock.clock().ticks == 48
    assert 2_000 <= sum(n for _, n, _ in sc.lattice_sizes()) <= 5_000
    assert set(sc.variants) == {"no-troops", "no-shoot-order", "late-cap", "no-blackout"}


def test_round_trip_through_a_mapping_and_json():
    sc = two_towns()
    data = sc.to_dict()
    again = CountryScenario.from_dict(data)
    assert again == sc and again.hash() == sc.hash()
    # the mapping is plain data (JSON), as the ensemble sends it to other processes
    assert CountryScenario.from_dict(json.loads(json.dumps(data))) == sc
    # a freshly loaded file is equal to the first load
    assert CountryScenario.load(TWO_TOWNS) == sc


def test_hash_is_stable_across_processes():
    sc = two_towns()
    assert len(sc.hash()) == 16 and int(sc.hash(), 16) >= 0
    code = ("from uprising.country.scenario import CountryScenario; "
            f"print(CountryScenario.load({str(TWO_TOWNS)!r}).hash())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == sc.hash()


@pytest.mark.parametrize("change", [
    {"price.elasticity": 0.31},
    {"rules.legitimacy": 0.89},
    {"scale": 0.011},
    {"clock.end": "2022-01-02T23:00"},
    {"cities.Hilltop.police_per_1000": 50.0},
    {"cities.Oilton.lat": 43.0},
    {"events.cap.at": "2022-01-02T13:00"},
    {"events.troops.role": "arrest"},
    {"legitimacy.max_loss": None},
])
def test_hash_changes_with_what_affects_results(change):
    sc = two_towns()
    assert sc.replace(change).hash() != sc.hash()


@pytest.mark.parametrize("change", [
    {"description": "another text"},
    {"name": "renamed"},
    {"timezone": "UTC"},
    {"events.cap.source": "a different source"},
    {"events.cap.note": "a note"},
])
def test_hash_ignores_names_descriptions_and_sources(change):
    sc = two_towns()
    changed = sc.replace(change)
    assert changed != sc  # the change was made ...
    assert changed.hash() == sc.hash()  # ... and does not count


def test_hash_ignores_variants():
    sc = two_towns()
    assert sc.variant("baseline").variants == {} and sc.variant("baseline").hash() == sc.hash()


# ------------------------------------------------------------------ dotted replace


def test_replace_dotted_keys():
    sc = two_towns()
    r = sc.replace({"cities.*.police_per_1000": 30.0, "cities.{Oilton,Hilltop}.lpg_dependence": 0.7,
                    "events.cap.at": "2022-01-02T20:00", "price.elasticity": 0.4, "rules.threshold": 0.12,
                    "events.troops.troops": {"Oilton": 10, "Hilltop": 5}})
    assert [c.police_per_1000 for c in r.cities] == [30.0, 30.0, 30.0]
    assert [c.lpg_dependence for c in r.cities] == [0.7, 0.5, 0.7]
    cap = next(e for e in r.events if e.id == "cap")
    assert cap.at.isoformat() == "2022-01-02T20:00:00" and cap.price == 50.0
    troops = next(e for e in r.events if e.id == "troops")
    assert isinstance(troops, InterventionEvent) and troops.troops == {"Oilton": 10, "Hilltop": 5}
    assert r.price.elasticity == 0.4 and r.rules["threshold"] == 0.12
    assert r.city_scenarios()[0].threshold == 0.12
    # the original is unchanged (frozen) and still equal to a fresh load
    assert [c.police_per_1000 for c in sc.cities] == [57.0, 57.0, 57.0] and sc == CountryScenario.load(TWO_TOWNS)
    # fewer police: fewer cops on each lattice, same lattice sides and citizens
    assert [s[2] for s in r.lattice_sizes()] < [s[2] for s in sc.lattice_sizes()]
    assert [s[:2] for s in r.lattice_sizes()] == [s[:2] for s in sc.lattice_sizes()]


@pytest.mark.parametrize(("change", "field", "needle"), [
    ({"cities.Atlantis.police_per_1000": 3.0}, "cities.Atlantis.police_per_1000",
     "allowed: Oilton, Portville, Hilltop"),
    ({"events.parade.at": "2022-01-01T05:00"}, "events.parade.at", "allowed: price-rise, cap"),
    ({"events.cap.at": "2023-01-01T00:00"}, "events[1].at", "outside the run"),
    ({"cities.*.police_per_1000": -1.0}, "cities[0].police_per_1000", "[0.0, 500.0]"),
    ({"nothing.x": 1}, "nothing.x", "not a table"),
    ({"cities.x": 1}, "cities.x", "name a field of one entry"),
])
def test_replace_errors_are_one_line(change, field, needle):
    with pytest.raises(ScenarioError) as info:
        two_towns().replace(change, source="--set")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("--set: ")
    assert info.value.field == field and needle in msg, msg


# ------------------------------------------------------------------ variants


def test_variant_drop_and_set():
    sc = two_towns()
    no_troops = sc.variant("no-troops")
    assert "troops" not in {e.id for e in no_troops.events}
    assert not any(isinstance(e, InterventionEvent) for e in no_troops.events)
    assert len(no_troops.events) == len(sc.events) - 1
    assert no_troops.variants == {} and no_troops.name == "two-towns:no-troops"
    late = sc.variant("late-cap")
    assert [e.id for e in late.events] == [e.id for e in sc.events]
    caps = [next(e for e in s.events if e.id == "cap") for s in (sc, late)]
    assert caps[1].at > caps[0].at and caps[1].at.isoformat() == "2022-01-02T20:00:00"
    # nothing else changed
    assert late.replace({"events.cap.at": "2022-01-02T12:00"}).hash() == sc.hash()
    assert sc.variant("no-blackout").hash() != sc.hash()
    assert sc.variant("baseline").events == sc.events


def test_variant_set_accepts_the_patterns_of_replace():
    # replace (and so --set and fit's --vary) expands cities.*.x and cities.{A,B}.x; a variant's `set` is the
    # same kind of dotted edit, so a variant "more police everywhere" should be written the same way.
    data = two_towns().to_dict()
    data["variants"]["more-police"] = {"set": {"cities.*.police_per_1000": 80.0,
                                               "cities.{Oilton,Hilltop}.lpg_dependence": 0.2}}
    sc = CountryScenario.from_dict(data)
    v = sc.variant("more-police")
    assert v == two_towns().replace({"cities.*.police_per_1000": 80.0,
                                     "cities.{Oilton,Hilltop}.lpg_dependence": 0.2}).model_copy(
        update={"name": "two-towns:more-police", "variants": {}})


def test_unknown_city_in_a_dotted_key_is_named_a_city():
    with pytest.raises(ScenarioError) as info:
        two_towns().replace({"cities.Atlantis.police_per_1000": 3.0})
    assert "no city with name 'Atlantis'" in str(info.value), str(info.value)  # not "no citie with name"


def test_unknown_variant_is_a_one_line_error():
    with pytest.raises(ScenarioError) as info:
        two_towns().variant("no-such-thing", source="two-towns.toml")
    msg = str(info.value)
    assert "\n" not in msg and "no-such-thing" in msg and info.value.field == "--variant"
    assert "allowed: baseline, no-troops, no-shoot-order, late-cap, no-blackout" in msg


# ------------------------------------------------------------------ lattice sizes and seeds


def test_lattice_sizes_grow_with_scale_and_population():
    sc = two_towns()
    base = sc.lattice_sizes()
    for side, citizens, cops in base:
        # each lattice holds its citizens at about the rules' citizen density (0.7)
        assert side * side * 0.7 >= citizens > (side - 1) ** 2 * 0.7
        assert cops > 0
    double = sc.replace({"scale": 0.02}).lattice_sizes()
    for (s1, n1, c1), (s2, n2, c2) in zip(base, double):
        assert s2 > s1 and n2 == 2 * n1 and c2 >= 2 * c1 - 1
    bigger = sc.replace({"cities.Portville.population": 400_000}).lattice_sizes()
    assert bigger[1][0] > base[1][0] and bigger[1][1] == 4_000
    assert bigger[0] == base[0] and bigger[2] == base[2]  # the other cities do not change
    # a tiny town still gets a lattice wide enough for its vision (2 * 7 + 1)
    tiny = sc.replace({"cities.Hilltop.population": 100}).lattice_sizes()[2]
    assert tiny[0] == 15 and tiny[1] == 1


def test_city_scenarios_follow_the_cities():
    sc = two_towns().replace({"cities.Hilltop.legitimacy_offset": -0.1})
    cities = sc.city_scenarios()
    assert [c.name for c in cities] == list(TOWNS)
    assert [c.legitimacy for c in cities] == pytest.approx([0.9, 0.9, 0.8])
    for c, (side, citizens, cops) in zip(cities, sc.lattice_sizes()):
        assert (c.width, c.height, c.steps) == (side, side, 48)
        assert round(c.citizen_density * side * side) == citizens and round(c.cop_density * side * side) == cops
        assert c.max_jail_term == 24.0  # jail_term_days = 1 at one-hour ticks


def test_city_seed_depends_on_seed_replicate_and_name_only():
    a = city_seed(1, 2, "Oilton").generate_state(4).tolist()
    assert a == city_seed(1, 2, "Oilton").generate_state(4).tolist()
    others = [city_seed(2, 2, "Oilton"), city_seed(1, 3, "Oilton"), city_seed(1, 2, "Portville")]
    assert all(o.generate_state(4).tolist() != a for o in others)


# ------------------------------------------------------------------ the shipped Kazakhstan scenario
# Its parameters are being calibrated: these tests check its structure only, never its outcomes.


@pytest.fixture(scope="module")
def kazakhstan():
    return CountryScenario.load(KAZAKHSTAN)


def _census() -> dict[str, tuple[float, float]]:
    with (ROOT / "data" / "kz2022" / "targets.csv").open(newline="", encoding="utf-8") as fh:
        return {r["quantity"]: (float(r["value_low"]), float(r["value_high"])) for r in csv.DictReader(fh)
                if r["quantity"].startswith("population_")}


def test_kazakhstan_cities_and_populations(kazakhstan):
    assert is_country_file(KAZAKHSTAN)
    assert len(kazakhstan.cities) == 14
    census = _census()
    for city in kazakhstan.cities:
        key = "population_" + city.name.lower().replace("-", "_")
        rows = [q for q in census if q == key or q.startswith(key + "_")]
        assert len(rows) == 1, (city.name, rows)
        low, high = census[rows[0]]
        assert low <= city.population <= high, (city.name, city.population, census[rows[0]])
    full = kazakhstan.replace({"scale": 1.0})
    agents = sum(n for _, n, _ in full.lattice_sizes())
    assert agents == sum(c.population for c in kazakhstan.cities)
    assert 7.8e6 < agents < 8.0e6  # "about 7.9 million citizens in the 14 cities"


def test_kazakhstan_variants_exist_and_change_what_they_say(kazakhstan):
    names = {"no-intervention", "no-shoot-order", "early-price-cap", "no-blackout", "no-concession"}
    assert names <= set(kazakhstan.variants)
    base_ids = [e.id for e in kazakhstan.events]
    for name in names:
        v = kazakhstan.variant(name)
        spec = kazakhstan.variants[name]
        assert v.hash() != kazakhstan.hash(), name
        # exactly the dropped events are gone, in their order
        assert [e.id for e in v.events] == [i for i in base_ids if i not in spec.drop], name
    kinds = lambda s: {e.kind for e in s.events}  # noqa: E731
    assert "intervention" in kinds(kazakhstan) and "intervention" not in kinds(kazakhstan.variant("no-intervention"))
    assert "shoot_order" in kinds(kazakhstan) and "shoot_order" not in kinds(kazakhstan.variant("no-shoot-order"))
    assert "blackout" in kinds(kazakhstan) and "blackout" not in kinds(kazakhstan.variant("no-blackout"))
    # early caps: no price event comes later than in the baseline, and some come earlier
    base_at = {e.id: e.at for e in kazakhstan.events if isinstance(e, PriceEvent)}
    early = {e.id: e.at for e in kazakhstan.variant("early-price-cap").events if isinstance(e, PriceEvent)}
    assert all(early[i] <= base_at[i] for i in early) and any(early[i] < base_at[i] for i in early)
    # no concession: in every city the price only ever goes up (no cut, no cap)
    nc = kazakhstan.variant("no-concession")
    for city in nc.cities:
        prices = [e.price for e in sorted((e for e in nc.events if isinstance(e, PriceEvent)), key=lambda e: e.at)
                  if "all" in e.cities or city.name in e.cities]
        assert prices and prices == sorted(prices), (city.name, prices)
    base_prices = [e.price for e in kazakhstan.events if isinstance(e, PriceEvent)]
    assert base_prices != sorted(base_prices)  # while the baseline does cut the price somewhere


# ------------------------------------------------------------------ one-line errors
# Each bad file is the synthetic scenario with one edit: (text to find, its replacement, field, what the message
# must also say). The same file is read through the Python API and run through `uprising run` in a new process.

BAD = {
    "unknown_city": ('cities = ["Oilton", "Portville"]\nprice = 50.0', 'cities = ["Oilton", "Atlantis"]\nprice = 50.0',
                     "events[1].cities", ["'Atlantis'", "allowed: all, Oilton, Portville, Hilltop"]),
    "unknown_troop_city": ("troops = { Oilton = 2000 }", "troops = { Atlantis = 2000 }", "events[5].troops",
                           ["'Atlantis'", "allowed: Oilton, Portville, Hilltop"]),
    "intervention_with_cities": ("troops = { Oilton = 2000 }", 'troops = { Oilton = 2000 }\ncities = ["Hilltop"]',
                                 "events[5].cities", ["acts where its troops are"]),
    "event_after_the_run": ('at = "2022-01-02T12:00"\ncities', 'at = "2022-02-01T00:00"\ncities', "events[1].at",
                            ["outside the run", "2022-01-01T00:00 to 2022-01-03T00:00"]),
    "event_before_the_run": ('start = "2022-01-02T00:00"', 'start = "2021-12-31T00:00"', "events[5].start",
                             ["outside the run", "2022-01-01T00:00 to 2022-01-03T00:00"]),
    "end_before_start": ('end = "2022-01-02T20:00"', 'end = "2022-01-01T20:00"', "events[5].end",
                         ["must be after start"]),
    "negative_troops": ("troops = { Oilton = 2000 }", "troops = { Oilton = -5 }", "events[5].troops.Oilton",
                        ["greater than or equal to 0", "-5"]),
    "negative_police": ('police_per_1000 = 57.0\n\n[[cities]]\nname = "Portville"',
                        'police_per_1000 = -1.0\n\n[[cities]]\nname = "Portville"', "cities[0].police_per_1000",
                        ["-1.0", "allowed: [0.0, 500.0]"]),
    "too_many_police": ('police_per_1000 = 57.0\n\n[[cities]]\nname = "Portville"',
                        'police_per_1000 = 500.0\n\n[[cities]]\nname = "Portville"', "cities[0].police_per_1000",
                        ["do not fit"]),
    "unknown_mechanism_key": ("[price]\nenabled = true", "[price]\ncolour = \"red\"\nenabled = true", "price.colour",
                              ["unknown key", "allowed keys: enabled, before, elasticity"]),
    "unknown_event_key": ("level = 0.9", "level = 0.9\ncolour = 1", "events[4].colour",
                          ["unknown key", "allowed keys: id, cities"]),
    "unknown_event_kind": ('kind = "blackout"', 'kind = "riot"', "events[4].kind",
                           ["allowed: price | legitimacy | emergency | blackout | shoot_order | intervention | "
                            "organised | withdrawal | restraint | sweep | release"]),
    "bad_curfew_hour": ("curfew = [22.0, 6.0]", "curfew = [22.0, 30.0]", "events[3].curfew",
                        ["[0, 24]", "30.0"]),
    "bad_curfew_length": ("curfew = [22.0, 6.0]", "curfew = [22.0, 6.0, 1.0]", "events[3].curfew",
                          ["at most 2 items"]),
    "bad_role": ('role = "guard"', 'role = "parade"', "events[5].role", ["allowed: guard | arrest"]),
    "malformed_toml": ("[clock]", "[clock", "(syntax)", ["malformed TOML", "line 11"]),
    "variant_drops_unknown_event": ('drop = ["troops"]', 'drop = ["troops", "parade"]', "variants.no-troops.drop",
                                    ["'parade'", "allowed: blackout, cabinet-falls, cap"]),
    "rules_owned_by_country": ("[rules]\n", "[rules]\nwidth = 40\n", "rules.width",
                               ["not allowed in a country scenario", "population and `scale`"]),
    "rules_bad_value": ("threshold = 0.1", "threshold = 1.5", "rules.threshold", ["[0.0, 1.0]"]),
}


def _bad_file(name, directory):
    old, new, _, _ = BAD[name]
    text = TWO_TOWNS.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the edit of {name} must be unambiguous"
    path = directory / f"{name}.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_python_api(name, tmp_path):
    path = _bad_file(name, tmp_path)
    _, _, field, needles = BAD[name]
    with pytest.raises(ScenarioError) as info:
        CountryScenario.load(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: {field}: "), msg
    assert info.value.field == field
    for needle in needles:
        assert needle in msg, (needle, msg)


@pytest.fixture(scope="module")
def cli_errors(tmp_path_factory):
    """`uprising run BAD --out DIR` for every bad file, in fresh processes (a few at a time)."""
    root = tmp_path_factory.mktemp("bad")

    def run(name):
        path = _bad_file(name, root)
        out = root / f"{name}-out"
        proc = subprocess.run(cli_cmd("run", str(path), "--out", str(out)), capture_output=True,
                              text=True, timeout=300, cwd=ROOT)
        return name, (path, out, proc)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, BAD))


@pytest.mark.parametrize("name", list(BAD))
def test_bad_file_command_line(name, cli_errors):
    path, out, proc = cli_errors[name]
    _, _, field, needles = BAD[name]
    assert_one_line_error(proc, f"{path}: {field}: ", *needles)
    assert not out.exists() or not any(out.iterdir())  # nothing was written


def test_bad_set_on_the_command_line(tmp_path):
    from country_helpers import uprising

    proc = uprising("run", str(TWO_TOWNS), "--set", "cities.Atlantis.police_per_1000=3", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, "--set", "cities.Atlantis.police_per_1000", "allowed: Oilton, Portville, Hilltop")
    assert not (tmp_path / "o").exists()


def test_malformed_country_file_with_country_options_names_the_syntax_error(tmp_path):
    # A user who runs a country file with a country option (--replicates) and a typo in the file should be told
    # about the typo, not that --replicates is only for country scenarios.
    from country_helpers import uprising

    path = _bad_file("malformed_toml", tmp_path)
    proc = uprising("run", str(path), "--replicates", "2", "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, f"{path}: (syntax): ", "malformed TOML")
    assert not (tmp_path / "o").exists()
