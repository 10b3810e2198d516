"""The joint posterior of several episodes: one behaviour, each country's inputs its own (issue 16).

The behavioural parameters (:func:`uprising.country.inputs.is_country_key` says which keys are not) are the same in
every country; each episode keeps its own inputs, as sourced in its scenario file, and a few that no source gives
(the starting legitimacy, the size of a scripted shock) are drawn from priors of its own. The posterior is

    p(theta, phi_1, ..., phi_K | y_1, ..., y_K)  ~  pi(theta) prod_k pi(phi_k) p(y_k | theta, phi_k)

with ``theta`` the behaviour and ``phi_k`` episode ``k``'s own parameters, each episode's record ``y_k`` scored by
its own fit targets. It is computed by ABC on the sum of the episodes' losses (the fit's loss over every episode's
fit targets at once), recycling the first episode's calibration (:func:`uprising.experiment.posterior.
calibrate_country`, Kazakhstan's): every point that calibration ran, with its importance weight (prior over the
mixture of the generations' proposals, :func:`uprising.experiment.posterior.importance`), is run once more in each
later episode, with that episode's own parameters drawn from their priors (so their importance weight is 1). The
``keep`` points of smallest summed loss are the joint posterior, weighted by their importance weights: population
Monte Carlo's pooled estimator (Cornuet et al. 2012) with the joint distance in place of the first episode's.

The first episode's proposals were drawn where it fits, so the joint posterior can only be as wide as those points
reach: where no point fits every episode, the summed loss says which episode gives way (a finding, issue 16: "if
one behavioural set cannot fit both, say so and show where it breaks"). Every later episode's points are also
scored alone (its own loss), so the tension shows as the distance between the points each episode prefers.

All runs are runs of result stores (deterministic and resumable, as every experiment's).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..country.inputs import is_country_key, mechanism_inputs
from ..mechanisms import MECHANISMS
from ..scenario import ScenarioError, SpecFile, read_toml
from .posterior import (Generation, Posterior, PosteriorProgress, Prior, Settings, _all_points, _values,
                        calibrate_country, distance, importance, nearest, priors_of, rows_by_point,
                        target_outcomes)
from .runner import run_experiment
from .spec import Experiment, Range
from .store import ResultStore

JOINT_STREAM = 0x6A6F696E  # "join": the entropy of the later episodes' own draws


def country_key(dotted: str) -> bool:
    """Whether a parameter is a country's input (its own) rather than shared behaviour (:func:`is_country_key`)."""
    return is_country_key(dotted, mechanism_inputs(MECHANISMS))


class FirstEpisode(BaseModel):
    """The calibrated episode whose runs propose the joint posterior's points."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    experiment: str = Field(description="its calibration's experiment file, relative to this file")
    targets: str = Field(description="its targets file, relative to this file")
    store: str = Field(description="its calibration's result store, relative to this file")
    first: int = Field(1000, ge=2, le=10_000_000)
    size: int = Field(500, ge=2, le=10_000_000)
    generations: int = Field(4, ge=0, le=1000)
    keep: int = Field(200, ge=2, le=10_000_000)


class LaterEpisode(BaseModel):
    """An episode run at the first one's points: its scenario, targets, fixed changes and own priors."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    base: str = Field(description="its country scenario, relative to this file")
    targets: str = Field(description="its targets file, relative to this file")
    set: dict[str, Any] = Field(default_factory=dict, description="fixed changes (e.g. { scale = 0.005 })")
    parameters: dict[str, Range] = Field(default_factory=dict,
                                         description="its own fitted inputs' priors (country keys only)")
    shared: dict[str, Range] = Field(default_factory=dict,
                                     description="priors of behavioural parameters the first episode's calibration "
                                                 "does not vary (its record cannot inform them: it has no events of "
                                                 "their mechanism), drawn here and shared by every later view")


