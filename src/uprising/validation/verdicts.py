"""Verdicts: whether a measured result reproduces the paper's claim, in words, from the statistics of
:mod:`uprising.analysis` (the rules are stated in docs/validation.md's section, which
:mod:`uprising.validation.markdown` writes)."""

from __future__ import annotations

import math


def number_verdict(paper: float, mean: float, ci: tuple[float, float]) -> str:
    """``matches`` (paper value inside the 95% CI), ``close`` (within 25%), ``differs``, or ``no outbursts``."""
    if not math.isfinite(mean):
        return "no outbursts"
    lo, hi = ci
    if math.isfinite(lo) and lo <= paper <= hi:
        return "matches"
    if abs(mean - paper) <= 0.25 * paper:
        return "close"
    return "differs"


def run34_verdict(st: dict) -> str:
    """Runs 3 and 4: ``reproduced`` when Run 4 explodes in at least 80% of seeds and Run 3 in at most 20%."""
    f3, f4 = st["run3"]["fraction"], st["run4"]["fraction"]
    if f4 >= 0.8 and f3 <= 0.2:
        return "reproduced"
    if st["fisher_p"] < 0.01 and f4 > f3:
        return "partly: the jump explodes more often, but not as cleanly as the paper says"
    if f3 >= 0.5 and f4 >= 0.5:
        return "not reproduced: both paths explode"
    return "not reproduced"


def tension_verdict(st: dict) -> str:
    """Tension (fig. 8): ``reproduced`` when both release and build-up are positive (their 95% intervals above 0)."""
    if st["outbursts"] == 0:
        return "no outbursts to release tension"
    ok_r = st["release_ci"][0] > 0
    ok_b = math.isfinite(st["buildup_ci"][0]) and st["buildup_ci"][0] > 0
    if ok_r and ok_b:
        return "reproduced"
    if ok_r or ok_b:
        return "partly"
    return "not reproduced"


def run1_verdict(st: dict) -> str:
    """Run 1: ``reproduced`` when r < 0, its interval lies below the shuffles' mean and at least 90% of the
    snapshots lie below their shuffles."""
    if st["defined"] == 0:
        return "no actives: nothing to correlate"
    if st["r_obs_mean"] < 0 and st["r_obs_ci"][1] < st["null_mean"] and st["significant"] >= 0.9:
        return "reproduced"
    if st["r_obs_mean"] < st["null_mean"]:
        return "partly"
    return "not reproduced"
