"""Outcomes for the calibration tests, importable as ``calibration_helpers:NAME`` on any worker.

``legitimacy_used`` is a real outcome (a function of a Result) whose value is known exactly: the
legitimacy the run was made with. A calibration against it has a known answer.
"""

from __future__ import annotations


def legitimacy_used(result) -> float:
    """The legitimacy of the run's scenario."""
    return float(result.scenario.legitimacy)
