"""Scale invariance of Kazakhstan's casualties, counted in people and in agents (issue 14, deliverable 2).

Runs ``scenarios/kazakhstan-2022.toml`` (or ``--scenario FILE``) with ``repression.casualties = "people"`` at two scales (default
0.005 and 0.05, 20 runs each, seed 101) and, if asked, one run at scale 1. Counting in people leaves the
lattices' trajectories as they are, so each run also gives the first model's counts in agents (agents times
1/scale) for comparison. Prints a Markdown table: per scale and way of counting, the median and 5-95% range
of total deaths, security deaths, injured (protesters and security) and detained, then two-sided
Mann-Whitney p-values between the two scales, and where the scale-1 run lies.

    .venv/bin/python benchmarks/scale_invariance.py [--scenario FILE] [--scales 0.005,0.05] [--runs 20] [--seed 101]
        [--scale-one] [--workers 1]

The numbers in docs/kazakhstan.md ("Casualties in people: scale invariance") come from this script.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

from uprising.country import observables as O
from uprising.country.scenario import CountryScenario
from uprising.country.simulate import simulate_country

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "kazakhstan-2022.toml"
MEASURES = ("deaths", "security deaths", "injured", "detained")
AGENT_NAMES = {"deaths": ("killed_protesters", "killed_bystanders", "killed_security"),
               "security deaths": ("killed_security",), "injured": ("injured_protesters", "injured_security"),
               "detained": ("arrests", "swept")}


def one_run(args: tuple) -> dict[str, dict[str, float]]:
    """One run at ``scale``: the four totals in people and, from the same run's agents, as the first model."""
    scale, seed, replicate, *rest = args
    path = rest[0] if rest else SCENARIO
    sc = CountryScenario.load(path).replace({"scale": scale, "repression.casualties": "people"})
    r = simulate_country(sc, seed, replicate)
    killed, hurt = O.killed_by(r), O.injured(r)
    people = {"deaths": killed["total"], "security deaths": killed["security"],
              "injured": hurt["protesters"] + hurt["security"], "detained": r.total_people(("arrests", "swept"))}
    agents = {m: float(sum(r.national(n)[1:].sum() for n in names)) / scale for m, names in AGENT_NAMES.items()}
    return {"people": people, "agents": agents}


def band(x: np.ndarray) -> str:
    lo, med, hi = np.percentile(x, [5, 50, 95])
    return f"{med:,.0f} ({lo:,.0f}-{hi:,.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=SCENARIO, help="a country scenario (default: Kazakhstan)")
    ap.add_argument("--scales", default="0.005,0.05")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--scale-one", action="store_true", help="add one run at scale 1 (minutes, ~8 GB)")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    scales = [float(x) for x in a.scales.split(",")]
    jobs = [(s, a.seed, rep, a.scenario) for s in scales for rep in range(a.runs)]
    start = time.perf_counter()
    if a.workers > 1:
        with ProcessPoolExecutor(a.workers) as pool:
            results = list(pool.map(one_run, jobs))
    else:
        results = [one_run(j) for j in jobs]
    wall = time.perf_counter() - start
    table = {}
    for (scale, *_), res in zip(jobs, results):
        for way in ("people", "agents"):
            table.setdefault((way, scale), []).append([res[way][m] for m in MEASURES])
    table = {k: np.array(v) for k, v in table.items()}
    print(f"{a.scenario.name}, {a.runs} runs per scale, seed {a.seed} ({wall:.0f} s)\n")
    print("| counted in | scale | " + " | ".join(f"{m}, median (5-95%)" for m in MEASURES) + " |")
    print("|---|---|" + "---|" * len(MEASURES))
    for (way, scale), x in table.items():
        print(f"| {way} | {scale:g} | " + " | ".join(band(x[:, j]) for j in range(len(MEASURES))) + " |")
    print("\nMann-Whitney p (two-sided), scale %g vs %g:\n" % (scales[0], scales[-1]))
    print("| counted in | " + " | ".join(MEASURES) + " | runs with 0 security deaths |")
    print("|---|" + "---|" * (len(MEASURES) + 1))
    for way in ("people", "agents"):
        x, y = table[(way, scales[0])], table[(way, scales[-1])]
        ps = [stats.mannwhitneyu(x[:, j], y[:, j]).pvalue for j in range(len(MEASURES))]
        zeros = f"{int((x[:, 1] == 0).sum())} / {int((y[:, 1] == 0).sum())}"
        print(f"| {way} | " + " | ".join(f"{p:.3g}" for p in ps) + f" | {zeros} |")
    if a.scale_one:
        t = time.perf_counter()
        one = one_run((1.0, a.seed, 0, a.scenario))["people"]
        print(f"\nscale 1, replicate 0 ({time.perf_counter() - t:.0f} s):")
        for j, m in enumerate(MEASURES):
            inside = [bool(np.percentile(table[("people", s)][:, j], 5) <= one[m]
                           <= np.percentile(table[("people", s)][:, j], 95)) for s in scales]
            print(f"- {m}: {one[m]:,.0f}; inside the 5-95% range at scales {scales}: {inside}")


if __name__ == "__main__":
    main()
