"""Travel between cities (:mod:`uprising.mechanisms.travel`, moved by :mod:`uprising.country.travel`): how many set
off, the moves' invariants on real lattices, and the march on the two towns (tests/mechanism_helpers.py says how
these tests are built)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import uprising.model as M
from conftest import fresh_fields, recount, recount_violent
from country_helpers import TWO_TOWNS, assert_one_line_error, two_towns, uprising
from mechanism_helpers import context, event, observation, run
from uprising.country import model as country_model
from uprising.country import travel
from uprising.country.scenario import CountryScenario
from uprising.country.simulate import simulate_country
from uprising.kernels import codes
from uprising.mechanisms.travel import Travel, TravelParams
from uprising.scenario import Scenario

# ================================================================== part 1: how many set off, on a hand-built context


def test_no_march_no_trips_and_no_draws():
    ins = run(Travel(), TravelParams(join_per_hour=0.5), context(), range(1, 5), observation(active=[100, 100, 100]))
    assert all(i.trips == [] for i in ins)


def test_leavers_are_a_binomial_share_of_the_origins_protesters_while_the_call_stands():
    # origins c0 and c1 (c2 is the destination, so never an origin); the call stands in steps 3-9, and the
    # march ends (they go home) at step 10. Each step c0 has 400 protesters (300 active + 100 violent), c1 100.
    ctx = context(event("march", 3, 10, cities=(True, True, True), to="c2", travel_hours=4.0))
    obs = observation(active=[300, 80, 50], violent=[100, 20, 0])
    ins = run(Travel(), TravelParams(join_per_hour=0.1), ctx, range(1, 13), obs)
    leavers = np.array([sum(t.leaving for t in i.trips if not t.home) if any(not t.home for t in i.trips)
                        else np.zeros(3, int) for i in ins])
    assert (leavers[:2] == 0).all() and (leavers[9:] == 0).all()  # before the call, after the end
    assert (leavers[:, 2] == 0).all()  # nobody sets off from the destination
    # 7 steps x 400 x 0.1 = 280 expected from c0, sd sqrt(7 x 400 x 0.09) = 15.9: within 4 sd
    assert abs(leavers[:, 0].sum() - 280) < 4 * 15.9, leavers[:, 0]
    assert abs(leavers[:, 1].sum() - 70) < 4 * 7.9, leavers[:, 1]
    departures = [t for i in ins for t in i.trips if not t.home]
    assert all(t.to == 2 and t.arrive == step + 4 for step, i in enumerate(ins, start=1) for t in i.trips
               if not t.home)
    assert len(departures) == 7
    homes = [(step, t.event) for step, i in enumerate(ins, start=1) for t in i.trips if t.home]
    assert homes == [(10, "march-3")]


def test_depart_until_stops_new_leavers_and_the_draws_repeat():
    # the call stands from step 2; nobody sets off from the step that starts at depart_until (04:00) on
    ctx = context(event("march", 2, 20, to="c2", depart_until="2022-01-01T04:00"))
    until = ctx.clock.step_at(ctx.events[0].spec.depart_until)
    obs = observation(active=[300, 80, 50])
    ins = run(Travel(), TravelParams(join_per_hour=0.5), ctx, range(1, 10), obs)
    steps = [k for k, i in enumerate(ins, start=1) if any(not t.home for t in i.trips)]
    assert steps == list(range(2, until)), (steps, until)
    again = run(Travel(), TravelParams(join_per_hour=0.5), ctx, range(1, 10), obs)
    assert [[t.leaving.tolist() for t in i.trips] for i in ins] == [[t.leaving.tolist() for t in i.trips]
                                                                      for i in again]


# ================================================================== part 2: the moves on real lattices


def _lattice(seed: int, active_share: float):
    """A small Model I lattice with a share of its citizens turned active (fields rebuilt to match)."""
    sc = Scenario(width=20, height=20, citizen_density=0.6, cop_density=0.04, jailed_hold_cell=False,
                  jail_countdown="end_of_step")  # prisoners in a pool, as in every country
    model, state = M.init(sc, seed)
    rng = np.random.default_rng(seed)
    citizens = np.flatnonzero(state.kinds() == codes.QUIET)
    turn = citizens[rng.random(citizens.size) < active_share]
    state.occupant[turn] = codes.ACTIVE | (state.occupant[turn] & codes.ACTED_BIT)
    state.counters[codes.CT_QUIET] -= turn.size
    state.counters[codes.CT_ACTIVE] += turn.size
    cop, act = fresh_fields(model, state)
    state.active_seen[:] = act
    return model, state


def _consistent(model, state) -> None:
    counts = recount(state)
    assert counts["quiet"] == state.counters[codes.CT_QUIET]
    assert counts["active"] == state.counters[codes.CT_ACTIVE]
    assert recount_violent(state) == state.counters[codes.CT_VIOLENT]
    cop, act = fresh_fields(model, state)
    assert (cop == state.cop_seen).all() and (act == state.active_seen).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.0, 1.0), want=st.integers(0, 400))
def test_take_then_place_moves_exactly_those_citizens_and_keeps_both_lattices_consistent(seed, share, want):
    model_a, a = _lattice(seed, share)
    model_b, b = _lattice(seed + 1, 0.0)
    rng = np.random.default_rng(seed)
    active_before = a.counters[codes.CT_ACTIVE]
    citizens_b = b.counters[codes.CT_QUIET]
    h, r, _ = travel.take(model_a, a, want, rng)
    assert len(h) == min(want, active_before)  # only protesters travel, as many as asked if there are
    assert a.counters[codes.CT_ACTIVE] == active_before - len(h)
    _consistent(model_a, a)
    n = travel.place(model_b, b, h, r, np.zeros(0, np.int32), rng)
    assert n == min(len(h), travel.room(model_b, b) + n)  # as many as found room
    assert b.counters[codes.CT_QUIET] == citizens_b + n
    _consistent(model_b, b)
    # the kernel writes prisoners into the pool without a bound check: it must hold every citizen the lattice has
    assert len(b.pool_hardship) >= b.counters[codes.CT_QUIET] + b.counters[codes.CT_ACTIVE] + \
        b.counters[codes.CT_VIOLENT] + b.counters[codes.CT_JAILED]
    assert len(b.pool_risk) == len(b.pool_term) == len(b.pool_origin) == len(b.pool_hardship)
    found = travel.find(b, h[:n], r[:n])
    assert found.size == n  # each traveller is found by its (hardship, risk aversion), nobody else
    assert sorted(travel.keys(b.hardship[found], b.risk_aversion[found])) == sorted(travel.keys(h[:n], r[:n]))
    flag = codes.ACTED_BIT if (int(b.counters[codes.CT_STEP]) & 1) == 1 else 0
    assert ((b.occupant[found] & codes.ACTED_BIT) != flag).all()  # not yet acted in the coming step


# ================================================================== part 3: a march on the two towns


def _marching(join: float = 0.05, end: str | None = "2022-01-02T12:00") -> CountryScenario:
    data = two_towns().to_dict()
    march = {"kind": "march", "id": "march", "start": "2022-01-01T12:00", "cities": ["Oilton", "Hilltop"],
             "to": "Portville", "travel_hours": 6.0}
    if end:
        march["end"] = end
    data["events"] = [*data["events"], march]
    data["travel"] = {"join_per_hour": join}
    data["variants"]["no-march"] = {"description": "no march", "drop": ["march"]}
    return CountryScenario.from_dict(data)


def test_a_scenario_without_marches_keeps_its_hash():
    # the travel table is left out of the hash when no march is in the timeline (Mechanism.only_with_events), so
    # the mechanism's arrival changed no stored run: the two towns' hash is the one written before it existed
    assert two_towns().hash() == "3ad2c053b5f9ac7f"
    assert two_towns().replace({"travel.join_per_hour": 0.5}).hash() == two_towns().hash()
    assert _marching().hash() != _marching(join=0.06).hash()


def test_the_march_carries_protesters_to_the_destination_and_home_again():
    # Seed 7: the march's people leave Oilton and Hilltop during the call, are in Portville after their 6 hours on
    # the road, and at the end (step 36) all of them who are free go home; those then in Portville's jail follow
    # when released. Citizens are conserved: on the lattices, in jail, on the road, plus the killed.
    sc = _marching()
    cm = country_model.init(sc, 7, 0)
    initial = np.array([s.counters[codes.CT_QUIET] for s in cm.states])
    killed = np.zeros(3, dtype=np.int64)
    peak_in_portville = 0
    for k in range(1, cm.ctx.clock.ticks + 1):
        out, _ = cm.step(k)
        killed += out[:, codes.OUT_KILLED_PROTESTERS] + out[:, codes.OUT_KILLED_BYSTANDERS]
        here = out[:, codes.OUT_QUIET] + out[:, codes.OUT_ACTIVE] + out[:, codes.OUT_VIOLENT] + out[:, codes.OUT_JAILED]
        on_road = cm.journeys.on_road(3)
        assert here.sum() + on_road.sum() + killed.sum() == initial.sum(), k
        peak_in_portville = max(peak_in_portville, here[1] + killed[1] - initial[1])
        if k == 35:
            assert cm.journeys.away(3)[[0, 2]].sum() > 50  # measured 510 with seed 7
    assert peak_in_portville > 50
    away = cm.journeys.away(3)
    assert away[1] == 0
    in_jail = sum(len(p.hardship) for p in cm.journeys.parties)
    assert away.sum() == in_jail and in_jail < 0.2 * peak_in_portville  # only the jailed are still away


def test_the_march_is_reproducible_and_moves_unrest_to_the_destination():
    # Same seed, same run (bit for bit), and Portville's person-steps of unrest during the call exceed the
    # no-march variant's in every one of 4 replicates (measured +40% to +80%)
    sc = _marching(join=0.05, end=None)
    a, b = simulate_country(sc, 3, 0), simulate_country(sc, 3, 0)
    assert (a.counts == b.counts).all()
    for rep in range(4):
        with_march = simulate_country(sc, 2022, rep).unrest()[1, 18:].sum()
        without = simulate_country(sc.variant("no-march"), 2022, rep).unrest()[1, 18:].sum()
        assert with_march > without, (rep, with_march, without)


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("to", "Atlantis", "to: unknown city 'Atlantis'"),
    ("to", "Oilton", "is also among the cities they set off from"),
])
def test_a_bad_march_is_refused_in_one_line(tmp_path, field, value, needle):
    march = {"to": "Portville", field: value}
    path = tmp_path / "bad.toml"
    path.write_text(TWO_TOWNS.read_text() + '\n[[events]]\nkind = "march"\nid = "march"\nstart = "2022-01-01T12:00"\n'
                    f'cities = ["Oilton", "Hilltop"]\nto = "{march["to"]}"\n')
    assert_one_line_error(uprising("run", str(path), "--replicates", "1"), "events[", needle)


def test_after_the_end_only_the_jailed_are_still_looked_for_and_the_dead_are_let_go():
    # the march of the two towns with lethal force on: at the run's end every party still away holds only members
    # who are alive in Portville, in its jail or released from it in the last step (found at the next); the dead are
    # dropped, so nobody is searched for forever
    sc = _marching(end="2022-01-02T06:00").replace({"lethal_force.kill_active": 0.05, "lethal_force.kill_violent": 0.3})
    cm = country_model.init(sc, 5, 0)
    killed = 0
    for k in range(1, cm.ctx.clock.ticks + 1):
        out, _ = cm.step(k)
        killed += int(out[1, codes.OUT_KILLED_PROTESTERS])
    assert killed > 0  # some died in Portville
    st = cm.states[1]
    pool = int(st.counters[codes.CT_POOL])
    alive = np.concatenate([travel.keys(st.pool_hardship[:pool], st.pool_risk[:pool]),
                            travel.keys(st.hardship, st.risk_aversion)[np.isin(st.kinds(), travel.CITIZENS)]])
    for party in cm.journeys.parties:
        assert np.isin(travel.keys(party.hardship, party.risk), alive).all()
