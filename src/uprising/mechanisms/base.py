"""What every mechanism shares: its parameter base class, the compiled context, and the per-tick I/O.

A mechanism (one module each in this package) has a parameter class, read from
the scenario's table of the same name (a frozen pydantic model with an ``enabled``
switch; repression has none: its arrests are Model I's own, and it is Model I at
its neutral values), and a runtime class with two methods in the style of
diffrax's solvers:

* ``init() -> state``: the mechanism's own per-run state (``None`` if it keeps none);
* ``apply(state, step, obs, inputs) -> state``: for step ``step`` (from 1), read
  ``obs`` (what the cities looked like after the previous step) and write the
  mechanism's part of ``inputs`` (the kernel's per-city inputs of this step).

Switched off, a mechanism writes nothing, so the inputs keep Model I's neutral
values (:meth:`TickInputs.neutral`). The driver (:mod:`uprising.country.simulate`)
owns the loop; mechanisms never call each other or the kernel.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..clock import Clock
from ..kernels import codes


class Params(BaseModel):
    """Base of every mechanism's parameters: frozen, strict, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def meta(unit: str, reference: str) -> dict[str, str]:
    return {"unit": unit, "reference": reference}


@dataclass(frozen=True)
class CompiledEvent:
    """A timeline event placed on the run's ticks: it acts in steps ``first <= step < stop``."""

    id: str
    kind: str
    first: int
    stop: int
    cities: np.ndarray  # bool mask over the scenario's cities
    spec: object  # the validated event (its own fields: price, delta, level, troops, ...)
    start: dt.datetime
    end: dt.datetime | None

    def on(self, step: int) -> bool:
        return self.first <= step < self.stop


@dataclass(frozen=True)
class Context:
    """The compiled facts of a country scenario that mechanisms read (never change during a run)."""

    clock: Clock
    names: tuple[str, ...]
    residents: np.ndarray  # float64, census population of each city
    agents: np.ndarray  # int64, citizens on each city's lattice
    scale: float  # agents per resident
    distance_km: np.ndarray  # n x n great-circle distances
    lpg_dependence: np.ndarray
    police: np.ndarray  # int64, cops on each lattice before any event
    base_legitimacy: np.ndarray  # float64, L0 of each city (the rules' legitimacy plus the city's offset)
    jail_capacity: np.ndarray  # int64, most prisoners per lattice; -1 unlimited
    events: tuple[CompiledEvent, ...]
    hour_of_day: np.ndarray  # local hour at the middle of each step 1..ticks (index 0 unused)

    @property
    def n(self) -> int:
        return len(self.names)

    def events_of(self, kind: str) -> list[CompiledEvent]:
        return [e for e in self.events if e.kind == kind]

    def per_tick(self, per_hour: float) -> float:
        """A probability per hour as a probability per tick (geometric)."""
        if per_hour >= 1.0:
            return 1.0
        return 1.0 - (1.0 - per_hour) ** self.clock.tick_hours


@dataclass
class Observation:
    """The cities after the previous step (agents, not residents); cumulative counts since the start."""

    quiet: np.ndarray
    active: np.ndarray  # peaceful actives
    violent: np.ndarray
    jailed: np.ndarray
    cops: np.ndarray
    killed: np.ndarray  # protesters and bystanders killed so far
    detained: np.ndarray  # arrests and sweep detentions so far

    @classmethod
    def empty(cls, n: int) -> "Observation":
        z = lambda: np.zeros(n, dtype=np.int64)  # noqa: E731
        return cls(z(), z(), z(), z(), z(), z(), z())


@dataclass
class TickInputs:
    """The kernel's inputs for one step, one row per city, and what the mechanisms report about it."""

    legitimacy: np.ndarray
    fp: np.ndarray  # n x codes.FP_SIZE
    cop_target: np.ndarray  # int64
    report: dict[str, np.ndarray] = field(default_factory=dict)  # per-city values recorded by the driver

    @classmethod
    def neutral(cls, ctx: Context) -> "TickInputs":
        """Model I's inputs: base legitimacy, the police as they are, every extension at zero."""
        return cls(ctx.base_legitimacy.copy(), np.zeros((ctx.n, codes.FP_SIZE)), ctx.police.copy())

    def set(self, column: int, values: np.ndarray | float) -> None:
        self.fp[:, column] = values
