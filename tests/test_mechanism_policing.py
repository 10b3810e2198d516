"""The police on the streets (:mod:`uprising.mechanisms.policing`): withdrawals from the streets and restraint, their
values, and their effect on the two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, ensemble_of, event, fp, paired, run, run_all, unrest
from uprising.country.model import compile_events
from uprising.country.scenario import CountryScenario
from uprising.kernels import codes
from uprising.mechanisms.base import TickInputs
from uprising.mechanisms.emergency import Emergency, EmergencyParams
from uprising.mechanisms.intervention import Intervention, InterventionParams
from uprising.mechanisms.policing import Policing, PolicingParams
from uprising.mechanisms.repression import Repression, RepressionParams


def with_events(scenario: CountryScenario, *events: dict) -> CountryScenario:
    """``scenario`` with more timeline events (validated like a scenario file's)."""
    data = scenario.to_dict()
    data["events"] = [*data["events"], *events]
    return CountryScenario.from_dict(data)


# ================================================================== part 1: equations on a hand-built context


def test_withdrawal_scales_the_cop_target_of_its_cities_while_it_lasts():
    # 40% of the police of c0 and c2 leave the streets in steps 3-5: target = police * (1 - 0.4), rounded, there
    # and then only. Fails if the share is applied to every city, outside the span, or as 1 - share the wrong
    # way round (police * 0.4 = [20, 12, 8]).
    ctx = context(event("withdrawal", 3, 6, cities=(True, False, True), share=0.4), police=(50, 30, 20))
    for k, inputs in enumerate(run(Policing(), PolicingParams(), ctx, range(1, 9)), start=1):
        on = 3 <= k < 6
        assert inputs.cop_target.tolist() == ([30, 30, 12] if on else [50, 30, 20]), k
        assert inputs.cop_target.dtype == np.int64
        assert inputs.report["withdrawn"].tolist() == ([0.4, 0.0, 0.4] if on else [0.0] * 3), k
        assert not inputs.fp.any(), k  # a withdrawal alone leaves the cops' behaviour alone
        # the cops taken off the streets, in agents (read by sites.hold_withdrawn): 50 - 30 and 20 - 12
        if on:
            assert inputs.report["police_withdrawn"].tolist() == [20.0, 0.0, 8.0], k


def test_overlapping_withdrawals_take_the_largest_share():
    # 20% everywhere in steps 1-9, 70% in c1 in steps 4-6: c1 keeps 30% of its police in steps 4-6 (30 * 0.3 = 9),
    # not 30 * 0.8 * 0.3 = 7 (the product) nor 30 * (1 - 0.9) = 3 (the sum), nor 24 (the first event's share)
    ctx = context(event("withdrawal", 1, 10, share=0.2), event("withdrawal", 4, 7, cities=(False, True, False), share=0.7),
                  police=(50, 30, 20))
    for k, inputs in enumerate(run(Policing(), PolicingParams(), ctx, range(1, 12)), start=1):
        if 4 <= k < 7:
            assert inputs.cop_target.tolist() == [40, 9, 16], k
            assert inputs.report["withdrawn"].tolist() == [0.2, 0.7, 0.2], k
        elif k < 10:
            assert inputs.cop_target.tolist() == [40, 24, 16], k
        else:
            assert inputs.cop_target.tolist() == [50, 30, 20], k


def test_withdrawal_scales_the_target_the_intervention_left():
    # in the registry's order the intervention runs first: 1,000 troops in c0 free 8 police (0.8 per troop at the
    # scale 0.01), and half of the 58 cops then leave: 29. Fails if the withdrawal scales the census police
    # (25 + 8 = 33) instead of the target as the mechanisms before it left it.
    ctx = context(event("intervention", 1, troops={"c0": 1000}), event("withdrawal", 1, share=0.5), police=(50, 30, 20))
    mechanisms = [(Intervention(), InterventionParams(freed_police_per_troop=0.8)), (Policing(), PolicingParams())]
    assert run_all(mechanisms, ctx, [1])[0].cop_target.tolist() == [29, 15, 10]


def test_withdrawal_lifts_the_emergency_ban_its_police_no_longer_enforce():
    # the emergency (gathering penalty 0.08, no curfew) shifts everyone's threshold by 0.08; where 75% of the police
    # leave (c0, steps 3-5) the shift is 0.08 * (1 - 0.75) = 0.02, and the emergency's stay is untouched. Fails if
    # the withdrawal leaves the shift alone, scales it in every city, or outlasts its span.
    ctx = context(event("emergency", 1), event("withdrawal", 3, 6, cities=(True, False, False), share=0.75))
    mechanisms = [(Emergency(), EmergencyParams(stay=0.3, gathering_penalty=0.08)), (Policing(), PolicingParams())]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 8)), start=1):
        on = 3 <= k < 6
        np.testing.assert_allclose(fp(inputs, codes.FP_THRESHOLD_SHIFT), [0.02 if on else 0.08, 0.08, 0.08],
                                   rtol=1e-12)
        assert fp(inputs, codes.FP_STAY).tolist() == [0.3] * 3, k


