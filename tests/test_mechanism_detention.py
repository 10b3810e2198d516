"""Sweeps and releases (:mod:`uprising.mechanisms.detention`): their rates per tick, and their effect on the two
towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np
import pytest

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, event, fp, paired, run
from uprising.kernels import codes
from uprising.mechanisms.detention import Detention, DetentionParams


# ================================================================== part 1: equations on a hand-built context


def test_detention_rates_per_day_become_rates_per_tick():
    ctx = context(event("sweep", 3, 8, cities=(True, True, False), rate_per_day=0.5),
                  event("sweep", 5, 6, cities=(True, False, False), rate_per_day=0.9),
                  event("release", 4, cities=(False, False, True), rate_per_day=0.2))
    ins = run(Detention(), DetentionParams(), ctx, range(1, 10))
    half, ninety, fifth = (1 - 0.5 ** (1 / 24)), (1 - 0.1 ** (1 / 24)), (1 - 0.8 ** (1 / 24))
    for k, inputs in enumerate(ins, start=1):
        sweep = [0.0, 0.0, 0.0]
        if 3 <= k < 8:
            sweep = [half, half, 0.0]
        if k == 5:
            sweep[0] = ninety  # overlapping sweeps: the higher rate
        np.testing.assert_allclose(fp(inputs, codes.FP_SWEEP), sweep, rtol=1e-12)
        np.testing.assert_allclose(fp(inputs, codes.FP_RELEASE), [0.0, 0.0, fifth if k >= 4 else 0.0], rtol=1e-12)
        np.testing.assert_array_equal(inputs.report["sweep"], fp(inputs, codes.FP_SWEEP))
    # 24 one-hour chances at the per-tick rate give the daily rate
    assert 1 - (1 - half) ** 24 == pytest.approx(0.5, rel=1e-12)
    # at one-day ticks the rate is used as it is
    day = context(event("sweep", 1, rate_per_day=0.3), tick_hours=24.0, hours=24 * 5)
    assert run(Detention(), DetentionParams(), day, [1])[0].fp[0, codes.FP_SWEEP] == pytest.approx(0.3)


# ================================================================== part 2: direction on a seeded ensemble


def test_sweeps_raise_detentions():
    # A: the sweep of 06:00-18:00 on day 2 has rate 0; B: 0.5 a day. Exact: nobody is swept under A. Ensemble:
    # detentions (arrests + swept) rise by more than half the number swept (a swept citizen might have been
    # arrested later anyway; measured: the rise is about the whole number swept, ~230 agents), in every pair
    # but one at most.
    base = two_towns()
    detained = lambda r: float((r.national("arrests") + r.national("swept")).sum())  # noqa: E731
    swept = paired(base.replace({"events.sweeps.rate_per_day": 0.0}), base, lambda r: float(r.national("swept").sum()))
    assert (swept[0] == 0).all() and (swept[1] > 0).all()
    a, b = paired(base.replace({"events.sweeps.rate_per_day": 0.0}), base, detained)
    assert b.mean() - a.mean() > 0.5 * swept[1].mean(), (a, b, swept)
    assert (b > a).sum() >= REPLICATES - 1, (a, b)


def test_releases_lower_the_number_jailed():
    # Early release from 12:00 on day 2 (step 37) to the end: A rate 0, B 0.9 a day (about 9% of prisoners an
    # hour). Measured: 650 vs 430 prisoners on average from step 37 on, 8/8 pairs. Band: B's mean below 0.85 of
    # A's, one reversed pair allowed; B also releases more.
    base = two_towns()
    a_sc = base.replace({"events.releases.rate_per_day": 0.0})
    b_sc = base.replace({"events.releases.rate_per_day": 0.9})
    a, b = paired(a_sc, b_sc, lambda r: float(r.national("jailed")[37:].mean()))
    assert b.mean() < 0.85 * a.mean(), (a, b)
    assert (b < a).sum() >= REPLICATES - 1, (a, b)
    released = paired(a_sc, b_sc, lambda r: float(r.national("releases")[37:].sum()))
    assert released[1].mean() > released[0].mean()
