"""Outcomes with known sensitivity indices, importable as ``sensitivity_helpers:NAME`` in any worker process.

They are real outcomes (functions of a simulated Result), but they read the run's own inputs, so
their indices are known exactly: ``legitimacy`` depends on legitimacy alone (its total-order index
is 1, every other parameter's 0; Morris's mu_star is the width of legitimacy's range).
"""

from __future__ import annotations

import math


def legitimacy(result) -> float:
    """The run's legitimacy, read from the scenario it ran."""
    return float(result.scenario.legitimacy)


def legitimacy_above_07(result) -> float:
    """The run's legitimacy where it is at least 0.7, NaN below (an outcome undefined in part of the design)."""
    value = float(result.scenario.legitimacy)
    return value if value >= 0.7 else math.nan
