"""Markdown tables of a country posterior for docs/posterior.md: the parameters (posterior against prior), the
generations, the posterior predictive of the fit and test targets, and the run times read from the store.

    python benchmarks/kazakhstan_v2_posterior_report.py docs/data/kazakhstan-v2-posterior \
        [--store results/kazakhstan-v2-posterior]

Reads only the calibration's output folder (posterior.json, predictive.csv) and, with --store, the runs' recorded
wall times (each run is one process on one core: agent-steps per second per core).
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def fmt(x: float) -> str:
    if not math.isfinite(x):
        return "never" if x > 0 else "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def parameters(post) -> str:
    rows = sorted(post.summary(), key=lambda r: r["width_ratio"])
    lines = ["| parameter | prior | posterior median (5-95%) | 90% width / prior's | sd / prior's | identified |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "yes" if r["width_ratio"] < 0.5 else "partly" if r["width_ratio"] < 0.8 else "no"
        lines.append(f"| `{r['parameter']}` | {r['prior']} {fmt(r['prior_low'])} to {fmt(r['prior_high'])} | "
                     f"{fmt(r['q50'])} ({fmt(r['q5'])} to {fmt(r['q95'])}) | {r['width_ratio']:.2f} | "
                     f"{r['sd_ratio']:.2f} | {verdict} |")
    return "\n".join(lines)


def generations(post) -> str:
    lines = ["| generation | points | tolerance (largest kept distance) | nearest | effective sample |",
             "|---|---|---|---|---|"]
    for g in post.generations:
        lines.append(f"| {g['generation']} | {g['points']} | {g['epsilon']:.2f} | {g['best_distance']:.2f} | "
                     f"{g['ess']:.0f} |")
    return "\n".join(lines)


def predictive(folder: Path, start: str = "2022-01-01") -> str:
    import datetime as dt

    day0 = dt.date.fromisoformat(start)
    rows = list(csv.DictReader((folder / "predictive.csv").open(encoding="utf-8")))

    def show(r: dict, key: str) -> str:
        v = float(r[key])
        if r["kind"] == "day":
            return "never" if not math.isfinite(v) else (day0 + dt.timedelta(days=round(v))).strftime("%d %b")
        return fmt(v)

    lines = ["| target | split | record | predictive median (5-95%) | covered |", "|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["split"] != "fit",)):
        rec = show(r, "low") if r["low"] == r["high"] else f"{show(r, 'low')} to {show(r, 'high')}"
        lines.append(f"| {r['label']} | {r['split']} | {rec} | {show(r, 'median')} ({show(r, 'q5')} to "
                     f"{show(r, 'q95')}) | {'yes' if r['covered'] == 'True' else '**no**'} |")
    for split in ("fit", "test"):
        n = sum(r["split"] == split for r in rows)
        k = sum(r["split"] == split and r["covered"] == "True" for r in rows)
        lines.append(f"\n{split}: the record inside the predictive 5-95% interval for {k} of {n} targets.")
    return "\n".join(lines)


def speed(store: Path) -> str:
    from uprising.experiment.store import ResultStore

    s = ResultStore(store, create=False)
    t = s.query("SELECT median(citizens * steps / wall_seconds) AS per_core, median(wall_seconds) AS wall, "
                "count(*) AS n, sum(wall_seconds) AS total FROM outcomes WHERE wall_seconds > 0").to_pylist()[0]
    return (f"{t['n']} runs; median wall {t['wall']:.2f} s a run on one core; median {t['per_core']:.3g} citizen-steps "
            f"per second per core; {t['total'] / 3600:.2f} core-hours in all")


if __name__ == "__main__":
    from uprising.experiment.posterior import read_posterior

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--store", type=Path, default=None)
    args = ap.parse_args()
    post = read_posterior(args.folder / "posterior.json")
    print("### Parameters\n\n" + parameters(post) + "\n\n### Generations\n\n" + generations(post) +
          "\n\n### Posterior predictive\n\n" + predictive(args.folder))
    if args.store:
        print("\n### Runs\n\n" + speed(args.store))
