"""Fit to the record: score an ensemble of country runs against sourced targets, and search parameters.

Targets are read from a CSV in the format of ``data/kz2022/targets.csv``
(``quantity,value_low,value_high,date,source``). The quantities the model
produces are scored; the others (populations, prices, dates of scripted events,
the CSTO's size: inputs of the scenario, or figures the model does not produce)
are listed as not scored, with the reason. Scored quantities:

===================================  =========================================================
``detained_cumulative``              arrests and sweep detentions by the end of ``date``
``security_killed_cumulative``       security personnel killed by the end of ``date``
``rioters_killed_reported``          protesters killed by the end of ``date``
``security_killed_final``            security personnel killed in the run
``deaths_total_official``            everyone killed in the run
``deaths_cumulative``                everyone killed by the end of ``date``
``bystander_civilians_killed``       bystanders killed in the run
``day_protests_start (CITY)``        the city's onset day (:mod:`uprising.country.observables`)
``day_peak_violence (CITY)``         the day with the city's most violent citizens
``day_unrest_ends``                  the first day from which national unrest stays below 10% of its peak
``security_injured_cumulative``      security personnel injured by the end of ``date`` (of the
                                     country, or of CITY when the quantity names one), as a count
                                     published then holds them: through the scenario's reporting delay
                                     (:func:`uprising.country.observables.security_injured_reported`)
``security_injured_final``           security personnel injured in the run (the final count)
``injured_sought_help (CITY)``       protesters and security personnel injured in CITY by the end
                                     of ``date`` (the model has no injured bystanders); both injury
                                     counts include those over buildings (``sites``)
``civilians_injured_cumulative``     protesters injured by the end of ``date`` (of the country, or of
                                     CITY), over buildings too: an ombudsman's count of injured
                                     citizens treated, without the security personnel
``buildings_attacked``               buildings attacked in the run (``sites`` on only)
``government_buildings_attacked``    government buildings attacked in the run (``sites`` on only)
===================================  =========================================================

``participants_day (PLACE)``           people out (active or violent) at some hour of ``date`` in the
                                     city or region PLACE, or the country (casualties in people only)
``participants_march (CITY)``         the largest crowd out at once in CITY on ``date`` (the same)

Rows of quantities the model does not produce yet but a later model will
(``participants_*`` when casualties are counted in agents, ``buildings_attacked`` and
``government_buildings_attacked`` when the ``sites`` mechanism is off: see ``NOT_MEASURED``) are loaded as targets in :attr:`TargetsFile.unmeasured` and
reported as "not measured by this model", never silently dropped.

An optional ``split`` column (``fit`` or ``test``; no column: every row is
``fit``) says which targets a search may look at: :func:`search` minimises the
loss of the ``fit`` targets only, and :func:`split_losses` gives the loss of each
split, so that the ``test`` targets are scored untouched by the fit
(docs/kazakhstan.md, "Fit and test split").

Each target's error is 0 when the ensemble's mean (counts) or median (days) lies
in ``[value_low, value_high]``; otherwise it is ``|ln((m + 1) / (b + 1))|`` for a
count ``m`` and nearest bound ``b`` (a factor e off costs 1), and the number of days
outside the range for a day (a city that never starts costs 10). The loss is the
sum of the errors, days weighted by ``day_weight``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..scenario import ScenarioError
from . import observables as O
from .scenario import CountryScenario
from .simulate import CountryResult

NOT_SCORED = {
    "lpg_price": "input: the price path is scripted",
    "day_government_resigns": "input: a scripted event",
    "day_state_of_emergency": "input: a scripted event",
    "day_shoot_without_warning_order": "input: a scripted event",
    "day_csto": "input: a scripted event",
    "csto_": "input: the intervention's size",
    "kazakh_security_freed": "input: intervention.freed_police_per_troop",
    "population_": "input: city populations",
    "internet_connectivity": "input: the blackout's level",
    "admin_detention_sentences": "not modelled: court sentences",
    "deaths_total_reported": "retracted figure (164, 9 Jan; targets.csv)",
    "damage_usd": "not modelled: damage in money",
    "claimed_attackers": "an unverified official claim",
}

#: target quantities that a later model will produce but this one does not (prefix -> what it needs);
#: loaded into :attr:`TargetsFile.unmeasured` and reported as "not measured by this model"
NOT_MEASURED = {
    "participants_": "people who took part on a day: counted only with repression.casualties = \"people\"",
    "buildings_attacked": "buildings attacked: counted only with the sites mechanism on",
    "government_buildings_attacked": "government buildings attacked: counted only with the sites mechanism on",
}

#: participant counts, measured when casualties are counted in people (:func:`measure`): ``participants_day``
#: is the people out at some hour of the day (:func:`uprising.country.observables.participants_by_day`) in the
#: named city or region (or the country), ``participants_march`` the largest crowd out at once in the city that
#: day (:func:`uprising.country.observables.largest_crowd_on`)
PARTICIPANTS = ("participants_day", "participants_march")

#: buildings attacked, measured when the ``sites`` mechanism is on (:mod:`uprising.mechanisms.sites`): the
#: target's base name -> the mechanism's cumulative report, summed over the cities at the end of the run (a
#: parenthesis in the quantity lists where the record counted them; the model counts every city)
BUILDINGS = {"buildings_attacked": "buildings_attacked", "government_buildings_attacked": "government_attacked"}

#: the values of a targets file's ``split`` column
SPLITS = ("fit", "test")

#: the text shown in place of a model value for an unmeasured target
UNMEASURED = "not measured by this model"


@dataclass(frozen=True)
class Target:
    """One scored row of a targets file."""

    quantity: str
    kind: str  # "count" or "day"
    low: float  # counts; or days since the clock's start date for day targets
    high: float
    date: dt.date | None  # the day a count refers to (None: the end of the run)
    city: str | None
    source: str
    label: str
    split: str = "fit"  # "fit": a search may look at it; "test": scored only, untouched by the fit
    time: dt.time | None = None  # the hour of ``date`` a count refers to (None: the end of the day); injury counts only

    def describe_range(self, start: dt.date) -> str:
        if self.kind == "day":
            lo = start + dt.timedelta(days=int(self.low))
            hi = start + dt.timedelta(days=int(self.high))
            return lo.strftime("%d %b") if lo == hi else f"{lo.strftime('%d')}-{hi.strftime('%d %b')}"
        return f"{self.low:,.0f}" if self.low == self.high else f"{self.low:,.0f}-{self.high:,.0f}"


@dataclass
class TargetsFile:
    targets: list[Target]  # the targets this model measures
    skipped: list[tuple[str, str]]  # (quantity, why)
    unmeasured: list[Target] = field(default_factory=list)  # targets of NOT_MEASURED: reported, not scored

    def of_split(self, split: str) -> list[Target]:
        """The measured targets of one split ("fit" or "test")."""
        return [t for t in self.targets if t.split == split]


_CITY = re.compile(r"^(?P<base>[a-z_]+)\s*\((?P<city>[^)]*)\)\s*$")


def _last_date(text: str) -> dt.date | None:
    """The last calendar date in ``text`` ("2022-01-07", "2022-01-07..09", "2022-01-11..12", ...)."""
    full = re.findall(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not full:
        return None
    y, m, d = (int(x) for x in full[0])
    last = dt.date(y, m, d)
    tail = re.search(r"\.\.\s*(\d{1,2})\b(?!-)", text)
    if tail and len(full) == 1:
        last = dt.date(y, m, int(tail.group(1)))
    return last


_TIME = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ](?P<h>\d{2}):(?P<m>\d{2})\s*$")
TIMED = ("security_injured_cumulative", "injured_sought_help")  # the counts whose date may carry an hour


def _time_of_day(text: str) -> dt.time | None:
    """The hour of a date written ``YYYY-MM-DDTHH:MM`` (local), or None for a plain date; ValueError for an hour
    that is not one (``25:00``)."""
    m = _TIME.match(text)
    return None if m is None else dt.time(int(m.group("h")), int(m.group("m")))


def find_targets(scenario: str | Path, folders: tuple[str | Path, ...] = ()) -> Path | None:
    """The record of a scenario: the file ``NAME-targets.csv`` (the convention: a scenario ``NAME.toml``
    keeps its targets beside it under that name; ``scenarios/kazakhstan-2022-targets.csv``).

    ``scenario`` is the scenario's file (a :class:`~pathlib.Path`: NAME is its stem and its folder is looked
    in first) or its name (text, such as a result's metadata holds; a ``:variant`` suffix is dropped). Then
    each of ``folders`` is looked in, in order. A version ``NAME-vN`` of a scenario, with no targets file of its
    own, shares ``NAME-targets.csv`` (``kazakhstan-2022-v2`` is scored against the record of ``kazakhstan-2022``).
    None if no such file is found.
    """
    if isinstance(scenario, Path):
        name, places = scenario.stem, (scenario.parent, *folders)
    else:
        name, places = scenario.split(":")[0], tuple(folders)
    # a version of a scenario (NAME-v2) is scored against the same record as NAME
    names = [name] + ([name[:m.start()]] if (m := re.search(r"-v\d+$", name)) else [])
    for folder in places:
        for each in names:
            candidate = Path(folder) / f"{each}-targets.csv"
            if candidate.is_file():
                return candidate
    return None


def _read_rows(path: str | Path, need: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """The rows of a CSV file with at least the columns ``need``; a missing file or column is a one-line
    :class:`ScenarioError` naming the file (``what`` says what the file should be)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), "(file)", f"no such file; give {what}")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not set(need) <= set(rows[0]):
        have = ", ".join(rows[0]) if rows else "(empty)"
        raise ScenarioError(str(path), "(header)", f"needs the columns {', '.join(need)}; has {have}")
    return rows