class JointSpec(SpecFile):
    """A joint posterior's file (experiments/joint-*.toml)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1)
    keep: int = Field(200, ge=2, le=10_000_000, description="points kept in the joint posterior")
    first: FirstEpisode
    episodes: list[LaterEpisode] = Field(min_length=1)

    @classmethod
    def load(cls, path: str | Path) -> "JointSpec":
        """Read and check a joint posterior's file (:class:`ScenarioError` naming the file and field)."""
        spec = cls.read(path, "joint posterior")
        path = Path(path)
        names = [spec.first.name, *(e.name for e in spec.episodes)]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ScenarioError(str(path), "episodes", f"episode name {name!r} used twice")
        first_priors = set(_ranges_of(spec.path(spec.first.experiment)))
        seen: dict[str, str] = {}
        for k, e in enumerate(spec.episodes):
            for key in e.parameters:
                if not country_key(key):
                    raise ScenarioError(str(path), f"episodes[{k}].parameters.{key}",
                                        "a behavioural parameter is shared: its prior is the first episode's, or "
                                        "goes in the episode's [shared] table (allowed here: the episode's own "
                                        "inputs, such as rules.legitimacy or events.ID.delta)")
            for key in e.shared:
                if country_key(key):
                    raise ScenarioError(str(path), f"episodes[{k}].shared.{key}",
                                        "a country's input is not shared; put it in the episode's parameters")
                if key in first_priors:
                    raise ScenarioError(str(path), f"episodes[{k}].shared.{key}",
                                        f"the first episode ({spec.first.name}) already calibrates it; its prior "
                                        "is there")
                if key in seen:
                    raise ScenarioError(str(path), f"episodes[{k}].shared.{key}",
                                        f"already drawn by episode {seen[key]!r}: a shared parameter is declared once")
                seen[key] = e.name
        return spec


@dataclass
class EpisodeRuns:
    """One episode's experiment, priors, targets and every point's distance and run ids."""

    name: str
    experiment: Experiment
    priors: list[Prior]  # the experiment's parameters: shared behaviour and the episode's own
    fit: list[Any]
    test: list[Any]
    values: np.ndarray  # points x priors
    distances: np.ndarray
    run_ids: list[list[str]]
    store: ResultStore


@dataclass
class JointRun:
    """What :func:`joint_posterior` did."""

    spec: JointSpec
    episodes: list[EpisodeRuns]  # the first one first
    weights_all: np.ndarray  # every point's importance weight (unnormalised)
    kept: np.ndarray  # the joint posterior's points, nearest first
    weights: np.ndarray  # theirs, summing to 1
    joint_distance: np.ndarray  # every point's summed loss
    made: int  # runs this call made
    generations: list[Generation] = field(default_factory=list)

    def posterior(self, k: int, kept: np.ndarray | None = None, weights: np.ndarray | None = None) -> Posterior:
        """Episode ``k``'s view of the joint posterior (its parameters only), for its predictive and comparisons."""
        e = self.episodes[k]
        kept = self.kept if kept is None else kept
        weights = self.weights if weights is None else weights
        return Posterior(e.priors, e.values[kept], weights, e.distances[kept], [e.run_ids[i] for i in kept],
                         [], {"joint": self.spec.name, "episode": e.name})

    def alone(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``keep`` points nearest episode ``k``'s record alone, and their weights (the tension's other end)."""
        kept = nearest(self.episodes[k].distances, self.spec.keep)
        w = self.weights_all[kept]
        return kept, w / w.sum()


def _ranges_of(experiment_file: Path) -> dict[str, Any]:
    """The parameter ranges of an experiment file, read without building its design (names only matter)."""
    from .spec import _flatten

    return _flatten(dict(read_toml(experiment_file, "experiment").get("parameters", {})))


def episode_experiment(spec: JointSpec, episode: LaterEpisode, shared: dict[str, Any]) -> Experiment:
    """The later episode's experiment: its base with its fixed changes, the shared behavioural priors (the first
    episode's, then those the episode draws itself) and its own."""
    params = {**shared, **{k: v.model_dump() for k, v in episode.shared.items()},
              **{k: v.model_dump() for k, v in episode.parameters.items()}}
    data = {"name": f"{spec.name}-{episode.name}", "base": str(spec.path(episode.base)), "replicates": 1,
            "seed": spec.seed, "set": dict(episode.set), "design": {"kind": "lhs", "samples": 1},
            "parameters": params}
    return Experiment.from_dict(data, source=f"{spec.source} episodes.{episode.name}", directory=spec._dir)


