"""Country scenarios: many cities, each its own lattice, coupled mechanisms and a dated timeline.

A :class:`CountryScenario` is read from TOML (``scenarios/kazakhstan-2022.toml``) and
holds:

* ``scale`` (agents per resident) and a ``[clock]`` (start, end, tick length);
* ``[rules]``: the Model I rules every city lattice follows (any field of
  :class:`uprising.scenario.Scenario` but those the country sets itself);
* ``[[cities]]``: name, census population, coordinates and regional attributes;
* one table per mechanism of the registry (:data:`uprising.mechanisms.MECHANISMS`), each with
  ``enabled`` but repression's; the class is built from the registry (:func:`scenario_class`);
* ``[[events]]``: the timeline, each event with a kind (one of the mechanisms' event classes), an ``id``,
  a time (``at``,
  or ``start`` and ``end``), the cities it concerns and its own fields;
* ``[variants.NAME]``: counterfactuals as edits of the scenario (``drop`` events by
  id, ``set`` dotted keys).

All validation happens here; a bad file raises :class:`uprising.scenario.ScenarioError`
with a one-line message naming the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import zlib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Sequence, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from ..clock import Clock, format_time
from ..kernels.geometry import extent
from ..mechanisms import MECHANISMS
from ..mechanisms.base import Event, Mechanism, Time, event_kind
from ..scenario import Scenario, ScenarioError, allowed_values, echo, echo_key, hardship_problem, read_toml

#: The most steps a country run may take (a clock of 114 years of 1-hour steps): a run's tables hold a row per
#: city and step, so a clock that ends in the year 3000 is refused here, naming clock.end, before any run.
MAX_STEPS = 1_000_000
#: The longest jail term in steps that Model I's rules allow (``Scenario.max_jail_term``).
MAX_JAIL_STEPS = 30_000

#: Fields of Model I's scenario that a country sets itself (per city or from its clock and mechanisms).
COUNTRY_OWNED = {
    "name": "each lattice is named after its city",
    "description": "the country scenario has its own",
    "steps": "the clock sets the number of steps",
    "width": "each city's lattice is sized from its population and `scale`",
    "height": "each city's lattice is sized from its population and `scale`",
    "cop_density": "police come from cities[].police_per_1000",
    "max_jail_term": "set repression.jail_term_days",
    "legitimacy_schedule": "legitimacy events and the legitimacy mechanism change it",
    "cop_schedule": "intervention events and losses change the cops",
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ClockSpec(_Strict):
    """``[clock]``: the calendar of a run (local time of the scenario's ``timezone``)."""

    start: Time = Field(description="the run's start (step 0)")
    end: Time = Field(description="the run's end, exclusive")
    tick_hours: float = Field(1.0, gt=0.0, le=24.0 * 30, description="length of one step in hours")

    @model_validator(mode="after")
    def _check(self) -> "ClockSpec":
        if self.end <= self.start:
            raise ValueError(f"end: must be after start ({format_time(self.start)}), got {format_time(self.end)}")
        hours = (self.end - self.start).total_seconds() / 3600.0
        steps = hours / self.tick_hours
        if steps > MAX_STEPS and hours <= MAX_STEPS:  # the span fits in 1-hour steps: the tick is too short
            raise ValueError(f"tick_hours: {self.tick_hours:g} h makes {steps:,.0f} steps from {format_time(self.start)} "
                             f"to {format_time(self.end)}, more than the {MAX_STEPS:,} a country run may take; "
                             f"allowed: at least {round_up(hours / MAX_STEPS):.3g} h")
        if steps > MAX_STEPS:
            latest = self.start + dt.timedelta(hours=MAX_STEPS * self.tick_hours)
            raise ValueError(f"end: {format_time(self.end)} makes {steps:,.0f} steps of {self.tick_hours:g} h, more "
                             f"than the {MAX_STEPS:,} a country run may take; allowed: at most "
                             f"{format_time(latest)} (or a longer tick_hours)")
        return self

    def clock(self) -> Clock:
        return Clock(self.start, self.end, self.tick_hours)


class City(_Strict):
    """One ``[[cities]]`` entry: a city with its own lattice."""

    name: str = Field(min_length=1, description="the city's name (events refer to it)")
    population: int = Field(ge=1, le=100_000_000, description="census population (residents)")
    lat: float = Field(ge=-90.0, le=90.0, description="latitude of the city centre (degrees north)")
    lon: float = Field(ge=-180.0, le=180.0, description="longitude of the city centre (degrees east)")
    region: str = Field("", description="administrative region (for the reader)")
    lpg_dependence: float = Field(0.0, ge=0.0, le=10.0,
                                  description="weight of the price shock's hardship here (1: fully dependent)")
    police_per_1000: float = Field(0.0, ge=0.0, le=500.0, description="security personnel per 1,000 residents")
    legitimacy_offset: float = Field(0.0, ge=-1.0, le=1.0, description="added to the rules' legitimacy here")
    jail_capacity_per_1000: float | None = Field(None, ge=0.0, le=1000.0,
                                                 description="jail capacity here (default: repression's)")
    hardship_mean: float | None = Field(None, gt=0.0, le=10.0,
                                        description="mean hardship of this city's citizens (default: the rules'; "
                                        "a covariate mapped to it, docs/country-model.md)")
    hardship_spread: float | None = Field(None, gt=0.0, le=10.0,
                                          description="standard deviation of hardship here (default: the rules')")

#: City fields left out of :meth:`CountryScenarioBase.hash` while unset, so that adding them kept the hash of
#: every older scenario (and the seeds an experiment derives from it)
CITY_HASH_OMITTED_WHEN_UNSET = ("hardship_mean", "hardship_spread")


class Reporting(_Strict):
    """How the record's counts were published: an observation model that changes no run, only what a target reads
    (:func:`uprising.country.observables.security_injured_reported`; docs/country-model.md, "Observation").

    The authorities' count of injured security personnel grew for days after the fighting (Interior Ministry: 317 at
    08:51 on 6 January, 748 later that day; 3,037 in its final count, data/kz2022/targets.csv), as registrations came
    in. An injury sustained at time ``s`` is in a count published at ``t`` with probability
    ``1 - exp(-(t - s) / delay)``: an exponential reporting delay, the simplest of the nowcasting literature's
    (Lawless 1994; Hoehle and an der Heiden 2014). The final count has every injury.
    """

    security_injured_delay_hours: float = Field(
        0.0, ge=0.0, le=24.0 * 365,
        description="mean hours from a security injury to its entry in the published count (exponential; 0: at once)")


class Variant(_Strict):
    """``[variants.NAME]``: a counterfactual, as edits of the scenario."""

    description: str = ""
    drop: list[str] = Field(default_factory=list, description="ids of events to remove")
    set: dict[str, Any] = Field(default_factory=dict,
                                description="dotted keys to change (price.elasticity, events.ID.at, cities.NAME.x)")


class CountryScenarioBase(_Strict):
    """A country: cities on lattices, the mechanisms that couple and drive them, and a timeline.

    The fields every country has; :func:`scenario_class` adds one table per mechanism of a registry, the
    timeline (``events``, a discriminated union of the mechanisms' event kinds) and ``variants``.
    """

    #: the mechanisms of this class's registry, in run order (:data:`uprising.mechanisms.MECHANISMS`)
    mechanisms: ClassVar[tuple[Mechanism, ...]] = ()
    #: each kind of event (its ``kind`` tag) and its class, in the registry's order
    event_kinds: ClassVar[dict[str, type[Event]]] = {}

    name: str = "unnamed"
    description: str = ""
    timezone: str = Field("", description="the zone of the clock's local times (for the reader), e.g. UTC+06:00")
    scale: float = Field(0.01, gt=0.0, le=1.0, description="agents per resident (1: one agent per resident)")
    clock: ClockSpec
    rules: dict[str, Any] = Field(default_factory=dict, description="Model I rules of every city lattice")
    cities: list[City] = Field(min_length=1)
    reporting: Reporting = Field(default_factory=Reporting,
                                 description="how the record's counts were published (observation only)")

    @model_validator(mode="before")
    @classmethod
    def _event_ids(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("events"), list):
            events = []
            for i, e in enumerate(data["events"]):
                if isinstance(e, dict) and not e.get("id"):
                    e = {**e, "id": f"{e.get('kind', 'event')}-{i}"}
                events.append(e)
            data = {**data, "events": events}
        return data

    @model_validator(mode="after")
    def _check(self) -> "CountryScenario":
        names = [c.name for c in self.cities]
        for i, name in enumerate(names):
            if name in names[:i] or name == "all":
                raise ValueError(f"cities[{i}].name: {echo(name)} " + ("is reserved" if name == "all" else
                                                                  "is declared twice; city names must be unique"))
        for key, why in COUNTRY_OWNED.items():
            if key in self.rules:
                raise ValueError(f"rules.{key}: not allowed in a country scenario ({why})")
        smallest = min(self.cities, key=lambda c: c.population)
        if smallest.population * self.scale < 1.0:
            raise ValueError(f"scale: {self.scale:g} agents per resident leaves {smallest.name} "
                             f"({smallest.population:,} residents) without one agent; smallest allowed for this "
                             f"file: {round_up(1.0 / smallest.population):.3g}")
        if self.escalation.core_in == "people" and self.repression.casualties != "people":
            raise ValueError('escalation.core_in: "people" counts the core in people; it needs '
                             'repression.casualties = "people" (allowed with "agents": core_in = "agents")')
        if self.escalation.core_undeterred and self.escalation.core_in != "people":
            raise ValueError('escalation.core_undeterred: works on the core in people; allowed with core_in = '
                             '"agents": false')
        days = self.repression.jail_term_days
        if round(days * 24.0 / self.clock.tick_hours) > MAX_JAIL_STEPS:
            raise ValueError(f"clock.tick_hours: {self.clock.tick_hours:g} h makes a jail term of {days:g} days "
                             f"(repression.jail_term_days) {days * 24.0 / self.clock.tick_hours:,.0f} steps, more "
                             f"than the {MAX_JAIL_STEPS:,} allowed; allowed: at least "
                             f"{round_up(days * 24.0 / (MAX_JAIL_STEPS + 0.5)):.3g} h")
        try:
            rules = self.base_rules()
        except ScenarioError as exc:
            message = exc.message
            if message.startswith("unknown key"):
                allowed = [k for k in Scenario.model_fields if k not in COUNTRY_OWNED]
                message = f"unknown key; allowed keys: {', '.join(allowed)}"
            raise ValueError(f"rules.{exc.field}: {message}") from None
        for i, c in enumerate(self.cities):
            problem = hardship_problem(rules.hardship_distribution, *city_hardship(c, rules))
            if problem:
                raise ValueError(f"cities[{i}].{problem} (in {c.name}, with rules.hardship_distribution = "
                                 f"{rules.hardship_distribution})")
        allowed = ", ".join(["all", *names])
        ids: set[str] = set()
        lo, hi = self.clock.start, self.clock.end
        for i, e in enumerate(self.events):
            where = f"events[{i}]"
            if e.id in ids:
                raise ValueError(f"{where}.id: {echo(e.id)} is used twice; event ids must be unique")
            ids.add(e.id)
            problem = e.city_problem(names)
            if problem is not None:
                raise ValueError(f"{where}.{problem}")
            for city in e.cities:
                if city != "all" and city not in names:
                    raise ValueError(f"{where}.cities: unknown city {echo(city)}; allowed: {allowed}")
            start, end = e.span()
            key = "at" if hasattr(e, "at") else "start"
            for field, when in ((key, start), ("end", end)):
                if when is not None and not lo <= when <= hi:
                    raise ValueError(f"{where}.{field}: {format_time(when)} is outside the run "
                                     f"({format_time(lo)} to {format_time(hi)})")
            if end is not None and end <= start:
                raise ValueError(f"{where}.end: must be after {key} ({format_time(start)}), got {format_time(end)}")
        for name, variant in self.variants.items():
            for eid in variant.drop:
                if eid not in ids:
                    raise ValueError(f"variants.{name}.drop: unknown event id {echo(eid)}; "
                                     f"allowed: {', '.join(sorted(ids)) or '(no events)'}")
        self.lattice_sizes()
        return self

    # ------------------------------------------------------------------ loading and editing
    @classmethod
    def load(cls, path: str | Path) -> "CountryScenarioBase":
        """Read and validate a country scenario's TOML file (its variants too). A file that names a behaviour file
        (``behaviour = "..."``) holds country inputs only, merged over the behaviour file's parameters
        (:func:`uprising.country.inputs.with_behaviour`)."""
        data = read_toml(path, "scenario")
        if "behaviour" in data:
            from .inputs import with_behaviour

            data = with_behaviour(data, path, cls.mechanisms)
        scenario = cls.from_dict(data, source=str(path))
        for name in scenario.variants:
            scenario.variant(name, source=str(path))
        return scenario

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<scenario>") -> "CountryScenarioBase":
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise pydantic_error(exc, source, cls, data) from None

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (times as text) that :meth:`from_dict` reads back to an equal scenario."""
        return json.loads(self.model_dump_json())

    def replace(self, changes: dict[str, Any], source: str = "<replace>") -> "CountryScenarioBase":
        """A validated copy with dotted-key ``changes`` (see :func:`set_dotted` and :func:`expand_key`)."""
        data = self.to_dict()
        apply_changes(data, changes, source)
        return type(self).from_dict(data, source=source)

    def variant(self, name: str, source: str = "<scenario>") -> "CountryScenarioBase":
        """The scenario edited by variant ``name`` (without any variants of its own)."""
        if name == "baseline":
            return self.model_copy(update={"variants": {}})
        if name not in self.variants:
            raise ScenarioError(source, "--variant", f"unknown variant {echo(name)}; allowed: "
                                f"{', '.join(['baseline', *self.variants]) or 'baseline'}")
        v = self.variants[name]
        data = self.to_dict()
        data["variants"] = {}
        data["events"] = [e for e in data["events"] if e["id"] not in v.drop]
        data["name"] = f"{self.name}:{name}"
        apply_changes(data, v.set, f"{source} variants.{name}.set")
        return type(self).from_dict(data, source=f"{source} variants.{name}")

    def hash(self) -> str:
        """16 hex digits over everything that affects results (not names, descriptions, sources, variants or
        ``reporting``, which changes what a target reads, not a run)."""
        data = self.to_dict()
        for key in ("name", "description", "variants", "timezone", "reporting"):
            data.pop(key, None)
        for e in data["events"]:
            e.pop("source", None)
            e.pop("note", None)
        kinds = {e["kind"] for e in data["events"]}
        for mechanism in type(self).mechanisms:
            if mechanism.only_with_events and not kinds & {event_kind(c) for c in mechanism.events}:
                data.pop(mechanism.name, None)  # it does nothing without its events (Mechanism.only_with_events)
        for c in data["cities"]:
            for key in CITY_HASH_OMITTED_WHEN_UNSET:
                if c.get(key, 0) is None:
                    c.pop(key)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ compiling
    def base_rules(self) -> Scenario:
        """The Model I rules shared by every city (validated; width and height are placeholders)."""
        r = self.repression
        ticks = r.jail_term_days * 24.0 / self.clock.tick_hours
        data = {"jailed_hold_cell": False, "jail_countdown": "end_of_step", "placement": "exact", **self.rules,
                "max_jail_term": float(round(ticks)), "name": self.name}
        return Scenario.from_dict(data, source="rules")

    def lattice_sizes(self) -> list[tuple[int, int, int]]:
        """(side, citizens, cops) of each city's square lattice at this scale."""
        rules = self.base_rules()
        reach = 2 * extent(max(rules.citizen_vision, rules.cop_vision)) + 1
        extra = self.most_added_cops()
        out = []
        for i, c in enumerate(self.cities):
            citizens = max(1, int(round(c.population * self.scale)))
            cops = int(round(c.population * self.scale * c.police_per_1000 / 1000.0))
            side = max(reach, int(math.ceil(math.sqrt(citizens / max(rules.citizen_density, 1e-9)))))
            if citizens + cops + extra.get(c.name, 0) > side * side:
                raise ValueError(f"cities[{i}].police_per_1000: {c.name}'s citizens ({citizens}), police ({cops}) "
                                 f"and troops ({extra.get(c.name, 0)}) do not fit on its {side}x{side} lattice; "
                                 "lower the police or raise rules.citizen_density")
            out.append((side, citizens, cops))
        return out

    def memory_estimate(self, runs_kept: int = 1, runs_at_once: int = 1) -> dict[str, Any]:
        """About how many bytes ``runs_kept`` finished runs (their tables: a row per city and step) and
        ``runs_at_once`` running ones (their lattices and agents) take, and the field to change when that is
        too much: ``clock.end`` where the tables weigh most, ``scale`` where the lattices do. An estimate, on
        the generous side: 400 bytes a row (counts and the tidy table), 16 bytes a cell, 48 an agent."""
        rows = len(self.cities) * (self.clock.clock().ticks + 1)
        sizes = self.lattice_sizes()
        cells = sum(side * side for side, _, _ in sizes)
        agents = sum(citizens + cops for _, citizens, cops in sizes)
        tables = runs_kept * rows * 400
        lattices = runs_at_once * (cells * 16 + agents * 48)
        if tables >= lattices:
            field, allowed = "clock.end", "an earlier clock.end, a longer clock.tick_hours or fewer --replicates"
        else:
            field, allowed = "scale", "a smaller scale (or fewer --workers)"
        return {"bytes": tables + lattices, "field": field, "allowed": allowed,
                "detail": f"{runs_kept} x {len(self.cities)} cities x {self.clock.clock().ticks + 1:,} steps, "
                          f"{runs_at_once} at once on {cells:,} cells with {agents:,} agents"}

    def most_added_cops(self) -> dict[str, int]:
        """The most cops the mechanisms (intervention events) can add to each city at once (an upper bound;
        switched on or not, so that switching one on never fails for want of room)."""
        extra: dict[str, float] = {}
        for mechanism in self.mechanisms:
            for city, n in mechanism.most_added_cops(getattr(self, mechanism.name), list(self.events),
                                                     self.scale).items():
                extra[city] = extra.get(city, 0.0) + n
        return {k: int(math.ceil(v)) + 1 for k, v in extra.items()}

    def city_scenarios(self) -> list[Scenario]:
        """Each city's Model I scenario: the rules on a lattice of the city's size, with its police."""
        rules = self.base_rules()
        out = []
        for city, (side, citizens, cops) in zip(self.cities, self.lattice_sizes()):
            cells = side * side
            out.append(rules.replace(
                name=city.name, width=side, height=side, citizen_density=citizens / cells, cop_density=cops / cells,
                legitimacy=float(min(1.0, max(0.0, rules.legitimacy + city.legitimacy_offset))),
                steps=self.clock.clock().ticks, **city_hardship_changes(city, rules)))
        return out

    def distances_km(self) -> np.ndarray:
        """Great-circle distances between the cities (haversine, Earth radius 6,371 km)."""
        lat = np.radians([c.lat for c in self.cities])
        lon = np.radians([c.lon for c in self.cities])
        dlat = lat[:, None] - lat[None, :]
        dlon = lon[:, None] - lon[None, :]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
        return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))

    def city_mask(self, names: list[str]) -> np.ndarray:
        if "all" in names:
            return np.ones(len(self.cities), dtype=bool)
        return np.array([c.name in names for c in self.cities])


