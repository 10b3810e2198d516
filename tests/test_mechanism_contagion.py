"""The information channel (:mod:`uprising.mechanisms.contagion`): its equations (tests/mechanism_helpers.py says how these tests are built); the blackout's
cut of its push is in tests/test_mechanism_blackout.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mechanism_helpers import context, contagion_push, fp, observation, run
from uprising.kernels import codes
from uprising.mechanisms.contagion import Contagion, ContagionParams


# ================================================================== part 1: equations on a hand-built context


def test_contagion_distance_kernel_and_media_term():
    ctx = context()
    obs = observation(active=[100, 20, 0], violent=[50, 0, 10])
    params = ContagionParams(distance_weight=0.2, distance_km=200.0, media_weight=0.05)
    ins = run(Contagion(), params, ctx, [1], obs)[0]
    expected = contagion_push(params, obs, ctx)
    np.testing.assert_allclose(fp(ins, codes.FP_EXTERNAL), expected, rtol=1e-12)
    np.testing.assert_allclose(ins.report["information"], expected, rtol=1e-12)
    # by hand for city 1: 0.2 (e^(-100/200) 150/1000 + e^(-300/200) 10/250) + 0.05 (160 / 1250)
    assert expected[1] == pytest.approx(0.2 * (math.exp(-0.5) * 0.15 + math.exp(-1.5) * 0.04) + 0.05 * 160 / 1250)
    # a city's own unrest does not push it: unrest in city 0 only gives city 0 nothing
    alone = run(Contagion(), params, ctx, [1], observation(active=[300, 0, 0]))[0]
    assert fp(alone, codes.FP_EXTERNAL)[0] == 0.0 and (fp(alone, codes.FP_EXTERNAL)[1:] > 0).all()
    # the nearer city gets the larger distance push (media alone is the same for both)
    near_only = run(Contagion(), params.model_copy(update={"media_weight": 0.0}), ctx, [1],
                    observation(active=[300, 0, 0]))[0]
    assert near_only.fp[1, codes.FP_EXTERNAL] > near_only.fp[2, codes.FP_EXTERNAL] > 0


def test_contagion_memory_smooths_the_news():
    ctx = context()
    params = ContagionParams(distance_weight=0.0, media_weight=1.0, memory_hours=12.0)
    ins = run(Contagion(), params, ctx, range(1, 4), observation(active=[500, 0, 0]))
    u = 0.0
    for inputs in ins:
        u = u + (500.0 - u) * (1.0 - math.exp(-1.0 / 12.0))
        # the media term of city 1: the unrest of the others (cities 0 and 2) over their 1,250 agents
        assert inputs.fp[1, codes.FP_EXTERNAL] == pytest.approx(u / 1250.0, rel=1e-12)


def test_local_weight_adds_the_city_s_own_unrest():
    # local_weight 0.5: city 0 with 300 of its 1,000 agents out gets 0.5 x 0.3 = 0.15 from itself, on top of the push
    # from elsewhere (none here); the others get only their distance and media terms, unchanged. Fails if the own
    # term is missing, goes to the other cities, or uses another share than the city's own.
    ctx = context()
    obs = observation(active=[200, 0, 0], violent=[100, 0, 0])
    base = ContagionParams(distance_weight=0.2, distance_km=200.0, media_weight=0.05)
    plain = fp(run(Contagion(), base, ctx, [1], obs)[0], codes.FP_EXTERNAL)
    local = fp(run(Contagion(), base.model_copy(update={"local_weight": 0.5}), ctx, [1], obs)[0], codes.FP_EXTERNAL)
    assert plain[0] == 0.0 and local[0] == pytest.approx(0.15, rel=1e-12)
    np.testing.assert_array_equal(local[1:], plain[1:])
    # saturation holds for the sum: with max_push 0.1 the push is 0.1 (1 - e^(-0.15 / 0.1))
    capped = run(Contagion(), base.model_copy(update={"local_weight": 0.5, "max_push": 0.1}), ctx, [1], obs)[0]
    assert fp(capped, codes.FP_EXTERNAL)[0] == pytest.approx(0.1 * (1 - math.exp(-1.5)), rel=1e-12)


def test_local_max_push_bounds_the_own_push_apart_from_the_rest():
    # with max_push 0.1 and local_max_push 0.2, city 0's own 0.15 saturates on its own bound,
    # 0.2 (1 - e^(-0.75)), and adds to the saturated push from elsewhere (none for city 0; for city 1, which has
    # no unrest of its own, exactly the push it had without the local term)
    ctx = context()
    obs = observation(active=[200, 0, 0], violent=[100, 0, 0])
    params = ContagionParams(distance_weight=0.2, distance_km=200.0, media_weight=0.05, max_push=0.1)
    shared = fp(run(Contagion(), params, ctx, [1], obs)[0], codes.FP_EXTERNAL)
    apart = fp(run(Contagion(), params.model_copy(update={"local_weight": 0.5, "local_max_push": 0.2}), ctx, [1],
                   obs)[0], codes.FP_EXTERNAL)
    assert apart[0] == pytest.approx(0.2 * (1 - math.exp(-0.75)), rel=1e-12)
    np.testing.assert_allclose(apart[1:], shared[1:], rtol=1e-12)
