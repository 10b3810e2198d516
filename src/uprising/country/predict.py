"""Predictions for an episode that was not fitted (issue 16): the joint posterior's behaviour, the new country's inputs.

A prediction file (``experiments/iran-2019-prediction.toml``) names the new country's scenario, the joint posterior's
folder (``uprising joint``'s ``--out``: one ``EPISODE/posterior.json`` per fitted episode) and how many parameter sets
to draw. Each draw

* picks a particle of the joint posterior by its weight and takes its behavioural parameters (the keys that
  :func:`uprising.country.inputs.is_country_key` calls behaviour: shared by every episode);
* takes the starting legitimacy (``rules.legitimacy``, a country's input that no source measures) of that same
  particle in one of the fitted episodes, chosen with equal chance: the new country is read as exchangeable with the
  fitted ones (its legitimacy one more draw from the countries the model has seen), an assumption said in the
  prediction;
* draws the new country's other unknown inputs (``own``: the size of a scripted shock) from their priors;

and runs the scenario once at those values on seeds of its own. The runs' measures (:func:`measures`: deaths in total
and by city, detained, injured, participants, the cities that rise, the day of peak violence and the day unrest ends,
the buildings attacked by kind) are summarised as distributions (:func:`summarise`). Nothing here reads a record: a
prediction is made before the episode's outcomes are looked at, and it is never tuned afterwards.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..scenario import ScenarioError, SpecFile
from . import observables as O

PREDICT_STREAM = 0x70726564  # "pred": the entropy of the draws


class OwnPrior(BaseModel):
    """The prior of one of the new country's unknown inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    low: float
    high: float
    prior: str = Field("uniform", pattern="^(uniform|log-uniform)$")
    reason: str = ""


class PredictionSpec(SpecFile):
    """A prediction's file (experiments/*-prediction.toml)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    scenario: str = Field(description="the new country's scenario, relative to this file")
    joint: str = Field(description="the joint posterior's folder (`uprising joint --out`), relative to this file")
    draws: int = Field(200, ge=1, le=1_000_000, description="parameter sets drawn, one run each")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    set: dict[str, Any] = Field(default_factory=dict, description="fixed changes (e.g. { scale = 0.005 })")
    legitimacy_from: list[str] = Field(default_factory=list,
                                       description="fitted episodes whose legitimacy the draws take (default: all)")
    own: dict[str, OwnPrior] = Field(default_factory=dict, description="the new country's other unknown inputs")
    notes: list[str] = Field(default_factory=list, description="what the prediction assumes (printed with it)")

    @classmethod
    def load(cls, path: str | Path) -> "PredictionSpec":
        spec = cls.read(path, "prediction")
        path = Path(path)
        for key, prior in spec.own.items():
            if not prior.low < prior.high:
                raise ScenarioError(str(path), f"own.{key}", f"low must be below high (got {prior.low}, {prior.high})")
            if prior.prior == "log-uniform" and not prior.low > 0:
                raise ScenarioError(str(path), f"own.{key}", f"a log-uniform prior needs low > 0 (got {prior.low})")
        return spec


def fitted_posteriors(spec: PredictionSpec) -> dict[str, Any]:
    """The joint posterior's episodes (name -> :class:`~uprising.experiment.posterior.Posterior`), in its order."""
    from ..experiment.posterior import read_posterior

    folder = spec.path(spec.joint)
    order = []
    summary = folder / "joint.json"
    if summary.is_file():
        import json

        order = list(json.loads(summary.read_text())["episodes"])
    found = sorted(p.parent.name for p in folder.glob("*/posterior.json"))
    names = [n for n in order if n in found] + [n for n in found if n not in order]
    if len(names) < 1:
        raise ScenarioError(spec.source, "joint", f"no EPISODE/posterior.json in {str(folder)!r}; run `uprising joint` "
                            "with --out there first")
    return {name: read_posterior(folder / name / "posterior.json") for name in names}


def prediction_draws(spec: PredictionSpec, posteriors: dict[str, Any] | None = None) -> list[dict[str, float]]:
    """The parameter sets of the prediction (the module's docstring), deterministic in the spec's seed."""
    from ..country.inputs import is_country_key, mechanism_inputs
    from ..mechanisms import MECHANISMS

    posteriors = posteriors or fitted_posteriors(spec)
    inputs = mechanism_inputs(MECHANISMS)
    names = list(posteriors)
    first = posteriors[names[0]]
    for name, post in posteriors.items():
        if len(post.weights) != len(first.weights) or not np.allclose(post.weights, first.weights):
            raise ScenarioError(spec.source, "joint", f"{name}'s particles are not the joint posterior's "
                                f"({names[0]}'s): not one joint posterior")
    sources = spec.legitimacy_from or names
    unknown = [s for s in sources if s not in posteriors]
    if unknown:
        raise ScenarioError(spec.source, "legitimacy_from", f"no fitted episode {unknown[0]!r}; allowed: "
                            f"{', '.join(names)}")
    shared = {}  # every behavioural parameter of any view -> the view that carries it (the first one's first)
    for name, post in posteriors.items():
        for n in post.names:
            if not is_country_key(n, inputs):
                shared.setdefault(n, post)
    rng = np.random.default_rng(np.random.SeedSequence([int(spec.seed), PREDICT_STREAM]))
    particle = rng.choice(len(first.weights), size=spec.draws, replace=True, p=first.weights)
    episode = rng.integers(0, len(sources), size=spec.draws)
    u = rng.random((spec.draws, len(spec.own)))
    out = []
    for d in range(spec.draws):
        i = int(particle[d])
        point = {n: float(view.values[i, view.names.index(n)]) for n, view in shared.items()}
        post = posteriors[sources[int(episode[d])]]
        point["rules.legitimacy"] = float(post.values[i, post.names.index("rules.legitimacy")])
        for k, (key, prior) in enumerate(spec.own.items()):
            if prior.prior == "log-uniform":
                value = math.exp(math.log(prior.low) + u[d, k] * (math.log(prior.high) - math.log(prior.low)))
            else:
                value = prior.low + u[d, k] * (prior.high - prior.low)
            point[key] = float(value)
        out.append(point)
    return out


