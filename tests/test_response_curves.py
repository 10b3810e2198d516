"""benchmarks/response_curves.py: the sweep's values, the per-run reduction, the summary and the cliff check."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import response_curves as rc  # noqa: E402
from country_helpers import two_towns  # noqa: E402


def test_sweep_is_centred_on_the_files_value_and_hits_the_cliff_steps():
    values = rc.sweep_values(0.91, "rules.legitimacy", 9, 0.02, None)
    assert len(values) == 9 and values[4] == 0.91 and values[3] == 0.905 and values[5] == 0.915
    rel = rc.sweep_values(0.15, "price.elasticity", 3, 0.02, 0.1)
    assert list(rel) == pytest.approx([0.135, 0.15, 0.165])


def test_dotted_value_reads_tables_cities_and_events():
    data = two_towns().to_dict()
    assert rc.dotted_value(data, "rules.legitimacy") == 0.9
    assert rc.dotted_value(data, "cities.Oilton.lpg_dependence") == 1.0


def test_run_outcome_counts_people_and_cities_past_onset():
    out = rc.run_outcome(two_towns(), 0, 0, spread_cities=1)
    assert set(out) == {"peak", "deaths", "cities_past_onset", "spread"}
    assert 0 <= out["cities_past_onset"] <= 3 and out["spread"] == (out["cities_past_onset"] >= 1)
    assert out["peak"] >= 0 and out["deaths"] >= 0


def test_wilson_interval():
    lo, hi = rc.wilson(10, 10)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.7225, abs=1e-3)  # the textbook 95% Wilson bound for 10/10
    lo, hi = rc.wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    # the interval always holds the share itself: 10/10 had an upper end of 0.9999999999999999, so the figure's
    # error bar was negative and matplotlib refused to draw it
    assert all(rc.wilson(k, n)[0] <= k / n <= rc.wilson(k, n)[1] for n in range(1, 60) for k in range(n + 1))


def _row(offset, peak, deaths):
    outcomes = [{"peak": peak, "deaths": deaths, "cities_past_onset": 5, "spread": True}] * 3
    return rc.summarise("x", "rules.legitimacy", 0.91 + offset, 0.91, outcomes, 0.01, 1)


def test_cliff_check_names_a_cliff_and_passes_a_smooth_curve():
    cliff = [_row(-0.005, 600, 2000), _row(0.0, 300, 50), _row(0.005, 0, 0)]
    lines = rc.cliff_check(cliff, 0.005)
    assert "x2.00" in lines[0] and "x40.00" in lines[0] and lines[0].endswith("CLIFF")
    assert "xinf" in lines[1] and lines[1].endswith("CLIFF")
    smooth = [_row(-0.005, 450, 120), _row(0.0, 300, 80), _row(0.005, 200, 50)]
    assert all(line.endswith("no cliff") for line in rc.cliff_check(smooth, 0.005))
    assert rc.factor(0, 0) == 1.0 and math.isinf(rc.factor(0, 5))
