"""Response curves of a country scenario: national peak, deaths and spread against one input (issue 14, item 1).

For a country scenario file, sweeps one input over ``--points`` equally spaced values around the file's own:
by default the starting legitimacy ``rules.legitimacy`` over +-``--half-width`` (0.02), or any dotted key
(``--key price.max_shift``) over +-``--relative`` (0.1: +-10%) of its value. Each point runs ``--runs``
replicates (seed ``--seed``, replicates 0..runs-1: the same random streams at every point, so that the
curve's steps are the input's and not the noise's) at ``--scale`` on the shared process pool
(:func:`uprising.execution.executor_for`, :func:`uprising.execution.run_many`). Each run is reduced in its
worker to three numbers, in people (:mod:`uprising.country.observables`):

* **national peak**: the most active and violent citizens at once over all cities;
* **deaths**: protesters, bystanders and security personnel killed over the run;
* **spread nationally**: at least ``--spread-cities`` (5) cities past their onset (1 active or violent
  citizen per 1,000, the onset of docs/kazakhstan.md) at some step of the run.

Per point it reports the median peak and deaths with the 10th-90th percentile of the runs, and the share of
runs that spread with its 95% Wilson interval; writes them to ``--csv`` (docs/data/...) and, with
``--figure``, draws this CSV and any ``--with`` CSVs (other scenarios, same columns) on one figure. It
prints the cliff check of issue 14: the factor by which the median peak and the median deaths change from
the file's value to the points at -0.005 and +0.005 (``--cliff-step``); a factor above 2 is a cliff.

Usage: python benchmarks/response_curves.py SCENARIO [--label NAME] [--scale 0.01] [--points 9] [--runs 10]
       [--half-width 0.02 | --key KEY --relative 0.1] [--set KEY=VALUE ...] [--workers 1] [--csv PATH]
       [--figure PATH [--with LABEL=CSV ...]] [--plot-only]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SPREAD_CITIES = 5  # "spread nationally": at least this many cities past their onset
COLUMNS = ["label", "key", "value", "offset", "runs", "peak_median", "peak_p10", "peak_p90", "deaths_median",
           "deaths_p10", "deaths_p90", "spread_runs", "spread_share", "spread_low95", "spread_high95",
           "cities_past_onset_median", "scale", "seed"]


def run_outcome(scenario, seed: int, replicate: int, spread_cities: int = SPREAD_CITIES) -> dict:
    """One run of ``scenario`` reduced to its national peak and deaths (people) and its cities past onset
    (the worker's job: only these numbers travel back)."""
    from uprising.country import observables as obs
    from uprising.country.simulate import simulate_country

    result = simulate_country(scenario, seed, replicate)
    top, _ = obs.peak(result)
    past = sum(obs.onset_step(result, name) is not None for name in result.names)
    return {"peak": float(top), "deaths": float(obs.killed_by(result)["total"]), "cities_past_onset": int(past),
            "spread": bool(past >= spread_cities)}


def dotted_value(data: dict, key: str) -> float:
    """The value at a dotted key of a scenario mapping (``rules.legitimacy``, ``price.max_shift``,
    ``cities.NAME.FIELD``, ``events.ID.FIELD``)."""
    node = data
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if isinstance(node, list):
            label = "id" if parts[depth - 1] == "events" else "name"
            node = next(item for item in node if item.get(label) == part)
        else:
            node = node[part]
    return float(node)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a share ``k/n`` (95% by default)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the interval holds k/n: at k = 0 and k = n rounding can put its end a hair inside (10/10 gave an upper end of
    # 0.9999999999999999, and a negative error bar that matplotlib refused)
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def sweep_values(base: float, key: str, points: int, half_width: float | None, relative: float | None) -> np.ndarray:
    """The swept values: ``points`` equally spaced over base +- half_width (absolute) or +- relative*|base|."""
    width = half_width if relative is None else abs(base) * relative
    offsets = np.linspace(-width, width, points)
    return np.round(base + offsets, 10)


def summarise(label: str, key: str, value: float, base: float, outcomes: list[dict], scale: float,
              seed: int) -> dict:
    """One CSV row from the outcomes of a point's runs."""
    peak = np.array([o["peak"] for o in outcomes])
    deaths = np.array([o["deaths"] for o in outcomes])
    spread = sum(o["spread"] for o in outcomes)
    lo, hi = wilson(spread, len(outcomes))
    return {"label": label, "key": key, "value": value, "offset": round(value - base, 10), "runs": len(outcomes),
            "peak_median": float(np.median(peak)), "peak_p10": float(np.quantile(peak, 0.1)),
            "peak_p90": float(np.quantile(peak, 0.9)), "deaths_median": float(np.median(deaths)),
            "deaths_p10": float(np.quantile(deaths, 0.1)), "deaths_p90": float(np.quantile(deaths, 0.9)),
            "spread_runs": int(spread), "spread_share": spread / len(outcomes), "spread_low95": lo,
            "spread_high95": hi,
            "cities_past_onset_median": float(np.median([o["cities_past_onset"] for o in outcomes])),
            "scale": scale, "seed": seed}


def factor(a: float, b: float) -> float:
    """How many times larger the larger of two medians is (inf when one is 0 and the other is not)."""
    if a == b:
        return 1.0
    if min(a, b) <= 0:
        return math.inf
    return max(a, b) / min(a, b)


def cliff_check(rows: list[dict], step: float) -> list[str]:
    """Lines of the issue's cliff check: the factor change of median peak and deaths at -step and +step."""
    by_offset = {round(r["offset"], 6): r for r in rows}
    centre = by_offset.get(0.0)
    lines = []
    if centre is None:
        return ["cliff check: the file's own value is not a point of the sweep (use an odd --points)"]
    for sign in (-1, 1):
        other = by_offset.get(round(sign * step, 6))
        if other is None:
            lines.append(f"cliff check: no point at offset {sign * step:+g} (points must fall on it)")
            continue
        fp = factor(centre["peak_median"], other["peak_median"])
        fd = factor(centre["deaths_median"], other["deaths_median"])
        verdict = "no cliff" if fp <= 2 and fd <= 2 else "CLIFF"
        lines.append(f"cliff check {sign * step:+g}: median peak x{fp:.2f} ({centre['peak_median']:,.0f} -> "
                     f"{other['peak_median']:,.0f}), median deaths x{fd:.2f} ({centre['deaths_median']:,.0f} -> "
                     f"{other['deaths_median']:,.0f}): {verdict}")
    return lines


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in COLUMNS:
            if k not in ("label", "key"):
                r[k] = float(r[k])
    return rows


def draw(curves: list[tuple[str, list[dict]]], path: Path, title: str) -> None:
    """Three panels against the swept input's offset from each file's value: median national peak and median
    deaths (10th-90th percentile of runs shaded) and the share of runs that spread (95% Wilson bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0))
    for label, rows in curves:
        x = np.array([r["offset"] for r in rows])
        for ax, what in ((axes[0], "peak"), (axes[1], "deaths")):
            med = np.array([r[f"{what}_median"] for r in rows])
            lo = np.array([r[f"{what}_p10"] for r in rows])
            hi = np.array([r[f"{what}_p90"] for r in rows])
            line, = ax.plot(x, np.maximum(med, 1.0), marker="o", label=label)
            ax.fill_between(x, np.maximum(lo, 1.0), np.maximum(hi, 1.0), color=line.get_color(), alpha=0.2)
        share = np.array([r["spread_share"] for r in rows])
        err = np.array([share - [r["spread_low95"] for r in rows], [r["spread_high95"] for r in rows] - share])
        axes[2].errorbar(x, share, yerr=err, marker="o", capsize=3, label=label)
    key = curves[0][1][0]["key"]
    for ax, ylabel in zip(axes, ("median national peak at once (people)", "median deaths (people)",
                                 f"share of runs reaching >= {SPREAD_CITIES} cities past onset")):
        ax.set_xlabel(f"{key}: offset from the file's value")
        ax.set_ylabel(ylabel)
        ax.axvline(0.0, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].set_ylim(-0.05, 1.05)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--label", default=None, help="name of this curve (default: the scenario's name)")
    ap.add_argument("--key", default="rules.legitimacy", help="dotted key to sweep (default: starting legitimacy)")
    ap.add_argument("--half-width", type=float, default=0.02, help="absolute half-width of the sweep")
    ap.add_argument("--relative", type=float, default=None, help="relative half-width instead (0.1: +-10%%)")
    ap.add_argument("--points", type=int, default=9)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--spread-cities", type=int, default=SPREAD_CITIES)
    ap.add_argument("--cliff-step", type=float, default=0.005)
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--with", dest="others", action="append", default=[], metavar="LABEL=CSV",
                    help="another curve's CSV to draw on the same figure")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="change the scenario before the sweep (dotted key, repeatable), e.g. "
                         "repression.casualties=people")
    ap.add_argument("--plot-only", action="store_true", help="draw --csv (and --with) without running")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(REPO / "src"))
    from uprising.country.scenario import CountryScenario
    from uprising.execution import executor_for, run_many, task
    from uprising.scenario import parse_sets

    if args.plot_only:
        rows = read_rows(args.csv)
    else:
        changes = {**parse_sets(args.sets, str(args.scenario), "repression.casualties=people"), "scale": args.scale}
        sc = CountryScenario.load(args.scenario).replace(changes)
        label = args.label or sc.name
        base = dotted_value(sc.to_dict(), args.key)
        values = sweep_values(base, args.key, args.points, args.half_width, args.relative)
        items = [task(sc.replace({args.key: float(v)}), args.seed, r, job=run_outcome,
                      spread_cities=args.spread_cities)
                 for v in values for r in range(args.runs)]
        t0 = time.perf_counter()
        with executor_for(args.workers) as pool:
            outcomes = run_many(items, pool, progress=lambda d, n: print(f"\r{d}/{n} runs", end="", flush=True))
        print(f"\n{len(items)} runs in {time.perf_counter() - t0:.0f} s on {args.workers} worker(s)")
        rows = [summarise(label, args.key, float(v), base, outcomes[i * args.runs:(i + 1) * args.runs],
                          args.scale, args.seed) for i, v in enumerate(values)]
        if args.csv:
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            with open(args.csv, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=COLUMNS)
                w.writeheader()
                for r in rows:
                    w.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in COLUMNS})
    label = rows[0]["label"]
    print(f"{'value':>9} {'offset':>8} {'peak median [p10, p90]':>30} {'deaths median [p10, p90]':>28} "
          f"{'spread':>7} {'95% CI':>13}")
    for r in rows:
        print(f"{r['value']:9.4f} {r['offset']:+8.4f} {r['peak_median']:10,.0f} [{r['peak_p10']:8,.0f}, "
              f"{r['peak_p90']:8,.0f}] {r['deaths_median']:8,.0f} [{r['deaths_p10']:7,.0f}, {r['deaths_p90']:7,.0f}] "
              f"{int(r['spread_runs']):3d}/{int(r['runs'])} [{r['spread_low95']:.2f}, {r['spread_high95']:.2f}]")
    for line in cliff_check(rows, args.cliff_step):
        print(line)
    if args.figure:
        curves = [(label, rows)]
        for item in args.others:
            name, _, path = item.partition("=")
            curves.append((name, read_rows(Path(path))))
        draw(curves, args.figure, f"Response to {rows[0]['key']} ({int(rows[0]['runs'])} runs a point, scale "
             f"{rows[0]['scale']:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