def city_hardship(city: City, rules: Scenario) -> tuple[float, float]:
    """A city's (mean, spread) of hardship: its own where set, else the rules'."""
    return (rules.hardship_mean if city.hardship_mean is None else city.hardship_mean,
            rules.hardship_spread if city.hardship_spread is None else city.hardship_spread)


def city_hardship_changes(city: City, rules: Scenario) -> dict[str, float]:
    """The changes to the rules that give a city its own hardship law (none where the city sets neither)."""
    out = {}
    if city.hardship_mean is not None:
        out["hardship_mean"] = city.hardship_mean
    if city.hardship_spread is not None:
        out["hardship_spread"] = city.hardship_spread
    return out


def round_up(x: float, digits: int = 3) -> float:
    """The smallest number of ``digits`` significant digits that is at least ``x`` (a lower bound shown in an
    error is itself allowed)."""
    if x <= 0 or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.ceil(round(x / step, 6)) * step


def event_kinds(mechanisms: Sequence[Mechanism]) -> dict[str, type[Event]]:
    """Each kind of event of ``mechanisms`` (its ``kind`` tag) and its class, in their order."""
    kinds: dict[str, type[Event]] = {}
    for mechanism in mechanisms:
        for cls in mechanism.events:
            kind = event_kind(cls)
            if kind in kinds:
                raise ValueError(f"event kind {kind!r} is declared by two mechanisms")
            kinds[kind] = cls
    return kinds