def joint_posterior(spec: JointSpec, store_root: str | Path, executor: cf.Executor | None = None, *,
                    workers: int | None = None, progress: PosteriorProgress | None = None) -> JointRun:
    """The joint posterior of ``spec``'s episodes (the module's docstring). The first episode's calibration is
    read from its store (and its missing runs made, as ``uprising calibrate`` would); each later episode's runs go
    to ``store_root/NAME``."""
    from ..country.fit import load_targets

    first = spec.first
    exp1 = Experiment.load(spec.path(first.experiment))
    targets1 = load_targets(spec.path(first.targets), exp1.base_scenario)
    fit1, test1 = targets1.of_split("fit"), targets1.of_split("test")
    settings = Settings(first=first.first, generations=first.generations, size=first.size, keep=first.keep,
                        seed=exp1.seed)
    store1 = ResultStore(spec.path(first.store))
    calibration = calibrate_country(exp1, fit1, store1, settings, executor, workers=workers, test_targets=test1,
                                    progress=progress)
    gens = calibration.generations
    units1, dist1, ids1 = _all_points(gens)
    priors1 = priors_of(exp1)
    values1 = _values(exp1, priors1, units1)
    weights_all = importance(gens)
    n = len(units1)
    episodes = [EpisodeRuns(first.name, exp1, priors1, fit1, test1, values1, dist1, ids1, store1)]
    shared_names = [p.name for p in priors1 if not country_key(p.name)]
    shared = {name: exp1.parameters[name] for name in shared_names}
    made = calibration.simulated
    for k, episode in enumerate(spec.episodes, start=1):
        exp = episode_experiment(spec, episode, shared)
        targets = load_targets(spec.path(episode.targets), exp.base_scenario)
        fit, test = targets.of_split("fit"), targets.of_split("test")
        priors = priors_of(exp)
        own = [p for p in priors if p.name not in shared]  # the episode's own inputs and its [shared] behaviour
        rng = np.random.default_rng(np.random.SeedSequence([int(spec.seed), JOINT_STREAM, k]))
        own_units = rng.random((n, len(own)))
        column = {p.name: i for i, p in enumerate(priors1)}
        points = []
        for i in range(n):
            point = {name: float(values1[i, column[name]]) for name in shared_names}
            point.update({p.name: float(p.value(own_units[i, j])) for j, p in enumerate(own)})
            points.append(point)
        outcomes = target_outcomes([*fit, *test])
        recording = exp.model_copy(update={"outcomes": list(dict.fromkeys([*outcomes, *exp.outcomes]))})
        sub = recording.at(points, name=f"{exp.name}-points")
        store = ResultStore(Path(store_root) / episode.name)
        tick = None
        if progress is not None:
            tick = (lambda done, todo, record, name=episode.name: progress("run", {"g": name, "done": done,
                                                                                  "todo": todo}))
        summary = run_experiment(sub, store, executor, tick, workers=workers)
        made += summary.completed
        rows = rows_by_point(sub, store, n)
        dist = np.array([distance(fit, r) for r in rows])
        values = np.array([[pt[p.name] for p in priors] for pt in sub.points()], dtype=float)
        episodes.append(EpisodeRuns(episode.name, exp, priors, fit, test, values, dist,
                                    [[r["run_id"] for r in rs] for rs in rows], store))
    total = np.sum([e.distances for e in episodes], axis=0)
    kept = nearest(total, spec.keep)
    w = weights_all[kept]
    return JointRun(spec, episodes, weights_all, kept, w / w.sum(), total, made, gens)


def tension(run: JointRun) -> list[dict[str, Any]]:
    """Where one behaviour fits every episode or gives way: for each episode's posterior alone and the joint one,
    every episode's loss over those points (weighted median) and the shared parameters' medians."""
    from .calibrate import weighted_quantile

    views = [(f"{e.name} alone", *run.alone(k)) for k, e in enumerate(run.episodes)]
    views.append(("joint", run.kept, run.weights))
    out = []
    for label, kept, weights in views:
        row: dict[str, Any] = {"posterior": label}
        for e in run.episodes:
            d = e.distances[kept]
            ok = np.isfinite(d)
            row[f"loss {e.name}"] = (weighted_quantile(d[ok], weights[ok], 0.5) if ok.any() else math.inf)
        row["joint loss"] = weighted_quantile(run.joint_distance[kept], weights, 0.5)
        row["effective sample"] = float(1.0 / np.sum(weights ** 2))
        out.append(row)
    return out
