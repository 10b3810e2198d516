"""The search behind scenarios/kazakhstan-2022-v2.toml (issue 14): fit loss plus penalties for a cliff, for the
per-city pattern and for the national peak; resumable from its JSON-lines store.

Each point is run at ``rules.legitimacy`` - 0.005, + 0 and + 0.005 (4 runs each, scale 0.005, seed 1000, on the
shared executors). Its objective is

    loss of the FIT targets (uprising.country.fit.loss)
    + 4 x sum over (peak, deaths) x (-0.005, +0.005) of max(0, |log2 factor of the median| - 0.8)
    + 4 x sum over the three pattern checks of the share of runs failing it
    + 3 x max(0, ln(median national peak / 75,000))

The test targets are never read. Points: random ones in the axes' ranges (``--design``), then a (1+1) evolution
strategy around the best so far (``--refine``; each axis moved with probability 0.35 by a normal step of 0.15 of
its range, shrinking by 0.7 every 10 points). Every evaluated point is appended to ``STORE`` (one JSON line),
so a stopped search resumes where it was and a finished one makes no new runs. ``lpg_outside`` is a pseudo-axis:
one factor on every non-Mangystau city's LPG dependence.

    .venv/bin/python benchmarks/kazakhstan_v2_search.py STORE --design 1 --refine 150 [--start FILE]

(about 11 s a point on this machine's 2 cores; ``--start FILE``: KEY=VALUE pairs for the first point).
"""
import sys, json, math, time, os
import numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from uprising.country.scenario import CountryScenario
from uprising.country import fit as F, observables as O
from uprising.execution import tasks, run_many, default_executor

PATH = REPO / "scenarios" / "kazakhstan-2022-v2.toml"
AXES = {  # key: (low, high, log)
    "rules.legitimacy": (0.88, 0.93, False),
    "rules.hardship_spread": (0.05, 0.15, False),
    "price.elasticity": (0.02, 0.4, True),
    "exposure.tail": (0.2, 0.75, False),
    "exposure.most": (2.0, 50.0, True),
    "legitimacy.per_active": (0.001, 0.05, True),
    "legitimacy.max_loss": (0.003, 0.04, True),
    "legitimacy.memory_hours": (12, 96, True),
    "legitimacy.shock_memory_hours": (24, 192, True),
    "contagion.max_push": (0.0005, 0.03, True),
    "escalation.violence_margin": (0.05, 1.0, True),
    "escalation.backlash": (10, 10000, True),
    "escalation.attack_per_hour": (0.002, 0.1, True),
    "repression.arrest_per_hour": (0.001, 0.03, True),
    "lethal_force.kill_violent": (0.05, 0.6, False),
    "lethal_force.kill_active": (0.002, 0.05, True),
    "emergency.gathering_penalty": (0.0, 0.03, False),
    "emergency.curfew_penalty": (0.0, 0.05, False),
    "repression.injure": (0.02, 0.5, True),
    "lpg_outside": (0.02, 1.0, True),
}
KEYS = list(AXES)

def to_value(k, u):
    lo, hi, lg = AXES[k]
    u = min(max(u, 0.0), 1.0)
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if lg else lo + u * (hi - lo)

def to_unit(k, v):
    lo, hi, lg = AXES[k]
    return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) if lg else (v - lo) / (hi - lo)

BASE = CountryScenario.load(PATH)
TARGETS = F.load_targets(REPO / "scenarios" / "kazakhstan-2022-targets.csv", BASE).targets
FIT = [t for t in TARGETS if t.split == "fit"]
PATTERN = F.load_city_pattern(REPO / "data" / "kz2022" / "city_pattern.csv")

def expand(values):
    """The pseudo-key lpg_outside scales every non-Mangystau city's LPG dependence by one factor."""
    out = {k: v for k, v in values.items() if k != "lpg_outside"}
    f = values.get("lpg_outside", 1.0)
    for c in BASE.cities:
        if c.region != "Mangystau":
            out[f"cities.{c.name}.lpg_dependence"] = c.lpg_dependence * f
    return out

