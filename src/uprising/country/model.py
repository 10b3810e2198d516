"""The country model: one Model I lattice per city, the mechanisms, and one step of all of them.

``init(scenario, seed, replicate) -> CountryModel`` places every city's agents from
its own random stream (:func:`uprising.country.scenario.city_seed`) and builds the
mechanisms of the scenario's registry that are switched on (a switched-off one is
absent from the run) and turns on their kernel switches; ``CountryModel.step(k)``
runs step ``k``: each mechanism, in the registry's order, returns its changes to
the kernel's per-city inputs from what the cities looked like after step ``k - 1``
(and what the mechanisms before it reported in step ``k``), the model applies them,
then each city's lattice advances one step in the kernel. The driver
(:mod:`uprising.country.simulate`) owns the loop, recording and I/O.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .. import model as model_one
from ..kernels import codes
from ..mechanisms.base import CompiledEvent, Context, Mechanism, Observation, Params, TickInputs
from .scenario import CountryScenario, city_seed
from .travel import Journeys


def running(mechanisms: Iterable[tuple[Mechanism, Params]]) -> list[tuple[Mechanism, Params]]:
    """Those of the (mechanism, parameters) pairs that take part in a run, in their order: the ones switched
    on (``enabled``) and the ones without a switch (repression). A switched-off mechanism is absent."""
    return [(mechanism, params) for mechanism, params in mechanisms if getattr(params, "enabled", True)]


def switched_on(scenario: CountryScenario) -> list[tuple[Mechanism, Params]]:
    """The mechanisms of the scenario's registry that take part in its runs, in run order, with their
    parameters (:func:`running`)."""
    return running((mechanism, getattr(scenario, mechanism.name)) for mechanism in type(scenario).mechanisms)


def step_inputs(mechanisms: list[tuple[Mechanism, Params]], states: list, ctx: Context, k: int,
                obs: Observation) -> TickInputs:
    """The kernel's inputs of step ``k``: Model I's neutral inputs with each mechanism's changes
    (:class:`uprising.mechanisms.base.Changes`) applied in order, each mechanism reading a read-only view of
    the inputs as those before it left them (contagion reads the blackout's level, escalation the guarded
    sites). ``states`` holds one state per mechanism and is updated to their new states."""
    inputs = TickInputs.neutral(ctx)
    for i, (mechanism, params) in enumerate(mechanisms):
        states[i], changes = mechanism.step(params, ctx, states[i], k, obs, inputs.view())
        inputs.apply(changes)
    return inputs


def compile_events(scenario: CountryScenario) -> tuple[CompiledEvent, ...]:
    """The timeline on the run's steps: an event acts from the first step that starts at or after its time,
    until the step that starts at or after its end (or to the end of the run)."""
    clock = scenario.clock.clock()
    out = []
    for e in scenario.events:
        start, end = e.span()
        first = clock.step_at(start)
        stop = clock.ticks + 1 if end is None else clock.step_at(end)
        if e.instant:
            stop = first + 1  # instants: they act once and their effect persists in the mechanism's state
        out.append(CompiledEvent(e.id, e.kind, first, stop, scenario.city_mask(e.cities), e, start, end))
    return tuple(out)


@dataclass
class CountryModel:
    """Everything one run of a country scenario holds: per-city models and states, and the mechanisms."""

    scenario: CountryScenario
    ctx: Context
    models: list[model_one.Model]
    states: list[model_one.State]
    ips: list[np.ndarray]
    mechanisms: list[tuple[Mechanism, Params]]  # those switched on, in run order, with their parameters
    mech_states: list
    obs: Observation
    journeys: Journeys = field(default_factory=Journeys)  # travellers between cities (mechanisms.travel)

    def step(self, k: int, pool: cf.Executor | None = None) -> tuple[np.ndarray, TickInputs]:
        """Run step ``k`` (from 1) in every city; returns its counts (n_cities x OUT_ALL_SIZE) and inputs.

        With a thread ``pool`` the cities' lattices advance side by side (the kernel releases the GIL);
        within a step no city reads another's state, and each draws from its own stream, so the
        results are the same bit for bit with any number of threads.
        """
        inputs = step_inputs(self.mechanisms, self.mech_states, self.ctx, k, self.obs)
        if inputs.trips or self.journeys.parties:
            self.journeys.apply(inputs.trips, self.models, self.states, k, self.ctx.stream("travel-moves", k))
        out = np.zeros((self.ctx.n, codes.OUT_ALL_SIZE), dtype=np.int64)

        def advance(c: int) -> None:
            out[c] = model_one.step_extended(self.models[c], self.states[c], inputs.legitimacy[c:c + 1],
                                             inputs.cop_target[c:c + 1], inputs.fp[c:c + 1], self.ips[c])[0]

        if pool is None:
            for c in range(self.ctx.n):
                advance(c)
        else:
            for f in [pool.submit(advance, c) for c in self.largest_first]:
                f.result()
        o = self.obs
        o.quiet = out[:, codes.OUT_QUIET].copy()
        o.active = out[:, codes.OUT_ACTIVE].copy()
        o.violent = out[:, codes.OUT_VIOLENT].copy()
        o.violent_residents = np.array([float(st.people_last[0, codes.PEOPLE_VIOLENT]) if st.people_per_agent > 0.0
                                        else o.violent[c] / self.ctx.scale for c, st in enumerate(self.states)])
        o.jailed = out[:, codes.OUT_JAILED].copy()
        o.cops = out[:, codes.OUT_COPS].copy()
        o.killed = o.killed + out[:, codes.OUT_KILLED_PROTESTERS] + out[:, codes.OUT_KILLED_BYSTANDERS]
        o.detained = o.detained + out[:, codes.OUT_ARRESTS] + out[:, codes.OUT_SWEPT]
        o.force = o.force + out[:, codes.OUT_ARRESTS] + out[:, codes.OUT_KILLED_PROTESTERS]
        return out, inputs

    @property
    def largest_first(self) -> list[int]:
        """City indices by lattice size, largest first (the order in which a thread pool takes them)."""
        return sorted(range(self.ctx.n), key=lambda c: -self.models[c].n_cells)

    def initial_counts(self) -> np.ndarray:
        out = np.zeros((self.ctx.n, codes.OUT_ALL_SIZE), dtype=np.int64)
        for c, st in enumerate(self.states):
            ct = st.counters
            out[c, codes.OUT_QUIET] = ct[codes.CT_QUIET]
            out[c, codes.OUT_ACTIVE] = ct[codes.CT_ACTIVE]
            out[c, codes.OUT_JAILED] = ct[codes.CT_JAILED]
            out[c, codes.OUT_COPS] = ct[codes.CT_COPS]
            out[c, codes.OUT_VIOLENT] = ct[codes.CT_VIOLENT]
        return out


def init(scenario: CountryScenario, seed: int = 0, replicate: int = 0) -> CountryModel:
    """Place every city's agents and build the mechanisms switched on, for one run."""
    cities = scenario.city_scenarios()
    models, states = [], []
    for city, sc in zip(scenario.cities, cities):
        m, st = model_one.init(sc, city_seed(seed, replicate, city.name))
        models.append(m)
        states.append(st)
    residents = np.array([c.population for c in scenario.cities], dtype=np.float64)
    capacity = []
    for c in scenario.cities:
        per_1000 = c.jail_capacity_per_1000 if c.jail_capacity_per_1000 is not None else \
            scenario.repression.jail_capacity_per_1000
        capacity.append(-1 if per_1000 is None else int(round(c.population * scenario.scale * per_1000 / 1000.0)))
    clock = scenario.clock.clock()
    ctx = Context(
        clock=clock, names=tuple(c.name for c in scenario.cities), residents=residents,
        agents=np.array([st.citizens for st in states], dtype=np.int64), scale=scenario.scale,
        distance_km=scenario.distances_km(), lpg_dependence=np.array([c.lpg_dependence for c in scenario.cities]),
        police=np.array([st.initial_cops for st in states], dtype=np.int64),
        base_legitimacy=np.array([sc.legitimacy for sc in cities]), jail_capacity=np.array(capacity, dtype=np.int64),
        events=compile_events(scenario), hour_of_day=np.array([0.0, *clock.hours_of_day()]),
        seed_words=(int(seed), int(replicate)))
    mechanisms = switched_on(scenario)
    ips = []
    for m, cap in zip(models, ctx.jail_capacity):
        ip = m.ip.copy()  # Model I's: escalation and marks off
        for mechanism, _ in mechanisms:
            for switch in mechanism.kernel_switches:
                ip[switch] = 1
        ip[codes.IP_JAIL_CAPACITY] = cap
        ips.append(ip)
    obs = Observation.empty(ctx.n)
    for c, st in enumerate(states):
        obs.quiet[c] = st.counters[codes.CT_QUIET]
        obs.cops[c] = st.counters[codes.CT_COPS]
    return CountryModel(scenario, ctx, models, states, ips, mechanisms,
                        [mechanism.init(params, ctx) for mechanism, params in mechanisms], obs)
