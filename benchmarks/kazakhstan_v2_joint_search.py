"""A joint search of the crowds' and the casualties' values of the version 2 candidate (issue 14; docs/kazakhstan.md,
the twenty-first and twenty-second searches), with a stricter measure of the deaths' cliff.

The fourth candidate met every criterion of issue 14 but the deaths' factor at L0 -+ 0.005 (x2.20 / x2.44 at scale
0.02). Its searches measured that factor on the median of 4 runs with 10 deaths added to each side, which hid it
(28 -> 11.5 deaths read as x1.77). Probes (10 runs, seed 101, scale 0.005) found where the steepness comes from:
the cap on exposure, ``exposure.most`` (11.5): with the most exposed capped, the crowd is the top of the bounded
hardship law again, a gap of about 0.2 below ``T / (1 - L)`` that a move of 0.005 in L changes by a third. With the
cap at 20 the factors are x1.57 / x1.42 (peak) and x1.54 / x1.75 (deaths), but the onsets come early and the toll is
3 times the record's; the crowds and the casualties must be refitted together.

The objective is ``kazakhstan_v2_quiet_search.py``'s (fit loss, the pattern's, the peak's and the standing crowd's
penalties) with the cliff measured on 5 runs a point (seed 1000, scale 0.005), the deaths' factor on the **mean**
with 3 deaths added to each side, and the penalty starting at |log2 factor| 0.7 (x1.62) instead of 0.8, so that a
candidate keeps a margin below x2 on other seeds. The test targets are never read. Axes: the crowd search's
fifteen (``kazakhstan_v2_crowd_search`` in docs/kazakhstan.md, with ``exposure.most`` over 5-60) and the casualty
search's thirteen (``kazakhstan_v2_casualty_search.py --return-fire --site-injuries``). A (1+1) evolution strategy
from the file's values (or ``--start FILE``, KEY=VALUE pairs), first step ``--step`` (0.08) of each axis's range;
every point is appended to ``STORE`` (one JSON line), so a stopped search resumes.

    .venv/bin/python benchmarks/kazakhstan_v2_joint_search.py STORE --refine 250 [--start FILE] [--step 0.08]
        [--focus] [--reps 5]

``--criteria`` adds the penalty on ``CRITERIA``; ``--axes K1,K2,...`` keeps only those axes (the twenty-third
search). ``--focus`` searches only the eighteen axes of ``FOCUS`` (the crowd of a city the price reaches little, and the
toll), with ``exposure.most`` over 12-60, from ``--start``; ``--reps`` sets the runs a point (5).

(about 16 s a point on this machine's 2 cores). The twenty-first search (all 28 axes, from the file's values,
store ``docs/data/kazakhstan-v2-joint-search-21.jsonl``) was stopped after 80 points: moving about ten axes at a
time it stayed by the fourth candidate, at a cap of 10.8, and its best points were the noise of 5 runs. The
twenty-second (``--focus --step 0.1``, from the fourth candidate with the cap at 20 and ``kill_violent`` and
``return_fire`` halved; store ``-22``, 182 points) gave the fifth point (its best; not adopted, docs/kazakhstan.md),
and the twenty-third (``--criteria --step 0.06`` on 13 axes from it; store ``-23``, 71 points) did not raise its
4 January crowd.

Where the base scenario has availability on, ``availability.away`` (0-0.8; docs/country-model.md) is a crowd axis
and a focus axis too, so a day's participants can outnumber the crowd at once. Searches 24-26 ran on
``--base docs/data/kazakhstan-v2-joint-search-24-base.toml`` (the
fourth candidate with availability on and Taraz's police off the streets on 5-6 January): the twenty-fourth
(``--focus --criteria --step 0.08`` from the fifth point with L0 0.9165 and ``away`` 0.3; store ``-24``), the
twenty-fifth (``--focus --criteria --step 0.06`` from ``away`` 0.45, L0 0.913 and the fifth point's
``kill_violent`` and ``attack_per_hour`` times 0.7; store ``-25``) and the twenty-sixth (``--criteria --axes``
the focus axes and ``escalation.violence_margin``, ``--cliff-limit 0.5``, from search 25's second point with the
margin at 0.45; store ``-26``). Their results are in docs/kazakhstan.md ("Availability and Taraz's police").

Searches 27 and 28 ran on ``--base docs/data/kazakhstan-v2-joint-search-27-base.toml``: the fourth candidate with
the threshold T at 0.2 instead of Epstein's 0.1, so the quiet start's bound L0 > 1 - T sits at 0.8 and 0.005 of L0
is half as large a share of ``1 - L0``; the axes in units of the threshold (``THRESHOLD_UNIT_AXES``) and the
legitimacy's range move with T. The twenty-seventh (``--focus --criteria --step 0.06`` from the base with L0 0.82;
store ``-27``, 109 points) and the twenty-eighth (``--focus --criteria --criteria-weight 20 --step 0.04`` from
search 27's best with L0 0.8235; store ``-28``). docs/kazakhstan.md, "The threshold's scale".

Searches 29-31 ran on the fifth candidate (``scenarios/kazakhstan-2022-v2.toml`` as committed then) with the
injured security personnel read through a reporting delay and the 08:51 count of 6 January among the criteria, all
with ``--criteria --criteria-weight 20 --step 0.06 --axes``: the twenty-ninth on the delay and the casualty axes
(stopped after 29 points), the thirtieth with ``sites.state_weight`` too (stopped after 27 points), and the
thirty-first (``--refine 60``, store ``-31``, 61 points) on the axes that leave the lattices as they were
(``reporting.security_injured_delay_hours``, ``sites.injured_security``, ``sites.injured_protesters``,
``sites.state_weight``, ``sites.attack_per_hour``, ``escalation.resist``, ``repression.injure``), whose best is
search 31's point. The thirty-second (``--refine 35``, store ``-32``, 21 points, stopped) searched
``sites.armed_injuries``, the delay, ``sites.injured_security`` and ``sites.attack_per_hour`` with the ``armed``
events in the base, from ``armed_injuries`` 8 (a start taken from an offline table that showed the test counts too:
docs/kazakhstan.md says so); its best is the sixth candidate. The thirty-third (store ``-33``, 19 points, stopped)
started the same axes from no arming and stopped at a worse fit. docs/kazakhstan.md, "Injuries as they were counted";
``benchmarks/kazakhstan_v2_injury_counts.py`` measures the ridge.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kazakhstan_v2_casualty_search as C  # noqa: E402
import kazakhstan_v2_crowd_search as CR  # noqa: E402
import kazakhstan_v2_quiet_search as Q  # noqa: E402

S = Q.S
#: the crowd search's axes, with the price's adjustment up to 240 hours and the exposure's cap over 5-60
CROWD_AXES = {**CR.AXES, "price.adjustment_hours": (6.0, 240.0, True), "exposure.most": (5.0, 60.0, True)}
#: searched (and a focus axis) only where the base scenario has availability on (searches 24-26), so the stores of
#: searches 21-23, made before it, resume as they were
AVAILABILITY_AXES = {"availability.away": (0.0, 0.8, False)}
CASUALTY_AXES = {**C.AXES, "lethal_force.return_fire": (0.01, 1.0, True),
                 "sites.injured_security": (0.3, 30.0, True), "sites.injured_protesters": (0.3, 30.0, True)}
#: axes only ``--axes`` names: who is violent by grievance rather than by organisation (the twenty-sixth search),
#: the mean delay of the security injuries' count (the twenty-ninth: an observation,
#: uprising.country.scenario.Reporting) and the sites' weight on state buildings (the thirtieth)
EXTRA_AXES = {"escalation.violence_margin": (0.05, 1.0, True),
              "reporting.security_injured_delay_hours": (6.0, 400.0, True),
              # the thirtieth: how readily the crowds go for government and police buildings
              "sites.state_weight": (1.0, 100.0, True),
              # the thirty-second: police hurt per confrontation over a building where the crowds are armed
              "sites.armed_injuries": (1.0, 50.0, True)}

#: ``--focus``: the axes that move the crowd of a city the price reaches little (the exposure's cap binds there,
#: docs/kazakhstan.md) and the toll, with ``exposure.most`` over 12-60; the other crowd values stay the start's
FOCUS = ["rules.legitimacy", "rules.hardship_spread", "price.elasticity", "price.adjustment_hours", "exposure.tail",
         "exposure.most", "lpg_outside", "contagion.max_push", "contagion.media_weight", "escalation.core_share",
         "lethal_force.kill_violent", "lethal_force.return_fire", "escalation.attack_per_hour",
         "sites.attack_per_hour", "repression.injure", "escalation.resist", "sites.injured_security",
         "sites.injured_protesters", *AVAILABILITY_AXES]

#: axes in units of the threshold (net grievance), and Epstein's threshold they were set for: where the base scenario
#: has another threshold T (the twenty-seventh search), these ranges are multiplied by T / 0.1 and the legitimacy's
#: range moves to (1 - 1.1 T, 1 - 0.4 T), the same place relative to the quiet start's bound L0 > 1 - T
THRESHOLD_UNIT_AXES = ("contagion.max_push", "emergency.gathering_penalty", "emergency.curfew_penalty",
                       "escalation.violence_margin")
EPSTEIN_THRESHOLD = 0.1


def threshold_axes(axes: dict, threshold: float) -> dict:
    """``axes`` for a base scenario whose threshold is ``threshold`` (see THRESHOLD_UNIT_AXES)."""
    k = threshold / EPSTEIN_THRESHOLD
    out = {key: ((lo * k, hi * k, log) if key in THRESHOLD_UNIT_AXES else (lo, hi, log))
           for key, (lo, hi, log) in axes.items()}
    if "rules.legitimacy" in out and k != 1.0:
        out["rules.legitimacy"] = (1.0 - 1.1 * threshold, 1.0 - 0.4 * threshold, False)
    return out


#: the cliff's measure (see the docstring)
REPS, DEATHS_OFFSET, CLIFF_LIMIT = 5, 3.0, 0.7

#: ``--criteria``: the fit targets that issue 14's "done means" names with a factor of 1.5 (the 4 January
#: participants, and the injured at every dated point that is a fit target), each penalised 6 per unit of its
#: |log error| beyond ln 1.3, so that a candidate keeps a margin below x1.5
CRITERIA = ("participants_day on 04 Jan", "security_injured_cumulative by 06 Jan",
            "injured_sought_help (Almaty) by 05 Jan 14:16",
            # from the twenty-ninth search, with the reporting delay: the Interior Ministry's first count
            # (data/kz2022/targets.csv; absent from the targets of the earlier searches). Its final count is a test
            # target (a tally after 7 January) and is not here.
            "security_injured_cumulative by 06 Jan 08:51")
CRITERIA_ON = False
#: the CRITERIA penalty per unit of |log error| beyond ln 1.3 (``--criteria-weight``; 6 until search 27, 20 in 28)
CRITERIA_WEIGHT = 6.0


def evaluate(values: dict, ex) -> dict:
    """The quiet search's objective at ``values`` with this search's cliff measure, plus the CRITERIA penalty when
    ``CRITERIA_ON`` (``--criteria``)."""
    if "rules.legitimacy" not in values:  # --axes without it: the base's L0 (the cliff is measured about it)
        values = {**values, "rules.legitimacy": float(S.BASE.rules["legitimacy"])}
    out = Q.evaluate(values, ex, reps=REPS, deaths_stat="mean", deaths_offset=DEATHS_OFFSET, cliff_limit=CLIFF_LIMIT)
    crit = (sum(CRITERIA_WEIGHT * max(0.0, out["errors"][label] - math.log(1.3)) for label in CRITERIA
                if label in out["errors"])
            if CRITERIA_ON else 0.0)
    out.update({"criteria_pen": crit, "total": out["total"] + crit})
    return out


file_value = CR.file_value


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--refine", type=int, default=250)
    ap.add_argument("--step", type=float, default=0.08, help="the evolution strategy's first step (share of range)")
    ap.add_argument("--start", default=None, help="a file of KEY=VALUE pairs for the first point")
    ap.add_argument("--focus", action="store_true", help="search only the FOCUS axes, exposure.most over 12-60")
    ap.add_argument("--reps", type=int, default=REPS, help="runs a point at each of the three L0 (5)")
    ap.add_argument("--criteria", action="store_true", help="penalise the CRITERIA targets beyond x1.3")
    ap.add_argument("--axes", default=None, help="comma-separated: search only these of the axes")
    ap.add_argument("--criteria-weight", type=float, default=CRITERIA_WEIGHT,
                    help="the --criteria penalty per unit of |log error| beyond ln 1.3 (6)")
    ap.add_argument("--cliff-limit", type=float, default=CLIFF_LIMIT,
                    help="|log2 factor| above which the cliff is penalised (0.7: x1.62)")
    ap.add_argument("--base", default=None,
                    help="the scenario whose values the axes replace (default scenarios/kazakhstan-2022-v2.toml)")
    a = ap.parse_args()
    if a.base:
        S.BASE = S.CountryScenario.load(a.base)
    REPS = a.reps
    CLIFF_LIMIT = a.cliff_limit
    CRITERIA_ON = a.criteria
    CRITERIA_WEIGHT = a.criteria_weight
    S.AXES.clear()
    S.AXES.update({**CROWD_AXES, **CASUALTY_AXES, **(AVAILABILITY_AXES if S.BASE.availability.enabled else {})})
    if a.focus:
        S.AXES.update({"exposure.most": (12.0, 60.0, True)})
        for k in [k for k in S.AXES if k not in FOCUS]:
            del S.AXES[k]
    if a.axes:
        S.AXES.update({k: v for k, v in EXTRA_AXES.items() if k in a.axes.split(",")})
        for k in [k for k in S.AXES if k not in a.axes.split(",")]:
            del S.AXES[k]
    scaled = threshold_axes(S.AXES, float(S.BASE.rules["threshold"]))
    S.AXES.clear()
    S.AXES.update(scaled)
    S.KEYS[:] = list(S.AXES)
    S.STEP = a.step
    start = {k: min(max(file_value(k), S.AXES[k][0]), S.AXES[k][1]) for k in S.KEYS}
    if a.start:
        start.update({k: float(v) for k, v in (kv.split("=") for kv in open(a.start).read().split()) if k in S.AXES})
    S.main(a.store, 0, a.refine, start, evaluate=evaluate, seed_offset=21,
           extra=lambda r: f" deaths {[round(d, 1) for d in r['deaths']]} standing {r['standing_per_1000']:.2f}")
