"""Where one behaviour fits both episodes and where it breaks: every target of each episode under three posteriors.

Reads the joint posterior back from its stores (``uprising joint experiments/joint-v2.toml --store results/joint-v2``
must have run; no new run is made) and, for each episode, each of its fit and test targets, prints the weighted
5/50/95% of the target's value over the calibration runs of three sets of points: the points nearest Kazakhstan's
record alone, those nearest Ecuador's alone, and the joint posterior, each weighted by its importance weights. These
are the runs that chose the points (not fresh seeds; the joint posterior's fresh predictive is in
docs/data/joint-v2/EPISODE/predictive.csv). Writes the table as CSV (``--out``) and prints it as Markdown: what
docs/episodes.md's "Where it breaks" quotes.

Usage: python benchmarks/joint_tension.py [--spec experiments/joint-v2.toml] [--store results/joint-v2]
                                          [--out docs/data/joint-v2/targets-by-posterior.csv]
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    from uprising.experiment import joint as J
    from uprising.experiment.calibrate import weighted_quantile
    from uprising.experiment.country_outcomes import target_outcome

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default=str(REPO / "experiments" / "joint-v2.toml"))
    ap.add_argument("--store", default=str(REPO / "results" / "joint-v2"))
    ap.add_argument("--out", default=str(REPO / "docs" / "data" / "joint-v2" / "targets-by-posterior.csv"))
    args = ap.parse_args()
    run = J.joint_posterior(J.JointSpec.load(args.spec), args.store)
    if run.made:
        print(f"note: {run.made} runs were missing and were made")
    views = [(f"{e.name} alone", *run.alone(k)) for k, e in enumerate(run.episodes)] + [("joint", run.kept,
                                                                                         run.weights)]
    rows = []
    for e in run.episodes:
        wanted = sorted({i for _, kept, _ in views for i in kept})
        by_id = {e.run_ids[i][0]: e.store.stored_outcomes(e.run_ids[i][0]) for i in wanted if e.run_ids[i]}
        for t in [*e.fit, *e.test]:
            name = target_outcome(t)
            out = {"episode": e.name, "target": t.label, "split": t.split,
                   "record": f"{t.low:g}" if t.low == t.high else f"{t.low:g}-{t.high:g}"}
            for label, kept, weights in views:
                v = np.array([(by_id.get(e.run_ids[i][0], {}).get(name) if e.run_ids[i] else None) for i in kept],
                             dtype=float)
                ok = np.isfinite(v)
                if ok.any():
                    q = [weighted_quantile(v[ok], weights[ok], p) for p in (0.05, 0.5, 0.95)]
                    covered = q[0] <= t.high and q[2] >= t.low
                    out[label] = f"{q[1]:,.4g} ({q[0]:,.4g}-{q[2]:,.4g}){'' if covered else ' miss'}"
                else:
                    out[label] = "never"
            rows.append(out)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
