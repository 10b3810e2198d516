"""Named outcomes: one number per run, declared once, used by sweeps, sensitivity and calibration.

An outcome is a function ``Result -> float``. The registry :data:`OUTCOMES` maps a
name to it; :func:`evaluate` computes several at once and :func:`resolve` checks
names. Undefined values (a wait between outbursts in a run with fewer than two
outbursts) are ``nan``, never an exception.

A country run has outcomes of its own (:mod:`uprising.experiment.country_outcomes`: deaths by kind,
detentions by date, onsets, participants, per-city shares, the end of unrest, each target of a targets
file); :func:`resolve` and :func:`evaluate` take the kind of scenario (``"model1"`` or ``"country"``,
:mod:`uprising.experiment.kinds`) and refuse a name of the other kind.

Outcomes beyond the built-in ones come in two ways:

* :func:`register` (a decorator) adds a function under a name in *this* process.
  Worker processes started afresh (the default process pool, Dask workers) do not
  see it unless the module that registers it is imported there too.
* A name of the form ``"package.module:function"`` is imported wherever it is
  evaluated, so it works with any executor as long as the module is importable
  on the workers. Its result is still stored under the full name.

Outbursts (Epstein 2002, Run 2) are episodes with more actives than a threshold.
The paper's threshold is 50 actives on its 40x40 lattice with 1120 citizens; here
the threshold scales with the population (``active * 1120 > 50 * citizens``, in
integers), so that an outcome means the same on any lattice and equals the
paper's ``> 50`` exactly at Run 2's 1120 citizens.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from ..analysis import Episode, outbursts, waits
from ..simulate import Result

OutcomeFunction = Callable[[Result], float]

#: Epstein's (2002) outburst threshold: 50 actives among 1120 citizens (Run 2).
OUTBURST_ACTIVES = 50
OUTBURST_CITIZENS = 1120


@dataclass(frozen=True)
class Outcome:
    """A named summary statistic of one run."""

    name: str
    function: OutcomeFunction
    description: str

    def __call__(self, result: Result) -> float:
        return float(self.function(result))


OUTCOMES: dict[str, Outcome] = {}

#: The outcomes an experiment records when its file names none.
DEFAULT_OUTCOMES: tuple[str, ...] = (
    "mean_active_fraction", "peak_active_fraction", "mean_jailed_fraction", "final_jailed_fraction",
    "arrests_per_step_per_citizen", "outbursts_per_1000_steps", "mean_wait_between_outbursts",
    "mean_outburst_activation",
)


class UnknownOutcome(ValueError):
    """An outcome name that is neither registered nor an importable ``module:function``."""


def register(name: str, description: str = "") -> Callable[[OutcomeFunction], OutcomeFunction]:
    """Decorator: register ``function(result) -> float`` as outcome ``name`` (replaces an existing one)."""
    if not name or ":" in name or not name.replace("_", "a").isalnum():
        raise ValueError(f"outcome name {name!r}: use letters, digits and underscores")

    def deco(function: OutcomeFunction) -> OutcomeFunction:
        OUTCOMES[name] = Outcome(name, function, description or (function.__doc__ or "").strip().split("\n")[0])
        return function

    return deco


def allowed(kind: str = "model1") -> str:
    """The names of a kind's outcomes, and the import form, as one line (for error messages)."""
    if kind == "country":
        from .country_outcomes import allowed_country

        return allowed_country() + ", or module:function"
    return ", ".join(OUTCOMES) + ", or module:function"


