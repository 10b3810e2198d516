"""Experiment files: a base scenario, the parameters to vary, replicates and outcomes, in TOML.

Example (``experiments/legitimacy-sweep.toml``)::

    name = "legitimacy-sweep"
    base = "../scenarios/epstein-2002/run2.toml"   # relative to this file
    steps = 200                                     # optional: overrides the base's steps
    replicates = 3
    seed = 0                                        # root seed (default 0)
    outcomes = ["mean_active_fraction", "outbursts_per_1000_steps"]   # default: DEFAULT_OUTCOMES

    [design]
    kind = "factorial"          # factorial | lhs | sobol | morris

    [parameters]                # factorial: lists of values; the design is their Cartesian product
    legitimacy = [0.7, 0.8, 0.9]
    cop_density = [0.02, 0.04]

For ``lhs``, ``sobol`` and ``morris`` each parameter is a range, ``name = { low = .., high = .. }``,
and ``[design]`` has ``samples`` (LHS: points; Sobol: N, a power of 2, giving N*(D+2) points, or
N*(2D+2) with ``second_order = true``; Morris: trajectories, giving N*(D+1) points, with
``levels``, default 4). Integer parameters (``width``, ``legitimacy_schedule.start``, ...) are
rounded to the nearest whole number. Schedule keys use dots, quoted or as TOML dotted keys:
``"legitimacy_schedule.value" = [0.5, 0.6]``.

Every parameter name is checked against the scenario's fields and every design point is built
into a scenario when the file is loaded, so a bad value is reported before anything runs, as a
:class:`~uprising.scenario.ScenarioError` (one line: file, field, what is allowed).

Seeds: a run's seed derives from its scenario's hash (and the root seed) only
(:func:`run_seed`), and replicates branch off it with a spawn key inside
:func:`uprising.simulate.simulate`. The same run therefore gets the same numbers
whatever executor, worker count or order runs it, and
``simulate(run.scenario, seed=run.seed, replicate=run.replicate)`` reproduces any
run of the store by hand.
"""

from __future__ import annotations

import itertools
import math
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from ..scenario import Scenario, ScenarioError, Schedule, allowed_values, field_at, read_toml
from . import outcomes as _outcomes
from .country_outcomes import DEFAULT_COUNTRY_OUTCOMES
from .kinds import COUNTRY, check_country_parameter, country_numeric_kind, country_value, kind_of, load_scenario

DesignKind = Literal["factorial", "lhs", "sobol", "morris"]
SAMPLED = ("lhs", "sobol", "morris")
_NOT_PARAMETERS = ("name", "description", "set")


# ------------------------------------------------------------------ seeds and run ids
def run_seed(scenario_hash: str, root_seed: int = 0) -> int:
    """The seed of every run of a scenario: ``int(hash, 16) % 2**63``, mixed with a non-zero root seed.

    With ``root_seed = 0`` it is the hash itself as an integer; otherwise the first
    64 bits of ``SeedSequence([root_seed, hash])``, modulo 2**63. Replicates are
    not part of it: :func:`uprising.simulate.simulate` spawns them from this seed
    (``SeedSequence(seed, spawn_key=(replicate,))``).
    """
    h = int(scenario_hash, 16) % 2**63
    if root_seed == 0:
        return h
    words = np.random.SeedSequence([int(root_seed), h]).generate_state(2, np.uint32)
    return (int(words[0]) | (int(words[1]) << 32)) % 2**63


def run_id(scenario_hash: str, replicate: int, root_seed: int = 0) -> str:
    """``HASH-rREP``, or ``HASH-seedROOT-rREP`` with a non-zero root seed: the run's name in a store."""
    if root_seed:
        return f"{scenario_hash}-seed{root_seed}-r{replicate}"
    return f"{scenario_hash}-r{replicate}"


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a design point's scenario and one replicate."""

    point_index: int
    params: dict[str, Any]  # the varied parameters at this point (canonical values read back from the scenario)
    scenario: Any  # the base (a Scenario or a CountryScenario) with the experiment's steps and the point's parameters
    replicate: int
    run_id: str
    seed: int = field(default=0)

    @property
    def scenario_hash(self) -> str:
        return self.scenario.hash()


