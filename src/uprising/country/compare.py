"""Counterfactuals with uncertainty: ensembles of a scenario's variants, paired with the baseline.

Every variant runs the same replicates (seeds) as the baseline, so each
replicate gives one paired difference, variant minus baseline, in each outcome.
The report gives the ensemble means and the mean paired difference with a 95%
bootstrap interval (resampling replicates, 2,000 resamples, a fixed seed so the
interval itself is reproducible).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..analysis import bootstrap_ci
from . import observables as O
from .simulate import CountryResult

BOOTSTRAP = 2000
BOOTSTRAP_SEED = 20220105
#: The replicates per variant the command line advises for the intervals: with fewer, a bootstrap over a
#: handful of values gives intervals of (almost) no width, so no difference is marked significant below it.
ADVISED_REPLICATES = 20
#: what the "significant" column says below :data:`ADVISED_REPLICATES`
TOO_FEW = "too few runs"


def _end_day(r: CountryResult) -> float:
    day = O.end_of_unrest_day(r)
    start = r.clock.start.date()
    last = r.clock.day_of(r.steps)
    return float(((day or last + dt.timedelta(days=1)) - start).days) + 1.0  # day of month for a 1 Jan start


#: name -> (label, unit, function of a run)
OUTCOMES: dict[str, tuple[str, str, Callable[[CountryResult], float]]] = {
    "deaths_total": ("deaths, all", "people", lambda r: O.killed_by(r)["total"]),
    "deaths_protesters": ("deaths, protesters", "people", lambda r: O.killed_by(r)["protesters"]),
    "deaths_security": ("deaths, security", "people", lambda r: O.killed_by(r)["security"]),
    "deaths_bystanders": ("deaths, bystanders", "people", lambda r: O.killed_by(r)["bystanders"]),
    "detained_total": ("detained by 20 Jan", "people",
                       lambda r: O.detained_by(r, r.clock.day_of(r.steps))),
    "peak_unrest": ("peak active + violent", "people", lambda r: O.peak(r)[0]),
    "peak_violent": ("peak violent", "people", lambda r: float(r.violent_residents().sum(axis=0).max())),
    "unrest_person_days": ("unrest, person-days", "person-days",
                           lambda r: float(O.national_unrest(r)[1:].sum()) * r.clock.tick_hours / 24.0),
    "end_of_unrest": ("unrest ends (day of January)", "day", _end_day),
}


@dataclass
class Comparison:
    outcome: str
    variant: str
    baseline_mean: float
    baseline_ci: tuple[float, float]
    variant_mean: float
    variant_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]
    replicates: int


def mean_ci(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95% bootstrap interval of the mean of ``values`` (one per replicate): :func:`uprising.analysis.bootstrap_ci`
    with :data:`BOOTSTRAP` resamples; a single replicate's interval is its value."""
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    return bootstrap_ci(np.asarray(values, dtype=float), rng, np.mean, BOOTSTRAP)


def outcome_table(results: list[CountryResult]) -> dict[str, np.ndarray]:
    return {name: np.array([fn(r) for r in results]) for name, (_, _, fn) in OUTCOMES.items()}


def compare(baseline: list[CountryResult], variants: dict[str, list[CountryResult]]) -> list[Comparison]:
    """Paired comparisons of each variant with the baseline (replicate i with replicate i)."""
    base = outcome_table(baseline)
    out = []
    for name, runs in variants.items():
        if [r.replicate for r in runs] != [r.replicate for r in baseline]:
            raise ValueError(f"variant {name!r} does not have the baseline's replicates")
        table = outcome_table(runs)
        for outcome in OUTCOMES:
            rng = np.random.default_rng(BOOTSTRAP_SEED)
            b, v = base[outcome], table[outcome]
            out.append(Comparison(outcome, name, float(b.mean()), mean_ci(b, rng), float(v.mean()),
                                  mean_ci(v, rng), float((v - b).mean()), mean_ci(v - b, rng), len(v)))
    return out


def significance(c: Comparison) -> str:
    """Whether the 95% interval of the paired difference excludes zero ("yes" or "no"), or :data:`TOO_FEW`
    below :data:`ADVISED_REPLICATES` replicates, where the interval is too narrow to say."""
    if c.replicates < ADVISED_REPLICATES:
        return TOO_FEW
    return "yes" if c.difference_ci[0] > 0 or c.difference_ci[1] < 0 else "no"


def _fmt(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def markdown(rows: list[Comparison], scale: float | None = None) -> str:
    """The comparisons as a Markdown table (the "significant" column per :func:`significance`), with a line
    giving the runs and their ``scale`` (agents per resident) when given."""
    lines = ["| variant | outcome | baseline (95% CI) | variant (95% CI) | difference (95% CI) | significant |",
             "|---|---|---|---|---|---|"]
    for c in rows:
        label = OUTCOMES[c.outcome][0]
        sig = significance(c)
        lines.append(f"| {c.variant} | {label} | {_fmt(c.baseline_mean)} ({_fmt(c.baseline_ci[0])} to "
                     f"{_fmt(c.baseline_ci[1])}) | {_fmt(c.variant_mean)} ({_fmt(c.variant_ci[0])} to "
                     f"{_fmt(c.variant_ci[1])}) | {c.difference:+,.1f} ({c.difference_ci[0]:+,.1f} to "
                     f"{c.difference_ci[1]:+,.1f}) | {sig} |")
    if rows:
        n = rows[0].replicates
        note = f"{n} paired run{'s' if n != 1 else ''} per variant" + (f" at scale {scale:g} (agents per resident)"
                                                                        if scale is not None else "")
        if n < ADVISED_REPLICATES:
            note += f"; too few runs to mark significance (at least {ADVISED_REPLICATES} are advised)"
        lines += ["", note + "."]
    return "\n".join(lines)


def rows_as_dicts(rows: list[Comparison]) -> list[dict[str, object]]:
    return [{"variant": c.variant, "outcome": c.outcome, "label": OUTCOMES[c.outcome][0],
             "unit": OUTCOMES[c.outcome][1], "replicates": c.replicates,
             "baseline_mean": c.baseline_mean, "baseline_ci_low": c.baseline_ci[0], "baseline_ci_high": c.baseline_ci[1],
             "variant_mean": c.variant_mean, "variant_ci_low": c.variant_ci[0], "variant_ci_high": c.variant_ci[1],
             "difference": c.difference, "difference_ci_low": c.difference_ci[0],
             "difference_ci_high": c.difference_ci[1], "significant": significance(c)} for c in rows]
