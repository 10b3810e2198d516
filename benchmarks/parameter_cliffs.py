"""The cliff check on every fitted parameter of a country scenario: -+10% on each (issue 14, deliverable 1).

For each ``--key`` (default: every key whose line in the scenario file is marked ``fit``), runs the scenario at
the file's value and at -``--relative`` and +``--relative`` of it (default 10%), ``--runs`` replicates each on the
same seeds (seed ``--seed``, replicates 0..runs-1) at ``--scale``, and prints a Markdown table of the median
national peak and median deaths (people) at the three values and the largest factor by which either changes; a
factor above 2 is a cliff. The runs go through the shared executors
(:func:`uprising.execution.run_many`); each run is reduced in its worker by
``benchmarks/response_curves.py``'s ``run_outcome``.

    .venv/bin/python benchmarks/parameter_cliffs.py scenarios/kazakhstan-2022-v2.toml [--scale 0.005]
        [--runs 6] [--relative 0.1] [--key KEY ...] [--workers 2] [--csv PATH]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from response_curves import dotted_value, factor, run_outcome  # noqa: E402


def fitted_keys(path: Path) -> list[str]:
    """The dotted keys of the scalar parameters whose line in the TOML file is marked ``fit`` (tables only, not
    cities or events)."""
    keys, table = [], None
    for line in path.read_text().splitlines():
        head = re.match(r"^\[([a-z_]+)\]", line)
        if head:
            table = head.group(1)
            continue
        if line.startswith("[["):
            table = None
            continue
        m = re.match(r"^([a-z_]+)\s*=\s*[-0-9.]+\s*#\s*fit\b", line)
        if m and table is not None:
            keys.append(f"{table}.{m.group(1)}")
    return keys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--key", action="append", default=None, help="a dotted key (default: every fitted one)")
    ap.add_argument("--relative", type=float, default=0.1)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--scale", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    from uprising.country.scenario import CountryScenario
    from uprising.execution import executor_for, run_many, task

    from uprising.scenario import ScenarioError

    sc = CountryScenario.load(args.scenario).replace({"scale": args.scale})
    data = sc.to_dict()
    keys, outside = [], []
    for k in args.key or fitted_keys(args.scenario):
        try:  # a key whose -+relative leaves its allowed range (starting legitimacy 0.93 + 10% > 1) is skipped
            for s in (-1, 1):
                sc.replace({k: dotted_value(data, k) * (1 + s * args.relative)})
            keys.append(k)
        except ScenarioError as e:
            outside.append((k, str(e)))
    points = [(None, None)] + [(k, dotted_value(data, k) * (1 + s * args.relative)) for k in keys for s in (-1, 1)]
    items = [task(sc if k is None else sc.replace({k: float(v)}), args.seed, r, job=run_outcome)
             for k, v in points for r in range(args.runs)]
    t0 = time.perf_counter()
    with executor_for(args.workers) as pool:
        outcomes = run_many(items, pool, progress=lambda d, n: print(f"\r{d}/{n} runs", end="", file=sys.stderr,
                                                                       flush=True))
    print(f"\n{len(items)} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    med = []
    for i in range(len(points)):
        chunk = outcomes[i * args.runs:(i + 1) * args.runs]
        med.append((float(np.median([o["peak"] for o in chunk])), float(np.median([o["deaths"] for o in chunk]))))
    base = med[0]
    print(f"{args.scenario.name}: -+{args.relative:.0%} on each fitted parameter, {args.runs} runs a point, scale "
          f"{args.scale:g}, seed {args.seed}; the file's value gives median peak {base[0]:,.0f} and deaths "
          f"{base[1]:,.0f}\n")
    print("| parameter | value | peak at -, + | deaths at -, + | largest factor | verdict |")
    print("|---|---|---|---|---|---|")
    rows = []
    for j, k in enumerate(keys):
        lo, hi = med[1 + 2 * j], med[2 + 2 * j]
        worst = max(factor(base[0], lo[0]), factor(base[0], hi[0]), factor(base[1], lo[1]), factor(base[1], hi[1]))
        verdict = "no cliff" if worst <= 2 else "CLIFF"
        print(f"| `{k}` | {dotted_value(data, k):.4g} | {lo[0]:,.0f}, {hi[0]:,.0f} | {lo[1]:,.0f}, {hi[1]:,.0f} | "
              f"x{worst:.2f} | {verdict} |")
        rows.append({"key": k, "value": dotted_value(data, k), "peak_low": lo[0], "peak_high": hi[0],
                     "deaths_low": lo[1], "deaths_high": hi[1], "peak_base": base[0], "deaths_base": base[1],
                     "largest_factor": worst})
    for k, why in outside:
        print(f"| `{k}` | {dotted_value(data, k):.4g} | - | - | - | not run: -+{args.relative:.0%} leaves the allowed "
              f"range ({why.split(': ', 1)[-1]}) |")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