def event_mechanism(mechanisms: Sequence[Mechanism]) -> dict[str, str]:
    """The mechanism (its name) that governs each kind of event: switched off, its events are ignored."""
    return {event_kind(cls): m.name for m in mechanisms for cls in m.events}


def scenario_class(mechanisms: Sequence[Mechanism], name: str = "CountryScenario") -> type[CountryScenarioBase]:
    """The country scenario class of a registry of mechanisms (in run order).

    One table per mechanism, named after it, whose model is the mechanism's parameter class (every key
    optional: the table's defaults), then ``events``: the discriminated union (on ``kind``) of the
    mechanisms' event classes, and ``variants``. :data:`CountryScenario` is the class of
    :data:`uprising.mechanisms.MECHANISMS`; a test builds one with an extra mechanism the same way.
    """
    mechanisms = tuple(mechanisms)
    names = [m.name for m in mechanisms]
    clash = [n for n in names if n in CountryScenarioBase.model_fields or n in ("events", "variants")]
    twice = {n for n in names if names.count(n) > 1}
    if clash or twice:
        raise ValueError(f"mechanism names must be unique and not a scenario key: {sorted({*clash, *twice})}")
    kinds = event_kinds(mechanisms)
    classes = tuple(kinds.values())
    one_event = Annotated[Union[classes], Field(discriminator="kind")] if len(classes) > 1 else classes[0]
    tables: dict[str, Any] = {m.name: (m.parameters, Field(default_factory=m.parameters)) for m in mechanisms}
    cls = create_model(name, __base__=CountryScenarioBase, __module__=__name__, **tables,
                       events=(list[one_event], Field(default_factory=list)),
                       variants=(dict[str, Variant], Field(default_factory=dict)))
    cls.mechanisms = mechanisms
    cls.event_kinds = kinds
    return cls