def resolve(name: str, kind: str = "model1") -> Outcome:
    """The outcome called ``name`` for a scenario of ``kind`` (``"model1"``: a registered name; ``"country"``:
    a name of :mod:`uprising.experiment.country_outcomes`), or an importable ``module:function``."""
    if kind == "country" and ("@" in name or ":" not in name):  # a family's argument may hold a time HH:MM
        from .country_outcomes import resolve_country

        try:
            found = resolve_country(name)
        except ValueError as exc:
            raise UnknownOutcome(f"outcome {name!r}: {exc}") from None
        if found is None:
            raise UnknownOutcome(f"unknown country outcome {name!r}; allowed: {allowed(kind)}")
        return Outcome(name, found[1], found[0])
    if kind == "model1" and name in OUTCOMES:
        return OUTCOMES[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            function = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownOutcome(f"outcome {name!r}: cannot import it ({exc}); allowed: {allowed(kind)}") from None
        if not callable(function):
            raise UnknownOutcome(f"outcome {name!r}: not callable; allowed: {allowed(kind)}")
        return Outcome(name, function, (function.__doc__ or "").strip().split("\n")[0])
    raise UnknownOutcome(f"unknown outcome {name!r}; allowed: {allowed(kind)}")


def evaluate(result: Result, names: Iterable[str]) -> dict[str, float]:
    """``{name: value}`` for each outcome (a float; nan where undefined) of a run of either kind.

    Raises :class:`UnknownOutcome` (one line listing what is allowed) for a
    name that does not resolve, and lets an outcome's own exception through.
    """
    from .kinds import kind_of

    kind = kind_of(result.scenario)
    outcomes = [resolve(n, kind) for n in names]
    return {o.name: o(result) for o in outcomes}


# ------------------------------------------------------------------ built-in outcomes
def _per_citizen(result: Result, column: str) -> np.ndarray:
    return result.column(column)[1:] / max(result.citizens, 1)


def outburst_threshold(citizens: int) -> int:
    """Actives above which a step is in an outburst: 50 at 1120 citizens, in proportion elsewhere.

    ``active > floor(50 * citizens / 1120)`` is, for whole numbers of actives,
    the same as ``active / citizens > 50 / 1120``.
    """
    return (OUTBURST_ACTIVES * max(citizens, 1)) // OUTBURST_CITIZENS


def outburst_episodes(result: Result) -> list[Episode]:
    """Outbursts of a run (:func:`uprising.analysis.outbursts`) with the population-scaled threshold."""
    return outbursts(result.column("active"), threshold=outburst_threshold(result.citizens))


@register("mean_active_fraction", "mean over steps 1..T of actives / citizens")
def mean_active_fraction(result: Result) -> float:
    return float(_per_citizen(result, "active").mean())


@register("peak_active_fraction", "largest actives / citizens over steps 1..T")
def peak_active_fraction(result: Result) -> float:
    return float(_per_citizen(result, "active").max())


@register("mean_jailed_fraction", "mean over steps 1..T of jailed / citizens")
def mean_jailed_fraction(result: Result) -> float:
    return float(_per_citizen(result, "jailed").mean())


@register("final_jailed_fraction", "jailed / citizens at the last step")
def final_jailed_fraction(result: Result) -> float:
    return float(_per_citizen(result, "jailed")[-1])


@register("arrests_per_step_per_citizen", "arrests over steps 1..T / (T * citizens)")
def arrests_per_step_per_citizen(result: Result) -> float:
    return float(result.column("arrests")[1:].sum() / (result.steps * max(result.citizens, 1)))


@register("outbursts_per_1000_steps", "outbursts (population-scaled threshold of 50 in 1120) per 1000 steps")
def outbursts_per_1000_steps(result: Result) -> float:
    return 1000.0 * len(outburst_episodes(result)) / result.steps


@register("mean_wait_between_outbursts", "mean steps from one outburst's onset to the next's; nan below 2 outbursts")
def mean_wait_between_outbursts(result: Result) -> float:
    w = waits(outburst_episodes(result), "onset")
    return float(w.mean()) if w.size else math.nan


@register("mean_outburst_activation", "mean total activation (actives summed over the episode); nan without outbursts")
def mean_outburst_activation(result: Result) -> float:
    ep = outburst_episodes(result)
    return float(np.mean([e[2] for e in ep])) if ep else math.nan
