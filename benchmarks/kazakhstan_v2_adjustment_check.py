"""Does a regression adjustment help the Kazakhstan v2 posterior? Its particles' fresh runs against the unadjusted.

Reads the calibration back from its store (``results/kazakhstan-v2-posterior``, made by the README's calibrate
command; no new calibration run), regression-adjusts it over the ``--nearest`` runs
(:func:`uprising.experiment.posterior.adjusted_posterior`), runs each adjusted particle once on fresh seeds into
``results/kazakhstan-v2-adjusted-check-N`` (resumable), and prints, for the committed (unadjusted) posterior's
predictive runs and for each adjustment, the weighted 10/50/90% of a run's fit and test losses and how many
targets the predictive 5-95% interval covers: what docs/posterior.md's table shows.

Usage: python benchmarks/kazakhstan_v2_adjustment_check.py [--nearest 400 800] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def losses(targets, rows):
    from uprising.experiment import posterior as P
    from uprising.experiment.calibrate import weighted_quantile

    d = np.array([P.distance(targets, [r]) for r in rows])
    w = np.array([r["weight"] for r in rows])
    ok = np.isfinite(d)
    return [weighted_quantile(d[ok], w[ok], q) for q in (0.1, 0.5, 0.9)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nearest", type=int, nargs="+", default=[400, 800])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from uprising.country.fit import load_targets
    from uprising.experiment import posterior as P
    from uprising.experiment.spec import Experiment

    exp = Experiment.load(REPO / "experiments" / "kazakhstan-v2-posterior.toml")
    tf = load_targets(REPO / "scenarios" / "kazakhstan-2022-targets.csv", exp.base_scenario)
    fit, test = tf.of_split("fit"), tf.of_split("test")
    committed = P.read_posterior(REPO / "docs" / "data" / "kazakhstan-v2-posterior" / "posterior.json")
    settings = P.Settings(**{**committed.meta["settings"], "adjust": max(args.nearest)})
    run = P.calibrate_country(exp, fit, REPO / "results" / "kazakhstan-v2-posterior", settings,
                              workers=args.workers, test_targets=test)
    print(f"read back: {run.total_runs} runs, {run.simulated} made")
    with open(REPO / "docs" / "data" / "kazakhstan-v2-posterior" / "predictive_runs.csv", encoding="utf-8") as fh:
        fresh = [{k: (float(v) if v not in ("", None) and k != "run_id" else None) for k, v in r.items()}
                 for r in csv.DictReader(fh)]
    print("| posterior | runs (distinct particles) | effective sample before the draw | fit loss of a run, 10 / 50 / "
          "90% | test loss, 10 / 50 / 90% | fit / test targets covered |")
    print("|---|---|---|---|---|---|")
    cov = committed.meta.get("predictive", {})
    fmt = lambda q: " / ".join(f"{x:.1f}" for x in q)  # noqa: E731
    print(f"| unadjusted (committed) | {len(fresh)} | {committed.ess:.0f} | {fmt(losses(fit, fresh))} | "
          f"{fmt(losses(test, fresh))} | {cov.get('fit', {}).get('covered', '?')} / "
          f"{cov.get('test', {}).get('covered', '?')} |")
    priors = P.priors_of(exp)
    for n in args.nearest:
        units, _, dist, ids, w, info = P.adjusted_posterior(run.generations, fit, n, settings.keep, settings.seed)
        post = P.Posterior(priors, P._values(exp, priors, units), w, dist, ids, [], {"adjustment": info})
        rows, runs = P.posterior_predictive(exp, post, [*fit, *test],
                                            REPO / "results" / f"kazakhstan-v2-adjusted-check-{n}", workers=args.workers)
        covered = [sum(r.covered for r in rows if r.split == s) for s in ("fit", "test")]
        print(f"| adjusted over the {n} nearest | {len(runs)} | {info['ess_before_resampling']:.0f} | "
              f"{fmt(losses(fit, runs))} | {fmt(losses(test, runs))} | {covered[0]} / {covered[1]} |")
        narrow = sorted(post.summary(), key=lambda r: r["width_ratio"])[:3]
        print("  narrowest: " + "; ".join(f"{r['parameter']} {r['q5']:.4g}-{r['q95']:.4g} ({r['width_ratio']:.2f})"
                                          for r in narrow))


if __name__ == "__main__":
    main()