def _count_range(row: dict[str, str], source: str, where: str) -> tuple[float, float]:
    """A count target's ``value_low`` and ``value_high`` as numbers, or a one-line :class:`ScenarioError`."""
    try:
        return float(row["value_low"]), float(row["value_high"])
    except ValueError:
        raise ScenarioError(source, f"{where}.value_low", "a count target needs numbers") from None


def load_targets(path: str | Path, scenario: CountryScenario) -> TargetsFile:
    """Read a targets CSV; rows the model cannot produce are returned as skipped, with the reason, and rows of
    quantities it does not measure yet (``NOT_MEASURED``) as unmeasured targets.

    A ``split`` column, where the file has one, must say ``fit`` or ``test`` on every row (a bad value is a
    one-line :class:`ScenarioError` naming the file, the line and the field); without the column every target
    is ``fit``."""
    source = str(path)
    rows = _read_rows(path, ("quantity", "value_low", "value_high", "date"),
                      "a targets CSV (quantity,value_low,value_high,date,source)")
    start = scenario.clock.start.date()
    names = [c.name for c in scenario.cities]
    has_split = "split" in rows[0]
    targets, skipped, unmeasured = [], [], []
    for i, row in enumerate(rows, start=2):
        where = f"line {i}"
        split = (row["split"] or "").strip() if has_split else "fit"
        if split not in SPLITS:
            raise ScenarioError(source, f"{where}.split", f"{split!r} is not a split; use fit or test")
        q = row["quantity"].strip()
        m = _CITY.match(q)
        base, city = (m.group("base"), m.group("city").strip()) if m else (q, None)
        reason = next((why for prefix, why in NOT_SCORED.items() if base.startswith(prefix)), None)
        if reason is not None:
            skipped.append((q, reason))
            continue
        if base in PARTICIPANTS and scenario.repression.casualties == "people":
            places = {c.name for c in scenario.cities} | {c.region for c in scenario.cities if c.region}
            day = _last_date(row["date"])
            if city is not None and city not in places:
                skipped.append((q, f"city or region {city!r} is not in the scenario"))
                continue
            if day is None:
                raise ScenarioError(source, f"{where}.date", "a participants count needs a date YYYY-MM-DD")
            lo, hi = _count_range(row, source, where)
            targets.append(Target(q, "count", min(lo, hi), max(lo, hi), day, city, row.get("source", ""),
                                  f"{q} on {day.strftime('%d %b')}", split))
            continue
        if base in BUILDINGS and scenario.sites.enabled:
            lo, hi = _count_range(row, source, where)
            targets.append(Target(q, "count", min(lo, hi), max(lo, hi), None, None, row.get("source", ""), base,
                                  split))
            continue
        if any(base.startswith(prefix) for prefix in NOT_MEASURED):
            day = _last_date(row["date"])
            lo, hi = _count_range(row, source, where)
            inside = day is not None and start <= day <= scenario.clock.end.date()
            label = f"{q} on {day.strftime('%d %b')}" if inside else q
            unmeasured.append(Target(q, "count", min(lo, hi), max(lo, hi), day, city, row.get("source", ""),
                                     label, split))
            continue
        if base in ("day_protests_start", "day_peak_violence", "day_unrest_ends"):
            if base != "day_unrest_ends" and city not in names:
                skipped.append((q, f"city {city!r} is not in the scenario"))
                continue
            try:
                lo = (dt.date.fromisoformat(row["value_low"].strip()) - start).days
                hi = (dt.date.fromisoformat(row["value_high"].strip()) - start).days
            except ValueError:
                raise ScenarioError(source, f"{where}.value_low", "a day target needs dates YYYY-MM-DD") from None
            targets.append(Target(q, "day", lo, hi, None, city, row.get("source", ""), q, split))
            continue
        if base in ("security_injured_cumulative", "injured_sought_help", "security_injured_final",
                    "civilians_injured_cumulative") and city is not None and city not in names:
            skipped.append((q, f"city {city!r} is not in the scenario"))
            continue
        if base == "injured_sought_help" and city is None:
            raise ScenarioError(source, f"{where}.quantity", "injured_sought_help needs a city: "
                                "injured_sought_help (CITY)")
        if base in ("detained_cumulative", "security_killed_cumulative", "rioters_killed_reported",
                    "security_killed_final", "deaths_total_official", "bystander_civilians_killed",
                    "security_injured_cumulative", "injured_sought_help", "security_injured_final",
                    "deaths_cumulative", "civilians_injured_cumulative"):
            lo, hi = _count_range(row, source, where)
            final = base in ("security_killed_final", "deaths_total_official", "bystander_civilians_killed",
                             "security_injured_final")
            day = None if final else _last_date(row["date"])
            if not final and day is None:
                raise ScenarioError(source, f"{where}.date", "a cumulative count needs a date YYYY-MM-DD")
            try:
                at = None if final else _time_of_day(row["date"])
            except ValueError:
                raise ScenarioError(source, f"{where}.date", f"{row['date'].strip()!r} is not a time of day; "
                                    "use YYYY-MM-DDTHH:MM with HH 00-23 and MM 00-59") from None
            if at is not None and base not in TIMED:
                raise ScenarioError(source, f"{where}.date", f"an hour (YYYY-MM-DDTHH:MM) is read only for "
                                    f"{' and '.join(TIMED)}; use a date YYYY-MM-DD")
            label = q if day is None else f"{q} by {day.strftime('%d %b')}" + \
                ("" if at is None else f" {at.strftime('%H:%M')}")
            targets.append(Target(q, "count", min(lo, hi), max(lo, hi), day, city, row.get("source", ""), label,
                                  split, at))
            continue
        skipped.append((q, "not an output of the model"))
    if not targets:
        raise ScenarioError(source, "quantity", "no row names a quantity the model produces; see uprising.country.fit")
    return TargetsFile(targets, skipped, unmeasured)