def test_withdrawal_lowers_the_violence_margin_of_its_cities_while_it_lasts():
    # escalation writes a margin of 0.05 everywhere; where 80% of the police leave (c2, steps 2-3) policing, which
    # runs after escalation, writes 0.05 * (1 - 0.8) = 0.01 there. Fails if the withdrawal leaves the margin alone,
    # lowers it in other cities, or outlasts its span.
    from uprising.mechanisms.escalation import Escalation, EscalationParams

    ctx = context(event("withdrawal", 2, 4, cities=(False, False, True), share=0.8))
    mechanisms = [(Escalation(), EscalationParams(violence_margin=0.05)), (Policing(), PolicingParams())]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 6)), start=1):
        on = 2 <= k < 4
        np.testing.assert_allclose(fp(inputs, codes.FP_VIOLENCE_MARGIN), [0.05, 0.05, 0.01 if on else 0.05],
                                   rtol=1e-12)


def test_restraint_idles_the_cops_of_its_cities_and_leaves_the_repression_elsewhere():
    # repression at 0.3 arrests per hour writes FP_COP_IDLE = 0.7 everywhere; restraint in c1 in steps 2-4 sets it to 1
    # there and then, and leaves the cop target alone. Fails if restraint overwrites the other cities' 0.7 (with
    # 0, the neutral value), or if policing ran before repression (which would overwrite the 1).
    ctx = context(event("restraint", 2, 5, cities=(False, True, False)), police=(50, 30, 20))
    mechanisms = [(Repression(), RepressionParams(arrest_per_hour=0.3)), (Policing(), PolicingParams())]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 7)), start=1):
        on = 2 <= k < 5
        np.testing.assert_allclose(fp(inputs, codes.FP_COP_IDLE), [0.7, 1.0, 0.7] if on else [0.7] * 3, rtol=1e-12)
        assert inputs.cop_target.tolist() == [50, 30, 20], k
        assert inputs.report["restraint"].tolist() == ([0.0, 1.0, 0.0] if on else [0.0] * 3), k


def test_restraint_stops_return_fire_where_it_holds():
    # lethal_force writes return fire 0.3 everywhere; restraint in c1 in steps 2-4 sets it to 0 there and then: police
    # who use no force do not fire back when attacked. Fails as the mechanism was before this test (restraint idled
    # the cops but left FP_RETURN_FIRE at 0.3, so a restrained city's attackers were still shot), or if the 0 reaches
    # the other cities or outlasts the span.
    from uprising.mechanisms.lethal_force import LethalForce, LethalForceParams
    ctx = context(event("restraint", 2, 5, cities=(False, True, False)))
    mechanisms = [(LethalForce(), LethalForceParams(return_fire=0.3)), (Policing(), PolicingParams())]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 7)), start=1):
        on = 2 <= k < 5
        np.testing.assert_allclose(fp(inputs, codes.FP_RETURN_FIRE), [0.3, 0.0, 0.3] if on else [0.3] * 3,
                                   rtol=1e-12, err_msg=k)


