"""ABC-SMC calibration of an experiment's parameter ranges against target outcomes, with pyabc.

:func:`calibrate` takes an :class:`~uprising.experiment.spec.Experiment` whose
parameters are ranges (``name = { low = .., high = .. }``, a sampled design) and
a list of :class:`Target` (read by :func:`load_targets` from a CSV file with the
columns ``outcome,value,scale``), and runs pyabc's ABC-SMC:

* **Priors**: independent uniforms over each parameter's ``[low, high]`` (log-uniform where the range
  says ``prior = "log-uniform"``).
  Integer parameters are rounded when a particle is made into a scenario.
* **Model** (:class:`ParticleModel`, a picklable callable): a particle's
  parameters -> ``Experiment.at([params])`` (the base scenario with them, the
  experiment's steps) -> :func:`~uprising.experiment.runner.execute_run` for each
  of the experiment's replicates -> the outcomes, read back from the store. So
  every simulated particle, accepted or not, is a run of the results store
  (``uprising runs ls|show|query``), labelled ``NAME-prior`` (pyabc's calibration
  sample) or ``NAME-tT`` (population T) in its ``experiment`` column. A
  particle's outcome is the mean over the replicates that define it (nan where
  none does). Its seed is the store's: derived from the particle's scenario hash
  and the experiment's root seed (:func:`~uprising.experiment.spec.run_seed`), so
  the model is a deterministic function of the parameters, whatever executor or
  worker runs it.
* **Distance** (:class:`TargetDistance`): weighted Euclidean,
  ``sqrt(sum(((x_i - value_i) / scale_i)**2))``. An outcome that is nan or
  infinite (a run without outbursts has no mean wait between them) counts as
  :data:`UNDEFINED_Z` scales away, so such a particle is farther than any
  particle with values and is rejected once epsilon drops below that; it never
  makes the run fail.
* **Sampler**: ``pyabc.sampler.ConcurrentFutureSampler`` on any
  ``concurrent.futures.Executor``: the default pool of local processes, a thread
  pool, or a Dask cluster (:func:`~uprising.execution.dask_executor`).
  Epsilon is pyabc's default (the median of the previous population's
  distances, the first from a calibration sample drawn from the prior).

What is reproducible: each particle's simulation (same parameters, same root
seed -> the same outcomes bit for bit, on any executor). What is not: the
particles pyabc proposes. Its executor sampler reseeds Python's and numpy's
global generators from the operating system's entropy at the start of every job
(``random.seed(); np.random.seed()`` in ``pyabc.sampler.eps_mixin``), and which
jobs finish first depends on timing, so two calibrations give different (but
statistically equivalent) posteriors whatever the executor.

Outputs (in ``out``, see :func:`calibrate`): ``posterior.csv`` (weighted mean, sd
and 2.5/50/97.5% quantiles per parameter, last population), ``particles.parquet``
and ``.csv`` (every particle of every population: parameters, weight, distance,
outcomes, run id), ``populations.parquet`` and ``.csv`` (per population: epsilon,
particles, simulations, acceptance rate, ESS, wall time), ``best.toml`` and
``best_check.csv`` (below), ``calibration.json``, pyabc's own database ``abc.db``
(``pyabc.History("sqlite:///.../abc.db")``) and the figures ``posterior.png`` and
``epsilon.png``.

The best parameter set (``best.toml``): a single particle's distance is one
noisy simulation, and the marginal medians of a correlated posterior can lie off
its ridge, so neither alone is trusted. The candidates are the posterior's
weighted median, its mode (the particle where the weighted KDE of the last
population is highest) and the :data:`CLOSEST_CANDIDATES` particles with the
smallest distances; each is run ``check_replicates`` times (fresh runs of the
store, replicates of its scenario), and the one whose mean outcomes are nearest
the targets (the same distance) is written, with every candidate's numbers in
``best_check.csv``. With ``check_replicates = 0`` it is the weighted median,
unchecked.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..scenario import Scenario, ScenarioError
from . import outcomes as _outcomes
from ..execution import default_executor, single_thread_environment, terminate_workers
from .runner import execute_run, run_experiment, task_for
from .spec import SAMPLED, Experiment
from .store import ResultStore

#: Columns a targets file must have (others, such as ``source`` or ``note``, are ignored).
TARGET_COLUMNS = ("outcome", "value", "scale")

#: How many scales away a nan or infinite outcome counts in the distance.
UNDEFINED_Z = 1000.0

#: The files :func:`calibrate` writes into its output folder (a new calibration replaces them).
OUTPUT_FILES = ("abc.db", "posterior.csv", "particles.parquet", "particles.csv", "populations.parquet",
                "populations.csv", "best.toml", "best_check.csv", "calibration.json", "posterior.png",
                "epsilon.png")

#: ``progress(event, info)``: ``event`` is ``"start"`` (a population begins: ``t``, ``label``, ``n``,
#: ``epsilon``), ``"particle"`` (a simulation came back: ``t``, ``accepted``, ``simulated``; called from
#: the executor's threads), ``"end"`` (``t``, ``label``, ``accepted``, ``simulated``, ``epsilon``,
#: ``acceptance_rate``, ``wall_seconds``, ``eta_seconds``) or ``"check"`` (the best scenario's replicates run).
CalibrationProgress = Callable[[str, dict], None]


# ------------------------------------------------------------------ targets
@dataclass(frozen=True)
class Target:
    """One observed outcome: its value and the scale (tolerance, sd) that normalises the distance."""

    outcome: str
    value: float
    scale: float


def load_targets(path: str | Path, kind: str = "model1") -> list[Target]:
    """Read a targets CSV (``outcome,value,scale``); raise :class:`ScenarioError` (file, field, what is allowed).

    ``outcome`` is a named outcome of scenarios of ``kind`` (:mod:`uprising.experiment.outcomes`) or
    ``module:function``;
    ``value`` a finite number; ``scale`` a finite number > 0. Each outcome once; at least one row.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ScenarioError(source, "(file)", "no such file; give a CSV file with the columns outcome,value,scale")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(source, "(file)", "not UTF-8 text; a targets file is CSV with the columns "
                            "outcome,value,scale") from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")))
    if not rows:
        raise ScenarioError(source, "(header)", "empty file; the first line must name the columns outcome,value,scale")
    header = [h.strip() for h in rows[0]]
    for column in TARGET_COLUMNS:
        if column not in header:
            raise ScenarioError(source, column, f"missing column (header {','.join(header)!r}); required columns: "
                                f"{','.join(TARGET_COLUMNS)} (others are ignored)")
    where = {c: header.index(c) for c in TARGET_COLUMNS}
    targets: list[Target] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in where.items()}
        name = cells["outcome"]
        try:
            _outcomes.resolve(name, kind)
        except _outcomes.UnknownOutcome as exc:
            raise ScenarioError(source, f"line {number}, outcome", str(exc)) from None
        if any(t.outcome == name for t in targets):
            raise ScenarioError(source, f"line {number}, outcome", f"{name!r} appears twice; give each outcome once")
        numbers = {}
        for column in ("value", "scale"):
            try:
                numbers[column] = float(cells[column])
            except ValueError:
                numbers[column] = math.nan
            if not math.isfinite(numbers[column]):
                need = "a finite number" if column == "value" else "a finite number > 0"
                raise ScenarioError(source, f"line {number}, {column}", f"{cells[column]!r} is not a number; "
                                    f"{column} must be {need}")
        if numbers["scale"] <= 0:
            raise ScenarioError(source, f"line {number}, scale", f"{cells['scale']!r}: scale must be a finite "
                                "number > 0 (the tolerance, e.g. the observed sd)")
        targets.append(Target(name, numbers["value"], numbers["scale"]))
    if not targets:
        raise ScenarioError(source, "(rows)", "no targets; add rows outcome,value,scale below the header")
    return targets


