"""What the fit targets can say about the security injuries' counts (issue 14; docs/kazakhstan.md, "Injuries as
they were counted"). Three measurements on a Kazakhstan v2 scenario, 20 runs at scale 0.005, seed 1:

``valley``: scale every security injury of the runs by ``k`` and read the counts through a reporting delay ``d``;
for each ``d`` the ``k`` that best fits the three fit counts (Almaty's sought help by 14:16 on 5 January, read
without a delay, and the Interior Ministry's 317 at 08:51 and 748 by the end of 6 January), and what the two test
counts (Almaty's by 9 January, the final count) then read.

``armed``: the same with the security injuries over buildings in Almaty and Taldykorgan after 15:00 on 5 January
multiplied by ``f`` first (offline: a run's lattice does not depend on them), for each ``f`` the best ``d`` and ``k``.

``ridge``: the joint search's objective (``kazakhstan_v2_joint_search.evaluate`` with its criteria, weight 20) at
points of ``(armed_injuries, delay, injured_security)``.

    python benchmarks/kazakhstan_v2_injury_counts.py valley scenarios/kazakhstan-2022-v2.toml
    python benchmarks/kazakhstan_v2_injury_counts.py armed scenarios/kazakhstan-2022-v2.toml
    python benchmarks/kazakhstan_v2_injury_counts.py ridge scenarios/kazakhstan-2022-v2.toml 1:33.7:2.86 8:72.8:2.7
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np

from uprising.country import observables as O
from uprising.country.scenario import CountryScenario
from uprising.execution import default_executor, run_many, tasks
from uprising.kernels import codes

SOUGHT_HELP = dt.datetime(2022, 1, 5, 14, 16)
FIRST_COUNT = dt.datetime(2022, 1, 6, 8, 51)
END_OF_6 = dt.datetime(2022, 1, 7)
END_OF_9 = dt.datetime(2022, 1, 10)
ARMED_FROM = dt.datetime(2022, 1, 5, 15, 0)
#: the grids of docs/kazakhstan.md's tables: ``valley`` and ``armed``
VALLEY_DELAYS = (12, 24, 36, 48, 72, 100, 150, 200, 300)
VALLEY_LEVELS = np.exp(np.linspace(np.log(0.2), np.log(20.0), 400))
ARMED_DELAYS = (12, 18, 24, 30, 36, 48, 60, 72, 100, 150, 200)
ARMED_LEVELS = np.exp(np.linspace(np.log(0.3), np.log(5.0), 80))
ARMED_FACTORS = (1, 2, 3, 5, 8, 12)


def error(model: float, record: float) -> float:
    """The fit's error of a count (uprising.country.fit): |ln((m + 1) / (b + 1))|."""
    return abs(math.log((model + 1.0) / (record + 1.0)))


def series(path: str, runs: int = 20, seed: int = 1, scale: float = 0.005):
    """The runs' mean security injuries per city and step, split into the lattice's and the buildings' (in
    people), the mean protesters injured in Almaty per step, the hours at each step's end, the city names."""
    scenario = CountryScenario.load(path).replace({"scale": scale})
    with default_executor(2) as ex:
        results = run_many(tasks(scenario, runs, seed), ex)
    r0 = results[0]
    almaty = r0.names.index("Almaty")
    lattice = np.mean([r.people_counts[:, :, codes.PEOPLE_INJURED_SECURITY] for r in results], axis=0)
    sites = np.mean([np.nan_to_num(r.reports["site_injured_security"]) for r in results], axis=0)
    protesters = np.mean([r.people_counts[almaty, :, codes.PEOPLE_INJURED_PROTESTERS]
                          + np.nan_to_num(r.reports["site_injured_protesters"][almaty]) for r in results], axis=0)
    ends = np.arange(r0.steps + 1) * r0.clock.tick_hours
    return lattice, sites, protesters, ends, r0.names, r0.clock.start