#: the country scenario of uprising's mechanisms
CountryScenario = scenario_class(MECHANISMS)
#: each kind of event and its class
EVENT_KINDS = CountryScenario.event_kinds


def is_country_file(path: str | Path) -> bool:
    """Whether a TOML file is a country scenario (it declares [[cities]]); False if it cannot be read."""
    try:
        return "cities" in read_toml(path, "scenario")
    except ScenarioError:
        return False


def city_seed(seed: int, replicate: int, city: str) -> np.random.SeedSequence:
    """A city's own random stream: from the run's seed and replicate and the city's name only, so a city's
    history does not depend on which other cities a scenario declares, nor on their order."""
    return np.random.SeedSequence(seed, spawn_key=(replicate, zlib.crc32(city.encode("utf-8"))))


# ---------------------------------------------------------------------- dotted keys
def expand_key(data: dict[str, Any], key: str, source: str = "<replace>") -> list[str]:
    """``cities.*.x`` (every city), ``cities.{A,B}.x`` (some) and ``events.{id1,id2}.at`` as single keys."""
    parts = key.split(".")
    if len(parts) < 3 or parts[0] not in ("cities", "events"):
        return [key]
    label = "name" if parts[0] == "cities" else "id"
    group = parts[1]
    if group == "*":
        names = [str(item.get(label)) for item in data.get(parts[0], [])]
    elif group.startswith("{") and group.endswith("}"):
        names = [n.strip() for n in group[1:-1].split(",") if n.strip()]
    else:
        return [key]
    if not names:
        raise ScenarioError(source, echo_key(key), f"no {parts[0]} to set")
    return [".".join([parts[0], name, *parts[2:]]) for name in names]


