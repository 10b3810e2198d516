"""Named outcomes of a country run: one number per run, like Model I's (:mod:`uprising.experiment.outcomes`).

Fixed names (in people; days as days since the clock's start date, so 0 is its first day):

* the counterfactual outcomes of ``uprising compare`` (:data:`uprising.country.compare.OUTCOMES`):
  ``deaths_total``, ``deaths_protesters``, ``deaths_security``, ``deaths_bystanders``,
  ``detained_total``, ``peak_unrest``, ``peak_violent``, ``unrest_person_days`` and ``end_of_unrest``
  (a day of the month there, kept as it is);
* ``injured_security``, ``injured_protesters``, ``cities_risen`` (cities whose unrest reached the onset
  level, 1 per 1,000 residents) and ``peak_day`` (days from the start to the national peak).

Outcomes with an argument, ``NAME@ARG`` (the argument a date ``YYYY-MM-DD`` or a city's name):

* ``detained_by@DATE``, ``deaths_by@DATE``, ``protester_deaths_by@DATE``, ``security_deaths_by@DATE``:
  cumulative counts by the end of the day;
* ``participants@DATE``: people out at some hour of the day, nationally (casualties counted in people only;
  nan otherwise);
* ``onset_day@CITY``, ``peak_violence_day@CITY``: days from the start (nan: never);
* ``deaths_share@CITY``, ``violence_share@CITY``: the city's share of the deaths and of the violent
  person-hours (nan when there are none);
* ``effect@VARIANT@OUTCOME``: a counterfactual's effect, paired: the scenario's ``[variants.VARIANT]`` run on
  the run's own seed and replicate, minus the run itself, in any outcome above (``effect@no-blackout@deaths_total``).
  It simulates the variant inside the outcome (once per variant and run, shared by its outcomes), so that
  ``uprising sensitivity`` can say which parameters decide an effect (the baseline's row holds the effect);
* ``target@QUANTITY[@DATE[THH:MM]]``: a row of a targets file as :func:`uprising.country.fit.measure` reads
  it (``target@detained_cumulative@2022-01-07``, ``target@day_protests_start (Almaty)``,
  ``target@injured_sought_help (Almaty)@2022-01-05T14:16``); :func:`target_outcome` writes the name of a
  :class:`~uprising.country.fit.Target`. This is how a calibration stores, with every run, what each
  target measured in it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable

import numpy as np

#: country outcomes without an argument: name -> (description, function of a CountryResult)
FIXED: dict[str, tuple[str, Callable[[Any], float]]] = {}
#: country outcome families ``NAME@ARG``: name -> (what ARG is, description, factory ARG -> function)
FAMILIES: dict[str, tuple[str, str, Callable[[str], Callable[[Any], float]]]] = {}

#: what an experiment on a country scenario records when its file names no outcomes
DEFAULT_COUNTRY_OUTCOMES: tuple[str, ...] = (
    "deaths_total", "deaths_protesters", "deaths_security", "deaths_bystanders", "detained_total", "peak_unrest",
    "unrest_person_days", "end_of_unrest", "injured_security", "cities_risen",
)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _date(arg: str) -> dt.date:
    try:
        return dt.date.fromisoformat(arg)
    except ValueError:
        raise ValueError(f"{arg!r} is not a date YYYY-MM-DD") from None


def _days(result: Any, day: dt.date | None) -> float:
    return math.nan if day is None else float((day - result.clock.start.date()).days)


def _fixed() -> None:
    from ..country import compare as C
    from ..country import observables as O

    for name, (label, unit, function) in C.OUTCOMES.items():
        FIXED[name] = (f"{label} ({unit})", function)
    FIXED["injured_security"] = ("security personnel injured in the run (people)",
                                 lambda r: O.injured(r)["security"])
    FIXED["injured_protesters"] = ("protesters injured in the run (people)", lambda r: O.injured(r)["protesters"])
    FIXED["cities_risen"] = ("cities whose unrest reached 1 per 1,000 residents",
                             lambda r: float(sum(O.onset_step(r, c) is not None for c in r.names)))
    FIXED["peak_day"] = ("days from the start to the national peak of unrest",
                         lambda r: _days(r, O.peak(r)[1].date()))


def _families() -> None:
    from ..country import fit as F
    from ..country import observables as O

    def by(kind: str) -> Callable[[str], Callable[[Any], float]]:
        def make(arg: str) -> Callable[[Any], float]:
            day = _date(arg)
            return lambda r: float(O.killed_by(r, day)[kind])
        return make

    def detained(arg: str) -> Callable[[Any], float]:
        day = _date(arg)
        return lambda r: float(O.detained_by(r, day))

    def participants(arg: str) -> Callable[[Any], float]:
        day = _date(arg)

        def f(r: Any) -> float:
            if r.people_counts is None:
                return math.nan
            return float(sum(O.participants_by_day(r, c).get(day, 0.0) for c in r.names))
        return f

    def city_day(which: Callable[[Any, str], dt.date | None]) -> Callable[[str], Callable[[Any], float]]:
        def make(city: str) -> Callable[[Any], float]:
            def f(r: Any) -> float:
                if city not in r.names:
                    raise ValueError(f"no city {city!r} in this run; allowed: {', '.join(r.names)}")
                return _days(r, which(r, city))
            return f
        return make

    def share(values: Callable[[Any], np.ndarray]) -> Callable[[str], Callable[[Any], float]]:
        def make(city: str) -> Callable[[Any], float]:
            def f(r: Any) -> float:
                if city not in r.names:
                    raise ValueError(f"no city {city!r} in this run; allowed: {', '.join(r.names)}")
                v = values(r)
                total = float(v.sum())
                return float(v[r.names.index(city)]) / total if total > 0 else math.nan
            return f
        return make

    def target(arg: str) -> Callable[[Any], float]:
        t = parse_target(arg)
        return lambda r: _nan(F.measure(t, r))

    def effect(arg: str) -> Callable[[Any], float]:
        variant, _, outcome = arg.partition("@")
        if not variant or not outcome:
            raise ValueError("effect@ needs VARIANT@OUTCOME, e.g. effect@no-blackout@deaths_total")
        if outcome.startswith("effect@"):
            raise ValueError("an effect of an effect is not an outcome")
        found = resolve_country(outcome)
        if found is None:
            raise ValueError(f"{outcome!r} is not a country outcome; allowed: {allowed_country()}")
        of = found[1]

        def f(r: Any) -> float:
            return float(of(_variant_run(r, variant)) - of(r))
        return f

    FAMILIES.update({
        "detained_by": ("DATE", "people detained by the end of DATE", detained),
        "deaths_by": ("DATE", "people killed by the end of DATE", by("total")),
        "protester_deaths_by": ("DATE", "protesters killed by the end of DATE", by("protesters")),
        "security_deaths_by": ("DATE", "security personnel killed by the end of DATE", by("security")),
        "participants": ("DATE", "people out at some hour of DATE (counted in people only)", participants),
        "onset_day": ("CITY", "days from the start to CITY's onset", city_day(O.onset_day)),
        "peak_violence_day": ("CITY", "days from the start to CITY's most violent day", city_day(O.peak_violence_day)),
        "deaths_share": ("CITY", "CITY's share of the deaths", share(F.deaths_by_city)),
        "violence_share": ("CITY", "CITY's share of the violent person-hours", share(F.violent_person_hours)),
        "target": ("QUANTITY[@DATE[THH:MM]]", "a targets file's row, as uprising.country.fit.measure reads it",
                   target),
        "effect": ("VARIANT@OUTCOME", "the scenario's variant VARIANT run on the run's own seeds, minus the run, in "
                   "OUTCOME", effect),
    })


#: the last variant runs made for ``effect@`` outcomes: (scenario hash, seed, replicate, variant) -> the run, so that
#: several outcomes of one variant share its simulation
_VARIANT_RUNS: dict[tuple[str, int, int, str], Any] = {}


def _variant_run(result: Any, variant: str) -> Any:
    """The run of ``variant`` of ``result``'s scenario on ``result``'s seed and replicate (paired with it)."""
    from ..country.simulate import simulate_country

    key = (result.scenario.hash(), int(result.seed), int(result.replicate), variant)
    if key not in _VARIANT_RUNS:
        if variant not in result.scenario.variants:
            allowed = ", ".join(result.scenario.variants) or "(none)"
            raise ValueError(f"the scenario has no variant {variant!r}; allowed: {allowed}")
        if len(_VARIANT_RUNS) >= 8:
            _VARIANT_RUNS.clear()
        _VARIANT_RUNS[key] = simulate_country(result.scenario.variant(variant), result.seed, result.replicate)
    return _VARIANT_RUNS[key]


def target_outcome(target: Any) -> str:
    """The outcome name of a :class:`uprising.country.fit.Target` (see the module's docstring)."""
    name = f"target@{target.quantity}"
    if target.date is not None:
        name += f"@{target.date.isoformat()}"
        if target.time is not None:
            name += f"T{target.time.strftime('%H:%M')}"
    return name


def parse_target(arg: str) -> Any:
    """The :class:`uprising.country.fit.Target` (range and source left empty) that ``target@ARG`` measures."""
    from ..country.fit import _CITY, Target

    quantity, _, when = arg.partition("@")
    if not quantity:
        raise ValueError("target@ needs a quantity, e.g. target@detained_cumulative@2022-01-07")
    m = _CITY.match(quantity)
    city = m.group("city").strip() if m else None
    base = m.group("base") if m else quantity
    day = at = None
    if when:
        day_text, _, time_text = when.partition("T")
        day = _date(day_text)
        if time_text:
            try:
                at = dt.time.fromisoformat(time_text)
            except ValueError:
                raise ValueError(f"{time_text!r} is not a time HH:MM") from None
    kind = "day" if base.startswith("day_") else "count"
    return Target(quantity, kind, 0.0, 0.0, day, city, "", quantity, "fit", at)


def resolve_country(name: str) -> tuple[str, Callable[[Any], float]] | None:
    """(description, function) of a country outcome name, or None if it is not one; ValueError for a family
    name with a bad argument."""
    if not FIXED:
        _fixed()
        _families()
    if name in FIXED:
        return FIXED[name]
    family, sep, arg = name.partition("@")
    if sep and family in FAMILIES:
        what, description, make = FAMILIES[family]
        if not arg:
            raise ValueError(f"{family}@ needs {what}")
        return description.replace(what.split("[")[0], arg), make(arg)
    return None


def allowed_country() -> str:
    """The country outcome names, for error messages."""
    if not FIXED:
        _fixed()
        _families()
    return ", ".join([*FIXED, *(f"{n}@{w}" for n, (w, _, _) in FAMILIES.items())])
