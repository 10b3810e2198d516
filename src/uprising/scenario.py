"""Scenarios: the typed, frozen set of parameters of one model, read from TOML.

A :class:`Scenario` is immutable; :meth:`Scenario.replace` returns a changed copy.
Every parameter carries its unit or meaning, default, allowed range and
reference in its field metadata (see :func:`parameter_table`), and all validation
happens here, once. Errors are raised as :class:`ScenarioError`, whose message is
one line naming the file, the field and what is allowed.

Seeding follows Mesa's scenario idiom: a run's random streams all derive from
one :class:`numpy.random.SeedSequence` (:func:`seed_sequence`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .kernels.geometry import extent

EPSTEIN = "Epstein (2002) PNAS 99(suppl 3):7243"
NETLOGO = "Wilensky (2004) NetLogo Rebellion"
MESA = "Mesa 3.x examples/advanced/epstein_civil_violence"
NOTES = "model-notes.md §2"
GRANOVETTER = "Granovetter (1978) AJS 83(6):1420"

#: standard deviation of U(0,1), the default ``hardship_spread`` (with ``hardship_mean`` 0.5: Epstein's draw)
UNIFORM_SD = 0.28867513459481287  # 1/sqrt(12)
#: fields left out of :meth:`Scenario.hash` while they hold their default, so that adding them kept the hash
#: (and the seeds an experiment derives from it, uprising.experiment.spec.run_seed) of every older scenario
HASH_OMITTED_AT_DEFAULT = ("hardship_distribution", "hardship_mean", "hardship_spread")


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is a one-line message."""

    def __init__(self, source: str, field: str, message: str):
        self.source = source
        self.field = field
        self.message = message
        super().__init__(f"{source}: {field}: {message}")

    def __reduce__(self):
        # pickled with its three parts, so that a worker process can hand it back to the driver
        return type(self), (self.source, self.field, self.message)


def _meta(unit: str, reference: str) -> dict[str, str]:
    return {"unit": unit, "reference": reference}


class Schedule(BaseModel):
    """A scalar that changes with time: constant, one step, or a linear ramp.

    ``value_at(base, t)`` gives the value during step ``t`` (steps count from 1).
    ``step``: ``base`` before ``start``, ``value`` from ``start`` on.
    ``linear``: ``base`` before ``start``, then ``base + rate*(t - start + 1)``
    until it reaches ``stop`` (Epstein's Run 3 loses 0.01 of legitimacy per step).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["constant", "step", "linear"] = Field(
        "constant", description="shape of the schedule", json_schema_extra=_meta("choice", EPSTEIN + " Runs 3-5"))
    start: int = Field(0, ge=0, le=10_000_000, description="first step affected",
                       json_schema_extra=_meta("step", EPSTEIN + " Runs 3-5"))
    value: float | None = Field(None, ge=0.0, le=1.0, description="new value from `start` (kind = step)",
                                json_schema_extra=_meta("same unit as the scheduled parameter", EPSTEIN))
    rate: float = Field(0.0, ge=-1.0, le=1.0, description="change per step (kind = linear)",
                        json_schema_extra=_meta("unit per step", EPSTEIN + " Run 3"))
    stop: float | None = Field(None, ge=0.0, le=1.0, description="value at which a linear ramp stops",
                               json_schema_extra=_meta("same unit as the scheduled parameter", NOTES))

    @model_validator(mode="after")
    def _check(self) -> "Schedule":
        if self.kind == "step" and self.value is None:
            raise ValueError("value: a step schedule needs `value` (a number in [0, 1])")
        if self.kind == "linear" and self.rate == 0.0:
            raise ValueError("rate: a linear schedule needs a non-zero `rate` in [-1, 1]")
        return self

    def values(self, base: float, steps: int) -> np.ndarray:
        """Value during each step ``1..steps`` as a float64 array."""
        t = np.arange(1, steps + 1, dtype=np.float64)
        out = np.full(steps, base, dtype=np.float64)
        if self.kind == "step":
            out[t >= self.start] = self.value
        elif self.kind == "linear":
            ramp = base + self.rate * (t - self.start + 1)
            if self.stop is not None:
                if self.rate < 0:
                    ramp = np.maximum(ramp, min(self.stop, base))
                else:
                    ramp = np.minimum(ramp, max(self.stop, base))
            out = np.where(t >= self.start, np.clip(ramp, 0.0, 1.0), out)
        return out

    def extreme(self, base: float) -> float:
        """Largest value the schedule can take (a valid schedule never overshoots its stop)."""
        if self.kind == "step":
            return max(base, self.value)
        if self.kind == "linear" and self.rate > 0:
            return 1.0 if self.stop is None else max(base, self.stop)
        return base

    def check_against(self, base: float, name: str) -> None:
        """A ramp's stop must lie on the side it moves towards (raises ValueError)."""
        if self.kind == "linear" and self.stop is not None:
            if (self.rate < 0 and self.stop > base) or (self.rate > 0 and self.stop < base):
                way = "at most" if self.rate < 0 else "at least"
                raise ValueError(f"{name}.stop: a ramp with rate {self.rate} must stop {way} the starting "
                                 f"value {base} (got {self.stop})")