# ------------------------------------------------------------------ the schema
class Range(BaseModel):
    """A parameter's interval for sampled designs, and the prior it stands for in a calibration.

    ``prior = "uniform"`` (the default) spreads the design's points evenly over ``[low, high]``;
    ``"log-uniform"`` evenly over ``[ln low, ln high]`` (for a rate or a scale known to its order of
    magnitude; ``low`` > 0). ``reason`` says why the range is what it is (kept with the posterior).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    low: float
    high: float
    prior: Literal["uniform", "log-uniform"] = "uniform"
    reason: str = ""


class Design(BaseModel):
    """How design points are drawn."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    kind: DesignKind = Field("factorial", description="factorial | lhs | sobol | morris")
    samples: int | None = Field(None, ge=1, le=10_000_000,
                                description="lhs: points; sobol: N (a power of 2); morris: trajectories")
    second_order: bool = Field(False, description="sobol: also the samples for second-order indices")
    levels: int = Field(4, ge=2, le=1000, description="morris: grid levels")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="seed of the sampler (default: the experiment's)")


# float scenario fields that must hold whole numbers (``inf`` allowed): sampled values are rounded like integers
WHOLE_NUMBER_FLOATS = frozenset({"max_jail_term"})


class Experiment(BaseModel):
    """An experiment file, validated. Load with :meth:`load`; see the module's docstring.

    ``points()`` are the design points (dicts of parameter values), ``runs()`` one
    :class:`RunSpec` per point and replicate, ``salib_problem()`` and
    ``design_matrix()`` what SALib's analysers need.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(description="name of the experiment (the default store is results/NAME)")
    description: str = ""
    base: str = Field(description="path of the base scenario TOML, relative to the experiment file")
    steps: int | None = Field(None, ge=1, le=10_000_000, description="steps per run (default: the base's)")
    replicates: int = Field(1, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1, description="root seed")
    outcomes: list[str] = Field(default_factory=lambda: list(_outcomes.DEFAULT_OUTCOMES), min_length=1)
    design: Design = Field(default_factory=Design)
    parameters: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, Any] = Field(default_factory=dict, description="fixed changes to the base before the design, "
                                "e.g. { scale = 0.005 } (dotted keys for a country)")

    _source: str = PrivateAttr("<experiment>")
    _base_path: Path | None = PrivateAttr(None)
    _base: Scenario | None = PrivateAttr(None)
    _matrix: np.ndarray | None = PrivateAttr(None)
    _points: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _runs: list[RunSpec] = PrivateAttr(default_factory=list)
    _varied: list[str] = PrivateAttr(default_factory=list)

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path) -> "Experiment":
        """Read, validate and expand an experiment file (raises :class:`ScenarioError`)."""
        path = Path(path)
        data = read_toml(path, "experiment")
        data.setdefault("name", path.stem)
        return cls.from_dict(data, source=str(path), directory=path.parent)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<experiment>", directory: str | Path = ".",
                  base: Scenario | None = None) -> "Experiment":
        """Validate a mapping (as read from TOML). ``base`` relative to ``directory``; pass ``base=`` a
        :class:`Scenario` to use it instead of reading the file (``data["base"]`` is then only a label)."""
        data = dict(data)
        if base is not None:
            data.setdefault("base", "<given>")
        if isinstance(data.get("parameters"), dict):
            data["parameters"] = _flatten(data["parameters"])
        if "outcomes" not in data and _is_country_base(base, data.get("base"), directory):
            data["outcomes"] = list(DEFAULT_COUNTRY_OUTCOMES)
        try:
            exp = cls.model_validate(data)
        except ValidationError as exc:
            raise _to_error(exc, source) from None
        exp._source = source
        if base is None:
            exp._base_path = (Path(directory) / exp.base).resolve()
            if not exp._base_path.is_file():
                raise ScenarioError(source, "base", f"no such scenario file {str(exp._base_path)!r}; give a path "
                                    "to a scenario .toml, relative to the experiment file")
            base = load_scenario(exp._base_path)
        if exp.set:
            base = _apply_set(base, exp.set, source)
        if kind_of(base) == COUNTRY:
            if exp.steps is not None:
                raise ScenarioError(source, "steps", "a country scenario runs over its [clock]; leave steps out "
                                    "(vary clock.end as a parameter to change the length)")
            exp._base = base
        else:
            exp._base = base if exp.steps is None else base.replace(steps=exp.steps)
        exp._check()
        exp._expand()
        return exp

    def _check(self) -> None:
        src = self._source
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
            raise ScenarioError(src, "name", f"{self.name!r}: letters, digits, '.', '_' and '-' only "
                                "(it names the store's folder)")
        for name in self.outcomes:
            try:
                _outcomes.resolve(name, self.kind)
            except _outcomes.UnknownOutcome as exc:
                raise ScenarioError(src, "outcomes", str(exc)) from None
            if self.kind == COUNTRY and name.startswith("effect@"):
                variant = name.split("@")[1]
                if variant not in self._base.variants:
                    raise ScenarioError(src, "outcomes", f"{name!r}: the base scenario has no variant {variant!r}; "
                                        f"allowed: {', '.join(self._base.variants) or '(none)'}")
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ScenarioError(src, "outcomes", "each outcome once")
        kind = self.design.kind
        if kind == "factorial" and self.design.samples is not None:
            raise ScenarioError(src, "design.samples", "only for kind = lhs, sobol or morris (factorial takes every "
                                "combination of the listed values)")
        if kind in SAMPLED:
            if self.design.samples is None:
                raise ScenarioError(src, "design.samples", f"kind = {kind} needs samples, a whole number >= 1")
            if not self.parameters:
                raise ScenarioError(src, "parameters", f"kind = {kind} needs at least one parameter range, "
                                    "e.g. legitimacy = {{ low = 0.6, high = 0.9 }}")
            n = self.design.samples
            if kind == "sobol" and n & (n - 1):
                raise ScenarioError(src, "design.samples", f"sobol needs a power of 2 (got {n}; try "
                                    f"{1 << (n - 1).bit_length()})")
        if kind == "morris" and self.design.levels % 2:
            raise ScenarioError(src, "design.levels", f"morris needs an even number of levels (got "
                                f"{self.design.levels})")
        for name, value in self.parameters.items():
            where = f"parameters.{name}"
            if self.kind == COUNTRY:
                check_country_parameter(self._base, name, src, where)
            elif _parameter_annotation(name) is None:
                raise ScenarioError(src, where, f"unknown parameter; allowed: {', '.join(parameter_names())}")
            if kind == "factorial":
                if not isinstance(value, list) or not value:
                    raise ScenarioError(src, where, "factorial needs a non-empty list of values, e.g. [0.7, 0.8]")
                if any(isinstance(v, (list, dict)) for v in value):
                    raise ScenarioError(src, where, "values must be numbers, strings or booleans")
            else:
                if not isinstance(value, dict):
                    raise ScenarioError(src, where, f"kind = {kind} needs a range {{ low = .., high = .. }}")
                try:
                    rng = Range.model_validate(value)
                except ValidationError as exc:
                    raise _to_error(exc, src, prefix=where, model=Range) from None
                if not rng.low < rng.high:
                    raise ScenarioError(src, where, f"low must be below high (got {rng.low}, {rng.high})")
                if rng.prior == "log-uniform" and not rng.low > 0:
                    raise ScenarioError(src, where, f"a log-uniform prior needs low > 0 (got {rng.low})")
                if self._numeric(name) is None:
                    raise ScenarioError(src, where, "a range needs a numeric parameter; list the values of "
                                        "this one in a factorial design")

    def _expand(self, raw: list[dict[str, Any]] | None = None) -> None:
        names = list(self.parameters)
        if raw is not None:
            names = list(dict.fromkeys(n for p in raw for n in p))
        elif self.design.kind == "factorial":
            raw = [dict(zip(names, combo)) for combo in itertools.product(*(self.parameters[n] for n in names))]
        else:
            self._matrix = self._sample()
            kinds = [self._numeric(n) for n in names]
            logs = [self.parameters[n].get("prior") == "log-uniform" for n in names]
            raw = [{n: (int(round(v)) if k is int else float(round(v)) if n in WHOLE_NUMBER_FLOATS else v)
                    for n, k, v in zip(names, kinds, (math.exp(float(x)) if log else float(x)
                                                      for x, log in zip(row, logs)))}
                   for row in self._matrix]
        self._varied = names
        points, runs = [], []
        for i, point in enumerate(raw):
            try:
                scenario = self._with(point)
            except ScenarioError as exc:
                where = f"parameters.{exc.field}" if exc.field in point else "parameters"
                shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
                raise ScenarioError(self._source, where, f"design point {i} ({shown}): "
                                    f"{'' if exc.field in point else exc.field + ': '}{exc.message}") from None
            params = {n: (country_value(scenario, n) if self.kind == COUNTRY else _get(scenario, n)) for n in point}
            points.append(params)
            h = scenario.hash()
            seed = run_seed(h, self.seed)
            for rep in range(self.replicates):
                runs.append(RunSpec(i, params, scenario, rep, run_id(h, rep, self.seed), seed))
        self._points = points
        self._runs = runs

    def _sample(self) -> np.ndarray:
        d = self.design
        seed = self.seed if d.seed is None else d.seed
        if d.kind == "lhs":
            from scipy.stats import qmc

            try:
                sampler = qmc.LatinHypercube(d=len(self.parameters), rng=seed)
            except TypeError:  # scipy < 1.15 calls it seed
                sampler = qmc.LatinHypercube(d=len(self.parameters), seed=seed)
            prob = self.salib_problem()
            lo, hi = np.array(prob["bounds"]).T
            return qmc.scale(sampler.random(d.samples), lo, hi)
        if d.kind == "sobol":
            from SALib.sample import sobol

            return sobol.sample(self.salib_problem(), d.samples, calc_second_order=d.second_order, seed=seed)
        from SALib.sample import morris

        return morris.sample(self.salib_problem(), d.samples, num_levels=d.levels, seed=seed)

    # ---------------------------------------------------------------- the kind of scenario
    @property
    def kind(self) -> str:
        """``"model1"`` or ``"country"``: the kind of the base scenario (:mod:`uprising.experiment.kinds`)."""
        return kind_of(self._base)

    def _numeric(self, name: str) -> type | None:
        """int or float where parameter ``name`` takes numbers, else None."""
        if self.kind == COUNTRY:
            try:
                return country_numeric_kind(self._base, name)
            except (KeyError, ScenarioError):
                return None
        return _numeric_kind(_parameter_annotation(name))

    def _with(self, point: dict[str, Any]) -> Any:
        """The base scenario with a design point's values (raises :class:`ScenarioError`)."""
        if not point:
            return self._base
        if self.kind == COUNTRY:
            return self._base.replace(point, source=self._source)
        return self._base.replace(**point)

    # ---------------------------------------------------------------- the public view
    @property
    def source(self) -> str:
        """Where the experiment was read from."""
        return self._source

    @property
    def base_path(self) -> Path | None:
        """The base scenario file, resolved (None when a Scenario was given to :meth:`from_dict`)."""
        return self._base_path

    @property
    def base_scenario(self) -> Any:
        """The base scenario with the experiment's ``steps`` applied."""
        return self._base

    @property
    def steps_per_run(self) -> int:
        """Steps of each run: Model I's ``steps``, or a country's ticks (its clock)."""
        steps = getattr(self._base, "steps", None)
        return int(steps) if steps is not None else int(self._base.clock.clock().ticks)

    @property
    def varied(self) -> list[str]:
        """Names of the varied parameters, in the file's order (the columns of points and of the design matrix)."""
        return list(self._varied)

    def at(self, points: list[dict[str, Any]], name: str | None = None) -> "Experiment":
        """This experiment (base, steps, replicates, seed, outcomes) at the given ``points`` instead of its design.

        For drivers that choose their own points, such as ABC-SMC proposing a
        population: ``exp.at([{"legitimacy": 0.8}, ...], name=f"{exp.name}-pop3")``.
        Runs share ids (and so the store's cache) with any experiment that makes
        the same scenario. Integer parameters given as floats are rounded. Raises
        :class:`ScenarioError` for an unknown parameter or an invalid point.
        """
        new = self.model_copy(update={"name": name} if name else None)
        new._source, new._base_path, new._base, new._matrix = self._source, self._base_path, self._base, None
        if name:
            new._check()
        raw = []
        for point in points:
            clean = {}
            for key, value in point.items():
                if self.kind == COUNTRY:
                    check_country_parameter(self._base, key, self._source, f"parameters.{key}")
                elif _parameter_annotation(key) is None:
                    raise ScenarioError(self._source, f"parameters.{key}",
                                        f"unknown parameter; allowed: {', '.join(parameter_names())}")
                if isinstance(value, np.generic):
                    value = value.item()
                if self._numeric(key) is int and isinstance(value, float) and math.isfinite(value):
                    value = int(round(value))
                clean[key] = value
            raw.append(clean)
        new._expand(raw)
        return new

    def points(self) -> list[dict[str, Any]]:
        """The design points in order: ``[{parameter: value}]`` (values as the scenario holds them).

        Factorial: the Cartesian product, the last parameter varying fastest. LHS:
        ``scipy.stats.qmc.LatinHypercube``; Sobol and Morris: SALib's samplers.
        Deterministic given the experiment (the sampler is seeded with
        ``design.seed``, default the experiment's ``seed``). A factorial
        design without parameters has one point: the base scenario (an ensemble).
        """
        return [dict(p) for p in self._points]

    def runs(self) -> list[RunSpec]:
        """One :class:`RunSpec` per (point, replicate), point-major.

        Two points that build the same scenario share run ids (a store runs each id once).
        """
        return list(self._runs)

    def run_ids(self) -> list[str]:
        """The distinct run ids of the experiment, in run order."""
        return list(dict.fromkeys(r.run_id for r in self._runs))

    def salib_problem(self) -> dict[str, Any]:
        """SALib's problem dict: ``{"num_vars", "names", "bounds"}`` (sampled designs only; a log-uniform
        parameter's bounds are ``[ln low, ln high]``, the space in which its points are spread)."""
        if self.design.kind not in SAMPLED:
            raise ValueError(f"{self._source}: a factorial design has no SALib problem; use kind = lhs, sobol "
                             "or morris")
        names = list(self.parameters)
        return {"num_vars": len(names), "names": names,
                "bounds": [_design_bounds(self.parameters[n]) for n in names]}

    def design_matrix(self) -> np.ndarray:
        """The points as a float array, one row per point, columns :attr:`varied` (before integer rounding
        for sampled designs: the X that SALib's ``morris.analyze`` expects)."""
        if self._matrix is not None:
            return self._matrix.copy()
        names = self._varied
        return np.array([[_as_float(p.get(n)) for n in names] for p in self._points], dtype=float).reshape(
            len(self._points), len(names))


