"""A posterior for a country scenario: ABC-SMC in generations of runs of the experiment store.

:func:`calibrate_country` calibrates an experiment on a country scenario (its parameters are the ranges of
the priors, ``name = { low = .., high = .., prior = "uniform" | "log-uniform", reason = ".." }``) against
the **fit** targets of a targets file (``quantity,value_low,value_high,date,split,source``; read by
:func:`uprising.country.fit.load_targets`). The method is ABC by population Monte Carlo (Beaumont, Cornuet,
Marin and Robert 2009, *Biometrika* 96: 983-990; Toni et al. 2009, *J. R. Soc. Interface* 6: 187-202):

* **Generation 0** draws ``first`` points from the prior (a scrambled Sobol' sequence, seeded, in the
  unit cube of the priors' quantiles: ``u = F(theta)``, so the prior is uniform on the cube) and keeps the
  ``keep`` nearest the targets.
* **Generation g > 0** proposes ``size`` points from the kept ones: an ancestor drawn by weight, moved
  by a Gaussian kernel truncated to the cube, with per-parameter variance twice the population's weighted
  variance (Beaumont et al. 2009). It keeps the ``keep`` nearest of them that lie within the last
  generation's tolerance (so the tolerance epsilon_g, the largest kept distance, never grows), and weights
  each by prior / proposal density (the prior is 1 on the cube).
* With ``local_from = G``, generations ``g >= G`` propose instead from the posterior pooled so far (below)
  with :class:`LocalKernel`: a Gaussian in the logit of the quantiles whose covariance, per ancestor, comes from
  the particles nearest the record (Filippi et al. 2013).
* The **distance** of a point is the fit's loss (:func:`uprising.country.fit.loss`) of the fit targets over
  its run(s): the error of a count is ``|ln((m + 1) / (b + 1))|`` outside its range, of a day the days
  outside it (a city that never rises costs 10), 0 inside.

Every point is a run of the store (``experiment`` column ``NAME-gG``), made by
:func:`~uprising.experiment.runner.run_experiment`: the same crash safety, resume and executors (local
processes or Dask) as any sweep. Each run's outcomes row holds what every target, fit and test, measured in
it (``target@...``, :mod:`uprising.experiment.country_outcomes`). The proposals are drawn from seeded
generators and the distances read back from the store, so the whole calibration is a deterministic function
of the experiment, the targets and the settings: run again, it proposes the same points, finds every run in
the store and makes no new simulation; stopped, it resumes where it was. (pyabc's samplers reseed numpy
from the operating system in every job, so its proposals cannot be replayed; hence this driver. pyabc's
ABC-SMC remains ``uprising calibrate``'s method for Model I.)

The posterior pools the generations (:func:`pool`): the ``keep`` nearest of all the points made, weighted by
prior / the density of the mixture of all the generations' proposals (multiple importance sampling), so that
every run counts and no generation's weights collapse onto a few particles. The result (:class:`Posterior`,
written by :func:`write_posterior` as JSON) holds the priors, the particles (values, weights, distances, run
ids) and each generation's tolerance, simulations and effective sample size, and the pool's. :func:`read_posterior` reads it back and :meth:`Posterior.draw` draws parameter
sets from it: what ``uprising compare --posterior`` does.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..scenario import ScenarioError
from .runner import run_experiment
from .spec import Experiment
from .store import ResultStore

FORMAT = "uprising-posterior/1"

#: ``progress(event, info)``: ``"generation"`` before a generation's runs (g, points, simulations so far),
#: ``"run"`` after each of them (g, done, todo), ``"kept"`` after it (g, epsilon, ess)
PosteriorProgress = Callable[[str, dict], None]


@dataclass(frozen=True)
class Prior:
    """One parameter's prior: uniform or log-uniform over ``[low, high]``, with the reason for the range."""

    name: str
    low: float
    high: float
    log: bool = False
    reason: str = ""

    def value(self, u: np.ndarray | float) -> np.ndarray | float:
        """The parameter at prior quantile ``u`` (0 <= u <= 1)."""
        if self.log:
            return np.exp(math.log(self.low) + np.asarray(u) * (math.log(self.high) - math.log(self.low)))
        return self.low + np.asarray(u) * (self.high - self.low)

    def quantile(self, x: np.ndarray | float) -> np.ndarray | float:
        """The prior quantile of value ``x`` (the inverse of :meth:`value`)."""
        if self.log:
            return (np.log(np.asarray(x, dtype=float)) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)

    def sd(self) -> float:
        """The prior's standard deviation (of the parameter's value)."""
        if not self.log:
            return (self.high - self.low) / math.sqrt(12.0)
        a, b = math.log(self.low), math.log(self.high)
        m1 = (self.high - self.low) / (b - a)
        m2 = (self.high ** 2 - self.low ** 2) / (2.0 * (b - a))
        return math.sqrt(max(m2 - m1 * m1, 0.0))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "low": self.low, "high": self.high,
                "prior": "log-uniform" if self.log else "uniform", "reason": self.reason}


