"""The price mechanism (:mod:`uprising.mechanisms.price`): its equations, and its effect on the two towns
(tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, event, fp, paired, run, unrest
from uprising.kernels import codes
from uprising.mechanisms.price import PriceParams, PriceShock


# ================================================================== part 1: equations on a hand-built context


def test_price_shift_follows_the_target_with_its_time_constant():
    ctx = context(event("price", 1, price=120.0))
    params = PriceParams(before=60.0, elasticity=0.3, adjustment_hours=6.0)
    ins = run(PriceShock(), params, ctx, range(1, 25))
    target = 0.3 * np.array([1.0, 0.5, 0.0]) * (120.0 / 60.0 - 1.0)
    for k, inputs in enumerate(ins, start=1):
        expected = target * (1.0 - math.exp(-k / 6.0))  # shift_k = target (1 - e^(-k tick / tau))
        np.testing.assert_allclose(fp(inputs, codes.FP_HARDSHIP_SHIFT), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(inputs.report["price"], [120.0] * 3)
        np.testing.assert_array_equal(inputs.report["hardship_shift"], fp(inputs, codes.FP_HARDSHIP_SHIFT))
    # after one time constant the felt hardship has covered 1 - 1/e of the way
    assert ins[5].fp[0, codes.FP_HARDSHIP_SHIFT] == pytest.approx(0.3 * (1 - math.exp(-1)), rel=1e-12)
    # only the price column is written
    rest = np.delete(ins[-1].fp, codes.FP_HARDSHIP_SHIFT, axis=1)
    assert not rest.any()


def test_price_time_constant_scales_with_the_tick_and_zero_is_immediate():
    ctx2 = context(event("price", 1, price=90.0), tick_hours=2.0)
    ins = run(PriceShock(), PriceParams(elasticity=1.0, adjustment_hours=6.0), ctx2, [1, 2])
    target = 1.0 * 1.0 * (90.0 / 60.0 - 1.0)
    assert ins[1].fp[0, codes.FP_HARDSHIP_SHIFT] == pytest.approx(target * (1 - math.exp(-4.0 / 6.0)), rel=1e-12)
    ctx = context(event("price", 3, price=90.0))
    ins = run(PriceShock(), PriceParams(elasticity=1.0, adjustment_hours=0.0), ctx, [1, 2, 3, 4])
    assert [i.fp[0, codes.FP_HARDSHIP_SHIFT] for i in ins] == [0.0, 0.0, 0.5, 0.5]  # from the event's step on


def test_price_caps_give_relief_only_when_relief_is_on():
    # a rise everywhere at step 1, a cap below the old price in city 0 only at step 5
    ctx = context(event("price", 1, price=120.0), event("price", 5, cities=(True, False, False), price=30.0))
    for relief, expected0 in ((True, 0.3 * 1.0 * (30.0 / 60.0 - 1.0)), (False, 0.0)):
        ins = run(PriceShock(), PriceParams(elasticity=0.3, adjustment_hours=0.0, relief=relief), ctx,
                  range(1, 8))
        shift = np.array([fp(i, codes.FP_HARDSHIP_SHIFT) for i in ins])
        np.testing.assert_allclose(shift[:4, 0], 0.3)  # steps 1-4: the rise
        np.testing.assert_allclose(shift[4:, 0], expected0)  # from step 5: the cap (below `before`)
        np.testing.assert_allclose(shift[:, 1], 0.15)  # the others keep the risen price
        assert ins[-1].report["price"].tolist() == [30.0, 120.0, 120.0]
    # a cap above `before` lowers the shift but never below zero, with or without relief
    ctx = context(event("price", 1, price=120.0), event("price", 3, price=66.0))
    ins = run(PriceShock(), PriceParams(elasticity=1.0, adjustment_hours=0.0, relief=False), ctx, [1, 2, 3])
    assert ins[2].fp[0, codes.FP_HARDSHIP_SHIFT] == pytest.approx(0.1)


# ================================================================== part 2: direction on a seeded ensemble


def test_price_shock_raises_unrest():
    # A: the 1 January "rise" leaves the price at its old 60; B: it doubles to 120 (hardship +0.3 in Oilton).
    # Measured when written: about 3,000 vs 35,000 person-steps, B above A in 8/8 pairs. Band: B's mean at least
    # 3x A's and at most one reversed pair. It fails if the shift does not reach rule A, or has the wrong sign; it
    # could fail by chance only if several shock-free runs had a spontaneous national outburst as large as the
    # shock's (Epstein's punctuated equilibrium), which at legitimacy 0.9 they do not.
    base = two_towns()
    a, b = paired(base.replace({"events.price-rise.price": 60.0}), base, unrest())
    assert b.mean() > 3 * a.mean(), (a, b)
    assert (b > a).sum() >= REPLICATES - 1, (a, b)
