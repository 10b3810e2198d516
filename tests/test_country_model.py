"""The country model: reduction to Model I, independence of decoupled cities, reproducibility (threads,
processes), and invariants of every step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from country_helpers import TOWNS, all_off, two_towns
from uprising import execution
from uprising import model as model_one
from uprising.country import model as country_model
from uprising.country.scenario import CountryScenario, city_seed
from uprising.country.simulate import REPORTED, simulate_country
from uprising.kernels import codes

# ------------------------------------------------------------------ with every mechanism off: Model I exactly


@pytest.mark.parametrize(("seed", "replicate", "legitimacy"), [(0, 0, 0.75), (7, 3, 0.7), (1, 0, 0.9)])
def test_all_mechanisms_off_is_model_one_city_by_city(seed, replicate, legitimacy):
    # Legitimacy shocks, troops, curfews, sweeps ... are all in the timeline, but every switch is off. At
    # legitimacy 0.75 and 0.7 Model I itself has active citizens and arrests (checked below, so that the
    # comparison is not one of quiet lattices); at 0.9 nobody turns active.
    sc = all_off().replace({"rules.legitimacy": legitimacy})
    res = simulate_country(sc, seed, replicate)
    ticks = sc.clock.clock().ticks
    assert res.counts.shape == (3, ticks + 1, codes.OUT_ALL_SIZE)
    for i, (city, city_sc) in enumerate(zip(sc.cities, sc.city_scenarios())):
        m, st_ = model_one.init(city_sc, city_seed(seed, replicate, city.name))
        assert st_.citizens == res.citizens[i]
        leg = np.full(ticks, city_sc.legitimacy)  # constant legitimacy ...
        cops = np.full(ticks, st_.initial_cops, dtype=np.int64)  # ... and cop target
        expected = model_one.step(m, st_, leg, cops)
        np.testing.assert_array_equal(res.counts[i, 1:, :codes.OUT_SIZE], expected, err_msg=city.name)
        # the initial state is Model I's too, and none of the extensions' counts ever moves
        assert res.counts[i, 0, :codes.OUT_SIZE].tolist() == [st_.citizens, 0, 0, st_.initial_cops, 0, 0]
        assert not res.counts[i, :, codes.OUT_SIZE:].any()
        if legitimacy < 0.8:
            assert expected[:, codes.OUT_ACTIVE].max() > 0 and expected[:, codes.OUT_ARRESTS].sum() > 0, city.name
    # the reported inputs are Model I's: constant legitimacy and police
    np.testing.assert_array_equal(res.reports["legitimacy"], np.full((3, ticks + 1), legitimacy))
    np.testing.assert_array_equal(res.reports["cop_target"][:, 1:], res.counts[:, :1, codes.OUT_COPS].repeat(ticks, 1))


# ------------------------------------------------------------------ decoupled cities evolve independently


def only(scenario: CountryScenario, keep: list[str]) -> CountryScenario:
    """``scenario`` with only the cities ``keep`` (events that named none of them are dropped)."""
    data = scenario.to_dict()
    data["cities"] = [c for c in data["cities"] if c["name"] in keep]
    events = []
    for e in data["events"]:
        if "troops" in e:  # an intervention: its cities are its troops' keys
            e["troops"] = {k: v for k, v in e["troops"].items() if k in keep}
            if not e["troops"]:
                continue
        elif "all" not in e["cities"]:
            e["cities"] = [c for c in e["cities"] if c in keep]
            if not e["cities"]:
                continue
        events.append(e)
    data["events"] = events
    data["variants"] = {}
    return CountryScenario.from_dict(data)


def hilltop(res) -> np.ndarray:
    return res.counts[res.names.index("Hilltop")]


@pytest.mark.parametrize("legitimacy", [{"legitimacy.scope": "city"}, {"legitimacy.enabled": False}])
def test_without_coupling_a_city_ignores_the_others(legitimacy):
    # Contagion off and legitimacy per city (or off): nothing couples the cities, so Hilltop's history is the same
    # alone, beside a calm Oilton, and beside an Oilton in turmoil. Everything else (price, escalation, lethal
    # force, detention, emergency, troops ...) stays on.
    sc = two_towns().replace({"contagion.enabled": False, **legitimacy})
    turmoil = sc.replace({"cities.Oilton.legitimacy_offset": -0.3, "cities.Portville.legitimacy_offset": -0.2})
    calm = sc.replace({"cities.Oilton.lpg_dependence": 0.0, "cities.Portville.lpg_dependence": 0.0})
    runs = {name: simulate_country(s, 11, 2) for name, s in
            (("three", sc), ("turmoil", turmoil), ("calm", calm), ("alone", only(sc, ["Hilltop"])),
             ("with_oilton", only(turmoil, ["Oilton", "Hilltop"])))}
    # the other cities really are different in these runs
    oilton = {k: r.unrest()[r.names.index("Oilton")].sum() for k, r in runs.items() if "Oilton" in r.names}
    assert oilton["turmoil"] > 1.5 * oilton["three"] and oilton["calm"] < 0.5 * oilton["three"]
    for name, res in runs.items():
        np.testing.assert_array_equal(hilltop(res), hilltop(runs["three"]), err_msg=name)
        # and what the mechanisms report for Hilltop is the same too
        for rep in REPORTED:
            np.testing.assert_array_equal(res.reports[rep][res.names.index("Hilltop")],
                                          runs["three"].reports[rep][2], err_msg=f"{name} {rep}")


def test_city_order_does_not_matter_without_coupling():
    sc = two_towns().replace({"contagion.enabled": False, "legitimacy.scope": "city"})
    data = sc.to_dict()
    data["cities"] = data["cities"][::-1]
    flipped = CountryScenario.from_dict(data)
    a, b = simulate_country(sc, 5, 1), simulate_country(flipped, 5, 1)
    assert b.names == list(TOWNS)[::-1]
    for i, name in enumerate(TOWNS):
        np.testing.assert_array_equal(a.counts[i], b.counts[b.names.index(name)], err_msg=name)


def test_national_legitimacy_couples_the_cities():
    # the contrast: with national legitimacy feedback (and contagion still off), turmoil elsewhere reaches Hilltop
    sc = two_towns().replace({"contagion.enabled": False, "legitimacy.scope": "national"})
    turmoil = sc.replace({"cities.Oilton.legitimacy_offset": -0.3})
    a, b = simulate_country(sc, 11, 2), simulate_country(turmoil, 11, 2)
    assert not np.array_equal(hilltop(a), hilltop(b))
    assert b.reports["legitimacy"][2, -1] < a.reports["legitimacy"][2, -1]


def test_contagion_carries_unrest_to_another_city():
    # Contagion on (legitimacy per city, so contagion is the only coupling): turmoil in Oilton changes Hilltop's
    # trajectory, through a positive information push that the calm country does not have.
    sc = two_towns().replace({"legitimacy.scope": "city", "contagion.distance_weight": 0.0,
                              "contagion.media_weight": 0.2, "events.blackout.level": 0.0})
    calm = sc.replace({"cities.*.lpg_dependence": 0.0, "events.cabinet-falls.delta": 0.0})
    turmoil = calm.replace({"cities.Oilton.legitimacy_offset": -0.3})
    a, b = simulate_country(calm, 11, 2), simulate_country(turmoil, 11, 2)
    assert b.unrest()[0].sum() > 10 * max(a.unrest()[0].sum(), 1)  # Oilton: calm vs turmoil
    assert not np.array_equal(hilltop(a), hilltop(b))
    info_a, info_b = a.reports["information"][2, 1:], b.reports["information"][2, 1:]
    assert np.nanmax(info_b) > 0.01 and np.nansum(info_b) > 10 * np.nansum(info_a)
    assert b.unrest()[2].sum() > a.unrest()[2].sum()  # the push raises Hilltop's unrest


# ------------------------------------------------------------------ reproducibility


def assert_same_run(a, b):
    np.testing.assert_array_equal(a.counts, b.counts)
    for name in REPORTED:
        np.testing.assert_array_equal(a.reports[name], b.reports[name])
    assert (a.seed, a.replicate, a.run_id) == (b.seed, b.replicate, b.run_id)


def test_same_seed_same_run_with_one_or_two_threads():
    sc = two_towns()
    one = simulate_country(sc, 3, 1, threads=1)
    assert_same_run(one, simulate_country(sc, 3, 1, threads=1))
    assert_same_run(one, simulate_country(sc, 3, 1, threads=2))
    # stepping the model by hand gives the driver's counts
    cm = country_model.init(sc, 3, 1)
    by_hand = np.stack([cm.step(k)[0] for k in range(1, sc.clock.clock().ticks + 1)], axis=1)
    np.testing.assert_array_equal(by_hand, one.counts[:, 1:])


def test_same_runs_in_a_process_pool_and_replicates_differ():
    sc = two_towns()
    tasks = execution.tasks(sc, 3, seed=4)
    local = [simulate_country(sc, 4, r) for r in range(3)]
    with execution.executor_for(workers=2) as pool:
        remote = execution.run_many(tasks, pool)
    assert [r.replicate for r in remote] == [0, 1, 2]
    for a, b in zip(local, remote):
        assert_same_run(a, b)
    assert execution.run_many(tasks[:1])[0].counts.tobytes() == local[0].counts.tobytes()  # in this process
    # different replicates (and different seeds) are different runs
    assert not np.array_equal(local[0].counts, local[1].counts)
    assert not np.array_equal(local[1].counts, local[2].counts)
    assert not np.array_equal(local[0].counts, simulate_country(sc, 5, 0).counts)


def test_a_bad_task_in_a_process_pool_comes_back_as_its_one_line_error():
    # a worker that cannot read its scenario reports that error; the pool and the other runs survive it
    from uprising.scenario import ScenarioError

    good = execution.tasks(two_towns(), 1, seed=0)[0]
    bad = dataclasses.replace(good, scenario={**good.scenario, "scale": -1.0}, source="bad-task")
    with execution.executor_for(workers=2) as pool:
        with pytest.raises(ScenarioError, match="bad-task: scale"):
            execution.run_many([bad, good], pool)
        assert execution.run_many([good], pool)[0].counts.any()


# ------------------------------------------------------------------ invariants


@st.composite
def small_countries(draw):
    """The two towns with drawn rules, forces and switches (every draw fits on its lattices)."""
    changes = {
        "rules.legitimacy": draw(st.floats(0.6, 0.95)),
        "rules.arrest_rule": draw(st.sampled_from(["ratio", "floor"])),
        "rules.jailed_hold_cell": draw(st.booleans()),
        "price.elasticity": draw(st.floats(0.0, 1.0)),
        "cities.*.police_per_1000": draw(st.floats(5.0, 120.0)),
        "repression.jail_capacity_per_1000": draw(st.one_of(st.none(), st.floats(0.0, 200.0))),
        "repression.arrest_per_hour": draw(st.floats(0.05, 1.0)),
        "repression.jail_term_days": draw(st.sampled_from([0.0, 0.5, 1.0, 5.0])),
        "lethal_force.kill_violent": draw(st.floats(0.0, 0.5)),
        "lethal_force.kill_active": draw(st.floats(0.0, 0.2)),
        "lethal_force.bystander": draw(st.floats(0.0, 0.5)),
        "escalation.attack_per_hour": draw(st.floats(0.0, 0.05)),
        "events.troops.role": draw(st.sampled_from(["guard", "arrest"])),
        "events.releases.rate_per_day": draw(st.floats(0.0, 1.0)),
    }
    for name in ("escalation", "lethal_force", "detention", "intervention", "contagion", "emergency"):
        changes[f"{name}.enabled"] = draw(st.booleans())
    return two_towns().replace(changes), draw(st.integers(0, 2**16)), draw(st.integers(0, 3))


@settings(max_examples=12)
@given(small_countries())
def test_every_step_keeps_the_citizens_and_the_snapshot_matches_the_counts(drawn):
    sc, seed, replicate = drawn
    res = simulate_country(sc, seed, replicate, snapshot_every=8)
    killed = np.cumsum(res.column("killed_protesters") + res.column("killed_bystanders"), axis=1)
    total = res.column("quiet") + res.column("active") + res.column("violent") + res.column("jailed") + killed
    np.testing.assert_array_equal(total, np.repeat(res.citizens[:, None], res.steps + 1, axis=1))
    assert (res.counts >= 0).all() and (res.column("cops") >= 0).all()
    cap = sc.repression.jail_capacity_per_1000
    if cap is not None:  # a full jail takes nobody more
        limit = np.array([round(c.population * sc.scale * cap / 1000.0) for c in sc.cities])
        assert (res.column("jailed") <= limit[:, None]).all()
    hold = sc.rules.get("jailed_hold_cell", False)
    assert set(res.snapshots) == set(TOWNS)
    for city, frames in res.snapshots.items():
        i = res.names.index(city)
        side = sc.lattice_sizes()[i][0]
        assert sorted(frames) == list(range(0, res.steps + 1, 8))
        for k, kinds in frames.items():
            assert kinds.shape == (side, side)
            seen = {kind: int((kinds == value).sum()) for kind, value in
                    (("quiet", codes.QUIET), ("active", codes.ACTIVE), ("violent", codes.VIOLENT),
                     ("cops", codes.COP), ("jailed", codes.JAILED))}
            counted = {kind: int(res.column(kind)[i, k]) for kind in ("quiet", "active", "violent", "cops")}
            counted["jailed"] = int(res.column("jailed")[i, k]) if hold else 0  # prisoners leave the streets
            assert seen == counted, (city, k)
            assert int((kinds == codes.EMPTY).sum()) == side * side - sum(seen.values())


def test_a_result_table_reads_back_as_the_same_runs(tmp_path):
    # what `uprising run` writes (the tidy table of several runs) rebuilds the runs exactly, so that plots,
    # animations and reports can be made from the file alone
    from uprising.country.simulate import read_country_results
    from uprising.simulate import write_parquet
    import pyarrow as pa

    sc = two_towns()
    runs = [simulate_country(sc, 2, r) for r in range(2)]
    other = simulate_country(sc.replace({"rules.legitimacy": 0.8}), 2, 0)  # another scenario: left out
    tables = [r.table for r in runs + [other]]
    path = write_parquet(pa.concat_tables(tables).replace_schema_metadata(tables[0].schema.metadata),
                         tmp_path / "runs.parquet")
    back = read_country_results(path)
    assert [(r.seed, r.replicate) for r in back] == [(2, 0), (2, 1)]
    for a, b in zip(runs, back):
        np.testing.assert_array_equal(a.counts, b.counts)
        np.testing.assert_array_equal(a.citizens, b.citizens)
        for name in REPORTED:
            np.testing.assert_array_equal(a.reports[name], b.reports[name])
        assert b.scenario == sc and b.run_id == a.run_id
