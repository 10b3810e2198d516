"""Escalation to violence (:mod:`uprising.mechanisms.escalation`): its values, guarded sites, and its effect on the
two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import math

import numpy as np

from country_helpers import organised_in_oilton, two_towns
from mechanism_helpers import context, ensemble_of, event, fp, observation, paired, run_all
from uprising.country.model import init, running, step_inputs
from uprising.country.scenario import CountryScenario
from uprising.kernels import codes
from uprising.mechanisms.escalation import Escalation, EscalationParams
from uprising.mechanisms.intervention import Intervention, InterventionParams


# ================================================================== part 1: equations on a hand-built context


def test_guarded_sites_repel_attacks_in_escalation():
    ctx = context(event("intervention", 1, troops={"c1": 100}, role="guard"), tick_hours=2.0)
    params = EscalationParams(violence_margin=0.07, attack_per_hour=0.1, attack_kill=0.3, site_attack_per_hour=0.2)
    # in the registry's order: the intervention reports its guarded sites before escalation reads them
    inputs = run_all([(Intervention(), InterventionParams(site_protection=0.75)), (Escalation(), params)], ctx, [1])[0]
    site = 1.0 - (1.0 - 0.2) ** 2  # per hour -> per two-hour tick
    np.testing.assert_allclose(fp(inputs, codes.FP_SITE_ATTACK), [site, site * 0.25, site], rtol=1e-12)
    np.testing.assert_allclose(fp(inputs, codes.FP_ATTACK), 1.0 - 0.9 ** 2, rtol=1e-12)
    assert fp(inputs, codes.FP_ATTACK_KILL).tolist() == [0.3] * 3
    assert fp(inputs, codes.FP_VIOLENCE_MARGIN).tolist() == [0.07] * 3


# ================================================================== part 2: direction on a seeded ensemble


def test_escalation_produces_violence_and_security_casualties():
    # Exact: with escalation off nobody turns violent, attacks a cop or a site, in any replicate.
    # Ensemble: switched on (violence margin 0.05, attacks 0.002 per hour, 10% of them deadly), every replicate
    # has violent citizens and security casualties (measured 19-30 killed or injured), and across the ensemble
    # some security personnel are killed (measured 17). Fails if the kernel's escalation switch or the attack
    # probabilities do nothing.
    base = two_towns()
    off = ensemble_of(base.replace({"escalation.enabled": False}))
    for r in off:
        for column in ("violent", "killed_security", "injured_security", "site_attacks"):
            assert r.national(column).sum() == 0, column
    on = ensemble_of(base)
    casualties = [(r.national("killed_security") + r.national("injured_security")).sum() for r in on]
    assert all(r.national("violent").max() > 0 for r in on)
    assert min(casualties) > 0, casualties
    assert sum(r.national("killed_security").sum() for r in on) > 0
    assert all(r.national("site_attacks").sum() > 0 for r in on)


# ================================================================== backlash (ESIM): force lowers the violence margin


def margins_over(params: EscalationParams, ctx, forces: list[list[int]]) -> list:
    """The inputs of steps 1, 2, ... with ``obs.force`` (cumulative, agents) at ``forces[k - 1]`` before step k, as
    the driver runs escalation (its state carried from step to step)."""
    present = running([(Escalation(), params)])
    states = [m.init(p, ctx) for m, p in present]
    return [step_inputs(present, states, ctx, k, observation(force=f)) for k, f in enumerate(forces, start=1)]


def test_backlash_lowers_each_citys_margin_with_the_force_used_there():
    # the docstring's equation written out city by city: two-hour ticks, memory 6 hours (d = e^(-1/3)), scale 0.01
    # (one agent: 100 people), residents 100,000, 50,000 and 25,000; c2's police use no force, so its margin stays
    # 0.2 exactly. Fails if the force is not differenced (cumulative counts read as per step), not divided by the
    # scale, the residents or the tick, or if the smoothing or the sign of the exponent is wrong.
    ctx = context(tick_hours=2.0, agents=(1000, 500, 250), scale=0.01)
    params = EscalationParams(violence_margin=0.2, backlash=0.5, backlash_memory_hours=6.0)
    forces = [[0, 0, 0], [3, 1, 0], [5, 1, 0], [5, 4, 0]]
    d = math.exp(-2.0 / 6.0)
    residents = [100_000.0, 50_000.0, 25_000.0]
    recent = [0.0, 0.0, 0.0]
    before = [0, 0, 0]
    for k, inputs in enumerate(margins_over(params, ctx, forces), start=1):
        expected = []
        for c in range(3):
            people = (forces[k - 1][c] - before[c]) * 100.0  # people arrested or killed in the last step
            recent[c] = recent[c] * d + (1.0 - d) * people * 1000.0 / (residents[c] * 2.0)
            expected.append(0.2 * math.exp(-0.5 * recent[c]))
        before = forces[k - 1]
        np.testing.assert_allclose(fp(inputs, codes.FP_VIOLENCE_MARGIN), expected, rtol=1e-12)
        np.testing.assert_allclose(inputs.report["violence_margin"], expected, rtol=1e-12)
        assert fp(inputs, codes.FP_VIOLENCE_MARGIN)[2] == 0.2
    # by the last step c0's force (steps 2-3) is fading and c1's (step 4) is fresh: both margins are below 0.2
    assert 0.0 < expected[0] < 0.2 and 0.0 < expected[1] < expected[0]


def test_without_backlash_the_margin_stays_constant_whatever_the_force():
    # backlash 0 (the default): no state, the margin is violence_margin in every city and step, and nothing is
    # reported. Fails if a zero backlash still keeps (or reports) a margin that moves.
    ctx = context(tick_hours=2.0)
    params = EscalationParams(violence_margin=0.2, backlash_memory_hours=6.0)
    assert Escalation().init(params, ctx) is None
    for inputs in margins_over(params, ctx, [[0, 0, 0], [30, 10, 5], [60, 20, 5]]):
        assert fp(inputs, codes.FP_VIOLENCE_MARGIN).tolist() == [0.2] * 3
        assert "violence_margin" not in inputs.report


def test_the_country_model_counts_force_as_arrests_and_protesters_killed():
    # Observation.force after each step is the cumulative arrests plus protesters killed of each town (not sweeps,
    # not bystanders: the two towns have both, so counting them would fail here)
    cm = init(two_towns(), 2022, 0)
    force = np.zeros(3, dtype=np.int64)
    others = np.zeros(3, dtype=np.int64)
    for k in range(1, cm.ctx.clock.ticks + 1):
        out, _ = cm.step(k)
        force += out[:, codes.OUT_ARRESTS] + out[:, codes.OUT_KILLED_PROTESTERS]
        others += out[:, codes.OUT_SWEPT] + out[:, codes.OUT_KILLED_BYSTANDERS]
        assert np.array_equal(cm.obs.force, force), k
    assert force.min() > 0 and others.sum() > 0


def test_backlash_turns_a_peaceful_protest_violent():
    # Two towns with a large violence margin (0.4): without backlash nobody turns violent (measured 0 in every
    # replicate); with backlash 0.5 the police's arrests (measured 19-25 agents an hour in Oilton, 13-16 people
    # per 1,000 residents per hour) bring the margin near 0 and every replicate has a violent wing (measured
    # 15,300-26,300 violent person-steps, mean 23,000). Asserted: every pair has more, and the mean at least
    # 10,000 more.
    # Fails if the margin does not follow the force, or the kernel does not read the per-city margin.
    base = two_towns().replace({"escalation.violence_margin": 0.4})
    a, b = paired(base, base.replace({"escalation.backlash": 0.5}), lambda r: float(r.national("violent")[1:].sum()))
    assert (b > a).all(), (a, b)
    assert b.mean() > a.mean() + 10_000, (a.mean(), b.mean())


def test_with_restraint_everywhere_backlash_changes_nothing():
    # Exact: when no cop uses force (restraint in every town for the whole run) f stays 0, exp(0) = 1, and the
    # margin is violence_margin exactly: the runs are bit for bit those without backlash. The margin 0.1 leaves a
    # violent wing under restraint (measured 1,600-3,700 violent person-steps), so any change of the margin would
    # show; sweeps still detain people, so a force that counted sweeps would fail here (checked: it does).
    data = two_towns().replace({"escalation.violence_margin": 0.1}).to_dict()
    data["events"] = [*data["events"], {"kind": "restraint", "id": "hold-back", "start": "2022-01-01T00:00"}]
    base = CountryScenario.from_dict(data)
    for ra, rb in zip(ensemble_of(base), ensemble_of(base.replace({"escalation.backlash": 0.5}))):
        assert np.array_equal(ra.counts, rb.counts)
        assert ra.national("violent").sum() > 0 and ra.national("swept").sum() > 0


# ================================================================== the organised core (Moro 2016)


def test_the_core_share_reaches_the_kernel_only_where_and_while_an_organised_event_is_on():
    # the equation of the docstring: FP_CORE = core_share in the event's cities during [start, end), 0 elsewhere
    # and outside it; with core_share 0 nothing is written even while the event is on. Fails if the event's
    # cities or dates are ignored, or a zero share still writes the input.
    ctx = context(event("organised", 2, 4, cities=(False, True, False)))
    params = EscalationParams(violence_margin=0.2, core_share=0.03)
    present = running([(Escalation(), params)])
    states = [m.init(p, ctx) for m, p in present]
    cores = [fp(step_inputs(present, states, ctx, k, observation()), codes.FP_CORE).tolist() for k in range(1, 6)]
    assert cores == [[0.0] * 3, [0.0, 0.03, 0.0], [0.0, 0.03, 0.0], [0.0] * 3, [0.0] * 3]
    off = running([(Escalation(), EscalationParams(violence_margin=0.2))])
    assert fp(step_inputs(off, [None], ctx, 2, observation()), codes.FP_CORE).tolist() == [0.0] * 3


def test_an_organised_core_turns_a_peaceful_town_violent():
    # Two towns with a violence margin (1.0) nobody clears: without a core nobody turns violent in any replicate
    # (exact). An organised event in Oilton from the start with core_share 0.05 makes the active among Oilton's 5%
    # least risk-averse violent: every replicate has a violent wing there, and Portville, with no event, stays
    # peaceful in every replicate (exact). Fails if the core is ignored, or reaches cities the event does not name.
    base = organised_in_oilton({"escalation.violence_margin": 1.0})
    names = list(ensemble_of(base)[0].names)
    oil, port = names.index("Oilton"), names.index("Portville")
    for r in ensemble_of(base):
        assert r.national("violent").sum() == 0
    for r in ensemble_of(base.replace({"escalation.core_share": 0.05})):
        violent = r.column("violent")  # city x step
        assert violent[oil].sum() > 0 and violent[port].sum() == 0


def test_the_core_in_people_reaches_the_kernel_as_its_own_input():
    # core_in = "people": the same share, where and while the event is on, goes to FP_CORE_PEOPLE (a share of each
    # active citizen's people) and FP_CORE stays 0, so no agent is made violent by its risk aversion. Fails if the
    # choice is ignored or both inputs are written.
    ctx = context(event("organised", 2, 4, cities=(False, True, False)))
    params = EscalationParams(violence_margin=0.2, core_share=0.3, core_in="people")
    present = running([(Escalation(), params)])
    states = [m.init(p, ctx) for m, p in present]
    inputs = [step_inputs(present, states, ctx, k, observation()) for k in range(1, 5)]
    assert [fp(i, codes.FP_CORE_PEOPLE).tolist() for i in inputs] == \
        [[0.0] * 3, [0.0, 0.3, 0.0], [0.0, 0.3, 0.0], [0.0] * 3]
    assert all(fp(i, codes.FP_CORE).tolist() == [0.0] * 3 for i in inputs)


def test_a_core_in_people_needs_casualties_in_people():
    # one line naming the field and what is allowed, before any run
    import pytest

    from uprising.scenario import ScenarioError

    data = two_towns().replace({"repression.casualties": "agents"}).to_dict()
    data["escalation"] = {**data.get("escalation", {}), "core_in": "people"}
    with pytest.raises(ScenarioError) as err:
        CountryScenario.from_dict(data)
    assert "escalation.core_in" in str(err.value) and "casualties" in str(err.value)
    assert "\n" not in str(err.value)
    data["repression"] = {**data.get("repression", {}), "casualties": "people"}
    assert CountryScenario.from_dict(data).escalation.core_in == "people"


def test_a_core_among_the_crowds_people_is_violent_where_the_event_is_and_leaves_the_lattice_alone():
    # Two towns, casualties in people, a violence margin (1.0) nobody clears and an organised event in Oilton.
    # With the core in people (share 0.2) the lattice's counts are those without a core, bit for bit, in every
    # replicate (the core draws from the people stream only); Oilton has violent people and Portville none, and
    # Oilton's violent people are about a fifth of its people out (each active agent's Binomial(n, 0.2)): between
    # 0.17 and 0.23 of them over the run (the draws are many thousands of people; the band is several standard
    # errors wide). Fails if the core draws from the lattice's stream, reaches the other town, or is not counted.
    base = organised_in_oilton({"escalation.violence_margin": 1.0, "repression.casualties": "people"})
    core = base.replace({"escalation.core_share": 0.2, "escalation.core_in": "people"})
    names = list(ensemble_of(base)[0].names)
    oil, port = names.index("Oilton"), names.index("Portville")
    for a, b in zip(ensemble_of(base), ensemble_of(core)):
        assert np.array_equal(a.counts, b.counts)
        assert a.violent_residents().sum() == 0
        v = b.violent_residents()
        assert v[port].sum() == 0 and v[oil].sum() > 0
        out = b.people("active", "Oilton")[1:].sum()
        assert 0.17 < v[oil].sum() / out < 0.23, v[oil].sum() / out


def test_return_fire_reaches_the_kernel():
    # lethal_force.return_fire is written as FP_RETURN_FIRE in every city, under the order or not
    from uprising.mechanisms.lethal_force import LethalForce, LethalForceParams

    ctx = context(event("shoot_order", 2, cities=(True, False, False)))
    inputs = run_all([(LethalForce(), LethalForceParams(kill_violent=0.1, return_fire=0.2))], ctx, [1, 3])
    assert [fp(i, codes.FP_RETURN_FIRE).tolist() for i in inputs] == [[0.2] * 3, [0.2] * 3]


def test_an_undeterred_core_is_switched_on_with_the_core_in_people_only():
    # core_undeterred writes FP_CORE_UNDETERRED = 1 where and while the core is on; with the core in agents it is
    # refused with a one-line error naming the field
    import pytest

    from uprising.scenario import ScenarioError

    ctx = context(event("organised", 2, 4, cities=(False, True, False)))
    params = EscalationParams(core_share=0.3, core_in="people", core_undeterred=True)
    present = running([(Escalation(), params)])
    states = [m.init(p, ctx) for m, p in present]
    inputs = [step_inputs(present, states, ctx, k, observation()) for k in (1, 2)]
    assert fp(inputs[0], codes.FP_CORE_UNDETERRED).tolist() == [0.0] * 3
    assert fp(inputs[1], codes.FP_CORE_UNDETERRED).tolist() == [1.0] * 3  # read only where the core share is > 0
    data = two_towns().to_dict()
    data["escalation"] = {**data.get("escalation", {}), "core_undeterred": True}
    with pytest.raises(ScenarioError) as err:
        CountryScenario.from_dict(data)
    assert "escalation.core_undeterred" in str(err.value) and "\n" not in str(err.value)
