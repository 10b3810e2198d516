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

    .venv/bin/python benchmarks/kazakhstan_v2_quiet_search.py STORE --design 24 --refine 150 [--start FILE] [--local]

``--local`` adds the axis ``contagion.local_weight`` (0.001-1, log): a city's own unrest pushing its citizens,
the growth within a city over days that a quiet start needs (docs/kazakhstan.md, the twelfth search);
``--local-bound`` adds ``contagion.local_max_push`` (0.0005-0.05, log), that push's bound of its own (the
thirteenth). ``--beta`` draws hardship from a beta law (bounded by 1, so with ``L0`` above ``1 - T`` nobody can be
out without a shock) and adds the axes the bounded law needs: the news gain ``contagion.media_weight``
(0.5-50, log), the organised core ``escalation.core_share`` (0.0005-0.05, log), the police injured in
confrontations ``escalation.resist`` (0.001-0.3, log) and the hours over which a price is felt
``price.adjustment_hours`` (6-168, log), with the hardship spread over 0.1-0.35, L0 over 0.89-0.96 and the
common factor on the LPG dependence outside Mangystau up to 5 (the fourteenth search). ``--step`` sets the
evolution strategy's first step, as a share of each axis's range (0.15 unless given).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kazakhstan_v2_search as S  # noqa: E402
from uprising.country.scenario import CountryScenario  # noqa: E402
from uprising.execution import run_many, tasks  # noqa: E402

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


def evaluate(values: dict, ex, **cliff) -> dict:
    """``kazakhstan_v2_search.evaluate`` (``cliff``: its keyword arguments, the cliff's measure) plus the standing
    crowd's penalty."""
    out = S.evaluate(values, ex, **cliff)
    s = standing(values, ex)
    pen = 4.0 * max(0.0, math.log2(max(s, 1e-9) / QUIET))
    out.update({"standing_per_1000": s, "standing_pen": pen, "total": out["total"] + pen})
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--design", type=int, default=24)
    ap.add_argument("--refine", type=int, default=150)
    ap.add_argument("--start", default=None, help="a file of KEY=VALUE pairs for the first point")
    ap.add_argument("--local", action="store_true", help="search contagion.local_weight too")
    ap.add_argument("--local-bound", action="store_true",
                    help="with --local, search contagion.local_max_push too (the own push's own bound)")
    ap.add_argument("--beta", action="store_true",
                    help="hardship from a beta law, with the news gain, the organised core, resistance and the "
                    "price's adjustment time searched too")
    ap.add_argument("--step", type=float, default=0.15, help="the evolution strategy's first step (share of range)")
    a = ap.parse_args()
    S.STEP = a.step
    if a.local:
        S.AXES["contagion.local_weight"] = (0.001, 1.0, True)
    if a.beta:
        S.BASE = S.BASE.replace({"rules.hardship_distribution": "beta"})
        S.AXES.update({"rules.legitimacy": (0.89, 0.96, False), "rules.hardship_spread": (0.1, 0.35, False),
                       "contagion.media_weight": (0.5, 50.0, True), "escalation.core_share": (0.0005, 0.05, True),
                       "escalation.resist": (0.001, 0.3, True), "price.adjustment_hours": (6.0, 168.0, True),
                       "lpg_outside": (0.02, 5.0, True)})
    if a.local_bound:
        S.AXES["contagion.local_max_push"] = (0.0005, 0.05, True)
    S.KEYS[:] = list(S.AXES)
    start = None
    if a.start:
        start = {k: float(v) for k, v in (kv.split("=") for kv in open(a.start).read().split()) if k in S.AXES}
        for k in S.KEYS:
            start.setdefault(k, S.to_value(k, 0.5))
    S.main(a.store, a.design, a.refine, start, evaluate=evaluate, seed_offset=11,
           extra=lambda r: f" standing {r['standing_per_1000']:.2f}")