def priors_of(experiment: Experiment) -> list[Prior]:
    """The experiment's ranges as priors; :class:`ScenarioError` unless it has ranges (a sampled design)."""
    from .calibrate import check_ranges

    check_ranges(experiment)
    return [Prior(n, float(r["low"]), float(r["high"]), r.get("prior") == "log-uniform", r.get("reason", ""))
            for n, r in experiment.parameters.items()]


@dataclass(frozen=True)
class Settings:
    """How many runs: ``first`` prior draws, then ``generations`` generations of ``size`` proposals, keeping
    the ``keep`` nearest each time; ``seed`` seeds the prior's Sobol' sequence and the proposals; ``adjust > 0``
    regression-adjusts the posterior over the ``adjust`` nearest points (:func:`regression_adjust`); generations
    ``g >= local_from > 0`` propose from the posterior pooled so far with :class:`LocalKernel`."""

    first: int = 1000
    generations: int = 4
    size: int = 500
    keep: int = 200
    seed: int = 0
    adjust: int = 0  # regression-adjust the posterior over this many nearest runs (0: no adjustment)
    local_from: int = 0  # generations from this one on propose with the local kernel (:class:`LocalKernel`); 0: never

    def check(self, source: str) -> None:
        for name in ("first", "size", "keep"):
            if getattr(self, name) < 2:
                raise ScenarioError(source, name, f"at least 2 (got {getattr(self, name)})")
        if self.local_from and not 1 <= self.local_from <= self.generations:
            raise ScenarioError(source, "local_from", f"0 (never) or a generation from 1 to {self.generations} "
                                f"(got {self.local_from})")
        if self.adjust and not self.keep <= self.adjust <= self.simulations:
            raise ScenarioError(source, "adjust", f"0 (no regression adjustment) or from keep ({self.keep}) to "
                                f"the points in all ({self.simulations}) (got {self.adjust})")
        if self.generations < 0:
            raise ScenarioError(source, "generations", f"0 or more (got {self.generations})")
        if self.keep > min(self.first, self.size if self.generations else self.first):
            raise ScenarioError(source, "keep", f"at most first ({self.first}) and size ({self.size}) "
                                f"(got {self.keep})")

    @property
    def simulations(self) -> int:
        """Points in all (each run ``replicates`` times)."""
        return self.first + self.generations * self.size


@dataclass
class Generation:
    """One generation: its points (quantiles and values), their distances and which were kept."""

    g: int
    units: np.ndarray  # points x parameters, prior quantiles
    distances: np.ndarray  # per point
    run_ids: list[list[str]]  # per point, its runs
    kept: np.ndarray  # indices of the kept points, nearest first
    weights: np.ndarray  # of the kept points, summing to 1
    epsilon: float  # the largest kept distance
    summaries: np.ndarray | None = None  # points x fit targets (:func:`summaries`), for the regression adjustment
    proposal: Any = None  # what proposed the points (None: the prior); its .density(points) in the cube

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights ** 2))


@dataclass
class Posterior:
    """A weighted sample of parameter sets (the last generation's kept particles) and how it was made."""

    priors: list[Prior]
    values: np.ndarray  # particles x parameters
    weights: np.ndarray  # sums to 1
    distances: np.ndarray
    run_ids: list[list[str]]
    generations: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    run_values: np.ndarray | None = None  # regression-adjusted: the values the particles' runs used

    @property
    def adjusted(self) -> bool:
        """Whether the particles were moved by a regression adjustment (their values were never run as such)."""
        return "adjustment" in self.meta

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.priors]

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights ** 2))

    def draw(self, n: int, seed: int = 0) -> list[dict[str, float]]:
        """``n`` parameter sets drawn by weight, with replacement, from a generator seeded by ``seed``."""
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x706F7374]))
        idx = rng.choice(len(self.weights), size=n, replace=True, p=self.weights)
        return [self.point(int(i)) for i in idx]

    def point(self, i: int) -> dict[str, float]:
        """Particle ``i`` as ``{parameter: value}``."""
        return {name: float(v) for name, v in zip(self.names, self.values[i])}

    def quantile(self, name: str, q: float) -> float:
        from .calibrate import weighted_quantile

        return weighted_quantile(self.values[:, self.names.index(name)], self.weights, q)

    def summary(self) -> list[dict[str, Any]]:
        """Per parameter: weighted mean, sd, 5/50/95% quantiles, the prior, and the posterior's 90% interval as
        a share of the prior's, measured in the prior's quantiles so that a log-uniform prior is read on its own
        scale (``width_ratio``: near 1, the data say little about it; well below, they identify it; at most
        1/0.9 when the posterior is as wide as the whole prior), and the sd of the quantiles over the prior's,
        1/sqrt(12) (``sd_ratio``)."""
        rows = []
        for k, p in enumerate(self.priors):
            x = self.values[:, k]
            mean = float(np.sum(self.weights * x))
            sd = float(math.sqrt(max(np.sum(self.weights * (x - mean) ** 2), 0.0)))
            q5, q50, q95 = (self.quantile(p.name, q) for q in (0.05, 0.5, 0.95))
            width = float(p.quantile(q95) - p.quantile(q5)) / 0.9
            u = np.asarray(p.quantile(x), dtype=float)
            u_mean = float(np.sum(self.weights * u))
            u_sd = float(math.sqrt(max(np.sum(self.weights * (u - u_mean) ** 2), 0.0)))
            rows.append({"parameter": p.name, "mean": mean, "sd": sd, "q5": q5, "q50": q50, "q95": q95,
                         "prior": "log-uniform" if p.log else "uniform", "prior_low": p.low, "prior_high": p.high,
                         "prior_sd": p.sd(), "sd_ratio": u_sd * math.sqrt(12.0),
                         "width_ratio": width,
                         "reason": p.reason})
        return rows


