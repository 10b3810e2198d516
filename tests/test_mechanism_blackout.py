"""The blackout mechanism (:mod:`uprising.mechanisms.blackout`): its level, how it cuts contagion's push, and its
effect on the two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, contagion_push, event, fp, observation, paired, run, run_all, unrest
from uprising.kernels import codes
from uprising.mechanisms.blackout import Blackout, BlackoutParams
from uprising.mechanisms.contagion import Contagion, ContagionParams


# ================================================================== part 1: equations on a hand-built context


def test_blackout_level_is_the_highest_of_overlapping_events():
    ctx = context(event("blackout", 2, 7, level=0.5), event("blackout", 4, 9, cities=(False, True, False), level=0.9),
                  event("blackout", 5, 6, cities=(False, True, False), level=0.2))
    ins = run(Blackout(), BlackoutParams(), ctx, range(1, 11))
    levels = {k: i.report["blackout"].tolist() for k, i in enumerate(ins, start=1)}
    assert levels[1] == [0.0, 0.0, 0.0]
    assert levels[2] == levels[3] == [0.5, 0.5, 0.5]
    assert levels[4] == levels[5] == levels[6] == [0.5, 0.9, 0.5]
    assert levels[7] == levels[8] == [0.0, 0.9, 0.0]
    assert levels[9] == levels[10] == [0.0, 0.0, 0.0]
    assert not any(i.fp.any() for i in ins)  # the blackout itself touches no lattice input


def test_blackout_multiplies_the_contagion_push_by_one_minus_its_level():
    ctx = context(event("blackout", 1, 5, cities=(False, True, True), level=0.75),
                  event("blackout", 3, 5, cities=(False, False, True), level=1.0))
    obs = observation(active=[300, 100, 50])
    params = ContagionParams(distance_weight=0.3, media_weight=0.1)
    raw = contagion_push(params, obs, ctx)
    both = [(Blackout(), BlackoutParams()), (Contagion(), params)]  # in the registry's order: blackout first
    for k, level in ((1, [0.0, 0.75, 0.75]), (3, [0.0, 0.75, 1.0]), (5, [0.0, 0.0, 0.0])):
        inputs = run_all(both, ctx, [k], obs)[0]
        np.testing.assert_allclose(fp(inputs, codes.FP_EXTERNAL), raw * (1.0 - np.array(level)), rtol=1e-12)
    # a blackout switched off cuts nothing
    inputs = run_all([(Blackout(), BlackoutParams(enabled=False)), (Contagion(), params)], ctx, [3], obs)[0]
    np.testing.assert_allclose(fp(inputs, codes.FP_EXTERNAL), raw, rtol=1e-12)


# ================================================================== part 2: direction on a seeded ensemble


def test_blackout_lowers_the_unrest_that_spreads_to_a_calm_city():
    # Hilltop (LPG dependence 0.1, 2,000 km away) gets its unrest mostly from the others, through the national
    # media term (legitimacy per city, so contagion is the only channel). B cuts Hilltop's channel (level 1) for
    # the whole run; A has no blackout. Exact: the push Hilltop receives is 0 under B. Measured: Hilltop's unrest
    # 9,200 vs 3,300 person-steps, 8/8 pairs. Band: B's mean below 0.6 of A's, one reversed pair allowed.
    spread = two_towns().replace({"legitimacy.scope": "city", "contagion.media_weight": 0.1,
                                  "contagion.distance_weight": 0.0, "events.blackout.start": "2022-01-01T00:00",
                                  "events.blackout.end": None, "events.blackout.cities": ["Hilltop"],
                                  "events.blackout.level": 1.0})
    a, b = paired(spread.variant("no-blackout"), spread, unrest(cities=2))
    assert b.mean() < 0.6 * a.mean(), (a, b)
    assert (b < a).sum() >= REPLICATES - 1, (a, b)
    pushed = paired(spread.variant("no-blackout"), spread, lambda r: np.nansum(r.reports["information"][2, 1:]))
    assert (pushed[0] > 0).all() and (pushed[1] == 0).all()