#: the predicted quantities of the whole country: name -> (label, unit)
NATIONAL = {
    "deaths": ("deaths (protesters, bystanders and security)", "people"),
    "deaths_protesters": ("protesters and bystanders killed", "people"),
    "deaths_security": ("security personnel killed", "people"),
    "detained": ("detained (arrests and sweeps)", "people"),
    "injured": ("injured (protesters and security)", "people"),
    "injured_protesters": ("protesters injured", "people"),
    "injured_security": ("security personnel injured", "people"),
    "participants": ("participants: people out at some hour, summed over the days", "person-days"),
    "participants_peak_day": ("participants on the busiest day", "people"),
    "largest_crowd": ("the largest crowd out at once in one city", "people"),
    "cities_rising": ("cities that rise (1 active or violent per 1,000 at some hour)", "cities"),
    "day_peak_violence": ("day of peak violence (national violent people)", "day"),
    "day_unrest_ends": ("day unrest ends (below a tenth of its peak for good)", "day"),
    "buildings_attacked": ("buildings attacked", "buildings"),
    "government_attacked": ("government buildings attacked", "buildings"),
    "police_attacked": ("police buildings attacked", "buildings"),
    "commercial_attacked": ("commercial buildings attacked: banks, petrol stations and shops (one kind)", "buildings"),
}


def _day(result, day: dt.date | None) -> float:
    return math.nan if day is None else float((day - result.clock.start.date()).days)


def measures(result) -> dict[str, float]:
    """The predicted quantities of one run (:data:`NATIONAL`, then ``deaths@CITY`` and ``onset@CITY``); days as
    days since the clock's start date (NaN: never)."""
    killed = O.killed_by(result)
    hurt = O.injured(result)
    daily: dict[dt.date, float] = {}
    for c in range(len(result.names)):
        for day, n in O.participants_by_day(result, c).items():
            daily[day] = daily.get(day, 0.0) + n
    days = sorted(daily)
    onsets = {name: O.onset_day(result, name) for name in result.names}
    violent = result.violent_residents().sum(axis=0)  # people violent at each step, over the cities
    peak_day = result.clock.day_of(int(np.argmax(violent[1:])) + 1) if violent[1:].max(initial=0) > 0 else None
    reports = result.reports
    total = lambda name: float(np.nansum(reports[name][:, -1])) if name in reports else math.nan  # noqa: E731
    out = {
        "deaths": killed["total"], "deaths_protesters": killed["protesters"] + killed["bystanders"],
        "deaths_security": killed["security"], "detained": float(O.detained_curve(result)[-1]),
        "injured": hurt["protesters"] + hurt["security"], "injured_protesters": hurt["protesters"],
        "injured_security": hurt["security"],
        "participants": float(sum(daily.values())), "participants_peak_day": max(daily.values()) if daily else 0.0,
        "largest_crowd": max((O.largest_crowd_on(result, c, d) for c in range(len(result.names)) for d in days),
                             default=0.0),
        "cities_rising": float(sum(d is not None for d in onsets.values())),
        "day_peak_violence": _day(result, peak_day), "day_unrest_ends": _day(result, O.end_of_unrest_day(result)),
        "buildings_attacked": total("buildings_attacked"), "government_attacked": total("government_attacked"),
        "police_attacked": total("police_attacked"),
    }
    out["commercial_attacked"] = out["buildings_attacked"] - out["government_attacked"] - out["police_attacked"]
    k = result.steps
    for c, name in enumerate(result.names):
        out[f"deaths@{name}"] = (result.total_people(("killed_protesters", "killed_bystanders", "killed_security"),
                                                     city=c) + O.site_killed(result, k, c))
        out[f"onset@{name}"] = _day(result, onsets[name])
    return out


def run_measures(scenario, seed: int, replicate: int) -> dict[str, float]:
    """One run's :func:`measures` (the job of a prediction's tasks: only the numbers travel back)."""
    from .simulate import simulate_country

    return measures(simulate_country(scenario, seed, replicate))


def prediction_tasks(scenario, draws: list[dict[str, float]], seed: int, source: str = "<prediction>") -> list:
    """One task per draw: the scenario at the draw's values, replicate ``d`` of seed ``seed``."""
    from .. import execution as E

    return [E.task(scenario.replace(theta, source=f"{source} draw {d}"), seed, d, job=run_measures)
            for d, theta in enumerate(draws)]


def summarise(rows: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Per quantity: the share of runs where it happened (days: not NaN), mean, and the 5/25/50/75/95% quantiles."""
    out = []
    for key in rows[0]:
        v = np.array([r[key] for r in rows], dtype=float)
        ok = np.isfinite(v)
        q = np.quantile(v[ok], [0.05, 0.25, 0.5, 0.75, 0.95]) if ok.any() else [math.nan] * 5
        out.append({"quantity": key, "runs": int(len(v)), "defined": int(ok.sum()),
                    "mean": float(v[ok].mean()) if ok.any() else math.nan,
                    "q5": float(q[0]), "q25": float(q[1]), "q50": float(q[2]), "q75": float(q[3]), "q95": float(q[4])})
    return out