def _cities_of(result: CountryResult, place: str | None) -> list[int]:
    """The indices of the cities a target's place names: the city itself, or every city of a region (all
    cities for none)."""
    if place is None:
        return list(range(len(result.names)))
    if place in result.names:
        return [result.names.index(place)]
    return [i for i, c in enumerate(result.scenario.cities) if c.region == place]


def measure(target: Target, result: CountryResult) -> float | None:
    """The target's quantity in one run (days since the clock's start date for day targets; None: never)."""
    start = result.clock.start.date()
    base = target.quantity.split(" (")[0]
    if target.kind == "day":
        if base == "day_protests_start":
            day = O.onset_day(result, target.city)
        elif base == "day_peak_violence":
            day = O.peak_violence_day(result, target.city)
        else:
            day = O.end_of_unrest_day(result)
        return None if day is None else float((day - start).days)
    if base == "detained_cumulative":
        return O.detained_by(result, target.date)
    if base == "participants_day":
        cities = _cities_of(result, target.city)
        return float(sum(O.participants_by_day(result, c).get(target.date, 0.0) for c in cities))
    if base == "participants_march":
        return float(max(O.largest_crowd_on(result, c, target.date) for c in _cities_of(result, target.city)))
    if base in BUILDINGS:
        return float(np.nansum(result.reports[BUILDINGS[base]][:, -1]))
    if base == "security_injured_final":
        return O.security_injured_reported(result, None, target.city)
    if base == "security_injured_cumulative":
        when = dt.datetime.combine(target.date, target.time) if target.time is not None else \
            dt.datetime.combine(target.date + dt.timedelta(days=1), dt.time())
        return O.security_injured_reported(result, when, target.city)
    if base in ("injured_sought_help", "civilians_injured_cumulative"):
        # the health services' count of people they treated: no reporting delay; civilians only (an ombudsman's
        # count of injured citizens: protesters hurt by force or over buildings), or everyone (security too)
        upto = O.step_at_end_of(result, target.date) if target.time is None else \
            O.step_ending_by(result, dt.datetime.combine(target.date, target.time))
        if base == "civilians_injured_cumulative":
            return result.total_people(("injured_protesters",), upto=upto, city=target.city) + \
                O.site_injured(result, "protesters", upto, target.city)
        names = ("injured_protesters", "injured_security")
        return result.total_people(names, upto=upto, city=target.city) + \
            O.site_injured(result, "both", upto, target.city)
    killed = O.killed_by(result, target.date)
    return {"security_killed_cumulative": killed["security"], "rioters_killed_reported": killed["protesters"],
            "security_killed_final": killed["security"], "deaths_total_official": killed["total"],
            "deaths_cumulative": killed["total"],
            "bystander_civilians_killed": killed["bystanders"]}[base]