# ------------------------------------------------------------------ helpers
def _apply_set(base: Any, changes: dict[str, Any], source: str) -> Any:
    """The base scenario with an experiment's fixed ``set`` changes (a one-line error naming ``set.KEY``)."""
    changes = _flatten(changes)
    try:
        if kind_of(base) == COUNTRY:
            return base.replace(changes, source=f"{source} set")
        return base.replace(**changes)
    except ScenarioError as exc:
        key = next((k for k in changes if k == exc.field or exc.field.endswith(k)), exc.field)
        raise ScenarioError(source, f"set.{key}", exc.message) from None


def _design_bounds(rng: dict[str, Any]) -> list[float]:
    """A range's bounds in the space its design points are spread over (logarithms for a log-uniform prior)."""
    lo, hi = float(rng["low"]), float(rng["high"])
    return [math.log(lo), math.log(hi)] if rng.get("prior") == "log-uniform" else [lo, hi]


def _is_country_base(base: Any, path: Any, directory: str | Path) -> bool:
    """Whether the experiment's base is a country scenario (given, or a file that declares [[cities]])."""
    from ..country.scenario import is_country_file

    if base is not None:
        return kind_of(base) == COUNTRY
    return isinstance(path, str) and is_country_file(Path(directory) / path)


def parameter_names() -> list[str]:
    """Every scenario key an experiment may vary (schedule keys with dots)."""
    out = []
    for name, info in Scenario.model_fields.items():
        if name in _NOT_PARAMETERS:
            continue
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            out += [f"{name}.{sub}" for sub in info.annotation.model_fields]
        else:
            out.append(name)
    return out


