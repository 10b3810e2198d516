"""The legitimacy mechanism (:mod:`uprising.mechanisms.legitimacy`): its equations, and its effect on the two
towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, ensemble_of, event, observation, paired, run, unrest
from uprising.mechanisms.legitimacy import Legitimacy, LegitimacyParams


# ================================================================== part 1: equations on a hand-built context


def test_legitimacy_shocks_add_up_from_their_step_and_clip():
    ctx = context(event("legitimacy", 3, cities=(True, False, False), delta=-0.1), event("legitimacy", 5, delta=0.25),
                  base_legitimacy=(0.9, 0.8, 0.7))
    ins = run(Legitimacy(), LegitimacyParams(feedback=False), ctx, range(1, 8))
    leg = np.array([i.legitimacy for i in ins])
    np.testing.assert_allclose(leg[0], [0.9, 0.8, 0.7])
    np.testing.assert_allclose(leg[1], [0.9, 0.8, 0.7])
    np.testing.assert_allclose(leg[2], [0.8, 0.8, 0.7])  # step 3: the shock to city 0
    np.testing.assert_allclose(leg[3], [0.8, 0.8, 0.7])  # ... persists
    np.testing.assert_allclose(leg[4:], [[1.0, 1.0, 0.95]] * 3)  # step 5: +0.25 everywhere, clipped at 1
    assert not ins[-1].fp.any()


def test_legitimacy_feedback_per_city_and_its_saturation():
    ctx = context(agents=(1000, 500, 250), base_legitimacy=(0.9, 0.9, 0.9))
    obs = observation(active=[100, 0, 10], violent=[50, 0, 0], jailed=[20, 5, 0], killed=[2, 0, 1])
    # per 1,000 residents (= per 1,000 agents): activity 150, 0, 40; jailed 20, 10, 0; killed 2, 0, 4
    x = 0.001 * np.array([150.0, 0.0, 40.0]) + 0.002 * np.array([20.0, 10.0, 0.0]) + 0.01 * np.array([2.0, 0.0, 4.0])
    params = dict(scope="city", per_active=0.001, per_jailed=0.002, per_killed=0.01, memory_hours=0.0)
    ins = run(Legitimacy(), LegitimacyParams(**params), ctx, [1], obs)[0]
    np.testing.assert_allclose(ins.report["legitimacy_loss"], x, rtol=1e-12)  # unbounded: F = X
    np.testing.assert_allclose(ins.legitimacy, 0.9 - x, rtol=1e-12)
    ins = run(Legitimacy(), LegitimacyParams(**params, max_loss=0.1), ctx, [1], obs)[0]
    f = 0.1 * (1.0 - np.exp(-x / 0.1))  # F = max_loss (1 - exp(-X / max_loss))
    np.testing.assert_allclose(ins.report["legitimacy_loss"], f, rtol=1e-12)
    assert (f < x).all() or (x == 0).any()
    # saturation: a huge X takes at most max_loss
    big = observation(active=[1000, 500, 250])
    ins = run(Legitimacy(), LegitimacyParams(scope="city", per_active=1.0, max_loss=0.05, memory_hours=0.0),
              ctx, [1], big)[0]
    np.testing.assert_allclose(ins.report["legitimacy_loss"], 0.05, rtol=1e-9)
    np.testing.assert_allclose(ins.legitimacy, 0.85, rtol=1e-9)


def test_legitimacy_feedback_national_scope_is_the_same_everywhere():
    ctx = context(agents=(1000, 500, 500))
    obs = observation(active=[200, 0, 0])
    ins = run(Legitimacy(), LegitimacyParams(scope="national", per_active=0.001, memory_hours=0.0), ctx, [1], obs)[0]
    np.testing.assert_allclose(ins.report["legitimacy_loss"], [0.001 * 200 * 1000 / 2000] * 3, rtol=1e-12)
    ins = run(Legitimacy(), LegitimacyParams(scope="city", per_active=0.001, memory_hours=0.0), ctx, [1], obs)[0]
    np.testing.assert_allclose(ins.report["legitimacy_loss"], [0.2, 0.0, 0.0], rtol=1e-12)


def test_legitimacy_activity_is_smoothed_over_its_memory():
    ctx = context()
    obs = observation(active=[100, 0, 0])
    ins = run(Legitimacy(), LegitimacyParams(scope="city", per_active=0.001, memory_hours=24.0), ctx, range(1, 5),
              obs)
    a = 0.0
    for inputs in ins:
        a = a + (100.0 - a) * (1.0 - math.exp(-1.0 / 24.0))
        assert inputs.report["legitimacy_loss"][0] == pytest.approx(0.001 * a, rel=1e-12)


# ================================================================== part 2: direction on a seeded ensemble


def test_legitimacy_drop_raises_unrest():
    # A: the cabinet's fall at 12:00 on day 1 changes nothing (delta 0); B: it costs 0.05 of legitimacy everywhere.
    # Measured: 15,000 vs 51,000 person-steps after the event, 8/8 pairs. Band: 1.5x on the mean, one reversed
    # pair allowed. Fails if shocks are ignored, applied with the wrong sign, or before their date (the metric
    # counts only steps from the event on, and the runs are the same before it).
    base = two_towns()
    a, b = paired(base.replace({"events.cabinet-falls.delta": 0.0}),
                  base.replace({"events.cabinet-falls.delta": -0.05}), unrest(first=13))
    assert b.mean() > 1.5 * a.mean(), (a, b)
    assert (b > a).sum() >= REPLICATES - 1, (a, b)
    # before the shock (steps 0-12) the two ensembles are the same runs, bit for bit
    for ra, rb in zip(ensemble_of(base.replace({"events.cabinet-falls.delta": 0.0})),
                      ensemble_of(base.replace({"events.cabinet-falls.delta": -0.05}))):
        np.testing.assert_array_equal(ra.counts[:, :13], rb.counts[:, :13])
        assert not np.array_equal(ra.counts, rb.counts)