# ------------------------------------------------------------------ distance
def target_outcomes(targets: list[Any]) -> list[str]:
    """The outcome names (``target@...``) that measure ``targets``, once each, in order."""
    from .country_outcomes import target_outcome

    return list(dict.fromkeys(target_outcome(t) for t in targets))


def distance(targets: list[Any], rows: list[dict[str, float]]) -> float:
    """The fit's loss of ``targets`` over the runs ``rows`` (outcome rows holding ``target@...``): what
    :func:`uprising.country.fit.loss` gives for the same runs. A missing row is infinitely far."""
    from ..country.fit import loss, score_target
    from .country_outcomes import target_outcome

    if not rows:
        return math.inf
    scores = []
    for t in targets:
        name = target_outcome(t)
        values = [None if r.get(name) is None or not math.isfinite(float(r[name])) else float(r[name]) for r in rows]
        if t.kind == "count" and any(v is None for v in values):
            return math.inf
        scores.append(score_target(t, values))
    return loss(scores)


# ------------------------------------------------------------------ proposals
def _kernel_sd(units: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per parameter: sqrt(2 x the weighted variance) (Beaumont et al. 2009), at least 1e-3 of the cube."""
    mean = weights @ units
    var = weights @ (units - mean) ** 2
    return np.maximum(np.sqrt(2.0 * var), 1e-3)


def propose(units: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points: an ancestor by weight, moved by the truncated Gaussian kernel (inside the unit cube)."""
    from scipy.stats import truncnorm

    sd = _kernel_sd(units, weights)
    parents = rng.choice(len(weights), size=n, replace=True, p=weights)
    mu = units[parents]
    a, b = (0.0 - mu) / sd, (1.0 - mu) / sd
    return truncnorm.rvs(a, b, loc=mu, scale=sd, random_state=rng)


def proposal_density(points: np.ndarray, units: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The density of :func:`propose`'s mixture at ``points`` (the kernel's truncation normalised per ancestor)."""
    from scipy.stats import truncnorm

    sd = _kernel_sd(units, weights)
    out = np.zeros(len(points))
    for w, mu in zip(weights, units):
        a, b = (0.0 - mu) / sd, (1.0 - mu) / sd
        out += w * np.prod(truncnorm.pdf(points, a, b, loc=mu, scale=sd), axis=1)
    return out


@dataclass
class ComponentwiseKernel:
    """The population Monte Carlo kernel of Beaumont et al. (2009): :func:`propose` and :func:`proposal_density`
    around a generation's kept particles."""

    units: np.ndarray
    weights: np.ndarray
    name: str = "componentwise"

    def propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return propose(self.units, self.weights, n, rng)

    def density(self, points: np.ndarray) -> np.ndarray:
        return proposal_density(points, self.units, self.weights)


@dataclass
class LocalKernel:
    """A multivariate Gaussian kernel with a locally optimal covariance (OLCM, Filippi, Barnes, Cornebise and
    Stumpf 2013, *Stat. Appl. Genet. Mol. Biol.* 12: 87-107), in the logit of the priors' quantiles (so no
    truncation: every proposal lies inside the cube).

    An ancestor is drawn by weight from ``units`` (the posterior pooled so far); its kernel's covariance is
    ``sum_k (z_k - z_i)(z_k - z_i)^T / K`` over the ``K`` ancestors nearest the record (the nearer half), plus
    ``ridge`` on the diagonal: wide for an ancestor far from the better particles, so that its proposals reach
    towards them, and shaped by their correlations (a component-wise kernel ignores them; in 38 dimensions
    that left every generation as far from the record as the prior's sample). The density in the cube is the
    mixture's in ``z`` times the logit's Jacobian, ``prod 1 / (u (1 - u))``; the prior is 1 on the cube, so a
    proposal's importance weight is 1 / that density."""

    units: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    ridge: float = 1e-3
    name: str = "local"

    def __post_init__(self) -> None:
        z = _logit(self.units)
        order = np.lexsort((np.arange(len(self.distances)), self.distances))
        better = z[order[:max(2, (len(order) + 1) // 2)]]
        mean = better.mean(axis=0)
        centred = better - mean
        cov = centred.T @ centred / len(better)
        d = z.shape[1]
        self._z = z
        self._chol = []
        self._logdet = np.empty(len(z))
        for i, zi in enumerate(z):
            shift = (mean - zi)[:, None]
            sigma = cov + shift @ shift.T + self.ridge * np.eye(d)
            chol = np.linalg.cholesky(sigma)
            self._chol.append(chol)
            self._logdet[i] = 2.0 * np.log(np.diag(chol)).sum()

    def propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        parents = rng.choice(len(self.weights), size=n, replace=True, p=self.weights)
        noise = rng.standard_normal((n, self._z.shape[1]))
        z = np.array([self._z[a] + self._chol[a] @ e for a, e in zip(parents, noise)])
        return 1.0 / (1.0 + np.exp(-z))

    def log_density(self, points: np.ndarray) -> np.ndarray:
        from scipy.linalg import solve_triangular
        from scipy.special import logsumexp

        u = np.clip(np.asarray(points, dtype=float), 1e-12, 1.0 - 1e-12)
        z = _logit(u)
        d = z.shape[1]
        terms = np.empty((len(self.weights), len(z)))
        for i, (w, zi, chol) in enumerate(zip(self.weights, self._z, self._chol)):
            y = solve_triangular(chol, (z - zi).T, lower=True)
            terms[i] = (math.log(w) if w > 0 else -np.inf) - 0.5 * (np.sum(y * y, axis=0) + self._logdet[i]
                                                                     + d * math.log(2.0 * math.pi))
        jacobian = -np.sum(np.log(u) + np.log1p(-u), axis=1)
        return logsumexp(terms, axis=0) + jacobian

    def density(self, points: np.ndarray) -> np.ndarray:
        return np.exp(np.minimum(self.log_density(points), 700.0))


def _prior_points(d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    try:
        sampler = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng([int(seed), 0x736F62]))
    except TypeError:  # scipy < 1.15 calls it seed
        sampler = qmc.Sobol(d=d, scramble=True, seed=np.random.default_rng([int(seed), 0x736F62]))
    import warnings

    with warnings.catch_warnings():  # n need not be a power of 2: the balance properties are not used
        warnings.simplefilter("ignore", UserWarning)
        return sampler.random(n)


# ------------------------------------------------------------------ the driver
@dataclass
class CalibrationRun:
    """What :func:`calibrate_country` did."""

    posterior: Posterior
    generations: list[Generation]
    simulated: int  # runs this call made
    total_runs: int


def _points(priors: list[Prior], units: np.ndarray) -> list[dict[str, float]]:
    return [{p.name: float(p.value(u[k])) for k, p in enumerate(priors)} for u in units]


def run_generation(experiment: Experiment, priors: list[Prior], units: np.ndarray, g: int, outcomes: list[str],
                   store: ResultStore, executor: cf.Executor | None, workers: int | None,
                   progress: PosteriorProgress | None) -> tuple[Experiment, list[list[dict[str, float]]], int]:
    """Run (or find in the store) every point of a generation; its experiment, each point's rows, and how many
    runs were made."""
    recording = experiment.model_copy(update={"outcomes": list(dict.fromkeys([*outcomes, *experiment.outcomes]))})
    sub = recording.at(_points(priors, units), name=f"{experiment.name}-g{g}")
    tick = None
    if progress is not None:
        tick = (lambda done, todo, record: progress("run", {"g": g, "done": done, "todo": todo}))
    summary = run_experiment(sub, store, executor, tick, workers=workers)
    return sub, rows_by_point(sub, store, len(units)), summary.completed


def rows_by_point(experiment: Experiment, store: ResultStore, n: int) -> list[list[dict[str, float]]]:
    """The outcome rows of ``experiment``'s completed runs in the store, grouped by point (``n`` points); a run that
    failed has no row, so its point is infinitely far (see :func:`distance`)."""
    done = store.completed()
    rows: list[list[dict[str, float]]] = [[] for _ in range(n)]
    for row in store.outcomes_for(experiment).to_pylist():
        if row["run_id"] in done:
            rows[row["point_index"]].append(row)
    return rows


def calibrate_country(experiment: Experiment, targets: list[Any], store: ResultStore | str | Path,
                      settings: Settings = Settings(), executor: cf.Executor | None = None, *,
                      workers: int | None = None, test_targets: list[Any] = (),
                      progress: PosteriorProgress | None = None) -> CalibrationRun:
    """ABC-SMC of ``experiment``'s priors against ``targets`` (the fit split); see the module's docstring.

    ``test_targets`` are measured in every run too (their outcomes recorded), never used to choose. Returns
    the posterior (the last generation's kept particles) and every generation.
    """
    if experiment.kind != "country":
        raise ScenarioError(experiment.source, "base", "calibrate_country needs a country scenario")
    if not targets:
        raise ScenarioError(experiment.source, "targets", "no fit target to calibrate against")
    settings.check(experiment.source)
    priors = priors_of(experiment)
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    outcomes = target_outcomes([*targets, *test_targets])
    d = len(priors)
    generations: list[Generation] = []
    made = total = 0
    for g in range(settings.generations + 1):
        if g == 0:
            units = _prior_points(d, settings.first, settings.seed)
        else:
            prev = generations[-1]
            rng = np.random.default_rng(np.random.SeedSequence([int(settings.seed), 0x616263, g]))
            if settings.local_from and g >= settings.local_from:  # around the posterior pooled so far
                anc_units, anc_dist, _, anc_w = pool(generations, settings.keep)
                kernel = LocalKernel(anc_units, anc_w, anc_dist)
            else:
                kernel = ComponentwiseKernel(prev.units[prev.kept], prev.weights)
            units = kernel.propose(settings.size, rng)
        if progress:
            progress("generation", {"g": g, "points": len(units), "simulations": total})
        sub, rows, n_made = run_generation(experiment, priors, units, g, outcomes, store, executor, workers, progress)
        made += n_made
        total += len(units) * experiment.replicates
        dist = np.array([distance(targets, r) for r in rows])
        order = np.lexsort((np.arange(len(dist)), dist))  # nearest first; ties by index, so deterministic
        kept = order[:settings.keep]
        if generations:
            # the tolerance never grows: of the keep nearest, those within the last generation's (at least 2)
            within = kept[dist[kept] <= generations[-1].epsilon]
            kept = within if len(within) >= 2 else order[:2]
        if g == 0:
            w = np.ones(len(kept))
            kernel = None
        else:
            w = 1.0 / kernel.density(units[kept])
        w = w / w.sum()
        run_ids = [[r["run_id"] for r in rs] for rs in rows]
        stats = np.array([summaries(targets, r) for r in rows]) if settings.adjust else None
        gen = Generation(g, units, dist, run_ids, kept, w, float(dist[kept[-1]]), stats, kernel)
        generations.append(gen)
        if progress:
            progress("kept", {"g": g, "epsilon": gen.epsilon, "ess": gen.ess, "made": n_made})
    units, dist, run_ids, weights = pool(generations, settings.keep)
    pooled = {"generation": "pooled", "points": sum(len(gen.units) for gen in generations), "simulations": total,
              "epsilon": float(dist.max()), "ess": float(1.0 / np.sum(weights ** 2)), "best_distance": float(dist.min()),
              "proposal": "all generations' mixture"}
    meta: dict[str, Any] = {}
    run_units = None
    if settings.adjust:
        units, run_units, dist, run_ids, weights, info = adjusted_posterior(generations, targets, settings.adjust,
                                                                            settings.keep, settings.seed)
        meta["adjustment"] = info
    values = _values(experiment, priors, units)
    rows = [{"generation": gen.g, "points": len(gen.units), "simulations": len(gen.units) * experiment.replicates,
             "epsilon": gen.epsilon, "ess": gen.ess, "best_distance": float(gen.distances[gen.kept[0]]),
             "proposal": "prior" if gen.proposal is None else gen.proposal.name}
            for gen in generations]
    rows.append(pooled)
    if settings.adjust:
        rows.append({"generation": "adjusted", "points": meta["adjustment"]["points"], "simulations": total,
                     "epsilon": meta["adjustment"]["bandwidth"], "ess": meta["adjustment"]["ess_before_resampling"],
                     "best_distance": float(dist.min()), "proposal": "regression adjustment"})
    posterior = Posterior(priors, values, weights, dist, run_ids, rows, meta)
    if run_units is not None:
        posterior.run_values = _values(experiment, priors, run_units)
    return CalibrationRun(posterior, generations, made, total)


def _values(experiment: Experiment, priors: list[Prior], units: np.ndarray) -> np.ndarray:
    values = np.array([[p.value(u[k]) for k, p in enumerate(priors)] for u in units], dtype=float)
    # the scenario holds integer parameters rounded: report the values the runs use
    for k, p in enumerate(priors):
        if experiment._numeric(p.name) is int:
            values[:, k] = np.round(values[:, k])
    return values


def _all_points(generations: list[Generation]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Every generation's points in order: their quantiles, distances and run ids."""
    return (np.vstack([gen.units for gen in generations]), np.concatenate([gen.distances for gen in generations]),
            [ids for gen in generations for ids in gen.run_ids])


def importance(generations: list[Generation]) -> np.ndarray:
    """Every point's importance weight (unnormalised): prior / the density of the mixture of every generation's
    proposal, in proportion to its points (see :func:`pool`)."""
    units = np.vstack([gen.units for gen in generations])
    total = len(units)
    density = np.full(total, len(generations[0].units) / total)  # the prior is 1 on the cube
    for prev, gen in zip(generations, generations[1:]):
        kernel = gen.proposal if gen.proposal is not None else ComponentwiseKernel(prev.units[prev.kept], prev.weights)
        density += len(gen.units) / total * kernel.density(units)
    return 1.0 / density


def nearest(distances: np.ndarray, n: int) -> np.ndarray:
    """The indices of the ``n`` smallest distances, nearest first (ties by position: deterministic), dropping the
    infinite ones where at least 2 are finite."""
    order = np.lexsort((np.arange(len(distances)), distances))
    kept = order[:n]
    return kept[np.isfinite(distances[kept])] if np.isfinite(distances[kept]).sum() >= 2 else kept


def pool(generations: list[Generation], keep: int) -> tuple[np.ndarray, np.ndarray, list[list[str]], np.ndarray]:
    """The posterior from every generation's points at once: the ``keep`` nearest of all of them, each weighted
    by prior / the density of the mixture of every generation's proposal, in proportion to its points (multiple
    importance sampling with the balance heuristic, Veach and Guibas 1995; every past sample recycled with these
    weights, as in adaptive multiple importance sampling, Cornuet, Marin, Mira and Robert 2012, Scand. J. Stat.
    39: 798-812). The prior's own share of the mixture (generation 0)
    bounds every weight by the number of points over generation 0's, so that no point near a dense ancestor
    carries the sample. Returns the kept points' quantiles, distances, run ids and weights (summing to 1)."""
    units, dist, run_ids = _all_points(generations)
    kept = nearest(dist, keep)
    w = importance(generations)[kept]
    return units[kept], dist[kept], [run_ids[i] for i in kept], w / w.sum()


# ------------------------------------------------------------------ regression adjustment
def summaries(targets: list[Any], rows: list[dict[str, float]]) -> np.ndarray:
    """One point's summary statistics, one per target, from its runs' rows: a count's mean as ``ln(1 + m)``
    (the scale on which the loss measures it), a day's median in days since the start (a day never reached, in
    most runs: the target's last day + the loss's 10 days). NaN where a row lacks a count."""
    from ..country.fit import NEVER_DAYS
    from .country_outcomes import target_outcome

    out = np.full(len(targets), np.nan)
    if not rows:
        return out
    for k, t in enumerate(targets):
        name = target_outcome(t)
        values = [None if r.get(name) is None or not math.isfinite(float(r[name])) else float(r[name]) for r in rows]
        if t.kind == "count":
            if all(v is not None for v in values):
                out[k] = math.log1p(max(float(np.mean(values)), 0.0))
        else:
            finite = [v for v in values if v is not None]
            out[k] = float(np.median(finite)) if len(finite) * 2 > len(values) else t.high + NEVER_DAYS
    return out


def observed_summaries(targets: list[Any]) -> np.ndarray:
    """The record's summary statistics: the middle of each target's range on the scale of :func:`summaries`."""
    return np.array([0.5 * (math.log1p(t.low) + math.log1p(t.high)) if t.kind == "count" else 0.5 * (t.low + t.high)
                     for t in targets])


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 1e-9, 1.0 - 1e-9)
    return np.log(u) - np.log1p(-u)


def regression_adjust(units: np.ndarray, stats: np.ndarray, observed: np.ndarray, weights: np.ndarray,
                      ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Local-linear regression adjustment (Beaumont, Zhang and Balding 2002, Genetics 162: 2025-2035).

    ``units`` (points x parameters) are the accepted points in the priors' quantiles, ``stats`` (points x
    summaries) what their runs measured, ``observed`` the record's summaries, ``weights`` the points' kernel x
    importance weights. Each parameter, as ``logit(u)`` (so that the adjusted values stay inside the prior's
    range, Hamilton et al. 2005), is regressed on the summaries by weighted least squares (each summary
    standardised by its weighted sd; a ridge of ``ridge`` on the slopes, not the intercept, keeps the fit
    defined when summaries are collinear), and each point is moved along the fitted plane to the record:
    ``z* = z - (s - s_obs) beta``. Summaries with no spread among the points are dropped. Returns the
    adjusted quantiles and the slopes (parameters x kept summaries; standardised units)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    ok = np.all(np.isfinite(stats), axis=0)
    x = stats[:, ok] - observed[ok]
    mean = w @ x
    sd = np.sqrt(np.maximum(w @ (x - mean) ** 2, 0.0))
    live = sd > 1e-12
    x = x[:, live] / sd[live]
    z = _logit(np.asarray(units, dtype=float))
    design = np.hstack([np.ones((len(x), 1)), x])
    gram = design.T @ (w[:, None] * design)
    penalty = ridge * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(gram + penalty, design.T @ (w[:, None] * z))
    slopes = coef[1:]  # summaries x parameters
    adjusted = z - x @ slopes
    return 1.0 / (1.0 + np.exp(-adjusted)), slopes.T


def epanechnikov(distances: np.ndarray, bandwidth: float) -> np.ndarray:
    """The Epanechnikov kernel ``1 - (d / h)^2`` inside the bandwidth ``h``, 0 outside (Beaumont et al. 2002)."""
    r = np.asarray(distances, dtype=float) / bandwidth
    return np.where(r < 1.0, 1.0 - r * r, 0.0)


def systematic_resample(weights: np.ndarray, n: int, seed: int) -> np.ndarray:
    """How many times each of ``weights`` is drawn in ``n`` draws by systematic resampling (one seeded uniform;
    each point drawn ``floor(n w)`` or one more times, the expected count ``n w``)."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x72736D70]))
    positions = (rng.random() + np.arange(n)) / n
    edges = np.cumsum(w)  # a point of no weight has an empty interval; rounding past the end goes to the last
    drawn = np.minimum(np.searchsorted(edges, positions, side="right"), np.flatnonzero(w > 0)[-1])
    return np.bincount(drawn, minlength=len(w))


def adjusted_posterior(generations: list[Generation], targets: list[Any], n: int, keep: int, seed: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[str]], np.ndarray, dict[str, Any]]:
    """The regression-adjusted posterior over the ``n`` nearest points of every generation: each weighted by its
    importance weight (:func:`importance`) x the Epanechnikov kernel of its distance with the ``n``-th nearest's
    distance as bandwidth; adjusted (:func:`regression_adjust`); then ``keep`` draws by systematic resampling,
    the distinct ones kept with their counts as weights (so that a predictive check and the counterfactuals run
    ``keep`` particles at most). Returns the adjusted quantiles, the quantiles the runs used, the distances, the
    run ids and the weights of the drawn particles, and what was done (bandwidth, effective sample before the
    draw, the largest slopes)."""
    units, dist, run_ids = _all_points(generations)
    stats = np.vstack([gen.summaries for gen in generations])
    chosen = nearest(dist, n)
    bandwidth = float(dist[chosen].max()) * (1.0 + 1e-9)  # the n-th nearest keeps a sliver of weight
    w = importance(generations)[chosen] * epanechnikov(dist[chosen], bandwidth)
    w = w / w.sum()
    adjusted, slopes = regression_adjust(units[chosen], stats[chosen], observed_summaries(targets), w)
    counts = systematic_resample(w, keep, seed)
    drawn = np.flatnonzero(counts)
    info = {"method": "local-linear regression adjustment (Beaumont, Zhang and Balding 2002)", "points": len(chosen),
            "bandwidth": bandwidth, "ess_before_resampling": float(1.0 / np.sum(w ** 2)), "draws": keep,
            "distinct": int(len(drawn))}
    return (adjusted[drawn], units[chosen][drawn], dist[chosen][drawn], [run_ids[chosen[i]] for i in drawn],
            counts[drawn] / counts.sum(), info)


# ------------------------------------------------------------------ the file
def write_posterior(posterior: Posterior, path: str | Path) -> Path:
    """Write the posterior as JSON (atomically: a temporary file renamed)."""
    path = Path(path)
    data = {"format": FORMAT, **posterior.meta,
            "parameters": [p.as_dict() for p in posterior.priors],
            "generations": posterior.generations,
            "particles": [{"values": posterior.point(i), "weight": float(posterior.weights[i]),
                           "distance": float(posterior.distances[i]), "run_ids": posterior.run_ids[i],
                           **({} if posterior.run_values is None else
                              {"run_values": dict(zip(posterior.names, map(float, posterior.run_values[i])))})}
                          for i in range(len(posterior.weights))]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_posterior(path: str | Path) -> Posterior:
    """A posterior file written by :func:`write_posterior`; :class:`ScenarioError` (file, field) if it is not one."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(source, "(file)", "no such file; give a posterior JSON written by uprising calibrate") \
            from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, "(file)", f"not JSON ({' '.join(str(exc).split())}); give a posterior "
                            "written by uprising calibrate") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ScenarioError(source, "format", f"expected {FORMAT!r}: a posterior written by uprising calibrate")
    try:
        priors = [Prior(p["name"], float(p["low"]), float(p["high"]), p.get("prior") == "log-uniform",
                        p.get("reason", "")) for p in data["parameters"]]
        names = [p.name for p in priors]
        parts = data["particles"]
        values = np.array([[float(q["values"][n]) for n in names] for q in parts], dtype=float)
        weights = np.array([float(q["weight"]) for q in parts], dtype=float)
        distances = np.array([float(q.get("distance", math.nan)) for q in parts], dtype=float)
        run_ids = [list(q.get("run_ids", [])) for q in parts]
        run_values = np.array([[float(q["run_values"][n]) for n in names] for q in parts], dtype=float) \
            if parts and all("run_values" in q for q in parts) else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(source, "particles", f"malformed posterior ({type(exc).__name__}: {exc})") from None
    if not len(weights) or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ScenarioError(source, "particles", "needs at least one particle with finite, non-negative weights")
    meta = {k: v for k, v in data.items() if k not in ("format", "parameters", "particles", "generations")}
    return Posterior(priors, values, weights / weights.sum(), distances, run_ids, data.get("generations", []), meta,
                     run_values)


# ------------------------------------------------------------------ posterior predictive checks
@dataclass
class PredictiveRow:
    """One target against the posterior predictive: fresh runs of every particle, weighted as the particles."""

    label: str
    split: str
    kind: str  # "count" or "day"
    low: float  # the record's range (days since the start for a day)
    high: float
    median: float  # weighted, over the runs that measured it (nan where none did)
    q5: float
    q95: float
    never: float  # the weight of runs where a day never came (day targets)
    covered: bool  # the record's range meets the predictive 5-95% interval

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fresh_replicate(experiment: Experiment, posterior: Posterior) -> int:
    """The replicate of a particle's point that the predictive check reads: the one after the calibration's
    (whose run chose the particle), or the first of a regression-adjusted particle (never run at its values)."""
    return 0 if posterior.adjusted else experiment.replicates


def predictive_experiment(experiment: Experiment, posterior: Posterior, outcomes: list[str]) -> Experiment:
    """Every particle of ``posterior`` as a point of ``experiment``: with the calibration's replicates (already in
    the store) and one more, fresh (other seeds), for the predictive check; a regression-adjusted particle with
    one replicate (its point is new)."""
    recording = experiment.model_copy(update={"outcomes": list(dict.fromkeys([*outcomes, *experiment.outcomes])),
                                             "replicates": fresh_replicate(experiment, posterior) + 1})
    return recording.at([posterior.point(i) for i in range(len(posterior.weights))], name=f"{experiment.name}-predictive")


def posterior_predictive(experiment: Experiment, posterior: Posterior, targets: list[Any],
                         store: ResultStore | str | Path, executor: cf.Executor | None = None, *,
                         workers: int | None = None, progress: PosteriorProgress | None = None
                         ) -> tuple[list[PredictiveRow], list[dict[str, Any]]]:
    """The posterior predictive of every target (fit and test): each particle run again on fresh seeds (the
    replicate after the calibration's), its values weighted by the particle's weight. Returns a row per target
    and the fresh runs' rows (run id, weight, each target's value)."""
    from .calibrate import weighted_quantile
    from .country_outcomes import target_outcome

    store = store if isinstance(store, ResultStore) else ResultStore(store)
    names = target_outcomes(targets)
    sub = predictive_experiment(experiment, posterior, names)
    tick = None
    if progress is not None:
        tick = (lambda done, todo, record: progress("run", {"g": "predictive", "done": done, "todo": todo}))
    run_experiment(sub, store, executor, tick, workers=workers)
    fresh = fresh_replicate(experiment, posterior)
    done = store.completed()
    runs = [r for r in store.outcomes_for(sub).to_pylist() if r["replicate"] >= fresh and r["run_id"] in done]
    weight = np.array([posterior.weights[r["point_index"]] for r in runs])
    out = []
    for t in targets:
        name = target_outcome(t)
        v = np.array([np.nan if r.get(name) is None else float(r[name]) for r in runs])
        ok = np.isfinite(v)
        w = weight[ok]
        if ok.any() and w.sum() > 0:
            med, q5, q95 = (weighted_quantile(v[ok], w, q) for q in (0.5, 0.05, 0.95))
        else:
            med = q5 = q95 = math.nan
        never = float(weight[~ok].sum() / weight.sum()) if weight.sum() > 0 else math.nan
        if t.kind == "day" and never > 0.05:  # the 95% quantile lies among the runs where it never came
            q95 = math.inf
        covered = bool(math.isfinite(q5) and q5 <= t.high and q95 >= t.low)
        out.append(PredictiveRow(t.label, t.split, t.kind, t.low, t.high, med, q5, q95, never, covered))
    rows = [{"run_id": r["run_id"], "particle": r["point_index"], "weight": float(posterior.weights[r["point_index"]]),
             **{n: r.get(n) for n in names}} for r in runs]
    return out, rows


def prior_table_markdown(experiment: Experiment) -> str:
    """The priors of ``experiment`` as a Markdown table (parameter, prior, range, the scenario's value, reason):
    what docs/posterior.md carries."""
    from .kinds import COUNTRY, country_value

    lines = ["| parameter | prior | range | scenario's value | reason |", "|---|---|---|---|---|"]
    for p in priors_of(experiment):
        try:
            value = country_value(experiment.base_scenario, p.name) if experiment.kind == COUNTRY else \
                getattr(experiment.base_scenario, p.name)
        except (KeyError, AttributeError):
            value = "-"
        lines.append(f"| `{p.name}` | {'log-uniform' if p.log else 'uniform'} | {p.low:g} to {p.high:g} | {value} | "
                     f"{p.reason.replace('|', '/')} |")
    return "\n".join(lines)