def _parameter_annotation(name: str) -> Any:
    parts = name.split(".")
    if parts[0] in _NOT_PARAMETERS or parts[0] not in Scenario.model_fields or len(parts) > 2:
        return None
    ann = Scenario.model_fields[parts[0]].annotation
    if len(parts) == 1:
        return None if ann is Schedule else ann
    if ann is not Schedule or parts[1] not in Schedule.model_fields:
        return None
    return Schedule.model_fields[parts[1]].annotation


def _numeric_kind(ann: Any) -> type | None:
    """int or float if the field takes numbers (bool is not a number here), else None."""
    if get_origin(ann) in (Union, types.UnionType):
        kinds = {_numeric_kind(a) for a in get_args(ann) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if ann is float:
        return float
    if ann is int:
        return int
    return None


def _get(scenario: Scenario, name: str) -> Any:
    value: Any = scenario
    for part in name.split("."):
        value = getattr(value, part)
    return value


def _as_float(value: Any) -> float:
    if isinstance(value, (bool, int, float)):
        return float(value)
    return float("nan")


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """TOML dotted keys come as nested tables: ``{a: {b: [..]}}`` -> ``{"a.b": [..]}`` (a range stays a leaf)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not set(value) & {"low", "high"}:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _to_error(exc: ValidationError, source: str, prefix: str = "", model: type[BaseModel] = Experiment) -> ScenarioError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    where = ".".join(([prefix] if prefix else []) + loc) or prefix or "(experiment)"
    if err["type"] == "extra_forbidden":
        parent: type[BaseModel] = model
        if loc and loc[0] == "design" and model is Experiment:
            parent = Design
        return ScenarioError(source, where, f"unknown key; allowed keys: {', '.join(parent.model_fields)}")
    if err["type"] == "missing":
        return ScenarioError(source, where, "required")
    allowed = allowed_values(field_at(model, loc))
    msg = err["msg"]
    detail = msg[0].lower() + msg[1:] if msg else err["type"]
    return ScenarioError(source, where, f"{detail} (got {err.get('input')!r}){'; allowed: ' + allowed if allowed else ''}")