def test_restraint_widens_the_violence_margin_where_it_holds():
    # escalation writes a margin of 0.1 everywhere; restraint in c1 in steps 2-4 with restraint_margin 3 makes it 0.3
    # there and then, and a withdrawal of half of c1's police in steps 3-5 halves whatever margin holds (0.15 in steps
    # 3-4, 0.05 in step 5). Fails if the factor reaches other cities or other steps, or if the withdrawal overwrites
    # the restrained margin with the escalation's (0.05 in steps 3-4). restraint_margin 1 leaves the margin alone.
    from uprising.mechanisms.escalation import Escalation, EscalationParams
    ctx = context(event("restraint", 2, 5, cities=(False, True, False)),
                  event("withdrawal", 3, 6, cities=(False, True, False), share=0.5))
    want = {1: 0.1, 2: 0.3, 3: 0.15, 4: 0.15, 5: 0.05, 6: 0.1}
    mechanisms = [(Escalation(), EscalationParams(violence_margin=0.1)), (Policing(), PolicingParams(restraint_margin=3.0))]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 7)), start=1):
        np.testing.assert_allclose(fp(inputs, codes.FP_VIOLENCE_MARGIN), [0.1, want[k], 0.1], rtol=1e-12, err_msg=k)
    plain = [(Escalation(), EscalationParams(violence_margin=0.1)), (Policing(), PolicingParams())]
    for k, inputs in enumerate(run_all(plain, ctx, range(1, 7)), start=1):
        np.testing.assert_allclose(fp(inputs, codes.FP_VIOLENCE_MARGIN)[1], 0.05 if 3 <= k < 6 else 0.1, rtol=1e-12)


def test_restraint_without_dialogue_holds_back_but_leaves_the_margin():
    # restraint_margin 3, escalation's margin 0.1, return fire 0.3: an event with dialogue = false in c1 (steps 2-4)
    # idles c1's cops and stops their return fire as any restraint does, but leaves c1's margin at 0.1, while a
    # dialogue event in c2 (the default) widens c2's to 0.3. Fails if the flag is ignored (c1 at 0.3) or if it
    # also switches off the holding back (c1's idle 0 or return fire 0.3).
    from uprising.mechanisms.escalation import Escalation, EscalationParams
    from uprising.mechanisms.lethal_force import LethalForce, LethalForceParams
    ctx = context(event("restraint", 2, 5, cities=(False, True, False), dialogue=False),
                  event("restraint", 2, 5, cities=(False, False, True)))
    mechanisms = [(LethalForce(), LethalForceParams(return_fire=0.3)),
                  (Escalation(), EscalationParams(violence_margin=0.1)),
                  (Policing(), PolicingParams(restraint_margin=3.0))]
    for k, inputs in enumerate(run_all(mechanisms, ctx, range(1, 7)), start=1):
        on = 2 <= k < 5
        np.testing.assert_allclose(fp(inputs, codes.FP_VIOLENCE_MARGIN), [0.1, 0.1, 0.3 if on else 0.1], rtol=1e-12,
                                   err_msg=k)
        np.testing.assert_allclose(fp(inputs, codes.FP_COP_IDLE), [0.0, 1.0, 1.0] if on else [0.0] * 3, err_msg=k)
        np.testing.assert_allclose(fp(inputs, codes.FP_RETURN_FIRE), [0.3, 0.0, 0.0] if on else [0.3] * 3,
                                   err_msg=k)


def test_without_its_events_policing_leaves_the_neutral_inputs():
    # events of other kinds only (and a withdrawal of share 0): the inputs are Model I's, and the report says nothing
    # was withdrawn or restrained. Fails if policing writes FP_COP_IDLE or a cop target of its own regardless.
    ctx = context(event("blackout", 1, level=0.8), event("intervention", 20, troops={"c0": 1000}),
                  event("withdrawal", 1, share=0.0))
    neutral = TickInputs.neutral(ctx)
    for k, inputs in enumerate(run(Policing(), PolicingParams(), ctx, range(1, 6)), start=1):
        assert np.array_equal(inputs.fp, neutral.fp), k
        assert np.array_equal(inputs.cop_target, neutral.cop_target), k
        assert np.array_equal(inputs.legitimacy, neutral.legitimacy), k
        assert {name: v.tolist() for name, v in inputs.report.items()} == {"withdrawn": [0.0] * 3,
                                                                          "restraint": [0.0] * 3}


