"""A search of the casualty and violence axes of the version 2 candidate, with the organised core in people
(issue 14; docs/kazakhstan.md, "How it was fitted", the fifteenth and sixteenth searches).

The objective is ``benchmarks/kazakhstan_v2_search.py``'s: the loss of the **fit** targets of
``scenarios/kazakhstan-2022-targets.csv``, plus penalties for a cliff at L0 -+ 0.005 (median peak or deaths
moving by more than x1.74), for the three per-city pattern checks and for a national peak above 75,000; 4 runs
at scale 0.005, seed 1000, at each of three L0. The test targets are never read. Only these axes move, every
other value (the crowds' part: hardship, exposure, price, legitimacy, contagion) stays the file's:

    escalation.core_share (0.02-0.8, log)      lethal_force.kill_violent (0.05-1)
    lethal_force.kill_active (0.001-0.05, log) lethal_force.order_kill_violent (0.05-1)
    lethal_force.order_kill_active (0.005-0.2, log)
    escalation.attack_per_hour (0.001-0.1, log) escalation.attack_kill (0.002-0.2, log)
    escalation.resist (0.001-0.3, log)         repression.injure (0.02-0.5, log)
    sites.attack_per_hour (0.002-0.2, log)     lethal_force.return_fire (0.01-1, log; with --return-fire)

with ``escalation.core_in = "people"``. ``--sites-kill`` adds ``sites.killed_protesters`` (0.01-3, log: the attackers
the defenders of a state building kill per repelled attack) and ``--margin`` adds ``escalation.violence_margin``
(0.1-1, log) and ``escalation.backlash`` (10-1,000, log), which move the lattice (the seventeenth search);
``--site-injuries`` adds ``sites.injured_security`` and ``sites.injured_protesters`` (0.3-30 each, log: the people
hurt on each side in a repelled attack on a building or a retaking; the nineteenth search). The start is the file's values unless ``--start FILE`` (KEY=VALUE pairs)
says otherwise; then a (1+1) evolution strategy with a first step of ``--step`` (0.1) of each axis. Every
evaluated point is appended to ``STORE`` (one JSON line): a stopped search resumes.

    .venv/bin/python benchmarks/kazakhstan_v2_casualty_search.py STORE --refine 70 [--return-fire] [--sites-kill]
        [--margin] [--site-injuries] [--start FILE]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kazakhstan_v2_search as S  # noqa: E402

AXES = {
    "escalation.core_share": (0.02, 0.8, True),
    "lethal_force.kill_violent": (0.05, 1.0, False),
    "lethal_force.kill_active": (0.001, 0.05, True),
    "lethal_force.order_kill_violent": (0.05, 1.0, False),
    "lethal_force.order_kill_active": (0.005, 0.2, True),
    "escalation.attack_per_hour": (0.001, 0.1, True),
    "escalation.attack_kill": (0.002, 0.2, True),
    "escalation.resist": (0.001, 0.3, True),
    "repression.injure": (0.02, 0.5, True),
    "sites.attack_per_hour": (0.002, 0.2, True),
}


def file_value(key: str) -> float:
    section, name = key.split(".", 1)
    return float(getattr(getattr(S.BASE, section), name))


def evaluate(values: dict, ex) -> dict:
    """The objective at ``values`` with the file's L0 (the crowds' part is not searched here)."""
    r = S.evaluate({**values, "rules.legitimacy": float(S.BASE.rules["legitimacy"])}, ex)
    r["values"] = values
    return r


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--refine", type=int, default=70)
    ap.add_argument("--step", type=float, default=0.1, help="the evolution strategy's first step (share of range)")
    ap.add_argument("--return-fire", action="store_true", help="search lethal_force.return_fire too (0.01-1, log)")
    ap.add_argument("--sites-kill", action="store_true", help="search sites.killed_protesters too (0.01-3, log)")
    ap.add_argument("--margin", action="store_true",
                    help="search escalation.violence_margin (0.1-1, log) and escalation.backlash (10-1,000, log) too")
    ap.add_argument("--site-injuries", action="store_true",
                    help="search sites.injured_security and sites.injured_protesters too (0.3-30 each, log)")
    ap.add_argument("--start", default=None, help="a file of KEY=VALUE pairs for the first point")
    a = ap.parse_args()
    S.BASE = S.BASE.replace({"escalation.core_in": "people"})
    axes = dict(AXES)
    if a.return_fire:
        axes["lethal_force.return_fire"] = (0.01, 1.0, True)
    if a.sites_kill:
        axes["sites.killed_protesters"] = (0.01, 3.0, True)
    if a.site_injuries:
        axes["sites.injured_security"] = (0.3, 30.0, True)
        axes["sites.injured_protesters"] = (0.3, 30.0, True)
    if a.margin:
        axes["escalation.violence_margin"] = (0.1, 1.0, True)
        axes["escalation.backlash"] = (10.0, 1000.0, True)
    S.AXES.clear()
    S.AXES.update(axes)
    S.KEYS[:] = list(S.AXES)
    S.STEP = a.step
    start = {k: max(file_value(k), S.AXES[k][0]) for k in S.KEYS}  # a value off (0) starts at the axis's low end
    if a.start:
        start.update({k: float(v) for k, v in (kv.split("=") for kv in open(a.start).read().split()) if k in S.AXES})
    S.main(a.store, 0, a.refine, start, evaluate=evaluate, extra=lambda r: f" deaths {r['deaths']}")
