"""Estimated arrest probability P = 1 - exp(-k f(C/A)) under the three published rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from uprising.kernels.arrest import ARREST_RULES, arrest_probability_py, arrest_probability_table, rounded_ratio

K = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@pytest.mark.parametrize("rule", ARREST_RULES)
@pytest.mark.parametrize("k", [0.0, 0.5, 2.3, 10.0])
def test_table_equals_twin_everywhere(rule, k):
    table = arrest_probability_table(150, 152, k, rule)
    assert table.shape == (151, 153) and table.dtype == np.float64 and table.flags.c_contiguous
    for c in range(151):
        for a in range(153):
            assert table[c, a] == arrest_probability_py(c, a, k, rule), (c, a)


@pytest.mark.parametrize("rule", ARREST_RULES)
def test_row_a0_repeats_a1(rule):
    # A = 0 cannot happen (the agent counts itself); the table repeats A = 1 there
    t = arrest_probability_table(20, 20, 2.3, rule)
    assert np.array_equal(t[:, 0], t[:, 1])


@given(st.sampled_from(ARREST_RULES), K, st.integers(1, 60), st.integers(1, 60))
def test_probability_bounds_and_monotonicity(rule, k, max_c, max_a):
    t = arrest_probability_table(max_c, max_a, k, rule)
    assert np.all(t >= 0.0) and np.all(t <= 1.0)
    assert np.all(np.diff(t, axis=0) >= 0.0)  # more cops in view: never a lower risk
    assert np.all(np.diff(t[:, 1:], axis=1) <= 0.0)  # more actives in view: never a higher risk
    assert np.all(t[0] == 0.0)  # no cop in view, no risk


@given(st.sampled_from(ARREST_RULES), K, st.integers(0, 500), st.integers(0, 500))
def test_twin_bounds(rule, k, c, a):
    p = arrest_probability_py(c, a, k, rule)
    assert 0.0 <= p <= 1.0
    assert arrest_probability_py(c + 1, a, k, rule) >= p


@pytest.mark.parametrize(("c", "a", "expected"), [(1, 2, 0.0), (3, 2, 2.0), (5, 2, 2.0), (7, 2, 4.0),
                                                  (1, 4, 0.0), (3, 4, 1.0), (2, 3, 1.0), (1, 3, 0.0)])
def test_round_half_even_ties(c, a, expected):
    # Python's round(): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (Mesa's example)
    assert rounded_ratio(c, a, "round_half_even") == expected == round(c / a)
    table = arrest_probability_table(8, 8, 2.3, "round_half_even")
    assert table[c, a] == pytest.approx(1.0 - math.exp(-2.3 * expected), abs=0.0)


def test_floor_versus_ratio_at_one_cop_two_actives():
    # NetLogo's floor(C/A) is 0 for C=1, A=2: no perceived risk at all; the paper's ratio is 0.5
    assert arrest_probability_py(1, 2, 2.3, "floor") == 0.0
    assert arrest_probability_py(1, 2, 2.3, "ratio") == pytest.approx(1.0 - math.exp(-1.15), rel=1e-15)
    assert arrest_probability_table(1, 2, 2.3, "floor")[1, 2] == 0.0
    assert arrest_probability_table(1, 2, 2.3, "ratio")[1, 2] == pytest.approx(1.0 - math.exp(-1.15), rel=1e-15)


def test_k_calibration():
    # k = 2.3 makes P about 0.9 at C = A = 1 (Epstein 2002); all rules agree on whole ratios
    for rule in ARREST_RULES:
        assert arrest_probability_py(1, 1, 2.3, rule) == pytest.approx(0.9, abs=0.001)
        assert arrest_probability_py(6, 3, 2.3, rule) == pytest.approx(1 - math.exp(-4.6))


@given(st.integers(0, 1000), st.integers(1, 1000))
def test_rounding_rules_exact(c, a):
    assert rounded_ratio(c, a, "floor") == c // a
    # for c, a <= 1000 every tie c/a = q + 1/2 is exact in binary, so Python's round() is the oracle
    assert rounded_ratio(c, a, "round_half_even") == round(c / a)
    r = rounded_ratio(c, a, "round_half_even")
    assert abs(r - c / a) <= 0.5 + 1e-12


@pytest.mark.parametrize("fn", [lambda r: rounded_ratio(1, 1, r), lambda r: arrest_probability_table(2, 2, 1.0, r)])
def test_unknown_rule_is_refused(fn):
    with pytest.raises(ValueError, match="allowed: ratio, floor, round_half_even"):
        fn("ceil")
