"""Write experiments/kazakhstan-v2-effects.toml: Morris screening of which uncertain parameters decide the effects of
the blackout, the intervention and the shoot order (issue 15, item 4), over the posterior's 5-95% ranges.

    python benchmarks/kazakhstan_v2_effects_experiment.py docs/data/kazakhstan-v2-posterior/posterior.json \
        [--trajectories 16 --scale 0.0025] [--scale S] [--out experiments/kazakhstan-v2-effects.toml]
    uprising sensitivity experiments/kazakhstan-v2-effects.toml --store results/kazakhstan-v2-effects

Each parameter of the posterior ranges over its posterior 5-95% interval (log-uniform where its prior was), so the
screening asks what decides an effect among the parameter sets the record allows, not over the whole prior. The
outcomes are paired effects (``effect@VARIANT@OUTCOME``, uprising.experiment.country_outcomes): each design point's
baseline run holds, in its row, the variant run on the same seeds minus itself. A point costs four runs (the
baseline and three variants).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

VARIANTS = ("no-blackout", "no-intervention", "no-shoot-order")
OUTCOMES = ("deaths_total", "unrest_person_days", "end_of_unrest")


def toml_text(posterior: Path, trajectories: int, scale: float | None = None) -> str:
    from uprising.experiment.posterior import read_posterior

    post = read_posterior(posterior)
    rows = {r["parameter"]: r for r in post.summary()}
    lines = ["# Written by benchmarks/kazakhstan_v2_effects_experiment.py from " + str(posterior) + ": Morris screening of",
             "# the effects of the blackout, the intervention and the shoot order over the posterior's 5-95% ranges.",
             'name = "kazakhstan-v2-effects"',
             'description = "which uncertain parameters decide whether the blackout, the intervention or the shoot '
             'order mattered (issue 15)"',
             'base = "../scenarios/kazakhstan-2022-v2.toml"', "replicates = 1", "seed = 15",
             "outcomes = [" + ", ".join(json.dumps(f"effect@{v}@{o}") for v in VARIANTS for o in OUTCOMES) + "]", "",
             "[set]"]
    fixed = dict(post.meta.get("set") or {})
    if scale is not None:
        fixed["scale"] = scale
    lines += [f"{k} = {json.dumps(v)}" for k, v in fixed.items()]
    lines += ["", "[design]", 'kind = "morris"', f"samples = {trajectories}", "levels = 4", "", "[parameters]"]
    for p in post.priors:
        lo, hi = rows[p.name]["q5"], rows[p.name]["q95"]
        if not hi > lo:
            continue
        prior = ', prior = "log-uniform"' if p.log else ""
        lines.append(f'"{p.name}" = {{ low = {lo!r}, high = {hi!r}{prior}, reason = "the posterior\'s 5-95%" }}')
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("posterior", type=Path)
    ap.add_argument("--trajectories", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("experiments/kazakhstan-v2-effects.toml"))
    ap.add_argument("--scale", type=float, default=None, help="the runs' scale (default: the posterior's)")
    args = ap.parse_args()
    args.out.write_text(toml_text(args.posterior, args.trajectories, args.scale), encoding="utf-8")
    print(args.out)