def evaluate(values, ex, reps=4, scale=0.005, seed=1000, deaths_stat="median", deaths_offset=10.0, cliff_limit=0.8):
    """The objective at ``values``. The defaults are the searches' up to the nineteenth; the joint search
    (``kazakhstan_v2_joint_search.py``) measures the deaths' factor on the mean of more runs, with a smaller
    offset and a lower limit (``deaths_stat="mean"``, ``deaths_offset``, ``cliff_limit``)."""
    sc0 = BASE.replace({"scale": scale, **expand(values)})
    L = values["rules.legitimacy"]
    scs = [sc0.replace({"rules.legitimacy": L + d}) for d in (-0.005, 0.0, 0.005)]
    items = [t for sc in scs for t in tasks(sc, reps, seed)]
    res = run_many(items, ex)
    groups = [res[i * reps:(i + 1) * reps] for i in range(3)]
    mid = groups[1]
    scores = F.score(FIT, mid)
    fit_loss = F.loss(scores)
    peaks = [float(np.median([O.peak(r)[0] for r in g])) for g in groups]
    stat = np.mean if deaths_stat == "mean" else np.median
    deaths = [float(stat([O.killed_by(r)["total"] for r in g])) for g in groups]
    fac = lambda a, b, c: abs(math.log2((a + c) / (b + c)))
    cliff = [fac(peaks[0], peaks[1], 500), fac(peaks[2], peaks[1], 500),
             fac(deaths[0], deaths[1], deaths_offset), fac(deaths[2], deaths[1], deaths_offset)]
    cliff_pen = 4.0 * sum(max(0.0, c - cliff_limit) for c in cliff)
    pat = F.score_city_pattern(PATTERN, mid)
    pat_pen = 4.0 * sum(1.0 - (v or 0.0) for v in pat.runs_passing.values())
    peak_pen = 3.0 * max(0.0, math.log(peaks[1] / 75000.0)) if peaks[1] > 0 else 0.0
    total = fit_loss + cliff_pen + pat_pen + peak_pen
    return {"values": values, "total": total, "fit": fit_loss, "cliff": cliff, "cliff_pen": cliff_pen,
            "pattern": pat.runs_passing, "pat_pen": pat_pen, "peaks": peaks, "deaths": deaths, "peak_pen": peak_pen,
            "errors": {s.target.label: round(s.error, 2) for s in scores}}

#: the evolution strategy's first step, as a share of each axis's range
STEP = 0.15


def main(out, n_design, n_refine, start=None, evaluate=evaluate, seed_offset=7, extra=lambda r: ""):
    """Random points, then the (1+1) evolution strategy, each point appended to ``out``; resumes from it.
    ``evaluate(values, executor) -> record`` scores a point; ``extra(record)`` adds to the progress line."""
    done = []
    if os.path.exists(out):
        done = [json.loads(l) for l in open(out)]
    rng = np.random.default_rng(len(done) + seed_offset)
    t0 = time.time()
    with default_executor(2) as ex:
        def run(vals, phase):
            r = evaluate(vals, ex)
            r["phase"] = phase
            with open(out, "a") as f:
                f.write(json.dumps(r) + "\n")
            done.append(r)
            best = min(done, key=lambda x: x["total"])
            print(f"{phase} {len(done)} total {r['total']:.2f} fit {r['fit']:.2f} cliff {r['cliff_pen']:.2f} pat {r['pat_pen']:.2f}{extra(r)} peak {r['peaks'][1]:.0f} | best {best['total']:.2f} ({time.time()-t0:.0f}s)", flush=True)
        if start and not done:
            run(start, "design")
        n_have = sum(1 for d in done if d["phase"] == "design")
        for i in range(n_have, n_design):
            perm = rng.random(len(KEYS))
            run({k: to_value(k, perm[j]) for j, k in enumerate(KEYS)}, "design")
        n_refined = sum(1 for d in done if d["phase"] == "refine")
        step = STEP * 0.7 ** (n_refined // 10)  # a resumed search goes on with the step it had reached
        for i in range(n_refined, n_refine):
            best = min(done, key=lambda x: x["total"])
            u = np.array([to_unit(k, best["values"][k]) for k in KEYS])
            cand = u + rng.normal(0, step, len(KEYS)) * (rng.random(len(KEYS)) < 0.35)
            vals = {k: to_value(k, cand[j]) for j, k in enumerate(KEYS)}
            run(vals, "refine")
            if (i + 1) % 10 == 0:
                step *= 0.7

if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--design", type=int, default=24)
    ap.add_argument("--refine", type=int, default=120)
    ap.add_argument("--start", default=None)
    a = ap.parse_args()
    start = None
    if a.start:
        start = {}
        for kv in open(a.start).read().split():
            k, v = kv.split("=")
            if k in AXES:
                start[k] = float(v)
        for k in KEYS:
            start.setdefault(k, to_value(k, 0.5))
    main(a.store, a.design, a.refine, start)