def apply_changes(data: dict[str, Any], changes: dict[str, Any], source: str) -> None:
    """Set every dotted key of ``changes`` in the scenario mapping ``data`` (patterns expanded)."""
    for key, value in changes.items():
        for one in expand_key(data, key, source):
            set_dotted(data, one, value, source)


def set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    """Set ``key`` in the scenario mapping ``data``: ``price.elasticity``, ``rules.arrest_rule``,
    ``events.ID.FIELD`` (an event by its id), ``cities.NAME.FIELD`` (a city by its name)."""
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            label = "id" if parts[depth - 1] == "events" else "name"
            match = [item for item in node if item.get(label) == part]
            if not match:
                have = ", ".join(str(item.get(label)) for item in node)
                what = {"events": "event", "cities": "city"}.get(parts[depth - 1], "entry")
                raise ScenarioError(source, echo_key(key), f"no {what} with {label} {echo(part)}; allowed: {have}")
            node = match[0]
        elif isinstance(node, dict) and part in node and isinstance(node[part], (dict, list)):
            node = node[part]
        elif isinstance(node, dict) and part in ("rules",):
            node = node.setdefault(part, {})
        else:
            tables = [k for k, v in node.items() if isinstance(v, (dict, list))] if isinstance(node, dict) else []
            raise ScenarioError(source, echo_key(key), f"{echo(part)} is not a table of this scenario; allowed: {', '.join(tables)}")
    if isinstance(node, list):
        raise ScenarioError(source, echo_key(key), "name a field of one entry, e.g. events.ID.at or cities.NAME.police_per_1000")
    node[parts[-1]] = value


