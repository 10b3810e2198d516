"""Timing of uprising alone, for ``uprising bench`` and ``benchmarks/``.

Rates count every agent (citizens and cops) per step, as Mesa's benchmarks do.
The kernels are compiled (or loaded from numba's cache) before timing starts.
"""

from __future__ import annotations

import statistics
import time

from . import model as _model
from .scenario import Scenario

MESA_RULES = Scenario(name="bench", width=40, height=40, citizen_density=0.7, cop_density=0.074, legitimacy=0.8,
                      max_jail_term=1000, arrest_rule="round_half_even", vision_shape="von_neumann",
                      order="act_then_move", placement="binomial", jail_countdown="own_activation",
                      jailed_hold_cell=True)


def default_steps(edge: int) -> int:
    """Enough steps for a stable timing (about 2-5e7 agent-steps)."""
    return max(5, min(2000, int(3e7 / (0.774 * edge * edge))))


def measure(edge: int, activation: str, steps: int | None = None, repeats: int = 3, seed: int = 0,
            base: Scenario | None = None) -> dict:
    """Median agent-steps/s of ``repeats`` runs of ``steps`` steps on an edge x edge lattice."""
    scenario = (base or MESA_RULES).replace(width=edge, height=edge, activation=activation)
    steps = steps or default_steps(edge)
    warm_model, warm_state = _model.init(scenario.replace(width=max(15, 2 * int(scenario.citizen_vision) + 1),
                                                          height=max(15, 2 * int(scenario.citizen_vision) + 1)), seed)
    _model.step(warm_model, warm_state, _model.legitimacy_path(warm_model.scenario, 0, 2),
                _model.cop_targets(warm_model.scenario, warm_state.initial_cops, 0, 2))
    rates, nbytes, agents = [], 0, 0
    for r in range(repeats):
        mdl, state = _model.init(scenario, seed + r)
        agents = state.citizens + state.initial_cops
        nbytes = state.nbytes()
        leg = _model.legitimacy_path(scenario, 0, steps)
        cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
        t0 = time.perf_counter()
        _model.step(mdl, state, leg, cops)
        rates.append(agents * steps / (time.perf_counter() - t0))
    return {"edge": edge, "activation": activation, "agents": agents, "steps": steps, "rate": statistics.median(rates),
            "rates": rates, "bytes_per_agent": nbytes / max(agents, 1)}