# ================================================================== part 2: direction on a seeded ensemble

RESTRAINT_EVERYWHERE = {"kind": "restraint", "id": "hold-back", "start": "2022-01-01T00:00"}
#: 80% of Oilton's police leave the streets from 06:00 on day 1 to 06:00 on day 2 (steps 7-30)
WITHDRAWAL = {"kind": "withdrawal", "id": "police-flee", "cities": ["Oilton"], "start": "2022-01-01T06:00",
              "end": "2022-01-02T06:00", "share": 0.8}


def test_restraint_everywhere_arrests_and_kills_nobody():
    # Exact: with restraint in every town over the whole run, no cop uses force: no arrest, no protester or
    # bystander killed, in any replicate (the baseline A has 1,459-1,923 arrests and 48-78 killed per replicate,
    # so a restraint that left the repression's idle probability or the lethal force at work would fail). Sweeps
    # (the detention mechanism, not the police on the streets) still detain.
    a = ensemble_of(two_towns())
    b = ensemble_of(with_events(two_towns(), RESTRAINT_EVERYWHERE))
    assert all(r.national("arrests").sum() > 0 for r in a)
    for r in b:
        assert r.national("arrests").sum() == 0
        assert (r.national("killed_protesters") + r.national("killed_bystanders")).sum() == 0
        assert r.national("swept").sum() > 0


def test_withdrawal_of_most_police_raises_unrest_in_its_town():
    # Exact: Oilton's recorded cop target is A's (the census police, plus the troops' freed police from step 25)
    # times 0.2, rounded, in steps 7-30, and A's outside them; the other towns' targets are A's throughout.
    # Ensemble: Oilton's active and violent person-steps from step 7 to the end (the withdrawal and what follows)
    # rise: measured x1.52-x1.85 per pair (x1.62 on the means; x1.32-x1.59 and x1.41 when the withdrawal leaves the
    # emergency's threshold shift, steps 19-43, alone); asserted: the mean over 8 replicates at least x1.2, and B
    # above A in at least 7 pairs of 8. Fails if the withdrawal does not reach the kernel's cop
    # schedule, or does not lower the citizens' estimated risk of arrest.
    base = two_towns()
    treated = with_events(base, WITHDRAWAL)
    first, stop = next((e.first, e.stop) for e in compile_events(treated) if e.id == "police-flee")
    assert (first, stop) == (7, 31)
    for ra, rb in zip(ensemble_of(base), ensemble_of(treated)):
        ta, tb = ra.reports["cop_target"], rb.reports["cop_target"]
        assert np.array_equal(tb[0, first:stop], np.rint(ta[0, first:stop] * 0.2))
        assert np.array_equal(tb[0, 1:first], ta[0, 1:first]) and np.array_equal(tb[0, stop:], ta[0, stop:])
        assert np.array_equal(tb[1:], ta[1:])
        assert rb.reports["withdrawn"][0, first:stop].tolist() == [0.8] * (stop - first)
    a, b = paired(base, treated, unrest(0, first))
    assert b.mean() > 1.2 * a.mean(), (a.mean(), b.mean())
    assert (b > a).sum() >= REPLICATES - 1, (a, b)


def test_talking_restraint_calms_the_violent():
    # restraint everywhere, with the margin x1.5 where it holds: the violent person-steps of the two towns fall,
    # measured x0.44 on the means (x0.42-x0.47 per pair; x0.75 at x1.2, none at x3); asserted: the mean at most
    # x0.7 and B below A in every pair. Fails if restraint_margin does not reach the kernel's violence margin.
    a, b = paired(with_events(two_towns(), RESTRAINT_EVERYWHERE),
                  with_events(two_towns(), RESTRAINT_EVERYWHERE).replace({"policing.restraint_margin": 1.5}),
                  lambda r: float(r.column("violent")[:, 1:].sum()))
    assert b.mean() <= 0.7 * a.mean()
    assert (b < a).all()
