"""Run many simulations on any :class:`concurrent.futures.Executor`: the one way, for both scenario kinds.

A :class:`Task` names one run as plain data: the scenario (a Model I
:class:`~uprising.scenario.Scenario` or a
:class:`~uprising.country.scenario.CountryScenario`, as the mapping its
``from_dict`` reads back), the seed, the replicate and the run's options
(``steps``, ``snapshot_every``, ...). It pickles to local processes and to Dask
workers. :func:`run_many` runs a list of tasks in this process or on an
executor and returns their results in the tasks' order:
:class:`~uprising.simulate.Result` for Model I,
:class:`~uprising.country.simulate.CountryResult` for a country.

Seeds (the style guide's "per-replicate streams"): a task's run draws from
``(seed, replicate)`` exactly as :func:`~uprising.simulate.simulate` and
:func:`~uprising.country.simulate.simulate_country` derive it, so a result
does not depend on the executor, the number of workers or the order in which
runs finish. :func:`tasks` gives replicate ``r`` of a root seed the seed pair
``(seed, r)``; variants of a scenario built with the same root seed share
their replicates' streams (common random numbers).

A task may name a ``job``: a top-level function ``job(scenario, seed,
replicate, **options)`` run instead of the plain simulation (the validation
suite measures runs step by step this way). It travels by reference, so it
must be importable on the worker.

Executors: :func:`default_executor` (spawned local processes, one thread each),
:func:`dask_executor` (a Dask scheduler), and :func:`executor_for`, a context
manager that opens either and closes it. The experiment runner
(:mod:`uprising.experiment.runner`) uses the same executors for its
crash-safe sweeps into a result store.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import gc
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .country.scenario import CountryScenario, CountryScenarioBase
from .scenario import Scenario

#: Environment that keeps a worker's numeric libraries on one thread each.
SINGLE_THREAD_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}

#: the two scenario kinds (what a task names, an experiment's ``kind``, what :mod:`uprising.experiment.kinds`
#: and the named outcomes dispatch on)
MODEL_ONE, COUNTRY = "model1", "country"
KINDS = (MODEL_ONE, COUNTRY)

#: ``progress(done, total)`` after each run of :func:`run_many` (and not before the first)
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class Task:
    """One run as plain data: which scenario (as a mapping), from which seed and replicate, with which options.

    ``kind`` is :data:`MODEL_ONE` or :data:`COUNTRY`; ``options`` are the
    simulation's keyword arguments (``steps``, ``snapshot_every``, ``chunk`` for
    Model I; ``snapshot_every``, ``snapshot_cities`` for a country); ``job``
    (optional) is a top-level function run instead of the simulation.
    Build one with :func:`task` or :func:`tasks`.
    """

    kind: str
    scenario: dict[str, Any]
    seed: int
    replicate: int | None
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "<task>"
    job: Callable[..., Any] | None = None

    def scenario_object(self) -> Scenario | CountryScenario:
        """The scenario rebuilt from its mapping (validated again, equal to the one the task was made of)."""
        if self.kind == COUNTRY:
            return CountryScenario.from_dict(self.scenario, source=self.source)
        return Scenario.from_dict(self.scenario, source=self.source)


def scenario_kind(scenario: Scenario | CountryScenario) -> str:
    """:data:`COUNTRY` for a country scenario (of any mechanism set), :data:`MODEL_ONE` for a Model I scenario."""
    if isinstance(scenario, CountryScenarioBase):
        return COUNTRY
    if isinstance(scenario, Scenario):
        return MODEL_ONE
    raise TypeError(f"not a scenario: {type(scenario).__name__}")


def simulate_scenario(scenario: Scenario | CountryScenario, seed: int, replicate: int | None, **options: Any) -> Any:
    """One run of either kind: :func:`~uprising.simulate.simulate` (``steps`` among the ``options``) or
    :func:`~uprising.country.simulate.simulate_country` (a replicate of None is 0). What every task and every
    store run does."""
    if scenario_kind(scenario) == COUNTRY:
        from .country.simulate import simulate_country

        return simulate_country(scenario, seed, 0 if replicate is None else replicate, **options)
    from .simulate import simulate

    options = dict(options)
    steps = options.pop("steps", None)
    return simulate(scenario, steps, seed, replicate=replicate, **options)


def _plain(scenario: Scenario | CountryScenario) -> dict[str, Any]:
    return scenario.to_dict() if isinstance(scenario, CountryScenario) else scenario.model_dump()


def task(scenario: Scenario | CountryScenario, seed: int = 0, replicate: int | None = None, *,
         job: Callable[..., Any] | None = None, source: str | None = None, **options: Any) -> Task:
    """One run of ``scenario`` from ``seed`` (and ``replicate``), with the simulation's keyword ``options``.

    A country run's replicate defaults to 0 (as in ``simulate_country``); a
    Model I run's to None (the seed alone, as in ``simulate``).
    """
    kind = scenario_kind(scenario)
    if kind == COUNTRY and replicate is None:
        replicate = 0
    return Task(kind, _plain(scenario), int(seed), replicate, dict(options), source or scenario.name or "<task>", job)


def tasks(scenario: Scenario | CountryScenario, replicates: int, seed: int = 0, snapshot_every: int | None = None,
          **options: Any) -> list[Task]:
    """The ``replicates`` runs of an ensemble: replicate ``r`` runs from ``(seed, r)``.

    Only replicate 0 keeps lattice snapshots (every ``snapshot_every`` steps);
    ``options`` go to every run.
    """
    return [task(scenario, seed, r, **options, **({"snapshot_every": snapshot_every} if snapshot_every and r == 0
                                                   else {}))
            for r in range(replicates)]


def run_task(item: Task) -> Any:
    """Run one task (the executor's work item): its ``job``, or else the simulation of its kind."""
    scenario = item.scenario_object()
    if item.job is not None:
        return item.job(scenario, item.seed, item.replicate, **item.options)
    return simulate_scenario(scenario, item.seed, item.replicate, **item.options)


def run_many(items: Iterable[Task], executor: cf.Executor | None = None,
             progress: Progress | None = None) -> list[Any]:
    """Run every task, in this process when ``executor`` is None; the results in the tasks' order.

    ``progress(done, total)`` is called after each run. The first run that
    raises cancels those not started and its exception propagates (Ctrl-C too).
    """
    items = list(items)
    total = len(items)
    if executor is None:
        out = []
        for i, item in enumerate(items):
            out.append(run_task(item))
            if progress:
                progress(i + 1, total)
        return out
    futures = {executor.submit(run_task, item): i for i, item in enumerate(items)}
    results: list[Any] = [None] * total
    done = 0
    try:
        for fut in cf.as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            if progress:
                progress(done, total)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return results


# ------------------------------------------------------------------ the worker side
def single_thread(warm: bool = False) -> None:
    """Worker initializer: one thread per numeric library, Ctrl-C left to the parent, kernels loaded.

    The environment is also set in the parent while it spawns the pool's
    processes (libraries read it at import); the kernels are serial in any case.
    A worker also exits by itself when its parent dies. ``warm=True`` runs a
    3-step simulation so that loading the compiled kernels (about a second from
    numba's cache) is not counted in the first run's ``wall_seconds``; then everything loaded so far (numba's and pyarrow's
    objects, over 10^5) is moved out of the garbage collector's sight
    (:func:`gc.freeze`): a full collection of them costs ~0.12 s, and the
    collections at a worker's exit made every pool's shutdown ~0.6 s longer.
    """
    os.environ.update(SINGLE_THREAD_ENV)
    with contextlib.suppress(ValueError):  # not the main thread (a ThreadPoolExecutor): leave signals alone
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    if warm:
        import io

        import pyarrow.parquet as pq

        from .simulate import simulate

        pq.write_table(simulate(Scenario(width=16, height=16), steps=3).table, io.BytesIO())
        gc.freeze()  # long-lived from here on: never scanned again, nor at exit


def _exit_with_parent(interval: float = 0.5) -> None:
    """End this worker process when the process that started it dies (``kill -9`` of a sweep leaves no
    orphan workers behind; a run they were making leaves at most a ``.partial`` file)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="uprising-parent-watch", daemon=True).start()


# ------------------------------------------------------------------ executors
def default_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """The embedded default: ``workers`` (default ``os.cpu_count()``) spawned processes, single-threaded.

    Spawned, not forked, so that workers start clean whatever threads the
    parent runs (a progress bar, DuckDB). As with any spawned pool, a script
    that uses it needs the ``if __name__ == "__main__":`` guard. Use it inside
    :func:`single_thread_environment` (or through :func:`executor_for`).
    """
    import multiprocessing

    workers = workers or os.cpu_count() or 1
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=single_thread, initargs=(True,))


@contextlib.contextmanager
def single_thread_environment() -> Iterator[None]:
    """Set :data:`SINGLE_THREAD_ENV` in this process for the duration (workers spawned meanwhile inherit it)."""
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    os.environ.update(SINGLE_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dask_executor(address: str, timeout: float = 10.0) -> tuple[cf.Executor, Callable[[], None]]:
    """An executor on the Dask scheduler at ``address`` (``tcp://HOST:PORT``) and a function that closes it.

    Tasks are submitted with ``pure=False`` (each attempt is a new task). Raises
    OSError when the scheduler cannot be reached within ``timeout`` seconds.
    """
    from distributed import Client

    client = Client(address, timeout=f"{timeout}s", set_as_default=False)
    executor = client.get_executor(pure=False)

    def close() -> None:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False)
        client.close()

    return executor, close


@contextlib.contextmanager
def executor_for(workers: int | None = None, cluster: str | None = None) -> Iterator[cf.Executor]:
    """A local pool of ``workers`` spawned single-threaded processes, or an executor on the Dask scheduler at
    ``cluster``; closed (the pool's unstarted runs cancelled) on leaving."""
    if cluster:
        executor, close = dask_executor(cluster)
        try:
            yield executor
        finally:
            close()
        return
    with single_thread_environment():
        pool = default_executor(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def in_flight_capacity(executor: cf.Executor) -> int:
    """How many runs to keep in flight on ``executor``: a few per worker, so that memory stays flat and Ctrl-C
    is quick (64 when the executor does not say how many workers it has)."""
    n = getattr(executor, "_max_workers", None)
    client = getattr(executor, "_client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            n = sum(client.nthreads().values())
    return max(8, 4 * int(n)) if n else 64


def terminate_workers(executor: cf.Executor) -> None:
    """Stop a process pool's workers now (their runs in progress leave only .partial files)."""
    stop = getattr(executor, "terminate_workers", None)  # Python 3.14
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()
        return
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()
