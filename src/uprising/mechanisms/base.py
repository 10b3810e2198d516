"""What every mechanism shares: the :class:`Mechanism` protocol, its parameter and event base classes,
the compiled context, and the per-step inputs and changes.

A mechanism (one module each in this package, listed once in :data:`uprising.mechanisms.MECHANISMS`)
is a stateless object with

* ``name``: its table in a country scenario's TOML (``[price]``) and its key in the reports;
* ``parameters``: its parameter class, a frozen pydantic model (:class:`Params`) with an ``enabled``
  switch (repression has none: its arrests are Model I's own, and it is Model I at its neutral values);
* ``events``: the classes of the timeline events it governs (:class:`Event` subclasses, one ``kind`` each);
* ``recorded``: the names of its reports that the driver records per city and step;
* ``kernel_switches``: the kernel's integer switches (``codes.IP_*``) it turns on while it runs;

and two methods in the style of diffrax's solvers:

* ``init(params, ctx) -> state``: the mechanism's own per-run state (``None`` if it keeps none);
* ``step(params, ctx, state, step, obs, now) -> (state, Changes)``: for step ``step`` (from 1), read
  ``obs`` (what the cities looked like after the previous step) and ``now`` (a read-only view of the
  inputs of this step as the mechanisms before it left them), and return the new state and the
  :class:`Changes` it makes to the kernel's per-city inputs. It mutates nothing.

The driver (:mod:`uprising.country.model`) builds only the mechanisms that are switched on (a disabled
mechanism is absent from the run, so the kernel's inputs keep Model I's neutral values,
:meth:`TickInputs.neutral`), and applies their changes in the registry's order, so a later mechanism
reads what an earlier one reported this step. Mechanisms never call each other or the kernel.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, Callable, ClassVar, Mapping

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..clock import Clock, parse_time
from ..kernels import codes

#: entropy word of the mechanisms' own streams (:meth:`Context.stream`): "mechanism" in ASCII, shortened
MECHANISM_STREAM = 0x6D656368616E

#: a local date-time of a scenario (``YYYY-MM-DDTHH:MM``)
Time = Annotated[dt.datetime, BeforeValidator(parse_time)]


class Params(BaseModel):
    """Base of every mechanism's parameters: frozen, strict, no unknown keys.

    ``country_inputs`` names the fields that describe a country rather than behaviour (a price before the shock,
    the buildings a city has): a country file may set those and no other field (:mod:`uprising.country.inputs`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    country_inputs: ClassVar[frozenset[str]] = frozenset()


def meta(unit: str, reference: str) -> dict[str, str]:
    return {"unit": unit, "reference": reference}


Cities = list[str]


class Event(BaseModel):
    """Base of every timeline event (``[[events]]``): the fields every kind has.

    A subclass declares ``kind: Literal["..."]`` (the tag of the scenario's discriminated union), its time
    (``at``, or ``start`` and ``end``) and its own fields. An ``instant`` kind acts in one step only (its
    effect persists in its mechanism's state).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    instant: ClassVar[bool] = False

    id: str = Field("", description="name used by variants (default: KIND-INDEX)")
    cities: Cities = Field(default_factory=lambda: ["all"], description="cities concerned, or [\"all\"]")
    source: str = Field("", description="where the event's date and figures come from")
    note: str = Field("", description="free text")

    def span(self) -> tuple[dt.datetime, dt.datetime | None]:
        return getattr(self, "at", None) or self.start, getattr(self, "end", None)

    def city_problem(self, names: list[str]) -> str | None:
        """``"field: message"`` if a field of this event names a city the scenario lacks (beyond ``cities``,
        which the scenario checks itself); ``None`` when all is well."""
        return None


def event_kind(cls: type[Event]) -> str:
    """The ``kind`` tag of an event class (the one value of its ``Literal``)."""
    return cls.model_fields["kind"].annotation.__args__[0]


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
    seed_words: tuple[int, ...] = (0, 0)  # the run's seed and replicate (the entropy of :meth:`stream`)

    @property
    def n(self) -> int:
        return len(self.names)

    def events_of(self, kind: str) -> list[CompiledEvent]:
        return [e for e in self.events if e.kind == kind]

    def cities_under(self, kind: str, step: int, where: Callable[[Any], bool] | None = None) -> np.ndarray:
        """The cities (a boolean mask) where some event of ``kind`` is on in ``step`` (only the events whose spec
        satisfies ``where``, if given)."""
        under = np.zeros(self.n, dtype=bool)
        for e in self.events_of(kind):
            if e.on(step) and (where is None or where(e.spec)):
                under |= e.cities
        return under

    def stream(self, mechanism: str, step: int) -> np.random.Generator:
        """The random numbers of one mechanism in one step: a generator seeded from the run's seed and replicate,
        the mechanism's name and the step, with entropy of its own (:data:`MECHANISM_STREAM`), so it shares
        nothing with the lattices' or the people counts' streams, and a mechanism that draws from it leaves them
        unchanged. The same run, mechanism and step give the same numbers in any process."""
        words = [*self.seed_words, MECHANISM_STREAM, zlib.crc32(mechanism.encode("utf-8"))]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words, spawn_key=(step,))))

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
    force: np.ndarray  # uses of force that took someone so far: arrests and protesters killed (not sweeps)
    # residents violent in the last step: the people counted (codes.PEOPLE_VIOLENT: a violent agent's people and an
    # organised core among an active one's) where the run counts casualties in people, else violent agents / scale;
    # None before the first step (read it through :meth:`violent_people`)
    violent_residents: np.ndarray | None = None

    def violent_people(self, scale: float) -> np.ndarray:
        """Residents violent in the last step (``violent_residents``, or the violent agents / ``scale``)."""
        return self.violent / scale if self.violent_residents is None else self.violent_residents

    @classmethod
    def empty(cls, n: int) -> "Observation":
        z = lambda: np.zeros(n, dtype=np.int64)  # noqa: E731
        return cls(z(), z(), z(), z(), z(), z(), z(), z())


@dataclass(frozen=True)
class Trip:
    """People who travel between cities (:mod:`uprising.mechanisms.travel`), for the model to move: with
    ``home`` false, ``leaving[c]`` citizens (agents) of city ``c`` set off for city ``to`` now and arrive in step
    ``arrive``; with ``home`` true, every one of event ``event``'s travellers goes home."""

    event: str
    leaving: np.ndarray | None = None  # int64 per city
    to: int = -1
    arrive: int = 0
    home: bool = False


@dataclass(frozen=True)
class Changes:
    """What one mechanism changes in one step's inputs (anything left out stays as it was).

    ``fp``: columns of the kernel's per-city float inputs (``codes.FP_*`` -> one value per city, or one for
    all); ``legitimacy`` and ``cop_target``: the new per-city values; ``report``: per-city values that later
    mechanisms may read and the driver records (those named in the mechanism's ``recorded``); ``trips``: people the
    model moves between cities' lattices before they advance (:class:`Trip`).
    """

    fp: Mapping[int, np.ndarray | float] = field(default_factory=dict)
    legitimacy: np.ndarray | None = None
    cop_target: np.ndarray | None = None
    report: Mapping[str, np.ndarray] = field(default_factory=dict)
    trips: tuple[Trip, ...] = ()


NO_CHANGES = Changes()


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class InputsView:
    """A read-only view of a step's inputs as the mechanisms that ran before left them."""

    legitimacy: np.ndarray
    fp: np.ndarray  # n x codes.FP_SIZE
    cop_target: np.ndarray
    report: Mapping[str, np.ndarray]


@dataclass
class TickInputs:
    """The kernel's inputs for one step, one row per city, and what the mechanisms report about it."""

    legitimacy: np.ndarray
    fp: np.ndarray  # n x codes.FP_SIZE
    cop_target: np.ndarray  # int64
    report: dict[str, np.ndarray] = field(default_factory=dict)  # per-city values (read-only), by name
    trips: list[Trip] = field(default_factory=list)  # people to move between cities before the lattices advance
    _view: InputsView | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def neutral(cls, ctx: Context) -> "TickInputs":
        """Model I's inputs: base legitimacy, the police as they are, every extension at zero."""
        return cls(ctx.base_legitimacy.copy(), np.zeros((ctx.n, codes.FP_SIZE)), ctx.police.copy())

    def view(self) -> InputsView:
        """These inputs, read-only (what a mechanism's ``step`` sees as ``now``): views, not copies, so
        the view follows later changes of ``fp`` and ``report``."""
        if self._view is None:
            self._view = InputsView(_read_only(self.legitimacy), _read_only(self.fp), _read_only(self.cop_target),
                                    MappingProxyType(self.report))
        return self._view

    def apply(self, changes: Changes) -> None:
        """Write one mechanism's :class:`Changes` (the driver does this in the registry's order)."""
        for column, values in changes.fp.items():
            self.fp[:, column] = values
        if changes.legitimacy is not None:
            self.legitimacy = changes.legitimacy
            self._view = None
        if changes.cop_target is not None:
            self.cop_target = changes.cop_target
            self._view = None
        for name, values in changes.report.items():
            self.report[name] = _read_only(np.asarray(values))
        self.trips.extend(changes.trips)


class Mechanism:
    """Base of every mechanism (see the module's docstring): subclass it, set the class attributes,
    write ``step`` (and ``init`` if the mechanism keeps state), and add the module's name to
    :data:`uprising.mechanisms.ORDER`."""

    name: ClassVar[str]
    parameters: ClassVar[type[Params]]
    events: ClassVar[tuple[type[Event], ...]] = ()
    recorded: ClassVar[tuple[str, ...]] = ()
    kernel_switches: ClassVar[tuple[int, ...]] = ()
    #: True for a mechanism that does nothing at all without events of its kinds: a scenario without any leaves
    #: its table out of its hash (so adding such a mechanism changes no existing scenario's hash or runs)
    only_with_events: ClassVar[bool] = False

    def init(self, params: Any, ctx: Context) -> Any:
        """The mechanism's state before step 1 (``None``: it keeps none)."""
        return None

    def step(self, params: Any, ctx: Context, state: Any, step: int, obs: Observation,
             now: InputsView) -> tuple[Any, Changes]:
        """The new state and the changes of step ``step`` (pure: it mutates none of its arguments)."""
        raise NotImplementedError

    def most_added_cops(self, params: Any, events: list[Event], scale: float) -> dict[str, float]:
        """The most cops (agents) this mechanism may add to each city at once, by city name (an upper bound
        the scenario uses to size the lattices); most mechanisms add none."""
        return {}

    def __repr__(self) -> str:
        return f"<mechanism {self.name}>"