def counts(x: np.ndarray, protesters: np.ndarray, ends: np.ndarray, start: dt.datetime, almaty: int, delay: float):
    """(sought help, 08:51 count, end of 6 January, Almaty by the end of 9 January, final count) of the security
    injuries ``x`` (cities x steps; step 0 holds none) read through an exponential delay."""
    hours = lambda when: (when - start) / dt.timedelta(hours=1)  # noqa: E731

    def reported(when, rows):
        age = hours(when) - ends
        weight = np.where(age >= 0, -np.expm1(-np.maximum(age, 0.0) / delay), 0.0)
        return float((x[rows, 1:] * weight[1:]).sum())

    early = ends[1:] <= hours(SOUGHT_HELP)
    help_ = float(x[almaty, 1:][early].sum() + protesters[1:][early].sum())
    return (help_, reported(FIRST_COUNT, slice(None)), reported(END_OF_6, slice(None)),
            reported(END_OF_9, almaty), float(x[:, 1:].sum()))


def best_fit(x, protesters, ends, start, almaty, delays, levels):
    """The (error, delay, level, counts) that best fit the three fit counts, the level ``k`` scaling the security
    injuries (not the protesters')."""
    best = None
    for d in delays:
        base = counts(x, protesters, ends, start, almaty, d)
        sec_help = base[0] - float(protesters[1:][ends[1:] <= (SOUGHT_HELP - start) / dt.timedelta(hours=1)].sum())
        for k in levels:
            c = (k * sec_help + (base[0] - sec_help), *(k * v for v in base[1:]))
            e = error(c[0], 190) + error(c[1], 317) + error(c[2], 748)
            if best is None or e < best[0]:
                best = (e, d, k, c)
    return best


def row(label, best) -> str:
    """A table row: ``label`` (None: none) and the best fit's delay, level, error and counts."""
    e, d, k, c = best
    first = "" if label is None else f"| {label} "
    return (f"{first}| {d} | {k:.2f} | {e:.2f} | {c[0]:,.0f} | {c[1]:,.0f} | {c[2]:,.0f} | {c[3]:,.0f} | "
            f"{c[4]:,.0f} |")


HEAD = ("| {} | delay (h) | k | fit error (3 counts) | sought help | 08:51 | end of 6 Jan | Almaty end of 9 Jan (test) "
        "| final (test) |\n|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("valley", "armed", "ridge"))
    ap.add_argument("scenario")
    ap.add_argument("points", nargs="*", help="ridge: ARMED:DELAY:INJURED_SECURITY")
    a = ap.parse_args(argv)
    if a.what == "ridge":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import kazakhstan_v2_joint_search as J

        J.S.BASE = CountryScenario.load(a.scenario)
        J.CRITERIA_ON, J.CRITERIA_WEIGHT = True, 20.0
        print("| armed_injuries | delay (h) | injured_security | objective | fit loss |\n|---|---|---|---|---|")
        with default_executor(2) as ex:
            for point in a.points:
                f, d, inj = (float(v) for v in point.split(":"))
                r = J.evaluate({"sites.armed_injuries": f, "reporting.security_injured_delay_hours": d,
                                "sites.injured_security": inj}, ex)
                print(f"| {f:g} | {d:g} | {inj:g} | {r['total']:.2f} | {r['fit']:.2f} |", flush=True)
        return 0
    lattice, sites, protesters, ends, names, start = series(a.scenario)
    almaty, taldykorgan = names.index("Almaty"), names.index("Taldykorgan")
    if a.what == "valley":
        print(HEAD.replace("| {} ", "").replace("|---|---", "|---", 1))
        for d in VALLEY_DELAYS:
            print(row(None, best_fit(lattice + sites, protesters, ends, start, almaty, (d,), VALLEY_LEVELS)))
        return 0
    print(HEAD.format("f"))
    late = ends > (ARMED_FROM - start) / dt.timedelta(hours=1)
    for f in ARMED_FACTORS:
        s = sites.copy()
        s[almaty, late] *= f
        s[taldykorgan, late] *= f
        print(row(str(f), best_fit(lattice + s, protesters, ends, start, almaty, ARMED_DELAYS, ARMED_LEVELS)),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
