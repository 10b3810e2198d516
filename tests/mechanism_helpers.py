"""Shared helpers of the mechanism tests, one file per mechanism module (tests/test_mechanism_*.py).

Part 1 of each file: the mechanism's ``step`` on a hand-built :class:`Context` (no kernel), run as the driver
runs it (:func:`uprising.country.model.running` and :func:`uprising.country.model.step_inputs`), checked
against the equation in its module's docstring; switched off, a mechanism is absent from the run and leaves
Model I's neutral inputs alone (tests/test_mechanism_registry.py).

Part 2: the direction of each mechanism's effect on a seeded ensemble of the synthetic two-towns country.
Each test runs a baseline A and a treatment B of the synthetic two-towns country for the same 8 replicates
# (seed 2022, replicates 0-7). A replicate starts from the same lattices in A and B (each city's stream
# depends on the seed, the replicate and its name only), so the pairs share their initial conditions, though
# their random streams part as soon as the treatment changes a decision. Effects are asserted on the ensemble
# mean, with a margin well inside the effect measured when the test was written, and on the pairs, allowing
# one reversed pair of eight. Exact statements (nobody is killed with lethal force off) are asserted exactly.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from uprising.clock import Clock
from uprising.country.model import running, step_inputs
from uprising.country.scenario import EVENT_KINDS
from uprising.country.simulate import simulate_country
from uprising.mechanisms.base import CompiledEvent, Context, Mechanism, Observation, Params, TickInputs
from uprising.mechanisms.contagion import ContagionParams

START = dt.datetime(2022, 1, 1)


# ================================================================== part 1: equations on a hand-built context


def event(kind: str, first: int, stop: int | None = None, cities=(True, True, True), **fields) -> CompiledEvent:
    """A compiled event acting in steps first <= step < stop (stop None: first + 1000)."""
    instant = kind in ("price", "legitimacy", "shoot_order")
    when = {"at": "2022-01-01T00:00"} if instant else {"start": "2022-01-01T00:00"}
    spec = EVENT_KINDS[kind](kind=kind, id=f"{kind}-{first}", **when, **fields)
    return CompiledEvent(spec.id, kind, first, first + 1000 if stop is None else stop, np.array(cities, dtype=bool),
                         spec, START, None)


def context(*events: CompiledEvent, tick_hours: float = 1.0, hours: float = 96, agents=(1000, 500, 250),
            police=(50, 30, 20), base_legitimacy=(0.9, 0.8, 0.7), lpg=(1.0, 0.5, 0.0), distance=None,
            capacity=(-1, -1, -1), scale: float = 0.01) -> Context:
    clock = Clock(START, START + dt.timedelta(hours=hours), tick_hours)
    n = len(agents)
    if distance is None:
        distance = np.array([[0.0, 100.0, 400.0], [100.0, 0.0, 300.0], [400.0, 300.0, 0.0]])[:n, :n]
    return Context(clock=clock, names=tuple(f"c{i}" for i in range(n)), residents=np.array(agents) / scale,
                   agents=np.array(agents, dtype=np.int64), scale=scale, distance_km=np.asarray(distance, float),
                   lpg_dependence=np.array(lpg, dtype=float), police=np.array(police, dtype=np.int64),
                   base_legitimacy=np.array(base_legitimacy, dtype=float),
                   jail_capacity=np.array(capacity, dtype=np.int64), events=tuple(events),
                   hour_of_day=np.array([0.0, *clock.hours_of_day()]))


def observation(n: int = 3, **values) -> Observation:
    obs = Observation.empty(n)
    for key, v in values.items():
        setattr(obs, key, np.array(v, dtype=np.int64))
    return obs


def run_all(mechanisms: list[tuple[Mechanism, Params]], ctx: Context, steps,
            obs: Observation | None = None) -> list[TickInputs]:
    """Run (mechanism, parameters) pairs together over ``steps`` (1..N) as the driver does (in their order, a
    switched-off one absent), each step on fresh neutral inputs; the inputs of every step."""
    present = running(mechanisms)
    states = [mechanism.init(params, ctx) for mechanism, params in present]
    return [step_inputs(present, states, ctx, k, obs or Observation.empty(ctx.n)) for k in steps]


def run(mechanism: Mechanism, params: Params, ctx: Context, steps, obs: Observation | None = None) -> list[TickInputs]:
    """Apply one mechanism over ``steps`` (1..N), each on fresh neutral inputs; the inputs of every step."""
    return run_all([(mechanism, params)], ctx, steps, obs)


def fp(inputs: TickInputs, column: int) -> np.ndarray:
    return inputs.fp[:, column]


def contagion_push(params: ContagionParams, obs: Observation, ctx: Context) -> np.ndarray:
    """E_i of the docstring, written out city by city (memory 0: the last step's shares)."""
    unrest = (obs.active + obs.violent).astype(float)
    share = unrest / ctx.agents
    out = np.zeros(ctx.n)
    for i in range(ctx.n):
        others = [j for j in range(ctx.n) if j != i]
        near = sum(math.exp(-ctx.distance_km[i, j] / params.distance_km) * share[j] for j in others)
        media = sum(unrest[j] for j in others) / sum(ctx.agents[j] for j in others)
        out[i] = params.distance_weight * near + params.media_weight * media
    return out


# ================================================================== part 2: direction on a seeded ensemble
# Each test runs a baseline A and a treatment B of the synthetic two-towns country for the same 8 replicates
# (seed 2022, replicates 0-7). A replicate starts from the same lattices in A and B (each city's stream
# depends on the seed, the replicate and its name only), so the pairs share their initial conditions, though
# their random streams part as soon as the treatment changes a decision. Effects are asserted on the ensemble
# mean, with a margin well inside the effect measured when the test was written, and on the pairs, allowing
# one reversed pair of eight. Exact statements (nobody is killed with lethal force off) are asserted exactly.

SEED, REPLICATES = 2022, 8
_RUNS: dict[str, list] = {}


def ensemble_of(scenario) -> list:
    key = scenario.hash()
    if key not in _RUNS:
        _RUNS[key] = [simulate_country(scenario, SEED, r) for r in range(REPLICATES)]
    return _RUNS[key]


def paired(a, b, metric) -> tuple[np.ndarray, np.ndarray]:
    """``metric`` of each replicate of scenarios ``a`` and ``b`` (arrays in replicate order)."""
    return (np.array([metric(r) for r in ensemble_of(a)], dtype=float),
            np.array([metric(r) for r in ensemble_of(b)], dtype=float))


def unrest(cities=slice(None), first: int = 1, stop: int | None = None):
    """Active and violent citizens summed over ``cities`` and steps ``first`` .. ``stop - 1`` (person-steps)."""
    return lambda r: float(r.unrest()[cities, first:stop].sum())


def kills(r) -> float:
    return float((r.national("killed_protesters") + r.national("killed_bystanders")).sum())