# ---------------------------------------------------------------------- errors
def pydantic_error(exc: ValidationError, source: str, root: type[BaseModel], data: Any = None) -> ScenarioError:
    """A one-line :class:`ScenarioError` from pydantic's first error: the field as a path
    (``events[3].troops.Almaty``) and what is allowed there."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    path, model, info = _walk(root, loc)
    kind = err["type"]
    msg = err["msg"]
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        field, sep, rest = text.partition(": ")
        if sep and " " not in field:
            return ScenarioError(source, f"{path}.{field}" if path else field, rest)
        return ScenarioError(source, path or "(scenario)", text)
    if kind == "extra_forbidden":
        allowed = ", ".join(model.model_fields) if model is not None else ""
        return ScenarioError(source, echo_key(path), f"unknown key; allowed keys: {allowed}")
    if kind == "missing":
        return ScenarioError(source, path, "required" + (f" ({info.description})" if info and info.description else ""))
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return ScenarioError(source, f"{path}.kind" if path else "kind",
                             f"unknown or missing event kind; allowed: {' | '.join(_kinds(root))}")
    allowed = allowed_values(info)
    detail = msg[0].lower() + msg[1:] if msg else kind
    return ScenarioError(source, path, f"{detail} (got {echo(err.get('input'))})" + (f"; allowed: {allowed}" if allowed else ""))


def _walk(root: type[BaseModel], loc: list[Any]) -> tuple[str, type[BaseModel] | None, Any]:
    """The readable path of ``loc``, the model that holds its last field, and that field's info."""
    path = ""
    model: type[BaseModel] | None = root
    info = None
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            path += f"[{part}]"
            i += 1
            continue
        if model is not None and part in model.model_fields:
            info = model.model_fields[part]
            path += ("." if path else "") + part
            model = _model_of(info.annotation)
        elif part in _kinds(root) and model is None:
            model = _kinds(root)[part]  # the discriminated union's tag: not part of the path
        else:
            path += ("." if path else "") + str(part)
            if model is not None and part not in model.model_fields and i < len(loc) - 1:
                model = None  # inside an unknown key; an unknown last key keeps its table (to list what is allowed)
        i += 1
    return path, model, info


def _kinds(root: type[BaseModel]) -> dict[str, type[Event]]:
    return getattr(root, "event_kinds", None) or EVENT_KINDS


def _model_of(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in get_args(ann):
        found = _model_of(arg)
        if found is not None and get_origin(ann) is not Union:
            return found
    return None


def deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)
