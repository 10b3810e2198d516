"""A search for a version 2 candidate with a quiet start (issue 14): the objective of
``benchmarks/kazakhstan_v2_search.py`` plus a penalty on the people out with no price shock at all.

The first candidate of ``kazakhstan_v2_search.py`` met the no-cliff criterion with a hardship law so wide that
4.7 people per 1,000 are out nationally with no shock (docs/kazakhstan.md): its onsets all fall on 1 January
and its unrest never ends. This search adds to that objective

    + 4 x max(0, log2(s / 0.3)),   s = national people out per 1,000 residents, hours 1-48, with no shock

(one run at the point's L0, scale 0.005, with the LPG price left at 60 and every other event dropped), so a
point whose standing crowd is above 0.3 per 1,000 pays 4 per doubling. It searches the same axes as
``kazakhstan_v2_search.py`` with the hardship spread over 0.05-0.25 and L0 over 0.88-0.96, and one more:
``policing.restraint_margin`` (1-4, log), the calm of dialogue policing in Zhanaozen and Aktau. The test targets
are never read. Every evaluated point is appended to ``STORE`` (one JSON line): a stopped search resumes.

    .venv/bin/python benchmarks/kazakhstan_v2_quiet_search.py STORE --design 24 --refine 150 [--start FILE]
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kazakhstan_v2_search as S  # noqa: E402
from uprising.country.scenario import CountryScenario  # noqa: E402
from uprising.execution import default_executor, run_many, tasks  # noqa: E402

S.AXES.update({"rules.legitimacy": (0.88, 0.96, False), "rules.hardship_spread": (0.05, 0.25, False),
               "policing.restraint_margin": (1.0, 4.0, True)})
S.KEYS[:] = list(S.AXES)

#: most people out per 1,000 residents, nationally, with no shock, before the penalty starts
QUIET = 0.3


def no_shock(scenario: CountryScenario) -> CountryScenario:
    """The scenario over its first two days with the LPG price left as it was and no other event."""
    d = scenario.to_dict()
    d["events"] = [e for e in d["events"] if e.get("id") == "price-rise"]
    d["variants"] = {}
    d["clock"]["end"] = "2022-01-03T00:00"
    return CountryScenario.from_dict(d).replace({"events.price-rise.price": d["price"]["before"]})


def standing(values: dict, ex, scale: float = 0.005, seed: int = 1000) -> float:
    """People out per 1,000 residents nationally, averaged over hours 1-48, with no shock (one run)."""
    sc = no_shock(S.BASE.replace({"scale": scale, **S.expand(values)}))
    (r,) = run_many(tasks(sc, 1, seed), ex)
    return float(r.unrest()[:, 1:].sum(axis=0).mean() * 1000.0 / r.citizens.sum())


def evaluate(values: dict, ex) -> dict:
    out = S.evaluate(values, ex)
    s = standing(values, ex)
    pen = 4.0 * max(0.0, math.log2(max(s, 1e-9) / QUIET))
    out.update({"standing_per_1000": s, "standing_pen": pen, "total": out["total"] + pen})
    return out


def main(store: str, n_design: int, n_refine: int, start: dict | None = None) -> None:
    done = [json.loads(line) for line in open(store)] if os.path.exists(store) else []
    rng = np.random.default_rng(len(done) + 11)
    t0 = time.time()
    with default_executor(2) as ex:
        def run(vals: dict, phase: str) -> None:
            r = evaluate(vals, ex)
            r["phase"] = phase
            with open(store, "a") as f:
                f.write(json.dumps(r) + "\n")
            done.append(r)
            best = min(done, key=lambda x: x["total"])
            print(f"{phase} {len(done)} total {r['total']:.2f} fit {r['fit']:.2f} cliff {r['cliff_pen']:.2f} "
                  f"pat {r['pat_pen']:.2f} standing {r['standing_per_1000']:.2f} peak {r['peaks'][1]:.0f} | "
                  f"best {best['total']:.2f} ({time.time() - t0:.0f}s)", flush=True)
        if start and not done:
            run(start, "design")
        n_have = sum(1 for d in done if d["phase"] == "design")
        for _ in range(n_have, n_design):
            u = rng.random(len(S.KEYS))
            run({k: S.to_value(k, u[j]) for j, k in enumerate(S.KEYS)}, "design")
        step = 0.15
        n_refined = sum(1 for d in done if d["phase"] == "refine")
        step *= 0.7 ** (n_refined // 10)
        for i in range(n_refined, n_refine):
            best = min(done, key=lambda x: x["total"])
            u = np.array([S.to_unit(k, best["values"][k]) for k in S.KEYS])
            cand = u + rng.normal(0, step, len(S.KEYS)) * (rng.random(len(S.KEYS)) < 0.35)
            run({k: S.to_value(k, cand[j]) for j, k in enumerate(S.KEYS)}, "refine")
            if (i + 1) % 10 == 0:
                step *= 0.7


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--design", type=int, default=24)
    ap.add_argument("--refine", type=int, default=150)
    ap.add_argument("--start", default=None, help="a file of KEY=VALUE pairs for the first point")
    a = ap.parse_args()
    start = None
    if a.start:
        start = {k: float(v) for k, v in (kv.split("=") for kv in open(a.start).read().split()) if k in S.AXES}
        for k in S.KEYS:
            start.setdefault(k, S.to_value(k, 0.5))
    main(a.store, a.design, a.refine, start)