def check_ranges(experiment: Experiment) -> dict[str, tuple[float, float]]:
    """The experiment's parameter ranges as ``{name: (low, high)}``; :class:`ScenarioError` unless it has them."""
    src = experiment.source
    if experiment.design.kind not in SAMPLED:
        if experiment.parameters:
            name, value = next(iter(experiment.parameters.items()))
            raise ScenarioError(src, f"parameters.{name}", f"calibrate needs ranges, not a factorial list (got "
                                f"{value!r}): give name = {{ low = .., high = .. }} and [design] kind = lhs, sobol or "
                                "morris (its samples are ignored by calibrate)")
        raise ScenarioError(src, "parameters", "calibrate needs at least one parameter range, e.g. legitimacy = "
                            "{ low = 0.7, high = 0.9 }, with [design] kind = lhs, sobol or morris")
    return {n: (float(r["low"]), float(r["high"])) for n, r in experiment.parameters.items()}


# ------------------------------------------------------------------ model and distance (run on the workers)
class ParticleModel:
    """pyabc's model: a particle's parameters -> the outcomes named by the targets (picklable, deterministic).

    Each replicate of the particle's scenario is one run of the store, made by
    :func:`execute_run` on the worker that evaluates the particle (a run already
    in the store is read back, not simulated again). ``label`` names the runs'
    ``experiment`` column; the driver sets it per population before pyabc pickles
    the model for that population's jobs.
    """

    def __init__(self, experiment: Experiment, store: str | Path, outcomes: list[str], label: str | None = None,
                 fsync: bool = False):
        self.experiment = experiment
        self.store = str(store)
        self.fsync = fsync
        self.outcomes = list(outcomes)
        self.label = label or f"{experiment.name}-abc"

    def __call__(self, parameters: dict[str, Any]) -> dict[str, float]:
        return particle_outcomes(self.experiment, {k: float(v) for k, v in parameters.items()}, self.store,
                                 self.outcomes, self.label, fsync=self.fsync)


