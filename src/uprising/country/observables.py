"""Pure measurements of a country run, in residents: onsets, peaks, detentions, deaths, the end of unrest.

Counts of agents are in residents (:meth:`CountryResult.people`: divided by the scale, agents per
resident) so that they compare with the official figures whatever the scale. Definitions (docs/kazakhstan.md):

* a city's **onset** is the first step at which its active and violent citizens reach
  ``onset_per_1000`` per 1,000 of its citizens (default 1: about 150 people in
  Zhanaozen, 2,000 in Almaty); its day is the calendar day of that step;
* its **peak violence day** is the day with the most violent citizens at any step;
* **detained by D** counts arrests and sweep detentions up to the end of day D;
* **deaths** are protesters, bystanders and security personnel killed (in people drawn per confrontation
  with ``repression.casualties = "people"``, :meth:`CountryResult.people`);
* the **participants of day D** (casualties in people only) are the people out, active or violent, at some
  hour of D, each counted once for the day (:func:`participants_by_day`);
* the **end of unrest** is the day on which the active and violent citizens of all
  cities fall below ``end_fraction`` of their national peak for good: the day of the
  first step after the last step at or above that level.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .simulate import CountryResult


def day_index(result: CountryResult) -> np.ndarray:
    """The calendar day of each step 0..steps."""
    clock = result.clock
    return np.array([clock.day_of(k) for k in range(result.steps + 1)])


def step_at_end_of(result: CountryResult, day: dt.date) -> int:
    """The last step that lies in ``day`` or before (0 if the day is before the run)."""
    days = day_index(result)
    inside = np.nonzero(days <= day)[0]
    return int(inside[-1]) if len(inside) else 0


def step_ending_by(result: CountryResult, when: dt.datetime) -> int:
    """The last step that ends at or before ``when`` (local clock time; 0 if ``when`` is before the first step's
    end, the last step if it is after the run): the steps whose events a figure published at ``when`` can count."""
    clock = result.clock
    hours = (when - clock.start) / dt.timedelta(hours=1)
    return int(min(max(np.floor(hours / clock.tick_hours + 1e-9), 0), result.steps))


def onset_step(result: CountryResult, city: str, onset_per_1000: float = 1.0) -> int | None:
    i = result.names.index(city)
    share = result.unrest()[i] * 1000.0 / result.citizens[i]
    hits = np.nonzero(share[1:] >= onset_per_1000)[0]
    return int(hits[0]) + 1 if len(hits) else None


def onset_day(result: CountryResult, city: str, onset_per_1000: float = 1.0) -> dt.date | None:
    k = onset_step(result, city, onset_per_1000)
    return None if k is None else result.clock.day_of(k)


def peak_violence_day(result: CountryResult, city: str) -> dt.date | None:
    i = result.names.index(city)
    violent = result.violent_residents()[i]
    if violent[1:].max(initial=0) == 0:
        return None
    return result.clock.day_of(int(np.argmax(violent[1:])) + 1)


def detained_by(result: CountryResult, day: dt.date) -> float:
    """Arrests and sweep detentions up to the end of ``day``, in residents."""
    return result.total_people(("arrests", "swept"), upto=step_at_end_of(result, day))


def detained_curve(result: CountryResult) -> np.ndarray:
    """Cumulative detentions per step, in residents."""
    return result.people(("arrests", "swept"), cumulative=True)


def killed_by(result: CountryResult, day: dt.date | None = None) -> dict[str, float]:
    """Protesters, bystanders and security personnel killed (up to the end of ``day``; default: the run); the
    protesters include those killed attacking buildings (:func:`site_killed`)."""
    k = result.steps if day is None else step_at_end_of(result, day)
    out = {name: result.total_people(f"killed_{name}", upto=k) for name in ("protesters", "bystanders", "security")}
    out["protesters"] += site_killed(result, k)
    out["total"] = out["protesters"] + out["bystanders"] + out["security"]
    return out


def deaths_curve(result: CountryResult) -> np.ndarray:
    """Cumulative deaths (protesters, bystanders and security) per step, in residents."""
    lattice = result.people(("killed_protesters", "killed_bystanders", "killed_security"), cumulative=True)
    at_sites = result.reports.get("site_killed_protesters")
    if at_sites is None:
        return lattice
    per_step = np.nan_to_num(at_sites).sum(axis=0)
    per_step[0] = 0.0
    return lattice + np.cumsum(per_step)


def injured(result: CountryResult) -> dict[str, float]:
    """People injured in the run, by side: in arrests and attacks on the lattice, and over buildings
    (:func:`site_injured`, 0 without the ``sites`` mechanism)."""
    return {name: result.total_people(f"injured_{name}") + site_injured(result, name, result.steps)
            for name in ("protesters", "security")}


def participants_by_day(result: CountryResult, city: str | int | None = None) -> dict[dt.date, float]:
    """People who took part on each calendar day (``repression.casualties = "people"`` only; else ``{}``).

    A **participant** of day D is a citizen whose activation in some step (hour) of day D left it active or
    violent, counted once for the day however many hours it was out, with the people its agent stands for
    (the Prosecutor General's count of participants per day, issue 14, deliverable 4). A citizen who is out
    on two days counts on each."""
    if not result.counted_in_people("participants"):
        return {}
    per_step = result.people("participants", city)
    days = day_index(result)
    out: dict[dt.date, float] = {}
    for k in range(1, result.steps + 1):
        out[days[k]] = out.get(days[k], 0.0) + float(per_step[k])
    return out


def largest_crowd_on(result: CountryResult, city: str | int, day: dt.date) -> float:
    """The most people out (active or violent) at once in ``city`` at the end of a step of ``day``, in residents
    (0 if the run does not cover the day): the size of a march or rally at its largest."""
    days = day_index(result)
    out = result.people(("active", "violent"), city)
    steps = [k for k in range(1, result.steps + 1) if days[k] == day]
    return float(max((out[k] for k in steps), default=0.0))


def national_unrest(result: CountryResult) -> np.ndarray:
    """Active and violent citizens over all cities, per step, in residents."""
    return result.people(("active", "violent"))


def peak(result: CountryResult) -> tuple[float, dt.datetime]:
    unrest = national_unrest(result)
    k = int(np.argmax(unrest))
    return float(unrest[k]), result.clock.time_of(k)


def end_of_unrest_day(result: CountryResult, end_fraction: float = 0.1) -> dt.date | None:
    """The day of the first step after the last one with national unrest at or above ``end_fraction`` of its
    peak (None: no unrest, or still above at the end of the run)."""
    unrest = national_unrest(result)
    k_peak = int(np.argmax(unrest))
    if unrest[k_peak] <= 0:
        return None
    above = np.nonzero(unrest >= end_fraction * unrest[k_peak])[0]
    last = int(above[-1])
    if last >= result.steps:
        return None  # still going at the end of the run
    return result.clock.day_of(last + 1)


def summary(result: CountryResult, onset_per_1000: float = 1.0) -> dict[str, object]:
    """Headline figures of a run, in residents."""
    killed = killed_by(result)
    top, when = peak(result)
    last_day = result.clock.day_of(result.steps)
    return {
        "steps": result.steps,
        "agents": int(result.citizens.sum()),
        "residents_per_agent": result.residents_per_agent,
        "peak_unrest": top,
        "peak_time": when.strftime("%Y-%m-%d %H:%M"),
        "detained_total": detained_by(result, last_day),
        "deaths_total": killed["total"],
        "deaths_protesters": killed["protesters"],
        "deaths_bystanders": killed["bystanders"],
        "deaths_security": killed["security"],
        "injured_security": injured(result)["security"],
        "site_attacks": result.total_people("site_attacks"),
        **({"buildings_attacked": float(np.nansum(result.reports["buildings_attacked"][:, -1])),
            "buildings_burnt": float(np.nansum(result.reports["buildings_burnt"][:, -1]))}
           if result.scenario.sites.enabled else {}),
        "end_of_unrest": str(end_of_unrest_day(result) or "not by the end"),
        "onsets": {name: str(onset_day(result, name, onset_per_1000) or "-") for name in result.names},
        "agent_steps_per_second": float(result.citizens.sum() + result.column("cops")[:, 0].sum()) * result.steps
        / result.wall_seconds if result.wall_seconds > 0 else float("nan"),
    }


def site_killed(result: CountryResult, upto: int, city: str | int | None = None) -> float:
    """Attackers killed at buildings (:mod:`uprising.mechanisms.sites`, ``killed_protesters``: the defenders of a
    government or police building shoot) in steps 1 to ``upto``, of ``city`` (a name or an index) or of the
    country. 0 when the mechanism was off, or the run predates the count."""
    if "site_killed_protesters" not in result.reports:
        return 0.0
    rows = slice(None) if city is None else [result.names.index(city) if isinstance(city, str) else city]
    return float(np.nansum(result.reports["site_killed_protesters"][rows, 1:upto + 1]))


def site_injured(result: CountryResult, side: str, upto: int, city: str | None = None) -> float:
    """People injured in confrontations over buildings (:mod:`uprising.mechanisms.sites`) in steps 1 to ``upto``,
    of ``city`` or of the country: ``side`` is ``"security"``, ``"protesters"`` or ``"both"``. 0 when the
    mechanism was off (its reports are NaN)."""
    names = {"security": ("site_injured_security",), "protesters": ("site_injured_protesters",),
             "both": ("site_injured_security", "site_injured_protesters")}[side]
    rows = slice(None) if city is None else [result.names.index(city)]
    return float(sum(np.nansum(result.reports[name][rows, 1:upto + 1]) for name in names
                     if name in result.reports))


def security_injured_reported(result: CountryResult, when: dt.datetime | None, city: str | None = None,
                              delay_hours: float | None = None) -> float:
    """Injured security personnel (on the lattice and over buildings) of ``city`` or of the country that a count
    published at ``when`` (local clock time; None: the final count, every injury of the run) holds.

    An injury of step ``k`` (which ends at ``clock.time_of(k)``) is in the count with probability
    ``1 - exp(-(when - time_of(k)) / delay)``, ``delay`` being ``delay_hours`` or the scenario's
    ``reporting.security_injured_delay_hours`` (:class:`uprising.country.scenario.Reporting`): the expected
    count under an exponential reporting delay. With a delay of 0 every injury of a step that ends by ``when`` counts.
    """
    delay = result.scenario.reporting.security_injured_delay_hours if delay_hours is None else delay_hours
    upto = result.steps if when is None else step_ending_by(result, when)
    if when is None or delay <= 0.0:
        return result.total_people("injured_security", upto=upto, city=city) + \
            site_injured(result, "security", upto, city)
    x = result.people("injured_security", city)[1:upto + 1].astype(np.float64)
    if "site_injured_security" in result.reports:
        rows = slice(None) if city is None else [result.names.index(city)]
        x = x + np.nansum(result.reports["site_injured_security"][rows, 1:upto + 1], axis=0)
    clock = result.clock
    ages = (when - clock.start) / dt.timedelta(hours=1) - np.arange(1, upto + 1) * clock.tick_hours
    with np.errstate(over="ignore"):  # a delay of a few hours' billionths: every age is "long ago"
        reported = -np.expm1(-np.maximum(ages, 0.0) / delay)
    return float(np.sum(x * reported))