@dataclass
class Score:
    target: Target
    values: list[float | None]  # per run
    centre: float | None  # mean (counts) or median (days) over runs
    low: float | None  # 5th and 95th percentiles over runs
    high: float | None
    error: float
    hit: bool


NEVER_DAYS = 10.0


def score_target(target: Target, values: list[float | None]) -> Score:
    if target.kind == "day":
        finite = [v for v in values if v is not None]
        if len(finite) * 2 <= len(values):  # most runs never reach it
            return Score(target, values, None, None, None, NEVER_DAYS, False)
        arr = np.array([v if v is not None else np.inf for v in values])
        centre = float(np.median(arr))
        err = max(target.low - centre, centre - target.high, 0.0)
        return Score(target, values, centre, float(np.percentile(finite, 5)), float(np.percentile(finite, 95)),
                     float(err), err == 0.0)
    arr = np.array(values, dtype=np.float64)
    centre = float(arr.mean())
    if target.low <= centre <= target.high:
        err = 0.0
    else:
        bound = target.low if centre < target.low else target.high
        err = abs(math.log((centre + 1.0) / (bound + 1.0)))
    return Score(target, values, centre, float(np.percentile(arr, 5)), float(np.percentile(arr, 95)), err,
                 err == 0.0)


def score(targets: list[Target], results: list[CountryResult]) -> list[Score]:
    return [score_target(t, [measure(t, r) for r in results]) for t in targets]