def particle_outcomes(experiment: Experiment, point: dict[str, Any], store: str | Path, outcomes: list[str],
                      label: str, fsync: bool = False) -> dict[str, float]:
    """Run (or read back) every replicate of ``experiment`` at ``point`` into ``store``; the mean of each outcome.

    A point that makes no valid scenario, or a run that raises (recorded in the
    store's ``failures/``), gives nan outcomes: the distance then rejects it.
    """
    try:
        sub = experiment.at([point], name=label)
    except ScenarioError:
        return {n: math.nan for n in outcomes}
    st = ResultStore(store, fsync=fsync)
    values: dict[str, list[float]] = {n: [] for n in outcomes}
    for run in sub.runs():
        record = execute_run(task_for(run, sub, st))
        got: dict[str, Any] = {}
        if record["status"] != "failed":
            with contextlib.suppress(OSError, ValueError):
                got = st.stored_outcomes(run.run_id)
        for n in outcomes:
            v = got.get(n)
            values[n].append(math.nan if v is None else float(v))
    out = {}
    for n, vs in values.items():
        finite = [v for v in vs if math.isfinite(v)]
        out[n] = float(np.mean(finite)) if finite else math.nan
    return out


class TargetDistance:
    """Weighted Euclidean distance to the targets: ``sqrt(sum(((x_i - value_i) / scale_i)**2))``.

    An outcome that is missing, nan or infinite counts :data:`UNDEFINED_Z` scales.
    pyabc calls it as ``distance(simulated, observed)`` with dicts by outcome name.
    """

    def __init__(self, targets: list[Target]):
        self.names = [t.outcome for t in targets]
        self.scales = [t.scale for t in targets]

    def __call__(self, x: dict[str, Any], x_0: dict[str, Any]) -> float:
        total = 0.0
        for name, scale in zip(self.names, self.scales):
            try:
                z = (float(x[name]) - float(x_0[name])) / scale
            except (KeyError, TypeError, ValueError):
                z = math.nan
            if not math.isfinite(z):
                z = UNDEFINED_Z
            total += z * z
        return math.sqrt(total)


# ------------------------------------------------------------------ the executor seen by pyabc
class _Relay(cf.Future):
    """The future pyabc holds for one job: completed from the executor's future, cancellable on its own.

    pyabc cancels the jobs it no longer needs at the end of each population. The
    relay is cancelled at once; the executor's future is cancelled too where that
    is safe (a local pool: a job not started is dropped), but not on Dask, whose
    ``ClientExecutor`` logs an error when a cancelled future's result arrives: there
    the job runs to its end and its run is stored like any other.
    """

    def __init__(self, inner: cf.Future, cancel_inner: bool):
        super().__init__()
        self.inner = inner
        self.cancel_inner = cancel_inner

    def cancel(self) -> bool:
        if self.cancel_inner:
            self.inner.cancel()
        return super().cancel()


