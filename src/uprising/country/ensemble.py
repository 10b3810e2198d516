"""Ensembles of country runs on any :class:`concurrent.futures.Executor` (local processes or Dask).

Replicate ``r`` of a scenario runs from ``(seed, r)``: each city draws from its own
stream derived from those two numbers and its name, so results do not depend on
the executor, the number of workers or the order in which runs finish. Variants
of a scenario share the seeds of their replicates (common random numbers), so a
variant's difference from the baseline is measured pair by pair.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from typing import Any, Callable, Iterable

from ..experiment.runner import dask_executor, default_executor, single_thread_environment
from .scenario import CountryScenario
from .simulate import CountryResult, simulate_country

#: ``progress(done, total)`` after each run
Progress = Callable[[int, int], None]


def run_task(task: dict[str, Any]) -> CountryResult:
    """One run from plain data (the scenario as a mapping, the seed, the replicate, optionally
    ``snapshot_every``): the executor's work item."""
    scenario = CountryScenario.from_dict(task["scenario"], source=task.get("source", "<task>"))
    return simulate_country(scenario, task["seed"], task["replicate"], snapshot_every=task.get("snapshot_every"))


def tasks(scenario: CountryScenario, replicates: int, seed: int = 0,
          snapshot_every: int | None = None) -> list[dict[str, Any]]:
    """The work items of ``replicates`` runs; replicate 0 keeps lattice snapshots every ``snapshot_every`` steps."""
    data = scenario.to_dict()
    return [{"scenario": data, "seed": seed, "replicate": r, "source": scenario.name,
             **({"snapshot_every": snapshot_every} if snapshot_every and r == 0 else {})}
            for r in range(replicates)]


@contextlib.contextmanager
def executor_for(workers: int | None = None, cluster: str | None = None):
    """A local process pool of ``workers`` (spawned, single-threaded), or an executor on a Dask scheduler."""
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


def run_many(task_list: Iterable[dict[str, Any]], executor: cf.Executor | None = None,
             progress: Progress | None = None) -> list[CountryResult]:
    """Run every task (in this process when ``executor`` is None); results in the tasks' order."""
    task_list = list(task_list)
    if executor is None:
        out = []
        for i, t in enumerate(task_list):
            out.append(run_task(t))
            if progress:
                progress(i + 1, len(task_list))
        return out
    futures = {executor.submit(run_task, t): i for i, t in enumerate(task_list)}
    results: list[CountryResult | None] = [None] * len(task_list)
    done = 0
    try:
        for fut in cf.as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            if progress:
                progress(done, len(task_list))
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return results  # type: ignore[return-value]
