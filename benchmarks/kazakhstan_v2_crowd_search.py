"""The crowds' values of the version 2 candidate searched again with its casualty values held (issue 14; an
exploration after the fourth candidate, docs/kazakhstan.md, "What is left").

The objective is ``benchmarks/kazakhstan_v2_quiet_search.py``'s: the loss of the **fit** targets, plus penalties for
a cliff at L0 -+ 0.005 (median peak or deaths moving by more than x1.74; 4 runs at scale 0.005, seed 1000), for the
three per-city pattern checks, for a national peak above 75,000 and for a standing crowd with no shock. The test
targets are never read. Only the crowds' values move (hardship, price, exposure, legitimacy, news, the emergency's
penalties and the common factor on the LPG dependence outside Mangystau, ``lpg_outside``, 1 = the file's); the
casualty values and every input stay the file's. The start is the file; then a (1+1) evolution strategy with a
first step of ``--step`` (0.05) of each axis. Every evaluated point is appended to ``STORE`` (one JSON line): a
stopped search resumes.

    .venv/bin/python benchmarks/kazakhstan_v2_crowd_search.py STORE --refine 110 [--step 0.05]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kazakhstan_v2_quiet_search as Q  # noqa: E402

S = Q.S

AXES = {
    "rules.legitimacy": (0.89, 0.96, False), "rules.hardship_spread": (0.1, 0.35, False),
    "price.elasticity": (0.02, 0.4, True), "price.adjustment_hours": (6.0, 168.0, True),
    "exposure.tail": (0.2, 0.75, False), "exposure.most": (2.0, 50.0, True),
    "legitimacy.per_active": (0.001, 0.05, True), "legitimacy.max_loss": (0.003, 0.04, True),
    "legitimacy.memory_hours": (12.0, 192.0, True), "legitimacy.shock_memory_hours": (24.0, 192.0, True),
    "contagion.max_push": (0.0005, 0.03, True), "contagion.media_weight": (0.5, 50.0, True),
    "emergency.gathering_penalty": (0.0, 0.05, False), "emergency.curfew_penalty": (0.0, 0.05, False),
    "lpg_outside": (0.2, 5.0, True),
}


def file_value(key: str) -> float:
    """The file's value of an axis (``lpg_outside``: 1, the file's LPG dependences as they are)."""
    if key == "lpg_outside":
        return 1.0
    section, name = key.split(".", 1)
    return float(S.BASE.rules[name]) if section == "rules" else float(getattr(getattr(S.BASE, section), name))


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--refine", type=int, default=110)
    ap.add_argument("--step", type=float, default=0.05, help="the evolution strategy's first step (share of range)")
    a = ap.parse_args()
    S.AXES.clear()
    S.AXES.update(AXES)
    S.KEYS[:] = list(S.AXES)
    S.STEP = a.step
    S.main(a.store, 0, a.refine, {k: file_value(k) for k in S.KEYS}, evaluate=Q.evaluate, seed_offset=11,
           extra=lambda r: f" deaths {r['deaths']} standing {r['standing_per_1000']:.2f}")