class _CountingExecutor:
    """Passes pyabc's jobs to an executor and counts, per population, the simulations that come back."""

    def __init__(self, inner: Any, progress: CalibrationProgress | None):
        self.inner = inner
        self.progress = progress
        self.cancel_inner = getattr(inner, "_client", None) is None  # not a Dask ClientExecutor
        self.t = -1
        self.accepted = 0
        self.simulated = 0
        self.lock = threading.Lock()

    def start(self, t: int) -> None:
        with self.lock:
            self.t, self.accepted, self.simulated = t, 0, 0

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> cf.Future:
        inner = self.inner.submit(fn, *args, **kwargs)
        relay = _Relay(inner, self.cancel_inner)
        t = self.t
        inner.add_done_callback(lambda f: self._done(f, relay, t))
        return relay

    def _done(self, inner: cf.Future, relay: _Relay, t: int) -> None:
        with contextlib.suppress(cf.InvalidStateError):  # pyabc cancelled the relay meanwhile
            if inner.cancelled():
                relay.cancel()
                return
            error = inner.exception()
            if error is not None:
                relay.set_exception(error)
                return
            relay.set_result(inner.result())
        if relay.cancelled() or inner.cancelled() or inner.exception() is not None:
            return
        batch = inner.result()
        with self.lock:
            if t != self.t:
                return  # a late job of a finished population
            self.simulated += len(batch)
            self.accepted += sum(1 for item in batch if item[1])
            info = {"t": t, "accepted": self.accepted, "simulated": self.simulated}
        if self.progress is not None:
            with contextlib.suppress(Exception):
                self.progress("particle", info)


_SAMPLER: type | None = None


def _sampler_type() -> type:
    """``ConcurrentFutureSampler`` that labels the model's runs per population and reports progress."""
    global _SAMPLER
    if _SAMPLER is not None:
        return _SAMPLER
    from pyabc.sampler import ConcurrentFutureSampler

    class Sampler(ConcurrentFutureSampler):
        def __init__(self, executor: _CountingExecutor, jobs: int, model: ParticleModel, populations: int,
                     progress: CalibrationProgress | None):
            super().__init__(cfuture_executor=executor, client_max_jobs=jobs)
            self.counting = executor
            self.model = model
            self.populations = populations
            self.progress = progress
            self.walls: list[float] = []

        def sample_until_n_accepted(self, n, simulate_one, t, **kwargs):  # noqa: ANN001, ANN201 (pyabc's API)
            ana = kwargs.get("ana_vars")
            eps = None
            if t >= 0 and ana is not None:
                with contextlib.suppress(Exception):
                    eps = float(ana.eps(t))
            name = self.model.experiment.name
            self.model.label = f"{name}-prior" if t < 0 else f"{name}-t{t}"
            label = "prior sample" if t < 0 else f"population {t + 1}/{self.populations}"
            self.counting.start(t)
            if self.progress:
                self.progress("start", {"t": t, "label": label, "n": n, "epsilon": eps})
            start = time.perf_counter()
            sample = super().sample_until_n_accepted(n, simulate_one, t, **kwargs)
            wall = time.perf_counter() - start
            if t >= 0:
                self.walls.append(wall)
            left = self.populations - (t + 1)
            eta = (sum(self.walls) / len(self.walls)) * left if self.walls else None
            if self.progress:
                sims = int(self.nr_evaluations_)
                self.progress("end", {"t": t, "label": label, "accepted": n, "simulated": sims, "epsilon": eps,
                                      "acceptance_rate": n / sims if sims else math.nan, "wall_seconds": wall,
                                      "eta_seconds": eta})
            return sample

    _SAMPLER = Sampler
    return Sampler


