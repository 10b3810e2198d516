"""Run an experiment into a store with any :class:`concurrent.futures.Executor`.

:func:`run_experiment` submits every run not yet in the store to the executor:
by default a pool of local processes (one per CPU, spawned, single-threaded:
:func:`uprising.execution.default_executor`), or a Dask cluster through
:func:`uprising.execution.dask_executor` (``Client(address).get_executor()``),
or anything else with ``submit``. The work item is :func:`execute_run`, a
top-level function of plain data (the scenario as text, TOML or a country's JSON, the seed, the
replicate, the outcome names, the store's path): it simulates, evaluates the
outcomes and writes the run's files itself, and returns a small dict. Results
never travel back through the client, so its memory stays flat however large
the sweep; workers must see the store's folder (a shared file system for a
cluster on several machines).

Runs already in the store are skipped; if the experiment now asks for outcomes
that a stored run's row lacks, they are computed from its stored series (no new
simulation). Crash safety: completed runs are skipped when the same experiment is run again
(re-running resumes); a run that raises is recorded in ``failures/`` with its
traceback and the sweep goes on; a lost worker's runs are submitted again (up
to ``retries`` times; Dask also reschedules them by itself); Ctrl-C cancels
what has not started, stops the pool's processes and raises
:class:`ExperimentInterrupted`, after which the same call resumes.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..execution import (SINGLE_THREAD_ENV, default_executor, in_flight_capacity, single_thread_environment,
                         terminate_workers)
from .kinds import scenario_from_text, scenario_text, simulate_any
from .outcomes import evaluate
from .spec import Experiment, RunSpec
from .store import COMPACT_AT, ResultStore, worker_name

#: ``progress(done, todo, record)``: after each run of this call finishes (``record`` is what
#: :func:`execute_run` returned), and once at the start with ``(0, todo, None)``.
ProgressCallback = Callable[[int, int, "dict[str, Any] | None"], None]


@dataclass
class RunSummary:
    """What one call of :func:`run_experiment` did."""

    experiment: str
    store: str
    total: int  # distinct runs of the experiment
    already: int  # in the store before this call (skipped)
    completed: int = 0  # completed by this call
    reevaluated: int = 0  # stored runs whose missing outcomes this call computed from their series
    failed: int = 0  # raised (recorded in failures/)
    lost: int = 0  # never came back from the executor after the retries (recorded in failures/ too)
    interrupted: bool = False
    wall_seconds: float = 0.0
    failed_ids: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Runs of the experiment now complete in the store."""
        return self.already + self.completed + self.reevaluated

    @property
    def missing(self) -> int:
        return self.total - self.done


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_experiment`; ``.summary`` says how far it got. Re-running resumes."""

    def __init__(self, summary: RunSummary):
        super().__init__(f"interrupted after {summary.done} of {summary.total} runs")
        self.summary = summary


# ------------------------------------------------------------------ the worker side
def task_for(run: RunSpec, experiment: Experiment, store: ResultStore, attempt: int = 0) -> dict[str, Any]:
    """The plain-data work item of one run (what :func:`execute_run` takes)."""
    return {"run_id": run.run_id, "scenario_text": scenario_text(run.scenario), "scenario_hash": run.scenario_hash,
            "replicate": run.replicate, "seed": run.seed, "root_seed": experiment.seed,
            "outcomes": list(experiment.outcomes), "store": str(store.root), "fsync": store.fsync,
            "params": dict(run.params), "experiment": experiment.name, "point_index": run.point_index,
            "attempt": attempt}


def execute_run(task: dict[str, Any]) -> dict[str, Any]:
    """Run one work item: simulate, evaluate the outcomes, write the files. Never raises for a failed run.

    Returns ``{"run_id", "status", "wall_seconds", "worker", "error"}`` with status
    ``ok``, ``failed`` (recorded in ``failures/``), ``skipped`` (already complete:
    a retried task whose first attempt did finish) or ``reevaluated`` (the run was
    stored but its row lacked some of the outcomes asked for: they are computed
    from the stored series, without simulating again; if that raises, the row is
    removed, so that the run counts as not complete, and the failure recorded).
    """
    os.environ.update(SINGLE_THREAD_ENV)
    store = ResultStore(task["store"], fsync=task.get("fsync", False))
    rid = task["run_id"]
    names = list(task["outcomes"])
    out = {"run_id": rid, "status": "ok", "wall_seconds": 0.0, "worker": worker_name(), "error": None}
    stored: dict[str, float] | None = None
    if store.has(rid):
        try:
            stored = store.stored_outcomes(rid)
        except (OSError, ValueError):  # unreadable: make the run again
            stored = None
        else:
            if set(names) <= set(stored):
                out["status"] = "skipped"
                return out
    start = time.perf_counter()
    try:
        if stored is not None:
            result = store.result(rid)
            if result.scenario.hash() != task["scenario_hash"]:
                raise RuntimeError(f"the stored series is of scenario {result.scenario.hash()}, not "
                                   f"{task['scenario_hash']}")
            values = {**stored, **evaluate(result, names)}
            wall = float(store.outcome_row(rid).get("wall_seconds") or 0.0)
            store.write_run(rid, result, values, experiment=task["experiment"], point_index=task["point_index"],
                            params=task["params"], root_seed=task.get("root_seed", 0), wall_seconds=wall,
                            write_series=False)
            out.update(status="reevaluated", wall_seconds=time.perf_counter() - start)
            return out
        scenario = scenario_from_text(task["scenario_text"], source=rid)
        if scenario.hash() != task["scenario_hash"]:
            raise RuntimeError(f"the scenario's hash changed in transit ({scenario.hash()} != {task['scenario_hash']})")
        result = simulate_any(scenario, task["seed"], task["replicate"])
        values = evaluate(result, names)
        wall = time.perf_counter() - start
        store.write_run(rid, result, values, experiment=task["experiment"], point_index=task["point_index"],
                        params=task["params"], root_seed=task.get("root_seed", 0), wall_seconds=wall)
        out["wall_seconds"] = wall
    except Exception as exc:
        out.update(status="failed", wall_seconds=time.perf_counter() - start, error=_error_line(exc))
        if stored is not None:
            store.forget_outcomes(rid)
        store.write_failure(rid, {**_identity(task), "error": out["error"], "traceback": traceback.format_exc(),
                                  "wall_seconds": out["wall_seconds"]})
    return out


def _identity(task: dict[str, Any]) -> dict[str, Any]:
    return {k: task[k] for k in ("experiment", "scenario_hash", "replicate", "seed", "point_index", "params",
                                 "attempt")}


def _error_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ------------------------------------------------------------------ the driver
def run_experiment(experiment: Experiment, store: ResultStore | str | Path, executor: cf.Executor | None = None,
                   progress: ProgressCallback | None = None, *, workers: int | None = None, retries: int = 2,
                   max_in_flight: int | None = None) -> RunSummary:
    """Run every run of ``experiment`` that ``store`` lacks; return a :class:`RunSummary`.

    ``executor``: any :class:`concurrent.futures.Executor` (it is left open);
    None makes the default pool of ``workers`` processes (closed at the end).
    Runs are deduplicated by run id and submitted in design order, at most
    ``max_in_flight`` at a time. A run whose future fails (a worker died, the
    pool broke) is submitted again up to ``retries`` times, on a fresh default
    pool if the default one broke; after that it is recorded as lost in
    ``failures/``. Raises :class:`ExperimentInterrupted` on Ctrl-C, after
    cancelling the runs not started (and stopping the default pool's processes).
    """
    start = time.perf_counter()
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    store.clean_partials()
    store.verify()  # unreadable files to quarantine/: their runs are not done and are run again
    store.write_manifest(experiment)
    unique: dict[str, RunSpec] = {}
    for run in experiment.runs():
        unique.setdefault(run.run_id, run)
    done_before = store.completed()
    stale = store.missing_outcomes([i for i in unique if i in done_before], list(experiment.outcomes))
    pending = [r for r in unique.values() if r.run_id not in done_before or r.run_id in stale]
    summary = RunSummary(experiment.name, str(store.root), len(unique), len(unique) - len(pending))
    if progress:
        progress(0, len(pending), None)
    if not pending:
        summary.wall_seconds = time.perf_counter() - start
        store.refresh_catalog()
        return summary

    own = executor is None
    env = single_thread_environment() if own else contextlib.nullcontext()
    with env:
        box = [default_executor(workers) if own else executor]  # _drive replaces a broken default pool
        try:
            _drive(experiment, store, box, own, workers, pending, summary, progress, retries, max_in_flight)
        finally:
            summary.wall_seconds = time.perf_counter() - start
            if own:
                box[0].shutdown(wait=True, cancel_futures=True)
    store.clean_partials()  # a worker lost mid-write left a .partial of a process that is gone (reaped by now)
    if store.loose_runs() >= COMPACT_AT:  # a large finished sweep: one dataset per experiment keeps queries fast
        store.compact()
    summary.wall_seconds = time.perf_counter() - start
    store.refresh_catalog()
    return summary


def _drive(experiment: Experiment, store: ResultStore, box: list[cf.Executor], own: bool, workers: int | None,
           pending: list[RunSpec], summary: RunSummary, progress: ProgressCallback | None, retries: int,
           max_in_flight: int | None) -> None:
    todo = len(pending)
    fresh = {r.run_id for r in pending} - store.completed()  # not complete before this call
    queue: list[tuple[RunSpec, int]] = [(r, 0) for r in reversed(pending)]  # popped from the end: design order
    in_flight: dict[cf.Future, tuple[RunSpec, int]] = {}
    pool = box[0]
    capacity = max_in_flight or in_flight_capacity(pool)
    finished = 0

    def record_lost(run: RunSpec, attempt: int, exc: BaseException) -> None:
        summary.lost += 1
        summary.failed_ids.append(run.run_id)
        task = task_for(run, experiment, store, attempt)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        store.write_failure(run.run_id, {**_identity(task), "error": f"lost: {_error_line(exc)}", "traceback": tb,
                                         "wall_seconds": None})

    try:
        while queue or in_flight:
            while queue and len(in_flight) < capacity:
                run, attempt = queue.pop()
                try:
                    fut = pool.submit(execute_run, task_for(run, experiment, store, attempt))
                except cf.BrokenExecutor as exc:
                    if own:
                        pool.shutdown(wait=True, cancel_futures=True)
                        pool = box[0] = default_executor(workers)
                        queue.append((run, attempt))
                        continue
                    record_lost(run, attempt, exc)
                    finished += 1
                    if progress:
                        progress(finished, todo, None)
                    continue
                in_flight[fut] = (run, attempt)
            done, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                run, attempt = in_flight.pop(fut)
                try:
                    record = fut.result()
                except cf.CancelledError as exc:
                    record, error = None, exc
                except Exception as exc:  # the executor lost the run: a dead worker, a broken pool
                    record, error = None, exc
                if record is None:
                    if attempt < retries:
                        queue.append((run, attempt + 1))
                        continue
                    record_lost(run, attempt, error)
                elif record["status"] == "failed":
                    summary.failed += 1
                    summary.failed_ids.append(run.run_id)
                elif record["status"] == "reevaluated":
                    summary.reevaluated += 1
                else:
                    summary.completed += 1
                finished += 1
                if progress:
                    progress(finished, todo, record)
    except KeyboardInterrupt:
        for fut in in_flight:
            fut.cancel()
        if own:
            terminate_workers(pool)
        summary.interrupted = True
        # the files are the truth: a worker may have completed a run whose result had not come back yet
        # (with another executor a run may still finish after this count; the next call will find it)
        summary.completed = max(summary.completed, len(store.completed() & fresh))
        raise ExperimentInterrupted(summary) from None