#: the most characters of a user's value that an error message repeats (:func:`echo`)
ECHO_LIMIT = 40


def echo(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` as an error message repeats it: cut to ``limit`` characters, saying how long it was.

    Every error that repeats a user's input goes through here, so that a 50 MB string in a file gives a
    one-line error of a few dozen characters, not 50 MB of stderr (issue 13, item 6)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = repr(value)
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text):,} characters)"
    return text


def echo_key(key: str, limit: int = 2 * ECHO_LIMIT) -> str:
    """A key (a field's name as the user wrote it) cut like :func:`echo`, without quotes."""
    return key if len(key) <= limit else f"{key[:limit]}... ({len(key):,} characters)"


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The mapping in a TOML file; a missing, unreadable, malformed, too deeply nested or empty file raises a
    one-line :class:`ScenarioError` (an empty file would otherwise run every default without a word)."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ScenarioError(source, "(file)", f"no such file; give the path of a {what} .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "(syntax)", f"malformed TOML: {echo(str(exc), 200)[1:-1]}") from None
    except RecursionError:
        raise ScenarioError(source, "(syntax)", "arrays or tables nested too deeply to read; a scenario's "
                            "tables nest a few levels at most") from None
    except UnicodeDecodeError:
        raise ScenarioError(source, "(file)", f"not UTF-8 text; a {what} is a TOML file") from None
    if not data:
        raise ScenarioError(source, "(file)", f"empty: it sets no key; a {what} file sets at least its name "
                            "(see scenarios/ for examples)")
    return data


class SpecFile(BaseModel):
    """Base of the small TOML files that name other files relative to themselves (a joint posterior's, a
    prediction's): :meth:`read` validates one with a one-line :class:`ScenarioError` naming the file and the field,
    and :meth:`path` resolves a name it gives against its folder."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    _source: str = "<file>"
    _dir: Path = Path(".")

    @classmethod
    def read(cls, path: str | Path, what: str) -> "SpecFile":
        path = Path(path)
        data = read_toml(path, what)
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ScenarioError(str(path), ".".join(str(p) for p in err["loc"]) or "(file)", err["msg"]) from None
        spec._source, spec._dir = str(path), path.parent
        return spec

    def path(self, relative: str) -> Path:
        """A path the file gives, relative to the file's folder."""
        return (self._dir / relative).resolve()

    @property
    def source(self) -> str:
        return self._source


class Scenario(BaseModel):
    """Epstein's (2002) Model I with every contested rule as a named switch.

    Load with :meth:`load`, change with :meth:`replace`. The defaults are the
    paper's Run 2 inputs; the rule defaults mix readings (the printed ratio rule,
    but Mesa's prisoners that keep their cell and count down in their own
    activation). The files in ``scenarios/`` set every rule explicitly.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field("unnamed", description="short name of the scenario",
                      json_schema_extra=_meta("text", "-"))
    description: str = Field("", description="what the scenario is for",
                             json_schema_extra=_meta("text", "-"))
    steps: int = Field(500, ge=1, le=10_000_000, description="default number of steps of a run",
                       json_schema_extra=_meta("steps", EPSTEIN))

    # lattice and population
    width: int = Field(40, ge=3, le=100_000, description="lattice width (torus)",
                       json_schema_extra=_meta("cells", EPSTEIN + ": 40x40"))
    height: int = Field(40, ge=3, le=100_000, description="lattice height (torus)",
                        json_schema_extra=_meta("cells", EPSTEIN + ": 40x40"))
    citizen_density: float = Field(0.7, ge=0.0, le=1.0, description="share of cells holding a citizen at start",
                                   json_schema_extra=_meta("citizens per cell", EPSTEIN))
    cop_density: float = Field(0.04, ge=0.0, le=1.0, description="share of cells holding a cop at start",
                               json_schema_extra=_meta("cops per cell", EPSTEIN + " Table 2"))
    placement: Literal["exact", "binomial"] = Field(
        "exact", description="exact: round(density*cells) agents on random cells; binomial: each cell draws "
        "independently (Mesa)", json_schema_extra=_meta("choice", NOTES))

    # citizens
    legitimacy: float = Field(0.82, ge=0.0, le=1.0, description="L, perceived legitimacy of the regime",
                              json_schema_extra=_meta("dimensionless", EPSTEIN + " Table 2"))
    threshold: float = Field(0.1, ge=0.0, le=1.0, description="T, activation threshold of rule A",
                             json_schema_extra=_meta("dimensionless", EPSTEIN))
    hardship_distribution: Literal["uniform", "beta", "lognormal"] = Field(
        "uniform", description="law of each citizen's hardship H: uniform (at the default mean and spread: "
        "U(0,1), Epstein's draw), beta or lognormal with mean `hardship_mean` and standard deviation "
        "`hardship_spread` (docs/model.md element 5)",
        json_schema_extra=_meta("choice", GRANOVETTER + "; " + EPSTEIN))
    hardship_mean: float = Field(0.5, gt=0.0, le=10.0, description="mean of H over a lattice's citizens",
                                 json_schema_extra=_meta("dimensionless", GRANOVETTER))
    hardship_spread: float = Field(UNIFORM_SD, gt=0.0, le=10.0,
                                   description="standard deviation of H over a lattice's citizens "
                                   "(default: U(0,1)'s, 1/sqrt(12))",
                                   json_schema_extra=_meta("dimensionless", GRANOVETTER))
    arrest_prob_constant: float = Field(2.3, ge=0.0, le=100.0,
                                        description="k in P = 1 - exp(-k (C/A)); 2.3 makes P about 0.9 at C = A = 1",
                                        json_schema_extra=_meta("dimensionless", EPSTEIN))
    citizen_vision: float = Field(7.0, ge=1.0, le=15.0, description="v, citizen vision radius",
                                  json_schema_extra=_meta("cells", EPSTEIN + " Table 2"))
    cop_vision: float = Field(7.0, ge=1.0, le=15.0, description="v*, cop vision radius",
                              json_schema_extra=_meta("cells", EPSTEIN + " Table 2"))
    max_jail_term: float = Field(30.0, ge=0.0, description="J_max; inf means prisoners never return",
                                 json_schema_extra=_meta("steps", EPSTEIN + " Table 2"))
    movement: bool = Field(True, description="rule M on for citizens (and for cops unless `cop_movement` says otherwise)",
                           json_schema_extra=_meta("switch", EPSTEIN))
    cop_movement: bool | None = Field(
        None, description="rule M for cops; unset follows `movement` (Run 1 here: citizens stay, cops patrol)",
        json_schema_extra=_meta("switch", EPSTEIN + " Run 1 (deception needs cops that move away)"))

    # rule switches
    arrest_rule: Literal["ratio", "floor", "round_half_even"] = Field(
        "ratio", description="f in P = 1 - exp(-k f(C/A)): paper ratio, NetLogo floor, Mesa round",
        json_schema_extra=_meta("choice", NOTES))
    vision_shape: Literal["von_neumann", "moore", "euclidean"] = Field(
        "euclidean", description="which cells are within vision v", json_schema_extra=_meta("choice", NOTES))
    own_cell_in_vision: bool = Field(
        False, description="the agent's own cell is in its vision, so an active agent counts twice in A (NetLogo)",
        json_schema_extra=_meta("switch", NOTES))
    order: Literal["move_then_act", "act_then_move"] = Field(
        "move_then_act", description="order of rule M and rule A/C in one activation",
        json_schema_extra=_meta("choice", NOTES))
    cop_moves_to_arrestee: bool = Field(
        False, description="a cop steps onto the cell of the citizen it arrests (NetLogo); needs jailed off-lattice",
        json_schema_extra=_meta("switch", NOTES))
    jail_term: Literal["uniform_inclusive", "uniform_exclusive", "fixed"] = Field(
        "uniform_inclusive", description="term drawn from {0..J_max} (Mesa), {0..J_max-1} (NetLogo), or J_max",
        json_schema_extra=_meta("choice", NOTES))
    jail_countdown: Literal["own_activation", "end_of_step"] = Field(
        "own_activation", description="when terms count down: in the prisoner's own activation (Mesa) or for all "
        "at the end of the step (NetLogo)", json_schema_extra=_meta("choice", NOTES))
    jailed_hold_cell: bool = Field(
        True, description="prisoners keep (and block) their cell (Mesa); false: they leave the lattice",
        json_schema_extra=_meta("switch", NOTES))
    activation: Literal["random_sequential", "tiled"] = Field(
        "random_sequential", description="random_sequential: a fresh uniform order of all agents each step; tiled: "
        "random order of tiles, random order within each (fast, cache-local)",
        json_schema_extra=_meta("choice", EPSTEIN + " (asynchronous random activation)"))
    tile_size: int = Field(64, ge=4, le=4096, description="tile edge for activation = tiled",
                           json_schema_extra=_meta("cells", "uprising"))

    # schedules
    legitimacy_schedule: Schedule = Field(default_factory=Schedule, description="legitimacy over time",
                                          json_schema_extra=_meta("per step", EPSTEIN + " Runs 3-4"))
    cop_schedule: Schedule = Field(default_factory=Schedule, description="cop density over time",
                                   json_schema_extra=_meta("per step", EPSTEIN + " Run 5"))

    @model_validator(mode="after")
    def _check(self) -> "Scenario":
        self.legitimacy_schedule.check_against(self.legitimacy, "legitimacy_schedule")
        self.cop_schedule.check_against(self.cop_density, "cop_schedule")
        top = max(self.cop_density, self.cop_schedule.extreme(self.cop_density))
        if self.citizen_density + top > 1.0 + 1e-12:
            raise ValueError(f"citizen_density + cop_density: must not exceed 1 (got {self.citizen_density} + {top})")
        reach = 2 * extent(max(self.citizen_vision, self.cop_vision)) + 1
        if self.width < reach or self.height < reach:
            raise ValueError(f"width/height: must be at least 2*floor(vision)+1 = {reach} so that no cell is seen twice "
                             f"on the torus (got {self.width}x{self.height})")
        if not math.isinf(self.max_jail_term):
            if self.max_jail_term > 30000 or self.max_jail_term != int(self.max_jail_term):
                raise ValueError("max_jail_term: must be a whole number of steps in [0, 30000], or inf")
        if self.jail_term == "uniform_exclusive" and self.max_jail_term < 1:
            raise ValueError("max_jail_term: must be at least 1 with jail_term = uniform_exclusive")
        problem = hardship_problem(self.hardship_distribution, self.hardship_mean, self.hardship_spread)
        if problem:
            raise ValueError(problem)
        if self.cop_moves_to_arrestee and self.jailed_hold_cell:
            raise ValueError("cop_moves_to_arrestee: needs jailed_hold_cell = false (the prisoner's cell is not free)")
        if not self.jailed_hold_cell and self.jail_countdown == "own_activation":
            raise ValueError("jail_countdown: prisoners off the lattice have no activation; use end_of_step "
                             "with jailed_hold_cell = false")
        return self

    # ------------------------------------------------------------------ I/O
    @classmethod
    def load(cls, path: str | Path) -> "Scenario":
        """Read and validate a TOML scenario file."""
        data = read_toml(path, "scenario")
        if isinstance(data.get("rules"), dict) and "cities" not in data:  # a country's rules without its cities
            raise ScenarioError(str(path), "rules", "a [rules] table without [[cities]]: a behaviour file (the "
                                "behavioural parameters a country file names with behaviour = ...; docs/episodes.md), "
                                "not a scenario: run the country file that names it")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<scenario>") -> "Scenario":
        """Validate a mapping (as read from TOML) into a scenario."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _to_scenario_error(exc, source, data) from None

    def replace(self, **changes: Any) -> "Scenario":
        """A validated copy with ``changes``; nested keys use dots (``cop_schedule.start``)."""
        data = self.model_dump()
        for key, value in changes.items():
            node = data
            parts = key.split(".")
            for part in parts[:-1]:
                if not isinstance(node.get(part), dict):
                    raise ScenarioError("<replace>", echo_key(key), f"{echo(part)} is not a table of this scenario")
                node = node[part]
            node[parts[-1]] = value
        return Scenario.from_dict(data, source="<replace>")

    def memory_estimate(self, steps: int | None = None) -> dict[str, Any]:
        """About how many bytes one run of ``steps`` (default: the scenario's) takes, and the field to change
        when that is too much (``width``/``height`` where the lattice weighs most, else ``steps``): 16 bytes a
        cell, 48 an agent, 200 a step of the series (generous)."""
        steps = self.steps if steps is None else steps
        cells = self.width * self.height
        agents = int(cells * (self.citizen_density + max(self.cop_density, self.cop_schedule.extreme(self.cop_density))))
        lattice = cells * 16 + agents * 48
        series = (steps + 1) * 200
        field, allowed = (("width", "a smaller lattice (width, height)") if lattice >= series else
                          ("steps", "fewer steps (--steps)"))
        return {"bytes": lattice + series, "field": field, "allowed": allowed,
                "detail": f"a {self.width}x{self.height} lattice with {agents:,} agents, {steps:,} steps"}

    def to_toml(self) -> str:
        """The scenario as TOML text that :meth:`load` reads back to an equal scenario."""
        top, tables = [], []
        for key, value in self.model_dump().items():
            if isinstance(value, dict):
                body = "\n".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None)
                tables.append(f"[{key}]\n{body}\n")
            elif value is not None:  # TOML has no null: an unset optional key is left out
                top.append(f"{key} = {_toml_value(value)}")
        return "\n".join(top) + "\n\n" + "\n".join(tables)

    def hash(self) -> str:
        """Canonical 16-hex-digit hash of everything that affects results (not name or description)."""
        data = self.model_dump(exclude={"name", "description"})
        for key in HASH_OMITTED_AT_DEFAULT:
            if data.get(key) == Scenario.model_fields[key].default:
                data.pop(key, None)
        text = json.dumps(data, sort_keys=True, allow_nan=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_epstein_hardship(distribution: str, mean: float, spread: float) -> bool:
    """Whether the hardship law is Epstein's U(0,1) drawn as before its parameters existed (the defaults)."""
    return distribution == "uniform" and mean == 0.5 and spread == UNIFORM_SD


def hardship_problem(distribution: str, mean: float, spread: float) -> str | None:
    """Why a hardship law (:func:`hardship_parameters`) cannot be drawn, as "field: message", or None.

    uniform: its support ``mean -+ sqrt(3) spread`` must not go below 0; beta: the mean in (0, 1) and the
    variance below ``mean (1 - mean)`` (the largest a law on [0, 1] with that mean can have)."""
    if distribution == "uniform" and mean - math.sqrt(3.0) * spread < -1e-12:
        return (f"hardship_spread: a uniform law of mean {mean:g} has spread at most mean/sqrt(3) = "
                f"{mean / math.sqrt(3.0):.6g} (hardship is not negative); got {spread:g}")
    if distribution == "beta":
        if not 0.0 < mean < 1.0:
            return f"hardship_mean: a beta law lies in (0, 1); its mean must too (got {mean:g})"
        if spread * spread >= mean * (1.0 - mean):
            return (f"hardship_spread: a beta law of mean {mean:g} has spread below sqrt(mean (1 - mean)) = "
                    f"{math.sqrt(mean * (1.0 - mean)):.6g}; got {spread:g}")
    return None


def hardship_parameters(distribution: str, mean: float, spread: float) -> tuple[float, float]:
    """The two parameters of a hardship law with the given mean and standard deviation (method of moments).

    * uniform: ``(lo, hi) = (mean - sqrt(3) spread, mean + sqrt(3) spread)``;
    * beta: ``(a, b) = (mean nu, (1 - mean) nu)`` with ``nu = mean (1 - mean) / spread^2 - 1``;
    * lognormal: ``(mu, sigma)`` of ``log H`` with ``sigma^2 = log(1 + spread^2/mean^2)`` and
      ``mu = log(mean) - sigma^2/2``.
    """
    if distribution == "uniform":
        half = math.sqrt(3.0) * spread
        return max(0.0, mean - half), mean + half
    if distribution == "beta":
        nu = mean * (1.0 - mean) / (spread * spread) - 1.0
        return mean * nu, (1.0 - mean) * nu
    if distribution == "lognormal":
        sigma2 = math.log1p((spread / mean) ** 2)
        return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)
    raise ValueError(f"hardship_distribution: unknown law {distribution!r}")


def draw_hardship(gen: np.random.Generator, n: int, distribution: str = "uniform", mean: float = 0.5,
                  spread: float = UNIFORM_SD) -> np.ndarray:
    """``n`` hardships from ``gen`` (float64): ``gen.random(n)`` for Epstein's U(0,1) (the defaults, so that
    the stream and the values are those of every run before these laws existed), else the law of
    :func:`hardship_parameters`. Granovetter (1978): the share that rises is set by the whole distribution."""
    if is_epstein_hardship(distribution, mean, spread):
        return gen.random(n)
    p, q = hardship_parameters(distribution, mean, spread)
    if distribution == "uniform":
        return p + (q - p) * gen.random(n)
    if distribution == "beta":
        return gen.beta(p, q, n)
    return gen.lognormal(p, q, n)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return _toml_string(str(value))


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest literal."""
    out = []
    for ch in text:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _to_scenario_error(exc: ValidationError, source: str, data: dict[str, Any]) -> ScenarioError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    msg = err["msg"]
    if kind == "extra_forbidden":
        parent = Scenario if len(err["loc"]) == 1 else Schedule
        allowed = ", ".join(parent.model_fields)
        return ScenarioError(source, echo_key(loc), f"unknown key; allowed keys: {allowed}")
    if kind == "value_error":
        # our own validators say "field: message"
        text = msg.removeprefix("Value error, ")
        field, _, rest = text.partition(": ")
        if rest and not loc:
            return ScenarioError(source, field, rest)
        if rest:
            return ScenarioError(source, f"{loc}.{field}", rest)
        return ScenarioError(source, loc or "(scenario)", text)
    allowed = allowed_values(field_at(Scenario, err["loc"]))
    got = err.get("input")
    detail = msg[0].lower() + msg[1:] if msg else kind
    return ScenarioError(source, loc, f"{detail} (got {echo(got)}){'; allowed: ' + allowed if allowed else ''}")


def field_at(model: type[BaseModel], loc: tuple | list) -> Any:
    """The pydantic field that an error's location ``loc`` names in ``model`` (descending into nested models):
    the deepest field found along it, or None."""
    info = None
    for part in loc:
        if not isinstance(part, str) or model is None or part not in model.model_fields:
            return info
        info = model.model_fields[part]
        model = info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) else None
    return info


def allowed_values(info: Any) -> str:
    """What a pydantic field accepts, as the text after "allowed:" in errors and in the parameter tables.

    In this order: the field's own ``json_schema_extra["allowed"]`` text if it states one; its choices
    (a ``Literal``, as ``a | b``); its bounds (``[`` ``]`` inclusive, ``(`` ``)`` strict, ``-inf``/``inf``
    for a missing side); ``true | false`` for a bool; ``YYYY-MM-DDTHH:MM (local)`` for a date-time;
    ``N numbers`` for a list of fixed length; then ``, or left out`` for an optional field. ``""`` when none
    of these says more than the type (a plain list or table, free text): tables show "any", errors nothing.
    """
    if info is None:
        return ""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if extra.get("allowed"):
        return str(extra["allowed"])
    ann = info.annotation
    optional = get_origin(ann) in (Union, types.UnionType) and type(None) in get_args(ann)
    if optional:
        rest = [a for a in get_args(ann) if a is not type(None)]
        base = rest[0] if len(rest) == 1 else ann
    else:
        base = ann
    if get_origin(base) is Annotated:  # a type with its own validator, such as the country's times
        base = get_args(base)[0]
    lo = hi = None
    lo_open = hi_open = False
    shortest = longest = None
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo, lo_open = m.ge, False
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi, hi_open = m.le, False
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
        shortest = getattr(m, "min_length", shortest)
        longest = getattr(m, "max_length", longest)
    if get_origin(base) is Literal:
        text = " | ".join(str(v) for v in get_args(base))
    elif lo is not None or hi is not None:
        text = (f"{'(' if lo_open else '['}{'-inf' if lo is None else lo}, "
                f"{'inf' if hi is None else hi}{')' if hi_open else ']'}")
    elif base is bool:
        text = "true | false"
    elif base is dt.datetime:
        text = "YYYY-MM-DDTHH:MM (local)"
    elif get_origin(base) is list and shortest is not None and shortest == longest:
        text = f"{shortest} numbers"
    else:
        return ""
    return text + (", or left out" if optional else "")


def parse_value(text: str) -> Any:
    """One ``--set`` value read as TOML (``0.7``, ``true``, ``inf``, ``"floor"``, ``[1, 2]``); text that is not
    a TOML value stays text, so ``--set arrest_rule=floor`` needs no quotes."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(items: tuple[str, ...] | list[str], source: str, example: str = "legitimacy=0.7") -> dict[str, Any]:
    """``key=value`` overrides (``--set``, repeatable) as ``{key: value}``, each value read by
    :func:`parse_value`. An item without ``=`` or without a key is a :class:`ScenarioError` of
    ``"SOURCE --set"``, showing ``example``."""
    changes: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ScenarioError(f"{source} --set", echo_key(item), f"expected key=value, e.g. --set {example}")
        changes[key.strip()] = parse_value(value.strip())
    return changes


def parameter_table() -> list[dict[str, str]]:
    """One row per parameter: name, unit, default, allowed range, reference, meaning."""
    rows = []
    for name, info in Scenario.model_fields.items():
        extra = info.json_schema_extra or {}
        default = info.default if info.default_factory is None else "(see table)"
        rows.append({"name": name, "unit": extra.get("unit", ""), "default": repr(default),
                     "allowed": allowed_values(info) or "any", "reference": extra.get("reference", ""),
                     "meaning": info.description or ""})
    return rows


def seed_sequence(seed: int, replicate: int | None = None) -> np.random.SeedSequence:
    """The root SeedSequence of a run; replicates branch off with a spawn key."""
    if replicate is None:
        return np.random.SeedSequence(seed)
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def parameter_table_markdown() -> str:
    """The parameter table as Markdown (embedded in docs/model.md; a test keeps it current)."""
    lines = ["| parameter | unit | default | allowed | reference | meaning |", "|---|---|---|---|---|---|"]
    for row in parameter_table():
        cells = [f"`{row['name']}`", row["unit"], f"`{row['default']}`", row["allowed"].replace("|", "\\|"),
                 row["reference"], row["meaning"]]
        lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    sched = Schedule.model_fields
    lines += ["", "Schedules (`legitimacy_schedule`, `cop_schedule`):", "",
              "| key | unit | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, info in sched.items():
        extra = info.json_schema_extra or {}
        lines.append(f"| `{name}` | {extra.get('unit', '')} | `{info.default!r}` | "
                     f"{(allowed_values(info) or 'any').replace('|', chr(92) + '|')} | {info.description} |")
    return "\n".join(lines)