def executor_slots(executor: Any) -> int:
    """Workers behind an executor: a pool's ``max_workers``, a Dask client's threads, else the CPUs."""
    n = getattr(executor, "_max_workers", None)
    client = getattr(executor, "_client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            n = sum(client.nthreads().values())
    return max(1, int(n or os.cpu_count() or 1))


# ------------------------------------------------------------------ the driver
@dataclass
class CalibrationResult:
    """What :func:`calibrate` did and wrote."""

    experiment: str
    out: Path
    store: Path
    populations: int
    population_size: int
    posterior: list[dict[str, Any]]  # per parameter: name, mean, sd, q2.5, q50, q97.5, prior low/high/sd
    best_parameters: dict[str, Any]  # the chosen candidate's parameters (as the scenario holds them)
    best_rule: str  # which candidate was chosen: weighted median, posterior mode or closest particle k
    closest_particle: dict[str, Any]  # the last population's particle with the smallest distance
    check: list[dict[str, Any]]  # per target: the chosen scenario's mean and sd over fresh replicates
    candidates: list[dict[str, Any]]  # every candidate: rule, parameters, distance of its mean outcomes
    simulations: int
    wall_seconds: float
    files: dict[str, Path] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # each parameter's prior range
    particles: list[dict[str, Any]] = field(default_factory=list)  # every particle of every population
    population_rows: list[dict[str, Any]] = field(default_factory=list)  # per population: epsilon, rates, ...


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile of a weighted sample (the cumulative weight at each point's middle, linearly interpolated)."""
    order = np.argsort(values)
    v, w = values[order], weights[order] / weights.sum()
    mid = np.cumsum(w) - 0.5 * w
    return float(np.interp(q, mid, v))


def calibrate(experiment: Experiment, targets: list[Target], store: ResultStore | str | Path, out: str | Path,
              executor: cf.Executor | None = None, *, workers: int | None = None, populations: int = 4,
              population_size: int = 50, check_replicates: int = 10, minimum_epsilon: float = 0.0,
              progress: CalibrationProgress | None = None,
              targets_source: str = "<targets>") -> CalibrationResult:
    """Run ABC-SMC for ``experiment``'s parameter ranges against ``targets``; write the outputs into ``out``.

    ``executor``: any :class:`concurrent.futures.Executor` (left open); None makes the
    default pool of ``workers`` local processes (closed at the end). Stops after
    ``populations`` populations of ``population_size`` accepted particles (or once
    epsilon is at most ``minimum_epsilon``). Then runs ``check_replicates``
    replicates of each candidate for the best parameter set through the store (see
    the module's docstring) and keeps the nearest. Files already in ``out`` with the
    names of :data:`OUTPUT_FILES` are replaced. Raises :class:`ScenarioError` for an
    experiment without ranges. Draws nothing: the result carries the particles and populations that
    ``uprising calibrate`` draws (``posterior.png``, ``epsilon.png``).
    """
    import pyabc

    started = time.perf_counter()
    ranges = check_ranges(experiment)
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    store.clean_partials()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_FILES:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()

    names = [t.outcome for t in targets]
    recorded = list(dict.fromkeys([*names, *experiment.outcomes]))  # every run's row holds these
    model = ParticleModel(experiment.model_copy(update={"outcomes": recorded}), store.root, names,
                          fsync=store.fsync)
    logs = {n for n, r in experiment.parameters.items() if r.get("prior") == "log-uniform"}
    prior = pyabc.Distribution(**{n: pyabc.RV("loguniform", lo, hi) if n in logs else pyabc.RV("uniform", lo, hi - lo)
                                  for n, (lo, hi) in ranges.items()})
    observed = {t.outcome: t.value for t in targets}

    own = executor is None
    env = single_thread_environment() if own else contextlib.nullcontext()
    with env:
        pool = default_executor(workers) if own else executor
        try:
            slots = executor_slots(pool)
            counting = _CountingExecutor(pool, progress)
            sampler = _sampler_type()(counting, 2 * slots, model, populations, progress)
            abc = pyabc.ABCSMC(model, prior, TargetDistance(targets), population_size=population_size,
                               sampler=sampler)
            db = f"sqlite:///{(out / 'abc.db').resolve()}"
            abc.new(db, observed)
            history = abc.run(minimum_epsilon=minimum_epsilon, max_nr_populations=populations)
            record = _records(history, experiment, ranges, names)
            best = _choose_best(experiment, record, targets, ranges, store, pool, check_replicates, recorded,
                                progress)
        except KeyboardInterrupt:
            if own:
                terminate_workers(pool)  # runs in progress leave only .partial files
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    store.refresh_catalog()

    files = _write_outputs(out, experiment, targets, ranges, record, best, targets_source, population_size)
    result = CalibrationResult(experiment.name, out, store.root, len(record["populations"]), population_size,
                               record["posterior"], best["parameters"], best["rule"], record["best_particle"],
                               best["check"], best["candidates"], int(history.total_nr_simulations),
                               time.perf_counter() - started, files, ranges=dict(ranges),
                               particles=record["particles"], population_rows=record["populations"])
    _write_json(out / "calibration.json", {
        "experiment": experiment.name, "experiment_file": experiment.source, "targets_file": targets_source,
        "targets": [t.__dict__ for t in targets], "store": str(store.root), "abc_db": str(out / "abc.db"),
        "abc_id": int(history.id), "populations": len(record["populations"]), "population_size": population_size,
        "simulations": int(history.total_nr_simulations), "calibration_sample": record["calibration"],
        "wall_seconds": result.wall_seconds, "posterior": record["posterior"],
        "best": {"rule": best["rule"], "parameters": best["parameters"], "scenario": str(out / "best.toml"),
                 "replicates": check_replicates, "distance_of_mean_outcomes": best["distance"],
                 "check": best["check"]},
        "candidates": best["candidates"], "closest_particle": record["best_particle"],
        "undefined_outcome_z": UNDEFINED_Z, "pyabc": pyabc.__version__,
        "seeds": "each particle's runs are seeded from its scenario hash and the experiment's root seed; "
                 "pyabc's proposals are not seeded (they differ from one calibration to the next)"})
    files["calibration.json"] = out / "calibration.json"
    return result


#: How many of the last population's closest particles are candidates for the best parameter set.
CLOSEST_CANDIDATES = 3


def posterior_mode(points: dict[str, np.ndarray], weights: np.ndarray, ranges: dict[str, tuple[float, float]]) -> int:
    """Index of the particle where the weighted Gaussian KDE of the population (parameters scaled to their prior
    ranges) is highest; the heaviest particle when the KDE cannot be formed."""
    from scipy.stats import gaussian_kde

    names = list(ranges)
    x = np.vstack([(points[n] - ranges[n][0]) / (ranges[n][1] - ranges[n][0]) for n in names])
    if x.shape[1] > len(names) + 1:
        with contextlib.suppress(np.linalg.LinAlgError, ValueError):
            return int(np.argmax(gaussian_kde(x, weights=weights)(x)))
    return int(np.argmax(weights))


def _choose_best(experiment: Experiment, record: dict[str, Any], targets: list[Target],
                 ranges: dict[str, tuple[float, float]], store: ResultStore, pool: Any, replicates: int,
                 recorded: list[str], progress: CalibrationProgress | None) -> dict[str, Any]:
    """The best parameter set: of the candidates (the posterior's weighted median, its mode, the closest
    particles), the one whose outcomes, averaged over ``replicates`` fresh runs each, are nearest the targets."""
    points, w = record["last"], record["last_w"]
    candidates: list[tuple[str, dict[str, float]]] = [
        ("weighted median", {n: weighted_quantile(points[n], w, 0.5) for n in ranges})]
    if replicates > 0 and len(w):
        i = posterior_mode(points, w, ranges)
        candidates.append(("posterior mode", {n: float(points[n][i]) for n in ranges}))
        order = np.argsort(record["last_distance"], kind="stable")[:CLOSEST_CANDIDATES]
        candidates += [(f"closest particle {k + 1}", {n: float(points[n][j]) for n in ranges})
                       for k, j in enumerate(order)]
    seen: dict[str, int] = {}
    kept = []
    for rule, point in candidates:
        try:
            h = experiment.at([point]).runs()[0].scenario_hash
        except ScenarioError:
            continue
        if h not in seen:
            seen[h] = len(kept)
            kept.append((rule, point))
    names = [t.outcome for t in targets]
    distance = TargetDistance(targets)
    if replicates <= 0:
        rule, point = kept[0]
        exp = experiment.at([point], name=f"{experiment.name}-best")
        return {"rule": rule, "parameters": dict(exp.points()[0]), "scenario": exp.runs()[0].scenario,
                "distance": math.nan, "check": [], "candidates": [], "check_rows": []}
    check = experiment.model_copy(update={"replicates": replicates, "outcomes": recorded})
    check = check.at([p for _, p in kept], name=f"{experiment.name}-best")
    if progress:
        progress("check", {"replicates": replicates, "candidates": len(kept)})
    run_experiment(check, store, pool)
    matrix = {n: store.outcome_matrix(check, n) for n in names}
    rows, summary = [], []
    for k, (rule, _) in enumerate(kept):
        params = check.points()[k]
        per_target, means = [], {}
        for t in targets:
            vals = matrix[t.outcome][k]
            finite = vals[np.isfinite(vals)]
            mean = float(finite.mean()) if finite.size else math.nan
            means[t.outcome] = mean
            per_target.append({"outcome": t.outcome, "target": t.value, "scale": t.scale, "mean": mean,
                               "sd": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                               "defined": int(finite.size), "replicates": replicates,
                               "z": (mean - t.value) / t.scale if finite.size else math.nan})
        d = distance(means, {t.outcome: t.value for t in targets})
        summary.append({"candidate": k, "rule": rule, **params, "distance": d,
                        "scenario_hash": check.runs()[k * replicates].scenario_hash})
        rows.append(per_target)
    chosen = min(range(len(kept)), key=lambda k: summary[k]["distance"])
    for k, entry in enumerate(summary):
        entry["chosen"] = k == chosen
    check_rows = [{"candidate": k, "rule": summary[k]["rule"], **check.points()[k], **row,
                   "distance": summary[k]["distance"], "chosen": k == chosen}
                  for k in range(len(kept)) for row in rows[k]]
    return {"rule": summary[chosen]["rule"], "parameters": dict(check.points()[chosen]),
            "scenario": check.runs()[chosen * replicates].scenario, "distance": summary[chosen]["distance"],
            "check": rows[chosen], "candidates": summary, "check_rows": check_rows}


def _records(history: Any, experiment: Experiment, ranges: dict[str, tuple[float, float]],
             names: list[str]) -> dict[str, Any]:
    """Particles and populations of a finished pyabc history, the posterior summary and the best particle."""
    particles: list[dict[str, Any]] = []
    pops = history.get_all_populations()
    info = {int(r["t"]): r for r in pops.to_dict("records")}
    populations: list[dict[str, Any]] = []
    calibration = None
    if -1 in info:
        r = info[-1]
        calibration = {"simulations": int(r["samples"] or 0), "wall_seconds": _float(r.get("wall_time"))}
    last_params: dict[str, np.ndarray] = {}
    last_w = np.array([])
    last_distance = np.array([])
    best_particle: dict[str, Any] = {}
    for t in range(0, int(history.max_t) + 1):
        pop = history.get_population(t)
        rows = []
        for i, p in enumerate(pop.particles):
            params = {n: float(p.parameter[n]) for n in ranges}
            try:
                runs = experiment.at([params]).runs()
                rid, shash = runs[0].run_id, runs[0].scenario_hash
            except ScenarioError:
                rid, shash = None, None
            row = {"t": t, "particle": i, **params, "weight": float(p.weight), "distance": float(p.distance),
                   **{n: _float(p.sum_stat.get(n)) for n in names}, "run_id": rid, "scenario_hash": shash}
            rows.append(row)
        w = np.array([r["weight"] for r in rows], dtype=float)
        w = w / w.sum() if w.sum() > 0 else np.full(len(rows), 1.0 / max(len(rows), 1))
        for r, wi in zip(rows, w):
            r["weight"] = float(wi)
        particles += rows
        r = info.get(t, {})
        samples = int(r.get("samples") or 0)
        populations.append({"t": t, "epsilon": _float(r.get("epsilon")), "particles": len(rows),
                            "simulations": samples, "acceptance_rate": len(rows) / samples if samples else math.nan,
                            "ess": float(1.0 / np.sum(w ** 2)) if len(rows) else math.nan,
                            "wall_seconds": _float(r.get("wall_time")),
                            "min_distance": float(min(x["distance"] for x in rows)) if rows else math.nan,
                            "median_distance": float(np.median([x["distance"] for x in rows])) if rows else math.nan})
        last_params = {n: np.array([x[n] for x in rows], dtype=float) for n in ranges}
        last_distance = np.array([x["distance"] for x in rows], dtype=float)
        last_w = w
        if rows:
            best_particle = dict(min(rows, key=lambda x: x["distance"]))
    posterior = []
    for n, (lo, hi) in ranges.items():
        x = last_params[n]
        mean = float(np.sum(last_w * x))
        posterior.append({"parameter": n, "mean": mean, "sd": float(math.sqrt(np.sum(last_w * (x - mean) ** 2))),
                          "q2.5": weighted_quantile(x, last_w, 0.025), "q50": weighted_quantile(x, last_w, 0.5),
                          "q97.5": weighted_quantile(x, last_w, 0.975), "prior_low": lo, "prior_high": hi,
                          "prior_sd": (hi - lo) / math.sqrt(12.0)})
    return {"particles": particles, "populations": populations, "posterior": posterior, "last": last_params,
            "last_w": last_w, "last_distance": last_distance, "best_particle": best_particle,
            "calibration": calibration}


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _write_table(rows: list[dict[str, Any]], parquet: Path | None, csv_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    if parquet is not None:
        pq.write_table(table, parquet)
    pcsv.write_csv(table, csv_path)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, (np.floating, np.integer)):
            return clean(value.item())
        if isinstance(value, Path):
            return str(value)
        return value

    path.write_text(json.dumps(clean(data), indent=1) + "\n", encoding="utf-8")


def _write_outputs(out: Path, experiment: Experiment, targets: list[Target], ranges: dict[str, tuple[float, float]],
                   record: dict[str, Any], best: dict[str, Any], targets_source: str,
                   population_size: int) -> dict[str, Path]:
    files: dict[str, Path] = {"abc.db": out / "abc.db"}
    _write_table(record["posterior"], None, out / "posterior.csv")
    files["posterior.csv"] = out / "posterior.csv"
    _write_table(record["particles"], out / "particles.parquet", out / "particles.csv")
    files["particles.parquet"], files["particles.csv"] = out / "particles.parquet", out / "particles.csv"
    _write_table(record["populations"], out / "populations.parquet", out / "populations.csv")
    files["populations.parquet"], files["populations.csv"] = out / "populations.parquet", out / "populations.csv"
    if best["check_rows"]:
        _write_table(best["check_rows"], None, out / "best_check.csv")
        files["best_check.csv"] = out / "best_check.csv"
    params = best["parameters"]
    shown = ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}" for k, v in params.items())
    target_text = ", ".join(f"{t.outcome} {t.value:g} (scale {t.scale:g})" for t in targets)
    how = best["rule"]
    if best["check"]:
        how += (f", chosen of {len(best['candidates'])} candidates for the distance of its outcomes averaged over "
                f"{best['check'][0]['replicates']} fresh runs ({best['distance']:.3g})")
    scenario: Scenario = best["scenario"]
    described = scenario.replace(
        name=f"{scenario.name}-calibrated",
        description=f"Calibrated by `uprising calibrate {experiment.source} --targets {targets_source}`: {shown} "
                    f"({how}) after {len(record['populations'])} ABC-SMC populations of {population_size}, against "
                    f"{target_text}.")
    lines = [f"# Calibrated scenario ({how}).", f"# Experiment: {experiment.source}; targets: {targets_source}.",
             f"# {shown}"]
    for row in best["check"]:
        lines.append(f"# {row['outcome']}: {row['mean']:.4g} (sd {row['sd']:.3g}) over {row['defined']} runs; "
                     f"target {row['target']:g} (scale {row['scale']:g})")
    (out / "best.toml").write_text("\n".join(lines) + "\n" + described.to_toml(), encoding="utf-8")
    files["best.toml"] = out / "best.toml"
    return files
