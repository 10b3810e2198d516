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
    return float(((day or last + dt.timedelta(days=1)) - start).days) + 1.0  # the run's day (1: its first; Kazakhstan: of January)


#: name -> (label, unit, function of a run)
OUTCOMES: dict[str, tuple[str, str, Callable[[CountryResult], float]]] = {
    "deaths_total": ("deaths, all", "people", lambda r: O.killed_by(r)["total"]),
    "deaths_protesters": ("deaths, protesters", "people", lambda r: O.killed_by(r)["protesters"]),
    "deaths_security": ("deaths, security", "people", lambda r: O.killed_by(r)["security"]),
    "deaths_bystanders": ("deaths, bystanders", "people", lambda r: O.killed_by(r)["bystanders"]),
    "detained_total": ("detained by the run's end", "people",
                       lambda r: O.detained_by(r, r.clock.day_of(r.steps))),
    "peak_unrest": ("peak active + violent", "people", lambda r: O.peak(r)[0]),
    "peak_violent": ("peak violent", "people", lambda r: float(r.violent_residents().sum(axis=0).max())),
    "unrest_person_days": ("unrest, person-days", "person-days",
                           lambda r: float(O.national_unrest(r)[1:].sum()) * r.clock.tick_hours / 24.0),
    "end_of_unrest": ("unrest ends (day of the run, 1 its first)", "day", _end_day),
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


# ------------------------------------------------------------------ counterfactuals over a posterior
def run_outcomes(scenario, seed: int, replicate: int) -> dict[str, float]:
    """One run's :data:`OUTCOMES` (the job of a posterior comparison's tasks: only the numbers travel back)."""
    from .simulate import simulate_country

    result = simulate_country(scenario, seed, replicate)
    return {name: float(fn(result)) for name, (_, _, fn) in OUTCOMES.items()}


def posterior_tasks(scenario, variants: list[str], draws: list[dict[str, float]], seed: int, replicates: int,
                    source: str = "<posterior>") -> list:
    """The runs of a comparison over a posterior, as tasks (:mod:`uprising.execution`) that return
    :func:`run_outcomes`: first ``replicates`` runs of the baseline and of each variant at the scenario's own
    parameters (seed ``seed``, replicates 0..R-1), then, for each parameter set of ``draws``, one run of the
    baseline and of each variant (replicate R + d: every variant of a draw on the same seeds, so the
    differences are paired). The values come back in this order (:func:`posterior_values` splits them)."""
    from .. import execution as E

    everything = ["baseline", *variants]
    out = [E.task(scenario.variant(v), seed, r, job=run_outcomes) for v in everything for r in range(replicates)]
    for d, theta in enumerate(draws):
        at = scenario.replace(theta, source=f"{source} draw {d}")
        out += [E.task(at.variant(v), seed, replicates + d, job=run_outcomes) for v in everything]
    return out


def posterior_values(values: list[dict[str, float]], variants: list[str], replicates: int, draws: int
                     ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]]]:
    """:func:`posterior_tasks`' results as ``(point, drawn)``: ``[variant][outcome]`` -> the runs' values."""
    everything = ["baseline", *variants]
    n_point, k = len(everything) * replicates, len(everything)
    point = {v: {o: np.array([values[i * replicates + r][o] for r in range(replicates)]) for o in OUTCOMES}
             for i, v in enumerate(everything)}
    drawn = {v: {o: np.array([values[n_point + d * k + i][o] for d in range(draws)]) for o in OUTCOMES}
             for i, v in enumerate(everything)}
    return point, drawn


@dataclass
class PosteriorComparison:
    """A variant's effect on one outcome (variant minus baseline, paired runs), at the scenario's own parameters
    over seeds, and over parameter sets drawn from a posterior (one run, on its own seeds, per draw).

    ``point_ci`` is the 95% bootstrap interval of the mean effect over seeds only (what ``compare`` without a
    posterior reports); ``posterior_ci`` the 95% bootstrap interval of the mean effect over the draws, which
    holds both the parameters' and the seeds' uncertainty; ``posterior_interval`` the 2.5-97.5% range of the
    effect itself across draws (a run at a parameter set drawn from the posterior), next to ``point_interval``,
    the same range across seeds at the point; ``p_sign`` the share of draws whose effect has the sign of the
    posterior mean effect (0.5: the sign is a coin toss)."""

    outcome: str
    variant: str
    point_mean: float
    point_ci: tuple[float, float]
    point_interval: tuple[float, float]
    posterior_mean: float
    posterior_ci: tuple[float, float]
    posterior_interval: tuple[float, float]
    p_sign: float
    baseline_posterior_mean: float
    point_runs: int
    draws: int
    p_zero: float = 0.0  # the share of draws with no effect at all (the variant changed nothing in that run)


