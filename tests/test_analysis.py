"""The measurements of Epstein's named results and their statistics (uprising.analysis); the suite's verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from uprising import analysis as A
from uprising import validation as V
from uprising.kernels import codes
from uprising.kernels.geometry import offsets

EMPTY, QUIET, ACTIVE, JAILED, COP = codes.EMPTY, codes.QUIET, codes.ACTIVE, codes.JAILED, codes.COP


def naive_outbursts(active, threshold):
    eps, start = [], None
    for t, a in enumerate(list(active) + [-1]):
        if a > threshold and start is None:
            start = t
        elif a <= threshold and start is not None:
            eps.append((start, t - start, int(sum(active[start:t]))))
            start = None
    return eps


@given(arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 120)), st.integers(0, 100))
def test_outbursts_equal_a_plain_scan(active, threshold):
    assert A.outbursts(active, threshold) == naive_outbursts(list(active), threshold)


def test_waits_onset_and_gap():
    eps = A.outbursts(np.array([0, 60, 70, 0, 0, 80, 0, 0, 0, 90, 90, 90]), 50)
    assert eps == [(1, 2, 130), (5, 1, 80), (9, 3, 270)]
    assert A.waits(eps, "onset").tolist() == [4, 4]
    assert A.waits(eps, "gap").tolist() == [2, 3]
    assert A.waits(eps[:1]).size == 0
    with pytest.raises(ValueError, match="onset, gap"):
        A.waits(eps, "mean")


@given(arrays(np.bool_, (7, 9)), st.sampled_from([1.0, 1.7, 2.0, 3.0]),
       st.sampled_from(["von_neumann", "moore", "euclidean"]))
def test_vision_counts_equal_brute_force(mask, radius, shape):
    h, w = mask.shape
    dy, dx = offsets(radius, shape, include_center=False)
    expect = np.zeros((h, w), dtype=int)
    for y in range(h):
        for x in range(w):
            expect[y, x] = sum(int(mask[(y + a) % h, (x + b) % w]) for a, b in zip(dy, dx))
    assert (A.vision_counts(mask, radius, shape) == expect).all()


def test_deception_is_negative_when_actives_avoid_cops():
    rng = np.random.default_rng(0)
    g = np.where(rng.random((20, 20)) < 0.7, QUIET, EMPTY)  # empty cells leave the shuffled cops room to go
    g[::5, ::5] = COP
    near = A.vision_counts(g == COP, 1.7, "euclidean") > 0
    g[(~near) & (g == QUIET)] = ACTIVE  # everyone out of sight of cops is active
    r = A.deception(g, 1.7, "euclidean")
    assert r < -0.5
    null = A.deception_null(g, 1.7, "euclidean", np.random.default_rng(1), 50)
    assert r < null.min()
    # the reverse pattern gives a positive correlation
    g2 = np.where(g == ACTIVE, QUIET, np.where(g == QUIET, ACTIVE, g))
    assert A.deception(g2, 1.7, "euclidean") > 0.5


def test_deception_null_keeps_citizens_and_cop_count():
    rng = np.random.default_rng(0)
    g = rng.choice([EMPTY, QUIET, ACTIVE, COP, JAILED], size=(15, 15), p=[0.3, 0.4, 0.1, 0.1, 0.1])
    null = A.deception_null(g, 2.0, "moore", np.random.default_rng(2), 30)
    assert null.shape == (30,) and np.isfinite(null).all()
    assert abs(null.mean()) < 0.2  # shuffled cops say nothing about who is active
    assert math.isnan(A.deception(np.full((5, 5), QUIET), 1.0, "moore"))  # nobody active: undefined


def test_tension_counts_deterred_quiet_citizens_only():
    kinds = np.array([QUIET, QUIET, QUIET, ACTIVE, JAILED, COP, EMPTY])
    hard = np.array([0.5, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9])
    deterred, latent = A.tension(kinds, hard, legitimacy=0.6, threshold=0.1)
    # G = 0.4 H: 0.2 and 0.36 exceed 0.1 (the quiet ones with H 0.5 and 0.9); 0.04 does not
    assert deterred == 2
    assert latent == pytest.approx(0.1 + 0.26)


def test_transitions_after_cops_leave():
    before = np.full((5, 5), EMPTY)
    after = before.copy()
    before[2, 2] = after[2, 2] = QUIET
    before[2, 3] = COP  # the cop next to the citizen walks away ...
    after[0, 0] = COP
    after[2, 2] = ACTIVE  # ... and the citizen turns active
    before[4, 4] = after[4, 4] = QUIET  # a citizen that never saw a cop stays quiet
    hard = np.ones(25)
    assert A.transition_after_cops_leave(before, after, hard, 0.5, 0.1, 1.7, "euclidean") == (1, 1, 1, 0)
    # not aggrieved (G = 0.05 <= T): not counted at all
    assert A.transition_after_cops_leave(before, after, hard * 0.1, 0.5, 0.1, 1.7, "euclidean") == (0, 0, 0, 0)


def test_wilson_and_fisher_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k1, n1, k2, n2 in [(9, 10, 1, 10), (5, 20, 3, 20), (0, 10, 0, 10), (20, 20, 0, 20)]:
        expect = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="greater").pvalue
        assert A.fisher_exact_greater(k1, n1, k2, n2) == pytest.approx(expect, rel=1e-9)
    lo, hi = A.wilson(5, 20)
    ci = stats.binomtest(5, 20).proportion_ci(method="wilson")
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-6)


def test_paper_distance_and_verdicts():
    assert A.paper_distance(60, 708) == 0
    assert A.paper_distance(60 + 55, 708) == pytest.approx(1)
    assert A.paper_distance(math.nan, 700) == math.inf
    assert V.number_verdict(60, 58, (50, 65)) == "matches"
    assert V.number_verdict(60, 50, (48, 52)) == "close"
    assert V.number_verdict(60, 20, (18, 22)) == "differs"
    assert V.number_verdict(60, math.nan, (math.nan, math.nan)) == "no outbursts"


def test_run2_stats_pool_episodes_and_drop_burn_in():
    a = np.zeros(300, dtype=np.int64)
    for s in (20, 120, 160, 260):  # the first outburst falls in the burn-in
        a[s:s + 4] = 100
    st_ = A.run2_stats([a, a], burn_in=50)
    assert st_["episodes"] == 6 and st_["wait_n"] == 4
    assert st_["wait_mean"] == pytest.approx((40 + 100) / 2) and st_["size_mean"] == 400
    assert st_["gap_mean"] == pytest.approx((36 + 96) / 2)


def test_tension_stats_release_and_build_up_signs():
    n = 400
    active = np.zeros(n, dtype=np.int64)
    deterred = np.zeros(n)
    t0 = 0
    for s in (100, 200, 300):
        active[s:s + 5] = 120
        deterred[t0:s] = np.linspace(0, 100, s - t0)  # builds during calm ...
        deterred[s:s + 5] = 0  # ... and is spent in the outburst
        t0 = s + 5
    one = {"active": active, "deterred": deterred}
    st_ = A.tension_stats([one], burn_in=10)
    assert st_["outbursts"] == 3 and st_["release_mean"] > 90 and st_["buildup_mean"] > 90
    assert V.tension_verdict(st_) == "not reproduced"  # one run: no interval over runs, so no claim
    assert V.tension_verdict(A.tension_stats([one, one], burn_in=10)) == "reproduced"
    flat = A.tension_stats([{"active": active, "deterred": np.full(n, 50.0)}] * 2, burn_in=10)
    assert flat["release_mean"] == 0 and V.tension_verdict(flat) == "not reproduced"


def test_splice_keeps_other_sections():
    old = "# Validation\n\nintro\n\n<!-- mesa-equivalence:start -->\nMESA\n<!-- mesa-equivalence:end -->\n"
    first = V.splice(old, f"{V.MARK_START}\nA\n{V.MARK_END}\n")
    assert first.startswith("# Validation\n\n<!-- validate:start -->\nA") and "MESA" in first
    second = V.splice(first, f"{V.MARK_START}\nB\n{V.MARK_END}\n")
    assert "\nA\n" not in second and "\nB\n" in second and "MESA" in second and second.count(V.MARK_START) == 1


def test_bootstrap_ci_resamples_whole_groups():
    # values of one group are resampled together: two groups of constant values give an interval within
    # their two means; one group alone (or none) gives no interval
    groups = [np.full(5, 1.0), np.full(5, 3.0), np.zeros(0)]
    lo, hi = A.bootstrap_ci(groups, np.random.default_rng(0))
    assert 1.0 <= lo <= hi <= 3.0 and lo < 2.0 < hi
    assert all(math.isnan(x) for x in A.bootstrap_ci([np.ones(4)], np.random.default_rng(0)))
    # a 1-D array is one value per group; the vectorised mean gives the loop's numbers exactly
    values = np.random.default_rng(1).normal(size=30)
    as_groups = A.bootstrap_ci([values[i:i + 1] for i in range(30)], np.random.default_rng(2))
    assert A.bootstrap_ci(values, np.random.default_rng(2)) == as_groups
    assert A.bootstrap_ci(values, np.random.default_rng(2), np.median) == \
        A.bootstrap_ci([values[i:i + 1] for i in range(30)], np.random.default_rng(2), np.median)
    # the interval of a mean narrows as the sample grows (sd / sqrt(n))
    wide = A.bootstrap_ci(values[:10], np.random.default_rng(3))
    narrow = A.bootstrap_ci(np.random.default_rng(1).normal(size=1000), np.random.default_rng(3))
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 3
