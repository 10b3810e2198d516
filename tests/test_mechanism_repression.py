"""Arrest and jail (:mod:`uprising.mechanisms.repression`): the probabilities it writes (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np
import pytest

from mechanism_helpers import context, fp, run
from uprising.kernels import codes
from uprising.mechanisms.repression import Repression, RepressionParams


# ================================================================== part 1: equations on a hand-built context


@pytest.mark.parametrize(("per_hour", "tick", "idle"), [(1.0, 1.0, 0.0), (0.3, 1.0, 0.7), (0.3, 2.0, 0.49),
                                                       (0.05, 0.5, 0.95 ** 0.5), (0.0, 1.0, 1.0)])
def test_repression_arrest_per_hour_becomes_the_cops_idle_probability(per_hour, tick, idle):
    ctx = context(tick_hours=tick)
    inputs = run(Repression(), RepressionParams(arrest_per_hour=per_hour, injure=0.25), ctx, [1])[0]
    np.testing.assert_allclose(fp(inputs, codes.FP_COP_IDLE), idle, rtol=1e-12, atol=1e-15)
    assert fp(inputs, codes.FP_INJURE).tolist() == [0.25] * 3


def test_repression_at_model_one_values_writes_nothing():
    ctx = context()
    inputs = run(Repression(), RepressionParams(arrest_per_hour=1.0, injure=0.0), ctx, [1])[0]
    assert not inputs.fp.any()