def _spread(x: np.ndarray) -> tuple[float, float]:
    return (float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))) if len(x) else (float("nan"),) * 2


def compare_posterior(point: dict[str, dict[str, np.ndarray]], drawn: dict[str, dict[str, np.ndarray]]
                      ) -> list[PosteriorComparison]:
    """Effects of each variant from ``point[variant][outcome]`` (runs over seeds at the scenario's own
    parameters; may be empty) and ``drawn[variant][outcome]`` (one run per posterior draw), each paired with
    ``"baseline"``'s entry of the same index."""
    out = []
    for name in drawn:
        if name == "baseline":
            continue
        for outcome in OUTCOMES:
            rng = np.random.default_rng(BOOTSTRAP_SEED)
            d = drawn[name][outcome] - drawn["baseline"][outcome]
            p = (point[name][outcome] - point["baseline"][outcome]) if point else np.zeros(0)
            mean = float(d.mean())
            sign = float(np.mean(np.sign(d) == np.sign(mean))) if mean != 0 else float(np.mean(d == 0))
            out.append(PosteriorComparison(
                outcome, name, float(p.mean()) if len(p) else float("nan"),
                mean_ci(p, rng) if len(p) else (float("nan"),) * 2, _spread(p), mean, mean_ci(d, rng), _spread(d),
                sign, float(drawn["baseline"][outcome].mean()), len(p), len(d), float(np.mean(d == 0))))
    return out


def posterior_markdown(rows: list[PosteriorComparison], scale: float | None = None) -> str:
    """The effects over the posterior next to the seed-only ones, as a Markdown table."""
    lines = ["| variant | outcome | at the point: mean effect (95% CI, seeds) | over the posterior: mean effect "
             "(95% CI, parameters and seeds) | effect of one run, 2.5-97.5%: point / posterior | P(sign) | P(none) |",
             "|---|---|---|---|---|---|---|"]
    for c in rows:
        label = OUTCOMES[c.outcome][0]
        point = "-" if c.point_runs == 0 else \
            f"{c.point_mean:+,.1f} ({c.point_ci[0]:+,.1f} to {c.point_ci[1]:+,.1f})"
        spread = ("-" if c.point_runs == 0 else f"{c.point_interval[0]:+,.0f} to {c.point_interval[1]:+,.0f}") + \
            f" / {c.posterior_interval[0]:+,.0f} to {c.posterior_interval[1]:+,.0f}"
        lines.append(f"| {c.variant} | {label} | {point} | {c.posterior_mean:+,.1f} ({c.posterior_ci[0]:+,.1f} to "
                     f"{c.posterior_ci[1]:+,.1f}) | {spread} | {c.p_sign:.2f} | {c.p_zero:.2f} |")
    if rows:
        note = (f"{rows[0].draws} parameter sets drawn from the posterior, one paired run each"
                + (f"; {rows[0].point_runs} paired runs at the scenario's own parameters" if rows[0].point_runs else "")
                + (f"; scale {scale:g} (agents per resident)" if scale is not None else ""))
        lines += ["", note + ". P(sign): the share of draws whose effect has the sign of the posterior mean; P(none): "
                  "the share whose run the variant did not change at all in this outcome."]
    return "\n".join(lines)


def posterior_rows_as_dicts(rows: list[PosteriorComparison], scale: float | None = None) -> list[dict[str, object]]:
    return [{"variant": c.variant, "outcome": c.outcome, "label": OUTCOMES[c.outcome][0],
             "unit": OUTCOMES[c.outcome][1], "scale": scale, "point_runs": c.point_runs, "draws": c.draws,
             "point_mean": c.point_mean, "point_ci_low": c.point_ci[0], "point_ci_high": c.point_ci[1],
             "point_interval_low": c.point_interval[0], "point_interval_high": c.point_interval[1],
             "posterior_mean": c.posterior_mean, "posterior_ci_low": c.posterior_ci[0],
             "posterior_ci_high": c.posterior_ci[1], "posterior_interval_low": c.posterior_interval[0],
             "posterior_interval_high": c.posterior_interval[1], "p_sign": c.p_sign, "p_zero": c.p_zero,
             "baseline_posterior_mean": c.baseline_posterior_mean} for c in rows]
