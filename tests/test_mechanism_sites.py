"""Finite targets (:mod:`uprising.mechanisms.sites`): the buildings of each city, the contest of numbers over them,
burning, looting and retaking, the people injured, and that the mechanism leaves the lattices alone
(tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from country_helpers import two_towns
from mechanism_helpers import context, event, observation, run
from uprising.country import fit as F
from uprising.country.simulate import simulate_country
from uprising.mechanisms.base import TickInputs
from uprising.mechanisms.sites import KINDS, Sites, SitesParams, building_counts


def play(params: SitesParams, ctx, steps: int, obs, protection=None, withdrawn=None) -> list[dict[str, np.ndarray]]:
    """The sites mechanism alone over steps 1..``steps`` with a fixed observation (and, given, the cops policing
    withdrew from the streets, in agents); its report of every step."""
    mech = Sites()
    state = mech.init(params, ctx)
    out = []
    for k in range(1, steps + 1):
        now = TickInputs.neutral(ctx)
        if protection is not None:
            now.report["site_protection"] = np.asarray(protection, dtype=float)
        if withdrawn is not None:
            now.report["police_withdrawn"] = np.asarray(withdrawn, dtype=float)
        state, changes = mech.step(params, ctx, state, k, obs, now.view())
        assert not changes.fp and changes.cop_target is None and changes.legitimacy is None  # it only reports
        out.append({name: np.asarray(v) for name, v in changes.report.items()})
    return out


def test_buildings_follow_the_rule_on_population():
    # round(base + per_100k * residents / 100,000) of each kind: 250,000 residents -> 4 + 2 * 2.5 = 9 government,
    # 1 + 2.5 = 3.5 -> 4 police (round half to even), 100 * 2.5 = 250 commercial
    counts = building_counts(SitesParams(), np.array([250_000.0, 0.0, 1_000_000.0]))
    assert counts.tolist() == [[9, 4, 250], [4, 1, 0], [24, 11, 1000]]
    ctx = context(agents=(2500, 10, 10000), scale=0.01)
    state = Sites().init(SitesParams(), ctx)
    assert np.bincount(state.city).tolist() == [9 + 4 + 250, 4 + 1 + 1, 24 + 11 + 1000]  # 1,000 residents: 1 shop
    assert [int(((state.city == 0) & (state.kind == k)).sum()) for k in range(3)] == [9, 4, 250]
    assert KINDS == ("government", "police", "commercial")


def test_no_violence_no_attacks():
    ctx = context(scale=0.01)
    reports = play(SitesParams(enabled=True, attack_per_hour=1.0), ctx, 5, observation(violent=(0, 0, 0), cops=(50, 30, 20)))
    for r in reports:
        for name, values in r.items():
            assert not values.any(), name


def test_without_police_every_attack_succeeds_and_nobody_is_hurt():
    # P = 0: P(success) = V / (V + 0) = 1, so nothing is repelled: no injuries, every government or police building
    # hit is seized (or burnt), every shop hit is looted. 100 violent agents at scale 0.01 = 10,000 people make
    # Poisson(0.01 * 10,000) = about 100 attacks an hour on c0's 2,600 buildings.
    ctx = context(scale=0.01, agents=(100_000, 500, 250))
    params = SitesParams(enabled=True, attack_per_hour=0.01, burn_per_hour=0.0, retake_per_hour=0.0)
    reports = play(params, ctx, 10, observation(violent=(100, 0, 0), cops=(0, 30, 20)))
    last = reports[-1]
    assert sum(r["site_injured_security"].sum() + r["site_injured_protesters"].sum() for r in reports) == 0
    attacked = last["buildings_attacked"][0]
    assert 700 < attacked < 1000  # about 1,000 attacks, some on the same building (the first draws of 2,600)
    taken = last["buildings_seized"][0] + last["shops_looted"][0]
    assert taken == attacked  # every building attacked was taken
    assert last["government_attacked"][0] + last["police_attacked"][0] == last["buildings_seized"][0]
    assert not last["buildings_attacked"][1:].any()


def test_overwhelming_police_repel_every_attack_and_are_hurt_doing_it():
    # P / V = 10,000 with defence 1 and every building guarded (guard_commercial 1): P(success) = 1e-4, so about
    # none of 100 attacks succeeds; each repelled attack injures Poisson(2) security and Poisson(0.5) attackers,
    # so the injured are about 2 and 0.5 per attack (10 hours, about 1,000 attacks: 4 standard errors is 180 and 90)
    ctx = context(scale=0.01, agents=(100_000, 500, 250), police=(1_000_000, 30, 20))
    params = SitesParams(enabled=True, attack_per_hour=1.0, guard_commercial=1.0, injured_security=2.0,
                         injured_protesters=0.5, burn_per_hour=0.0, retake_per_hour=0.0)
    reports = play(params, ctx, 10, observation(violent=(1, 0, 0), cops=(1_000_000, 30, 20)))
    last = reports[-1]
    assert last["buildings_seized"][0] + last["shops_looted"][0] <= 1
    security = sum(r["site_injured_security"][0] for r in reports)
    protesters = sum(r["site_injured_protesters"][0] for r in reports)
    assert abs(security - 2 * 1000) < 180 + 0.1 * 2 * 1000  # 1,000 attacks expected, themselves Poisson
    assert abs(protesters - 0.5 * 1000) < 90 + 0.1 * 0.5 * 1000
    assert 0.2 < protesters / security < 0.3


def test_defenders_of_state_buildings_kill_attackers_and_shopkeepers_do_not():
    # Overwhelming police (P / V = 10,000, every building guarded): about every attack is repelled. With
    # killed_protesters = 0.3, each repelled attack on a government or police building kills Poisson(0.3) attackers,
    # and a repelled attack on a shop kills none: in a city of government buildings only about 0.3 per attack
    # (about 1,000 attacks over 10 hours, so 300 +- 4 sd of about 20, and the attacks are themselves Poisson), in
    # one of shops only exactly none. With killed_protesters = 0 no deaths and the same buildings and injuries as
    # before the parameter existed (no draw is made). Fails if the deaths ignore the kind of building or the count.
    ctx = context(scale=0.01, agents=(100_000, 500, 250), police=(1_000_000, 30, 20))
    crowd = observation(violent=(1, 0, 0), cops=(1_000_000, 30, 20))
    common = dict(enabled=True, attack_per_hour=1.0, guard_commercial=1.0, burn_per_hour=0.0, retake_per_hour=0.0,
                  police_base=0.0, police_per_100k=0.0)
    state_only = dict(government_base=1000.0, government_per_100k=0.0, commercial_per_100k=0.0)
    shops_only = dict(government_base=0.0, government_per_100k=0.0, commercial_per_100k=1000.0)
    killed = sum(r["site_killed_protesters"][0] for r in play(SitesParams(**common, **state_only,
                                                                           killed_protesters=0.3), ctx, 10, crowd))
    assert abs(killed - 300) < 80 + 0.1 * 300
    shops = play(SitesParams(**common, **shops_only, killed_protesters=0.3), ctx, 10, crowd)
    assert sum(r["site_killed_protesters"].sum() for r in shops) == 0
    without = play(SitesParams(**common, **state_only), ctx, 10, crowd)
    with_zero = play(SitesParams(**common, **state_only, killed_protesters=0.0), ctx, 10, crowd)
    assert sum(r["site_killed_protesters"].sum() for r in without) == 0
    for a, b in zip(without, with_zero):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_deaths_at_buildings_are_counted_as_deaths():
    # the two towns with buildings whose defenders shoot: the run's deaths (killed_by, deaths_by_city, the deaths
    # curve) hold the attackers killed at buildings, and nothing of the lattice changes (the mechanism reports only)
    from uprising.country import observables as O

    base = two_towns().replace({"sites.enabled": True, "sites.attack_per_hour": 0.05, "escalation.violence_margin": 0.05})
    shoot = base.replace({"sites.killed_protesters": 0.5})
    a, b = simulate_country(base, 3, 0), simulate_country(shoot, 3, 0)
    assert np.array_equal(a.counts, b.counts)
    at_sites = O.site_killed(b, b.steps)
    assert at_sites > 0 and O.site_killed(a, a.steps) == 0
    assert O.killed_by(b)["total"] == O.killed_by(a)["total"] + at_sites
    assert F.deaths_by_city(b).sum() == F.deaths_by_city(a).sum() + at_sites
    assert O.deaths_curve(b)[-1] == O.deaths_curve(a)[-1] + at_sites


def test_the_contest_follows_the_numbers():
    # P(success) = V / (V + defence * P): with V = P and defence 1, half the attacks on government buildings succeed;
    # with defence 3, a quarter. 2,000 attacks on government buildings only (no police or shops in the city).
    ctx = context(scale=1.0, agents=(1000, 10, 10), police=(1000, 1, 1))
    for defence, want in ((1.0, 0.5), (3.0, 0.25)):
        params = SitesParams(enabled=True, attack_per_hour=1.0, government_base=100_000.0, government_per_100k=0.0,
                             police_base=0.0, police_per_100k=0.0, commercial_per_100k=0.0, defence=defence,
                             injured_security=1.0, injured_protesters=0.0, burn_per_hour=0.0, retake_per_hour=0.0)
        reports = play(params, ctx, 2, observation(violent=(1000, 0, 0), cops=(1000, 0, 0)))
        seized = reports[-1]["buildings_seized"][0]  # nearly every attack hits a new building (2,000 of 100,000)
        repelled = sum(r["site_injured_security"][0] for r in reports)  # Poisson(1) per repelled attack
        share = seized / (seized + repelled)
        assert abs(share - want) < 0.05, (defence, share)  # 2,000 attacks: the standard error is about 0.015


def test_guarded_buildings_hold_and_shops_do_not():
    # the intervention guards c0's sites (protection 1): no government or police building is seized, whatever the
    # numbers; shops are not guarded by it, so without police every shop attacked is looted
    ctx = context(scale=0.01, agents=(100_000, 500, 250))
    params = SitesParams(enabled=True, attack_per_hour=0.01, burn_per_hour=0.0, retake_per_hour=0.0)
    reports = play(params, ctx, 10, observation(violent=(100, 0, 0), cops=(0, 30, 20)), protection=(1.0, 0.0, 0.0))
    last = reports[-1]
    assert last["buildings_seized"][0] == 0
    assert last["shops_looted"][0] > 500
    assert last["government_attacked"][0] > 0  # attacked, and repelled by the troops
    assert sum(r["site_injured_security"][0] for r in reports) > 0


def test_seized_buildings_burn_and_are_retaken():
    # first 5 hours: a crowd without police seizes buildings; then the crowd is gone and the police are back:
    # with burning off, retake_per_hour 0.5 (and V = 0, so the police's share is 1) clears every seized building
    # within a few hours (0.5 ** 20 of one building left after 20 hours); with burning at 1 per hour, every seized
    # building burns in the step it is taken, and none is held
    ctx = context(scale=0.01, agents=(100_000, 500, 250))
    params = SitesParams(enabled=True, attack_per_hour=0.01, burn_per_hour=0.0, retake_per_hour=0.5,
                         commercial_per_100k=0.0)
    mech = Sites()
    state = mech.init(params, ctx)
    crowd = observation(violent=(100, 0, 0), cops=(0, 30, 20))
    calm = observation(violent=(0, 0, 0), cops=(50, 30, 20))
    held = []
    hurt = 0.0
    for k in range(1, 26):
        state, changes = mech.step(params, ctx, state, k, crowd if k <= 5 else calm, TickInputs.neutral(ctx).view())
        held.append(int(changes.report["buildings_seized"][0]))
        hurt += changes.report["site_injured_security"][0]
    assert held[4] > 10 and held[-1] == 0
    assert hurt > 0  # retaking injures: Poisson(1) per building retaken
    burning = params.model_copy(update={"burn_per_hour": 1.0})
    reports = play(burning, ctx, 5, crowd)
    assert reports[-1]["buildings_seized"][0] == 0 and reports[-1]["buildings_burnt"][0] > 10


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 200), st.integers(0, 200), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 10**6))
def test_building_counts_are_consistent(violent, cops, burn, retake, seed):
    # invariants whatever the numbers: cumulative counts never fall; a building is held or burnt, not both; the
    # seized, burnt and looted are among the attacked; looting is of shops, seizure of the others
    ctx = context(scale=0.01, agents=(20_000, 500, 250))
    ctx = type(ctx)(**{**ctx.__dict__, "seed_words": (seed, 0)})
    params = SitesParams(enabled=True, attack_per_hour=0.05, burn_per_hour=burn, retake_per_hour=retake)
    mech = Sites()
    state = mech.init(params, ctx)
    before = None
    for k in range(1, 9):
        obs = observation(violent=(violent if k < 5 else 0, 0, 0), cops=(cops, 30, 20))
        state, changes = mech.step(params, ctx, state, k, obs, TickInputs.neutral(ctx).view())
        assert not (state.seized & state.burnt).any()
        assert not ((state.seized | state.burnt | state.looted) & ~state.attacked).any()
        assert not (state.looted & (state.kind != 2)).any() and not (state.seized & (state.kind == 2)).any()
        cumulative = np.array([changes.report[n] for n in ("buildings_attacked", "buildings_burnt", "shops_looted")])
        if before is not None:
            assert (cumulative >= before).all()
        before = cumulative
        assert (changes.report["site_injured_security"] >= 0).all()


def test_sites_draw_from_their_own_stream_and_leave_the_lattices_alone():
    # the two towns with sites on: the same lattice counts, bit for bit, as with sites off; the same seed gives the
    # same buildings; another replicate, other buildings
    base = two_towns().replace({"repression.casualties": "people", "sites.enabled": False})
    on = base.replace({"sites.enabled": True, "sites.attack_per_hour": 0.05})
    a, b, c = simulate_country(base, 3, 0), simulate_country(on, 3, 0), simulate_country(on, 3, 0)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.people_counts, b.people_counts)
    assert np.isnan(a.reports["buildings_attacked"]).all()
    assert np.array_equal(b.reports["buildings_attacked"], c.reports["buildings_attacked"], equal_nan=True)
    assert np.nansum(b.reports["site_injured_security"]) == np.nansum(c.reports["site_injured_security"])
    assert b.reports["buildings_attacked"][:, -1].sum() > 0  # the two towns do have violent citizens
    d = simulate_country(on, 3, 1)
    assert not np.array_equal(d.reports["buildings_attacked"], b.reports["buildings_attacked"], equal_nan=True)


def test_fit_measures_buildings_and_site_injuries_when_sites_are_on(tmp_path):
    # the buildings targets are measured with sites on (from the reports) and "not measured" with sites off; the
    # security injured include those over buildings
    targets = tmp_path / "t.csv"
    targets.write_text("quantity,value_low,value_high,date,source,split\n"
                       "buildings_attacked (in Westport; Eastford),100,100,2022-01,x,test\n"
                       "government_buildings_attacked (incl. akimats),5,5,2022-01,x,test\n"
                       "security_injured_cumulative,10,10,2022-01-02,x,fit\n")
    base = two_towns().replace({"repression.casualties": "people", "sites.enabled": False})
    on = base.replace({"sites.enabled": True, "sites.attack_per_hour": 0.05})
    off_file = F.load_targets(targets, base)
    assert [t.quantity.split(" (")[0] for t in off_file.unmeasured] == ["buildings_attacked",
                                                                         "government_buildings_attacked"]
    on_file = F.load_targets(targets, on)
    assert not on_file.unmeasured and len(on_file.targets) == 3
    r = simulate_country(on, 3, 0)
    built, government, injured = (F.measure(t, r) for t in on_file.targets)
    assert built == r.reports["buildings_attacked"][:, -1].sum() > 0
    assert government == r.reports["government_attacked"][:, -1].sum()
    from uprising.country import observables as O
    upto = O.step_at_end_of(r, on_file.targets[2].date)
    assert injured == r.total_people("injured_security", upto=upto) + np.nansum(
        r.reports["site_injured_security"][:, 1:upto + 1])


def test_state_weight_sends_attacks_to_government_and_police_buildings():
    # c0 (100,000 residents at scale 0.01) has 6 government, 2 police and 100 commercial buildings. Without police
    # every attack succeeds and nothing burns, so a building once hit stays counted. 100 violent agents (10,000
    # people) at 0.001 attacks per person-hour make about 200 attacks in 20 hours. Uniformly (weight 1) an attack
    # falls on a shop with chance 100/108: about 185 shop attacks, so 100 (1 - e^-1.85) = 84 shops hit (sd about
    # 4). With weight 50 the chance is 100/500: about 40 shop attacks, 100 (1 - e^-0.4) = 33 shops (sd about 5),
    # and about 160 attacks on the 8 state buildings hit every one. Bands: 4 standard deviations.
    ctx = context(scale=0.01, agents=(1000, 500, 250))
    obs = observation(violent=(100, 0, 0), cops=(0, 30, 20))
    shops = {}
    for w in (1.0, 50.0):
        params = SitesParams(enabled=True, attack_per_hour=0.001, burn_per_hour=0.0, retake_per_hour=0.0,
                             state_weight=w, government_base=5.0, government_per_100k=1.0, police_base=1.0,
                             police_per_100k=1.0)
        last = play(params, ctx, 20, obs)[-1]
        if w == 50.0:
            assert last["government_attacked"][0] == 6 and last["police_attacked"][0] == 2
        shops[w] = last["shops_looted"][0]
    assert 68 < shops[1.0] < 100, shops
    assert 13 < shops[50.0] < 53, shops


def test_withdrawn_police_hold_the_state_buildings_when_told_to():
    # no police on c0's streets, 1,000,000 withdrawn (in agents at scale 0.01: 1e8 people) against 100 violent
    # agents (10,000 people). Without hold_withdrawn every attack succeeds, as with no police at all; with it an
    # attack on a government or police building fails with chance 1e8 / (1e8 + 1e4) and injures Poisson(2)
    # security personnel, while the shops, which only the streets' police guard, fall as before.
    ctx = context(scale=0.01, agents=(1000, 500, 250))
    obs = observation(violent=(100, 0, 0), cops=(0, 30, 20))
    base = dict(enabled=True, attack_per_hour=0.01, burn_per_hour=0.0, retake_per_hour=0.0, state_weight=20.0,
                injured_security=2.0)
    loose = play(SitesParams(**base), ctx, 10, obs, withdrawn=(1_000_000, 0, 0))
    held = play(SitesParams(**base, hold_withdrawn=True), ctx, 10, obs, withdrawn=(1_000_000, 0, 0))
    assert sum(r["site_injured_security"][0] for r in loose) == 0
    assert loose[-1]["buildings_seized"][0] > 0
    assert held[-1]["buildings_seized"][0] == 0
    assert held[-1]["shops_looted"][0] > 0
    # about 1,000 attacks; with weight 20 a share 8 * 20 / (8 * 20 + 100) = 62% of them (about 615) fall on the 8
    # state buildings and are repelled, 2 hurt each (Poisson): a compound Poisson count, sd sqrt(615 * 6) / 2 = 30
    # attacks, so the band is about 3.5 standard deviations
    state_attacks = sum(r["site_injured_security"][0] for r in held) / 2.0
    assert 500 < state_attacks < 730, state_attacks


def test_armed_crowds_hurt_more_police_per_confrontation_where_and_when_armed():
    # Overwhelming police in c0 and c1 repel every attack (as above); each repelled attack hurts Poisson(2) police,
    # and Poisson(2 * 5) where and while an `armed` event is on (c0, from step 6). About 100 attacks an hour in each
    # town. Per attack, hours 1-5: about 2 in both towns; hours 6-10: about 10 in c0 and 2 in c1 (c1 is not armed).
    # Bands: wide enough for the compound Poisson count (sd of the mean per attack about 0.05 and 0.1 over ~500
    # attacks), narrow enough to fail if the factor is ignored, applied everywhere or from the first step.
    ctx = context(event("armed", 6, None, cities=(True, False, False)), scale=0.01, agents=(100_000, 100_000, 250),
                  police=(1_000_000, 1_000_000, 20))
    params = SitesParams(enabled=True, attack_per_hour=0.01, guard_commercial=1.0, injured_security=2.0,
                         injured_protesters=0.0, burn_per_hour=0.0, retake_per_hour=0.0, armed_injuries=5.0)
    reports = play(params, ctx, 10, observation(violent=(100, 100, 0), cops=(1_000_000, 1_000_000, 20)))
    hurt = np.array([r["site_injured_security"][:2] for r in reports])  # steps 1-10, towns c0 and c1
    attacks = 100.0 * 5  # about 100 attacks an hour (10,000 violent people x 0.01), 5 hours each half
    before, after = hurt[:5].sum(axis=0) / attacks, hurt[5:].sum(axis=0) / attacks
    assert 1.6 < before[0] < 2.4 and 1.6 < before[1] < 2.4, before
    assert 8.5 < after[0] < 11.5 and 1.6 < after[1] < 2.4, after