def loss(scores: list[Score], day_weight: float = 1.0) -> float:
    return float(sum(s.error * (day_weight if s.target.kind == "day" else 1.0) for s in scores))


def split_losses(scores: list[Score], day_weight: float = 1.0) -> dict[str, float]:
    """The loss of each split's targets: ``{"fit": ..., "test": ...}`` (0 for a split with no target)."""
    return {split: loss([s for s in scores if s.target.split == split], day_weight) for split in SPLITS}


# ---------------------------------------------------------------------- parameter search
@dataclass(frozen=True)
class Axis:
    """A parameter to vary: a dotted key (``cities.*.x`` and ``cities.{A,B}.x`` allowed) and its range."""

    key: str
    low: float
    high: float
    log: bool = False

    @classmethod
    def parse(cls, text: str) -> "Axis":
        key, eq, rng = text.partition("=")
        parts = rng.split(":")
        if not eq or len(parts) not in (2, 3):
            raise ScenarioError("--vary", text, "expected KEY=LOW:HIGH or KEY=LOW:HIGH:log")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise ScenarioError("--vary", text, "LOW and HIGH must be numbers") from None
        log = len(parts) == 3 and parts[2] == "log"
        if len(parts) == 3 and not log:
            raise ScenarioError("--vary", text, "the third part can only be 'log'")
        if hi <= lo or (log and lo <= 0):
            raise ScenarioError("--vary", text, "needs LOW < HIGH (and LOW > 0 for log)")
        return cls(key.strip(), lo, hi, log)

    def value(self, u: float) -> float:
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    def position(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


@dataclass
class Trial:
    point: dict[str, float]
    loss: float
    scores: list[Score] = field(repr=False, default_factory=list)
    phase: str = "design"


Evaluator = Callable[[list[CountryScenario]], list[list[CountryResult]]]


def search(scenario: CountryScenario, targets: list[Target], axes: list[Axis], evaluate: Evaluator, *,
           samples: int, refine: int = 0, seed: int = 0, day_weight: float = 1.0, batch: int = 4,
           on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
    """Latin-hypercube search over ``axes`` (``samples`` points), then ``refine`` rounds of a (1+batch)
    evolution strategy around the best point with a shrinking step. ``evaluate`` runs an ensemble of
    each scenario it is given and returns the results per scenario.

    A trial's loss is that of the ``fit`` targets only: the ``test`` targets are scored (in the trial's
    scores) but never steer the search."""
    from scipy.stats import qmc

    rng = np.random.default_rng(seed)
    trials: list[Trial] = []

    def run(points: list[dict[str, float]], phase: str) -> list[Trial]:
        scenarios = [scenario.replace(p, source="--vary") for p in points]
        out = []
        for p, results in zip(points, evaluate(scenarios)):
            sc = score(targets, results)
            trial = Trial(p, split_losses(sc, day_weight)["fit"], sc, phase)
            out.append(trial)
            trials.append(trial)
            if on_trial:
                on_trial(trial)
        return out

    if samples:
        design = qmc.LatinHypercube(d=len(axes), seed=rng).random(samples)
        for i in range(0, samples, batch):
            run([{a.key: a.value(u) for a, u in zip(axes, row)} for row in design[i:i + batch]], "design")
    step = 0.15
    for _ in range(refine):
        best = min(trials, key=lambda t: t.loss) if trials else None
        centre = np.array([a.position(best.point[a.key]) for a in axes]) if best else np.full(len(axes), 0.5)
        pts = []
        for _ in range(batch):
            u = np.clip(centre + rng.normal(0.0, step, len(axes)), 0.0, 1.0)
            pts.append({a.key: a.value(x) for a, x in zip(axes, u)})
        before = best.loss if best else math.inf
        if min(t.loss for t in run(pts, "refine")) >= before:
            step = max(step * 0.7, 0.02)
    return trials


def best_overrides_toml(trial: Trial) -> str:
    lines = ["# the best point of the search: paste into the scenario, or pass each as --set KEY=VALUE"]
    for key, value in trial.point.items():
        lines.append(f'"{key}" = {value:.6g}')
    return "\n".join(lines) + "\n"


def as_rows(scores: list[Score], start: dt.date) -> list[dict[str, Any]]:
    rows = []
    for s in scores:
        t = s.target
        fmt = (lambda v: "never" if v is None else (start + dt.timedelta(days=int(v))).strftime("%d %b")) \
            if t.kind == "day" else (lambda v: "-" if v is None else f"{v:,.0f}")
        rows.append({"target": t.label, "split": t.split, "record": t.describe_range(start), "model": fmt(s.centre),
                     "model_90": "-" if s.low is None else f"{fmt(s.low)} to {fmt(s.high)}",
                     "error": round(s.error, 3), "verdict": "hit" if s.hit else "miss", "source": t.source})
    return rows


def unmeasured_rows(targets: list[Target], start: dt.date) -> list[dict[str, Any]]:
    """Rows like :func:`as_rows`' for targets this model does not measure: no model value, no error."""
    return [{"target": t.label, "split": t.split, "record": t.describe_range(start), "model": UNMEASURED,
             "model_90": "-", "error": None, "verdict": "not measured", "source": t.source} for t in targets]


# ---------------------------------------------------------------------- the record's per-city pattern
#: the record's classes of a city, least violent first (data/kz2022/README.md, "city_pattern.csv")
PATTERNS = ("peaceful", "clashes", "violent")


@dataclass(frozen=True)
class CityPattern:
    """One row of ``data/kz2022/city_pattern.csv``: what the record says happened in a city."""

    city: str
    buildings: str  # "seized or burnt", "attacked" or "no report"
    shooting: str  # "yes", "uncertain" or "no report"
    peaceful: str  # "yes" or "no"
    pattern: str  # one of PATTERNS


_PATTERN_VALUES = {"buildings": ("seized or burnt", "attacked", "no report"),
                   "shooting": ("yes", "uncertain", "no report"), "peaceful": ("yes", "no"), "pattern": PATTERNS}


def load_city_pattern(path: str | Path) -> dict[str, CityPattern]:
    """Read a per-city pattern table (``data/kz2022/city_pattern.csv``): city -> :class:`CityPattern`.

    A missing file or column, or a value outside its column's set, is a one-line :class:`ScenarioError`
    naming the file, the line and the field."""
    source = str(path)
    rows = _read_rows(path, ("city", *_PATTERN_VALUES), "a city pattern CSV (data/kz2022/city_pattern.csv)")
    out: dict[str, CityPattern] = {}
    for i, row in enumerate(rows, start=2):
        values = {}
        for name, allowed in _PATTERN_VALUES.items():
            value = (row[name] or "").strip()
            if value not in allowed:
                raise ScenarioError(source, f"line {i}.{name}", f"{value!r}; use one of: {', '.join(allowed)}")
            values[name] = value
        city = row["city"].strip()
        if city in out:
            raise ScenarioError(source, f"line {i}.city", f"{city!r} is given twice")
        out[city] = CityPattern(city, **values)
    return out


def violent_person_hours(result: CountryResult) -> np.ndarray:
    """Per city: the hours that residents spent violent over the run (violent residents per step times the
    step's length, summed over steps 1 to the end)."""
    return result.violent_residents()[:, 1:].sum(axis=1) * result.scenario.clock.tick_hours


def deaths_by_city(result: CountryResult) -> np.ndarray:
    """Per city: protesters, bystanders and security personnel killed over the run, in residents."""
    return np.array([result.total_people(("killed_protesters", "killed_bystanders", "killed_security"), city=i)
                     + O.site_killed(result, result.steps, i)
                     for i in range(len(result.names))])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` from the largest down, tied values sharing the mean of their ranks."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):
        same = values == v
        ranks[same] = ranks[same].mean()
    return ranks


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None if either side is constant."""
    ra, rb = _average_ranks(a), _average_ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass
class PatternScore:
    """How an ensemble's per-city pattern agrees with the record's (:func:`score_city_pattern`)."""

    cities: list[str]  # the cities of the runs that the record classifies, in the scenario's order
    record: list[str]  # the record's class of each (PATTERNS)
    violent_hours: list[float]  # mean over runs of violent person-hours
    violent_hours_per_1000: list[float]  # the same per 1,000 residents
    deaths: list[float]  # mean over runs of deaths (all sides)
    model: list[str]  # the model's class of each: its rank in violent person-hours per resident, cut at the
    # record's numbers of violent, clashes and peaceful cities
    checks: dict[str, bool | None]  # named checks on the means (None: a city it names is not in the runs)
    runs_passing: dict[str, float | None]  # the share of runs in which each check holds on its own
    class_agreement: float  # share of cities whose model class is the record's
    peaceful_agreement: float  # share of cities on the same side of "peaceful" / "not peaceful"
    spearman: float | None  # rank correlation of the record's class order and violent person-hours per resident

    def rows(self) -> list[dict[str, Any]]:
        """One row per city, most violent per resident first."""
        order = np.argsort(-np.array(self.violent_hours_per_1000), kind="stable")
        return [{"city": self.cities[i], "record": self.record[i], "model": self.model[i],
                 "violent_person_hours": round(self.violent_hours[i]),
                 "violent_person_hours_per_1000": round(self.violent_hours_per_1000[i], 1),
                 "deaths": round(self.deaths[i], 1)} for i in order]


def _checks(names: list[str], hours: np.ndarray, per_1000: np.ndarray, deaths: np.ndarray, most_violent: str,
            least_violent: tuple[str, ...], least: int) -> dict[str, bool | None]:
    i = names.index(most_violent) if most_violent in names else None
    low = [names.index(c) for c in least_violent if c in names]
    # among the k least violent: fewer than k cities are strictly less violent per resident, so a city tied with
    # others at the bottom (no violence at all, say) is among the least violent however many share its place
    return {
        f"{most_violent} has the most deaths": None if i is None else bool(deaths[i] > np.delete(deaths, i).max()),
        f"{most_violent} has the most violent person-hours":
            None if i is None else bool(hours[i] > np.delete(hours, i).max()),
        f"{' and '.join(least_violent)} among the {least} least violent per resident":
            None if len(low) != len(least_violent) else bool(all((per_1000 < per_1000[j]).sum() < least for j in low)),
    }


def score_city_pattern(record: dict[str, CityPattern], results: list[CountryResult], *, most_violent: str = "Almaty",
                       least_violent: tuple[str, ...] = ("Zhanaozen", "Aktau")) -> PatternScore:
    """Score the per-city pattern of an ensemble against the record's table (issue 14, deliverable 3).

    Per city and run: violent person-hours (:func:`violent_person_hours`), per 1,000 residents, and deaths
    (:func:`deaths_by_city`); their means over the runs are compared with the record:

    * the checks: ``most_violent`` has strictly the most deaths and the most violent person-hours, and each of
      ``least_violent`` is among the ``k`` cities least violent per resident (fewer than ``k`` cities strictly less
      violent), ``k`` being the number of cities the record calls peaceful;
    * the model's class of each city: the cities ranked by violent person-hours per resident (mean ranks for ties)
      and cut at the record's counts: the first as many as the record has violent cities are "violent", the last
      as many as it has peaceful ones "peaceful", the rest "clashes" (no threshold is chosen);
      ``class_agreement`` is the share of cities in the record's class, ``peaceful_agreement`` the share on the
      record's side of peaceful / not peaceful;
    * ``spearman``: the rank correlation of the record's order (peaceful < clashes < violent) with violent
      person-hours per resident.

    Only the cities of the runs that the record classifies are scored."""
    names_all = results[0].names
    keep = [i for i, c in enumerate(names_all) if c in record]
    names = [names_all[i] for i in keep]
    hours_runs = np.array([violent_person_hours(r)[keep] for r in results])
    residents = np.array([results[0].in_people(float(results[0].citizens[i])) for i in keep])
    per_1000_runs = hours_runs * 1000.0 / residents
    deaths_runs = np.array([deaths_by_city(r)[keep] for r in results])
    hours, per_1000, deaths = hours_runs.mean(axis=0), per_1000_runs.mean(axis=0), deaths_runs.mean(axis=0)
    classes = [record[c].pattern for c in names]
    n_violent, n_peaceful = classes.count("violent"), classes.count("peaceful")
    ranks = _average_ranks(per_1000)
    model = ["violent" if r <= n_violent else "peaceful" if r > len(names) - n_peaceful else "clashes" for r in ranks]
    args = (most_violent, least_violent, n_peaceful)
    checks = _checks(names, hours, per_1000, deaths, *args)
    per_run = [_checks(names, h, p, d, *args) for h, p, d in zip(hours_runs, per_1000_runs, deaths_runs)]
    runs_passing = {k: None if v is None else float(np.mean([c[k] for c in per_run])) for k, v in checks.items()}
    n = len(names)
    return PatternScore(
        names, classes, hours.tolist(), per_1000.tolist(), deaths.tolist(), model, checks, runs_passing,
        class_agreement=sum(a == b for a, b in zip(model, classes)) / n,
        peaceful_agreement=sum((a == "peaceful") == (b == "peaceful") for a, b in zip(model, classes)) / n,
        spearman=_spearman(np.array([PATTERNS.index(c) for c in classes], dtype=float), per_1000))
