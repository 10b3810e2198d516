"""The suite's runs: what each of the paper's runs measures, step by step (the work items of its tasks).

Each function is a task's ``job`` for :func:`uprising.execution.run_many`
(``job(scenario, seed, replicate, **options)``): it runs on a worker and returns
plain arrays and numbers for :mod:`uprising.analysis` to measure. The seed is
used as given (``model.init(scenario, seed)``), so a run is the same whichever
worker makes it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import analysis
from .. import model as _model
from ..kernels import codes
from ..scenario import Scenario
from ..simulate import simulate


def run1_job(scenario: Scenario, seed: int, replicate: int | None = None, *, steps: int,
             snapshots: tuple[int, ...], null_draws: int) -> dict:
    """Run 1: deception snapshots and, with citizens fixed, transitions after cops leave.

    At each step of ``snapshots`` the correlation of :func:`uprising.analysis.deception`
    is measured against ``null_draws`` shuffles of the cops; while citizens do not
    move, :func:`uprising.analysis.transition_after_cops_leave` is summed over the
    steps from 10 on.
    """
    mdl, state = _model.init(scenario, seed)
    legit = _model.legitimacy_path(scenario, 0, steps)
    cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
    shape = (scenario.height, scenario.width)
    r, shape_v = scenario.citizen_vision, scenario.vision_shape
    records = []
    fell_total = fell_turned = other_total = other_turned = 0
    citizens_fixed = not scenario.movement
    before = state.kinds().reshape(shape).copy()
    example = None
    for t in range(steps):
        _model.step(mdl, state, legit[t:t + 1], cops[t:t + 1])
        after = state.kinds().reshape(shape).copy()
        if citizens_fixed and t >= 10:
            a, b, c, d = analysis.transition_after_cops_leave(before, after, state.hardship, float(legit[t]),
                                                              scenario.threshold, r, shape_v)
            fell_total += a
            fell_turned += b
            other_total += c
            other_turned += d
        if t + 1 in snapshots:
            obs = analysis.deception(after, r, shape_v)
            null = analysis.deception_null(after, r, shape_v, np.random.default_rng((seed, t + 1)), null_draws)
            null = null[np.isfinite(null)]
            records.append({"step": t + 1, "r_obs": obs, "null_mean": float(null.mean()) if null.size else math.nan,
                            "null_sd": float(null.std()) if null.size else math.nan,
                            "null_q01": float(np.quantile(null, 0.01)) if null.size else math.nan,
                            "p_perm": float((1 + np.sum(null <= obs)) / (null.size + 1)) if null.size else math.nan,
                            "active": int((after == codes.ACTIVE).sum())})
            if example is None:
                example = (after.copy(), null.copy())
        before = after
    return {"seed": seed, "records": records, "transitions": (fell_total, fell_turned, other_total, other_turned),
            "example": example}


def run2_job(scenario: Scenario, seed: int, replicate: int | None = None, *, steps: int) -> dict:
    """Run 2: actives and jailed per step, and tension (deterred quiet citizens) per step
    (:func:`uprising.analysis.tension`)."""
    mdl, state = _model.init(scenario, seed)
    legit = _model.legitimacy_path(scenario, 0, steps)
    cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
    counts = np.zeros((steps + 1, codes.OUT_SIZE), dtype=np.int64)
    c0 = state.counts()
    counts[0, :4] = (c0["quiet"], c0["active"], c0["jailed"], c0["cops"])
    deterred = np.zeros(steps + 1, dtype=np.int64)
    latent = np.zeros(steps + 1)
    deterred[0], latent[0] = analysis.tension(state.kinds(), state.hardship, scenario.legitimacy, scenario.threshold)
    for t in range(steps):
        counts[t + 1] = _model.step(mdl, state, legit[t:t + 1], cops[t:t + 1])[0]
        deterred[t + 1], latent[t + 1] = analysis.tension(state.kinds(), state.hardship, float(legit[t]),
                                                          scenario.threshold)
    return {"seed": seed, "active": counts[:, codes.OUT_ACTIVE], "jailed": counts[:, codes.OUT_JAILED],
            "deterred": deterred, "latent": latent, "citizens": state.citizens}


def run34_job(scenario: Scenario, seed: int, replicate: int | None = None, *, steps: int) -> dict:
    """Runs 3 and 4: actives, jailed and legitimacy per step of one plain run (:func:`uprising.simulate.simulate`)."""
    res = simulate(scenario, steps, seed)
    return {"seed": seed, "active": res.column("active"), "jailed": res.column("jailed"),
            "legitimacy": res.legitimacy, "citizens": res.citizens}
