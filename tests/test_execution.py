"""uprising.execution: one way to run many simulations of either scenario kind, on any executor.

A task is plain data; run_many returns the tasks' results in their order, the same bit for bit as the
simulation called directly, in this process or on a pool of processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import pickle

import numpy as np
import pytest

from country_helpers import two_towns
from uprising import execution
from uprising.country.simulate import CountryResult, simulate_country
from uprising.scenario import Scenario
from uprising.simulate import Result, simulate

SMALL = Scenario(width=20, height=20, steps=30)


def measure_peak(scenario: Scenario, seed: int, replicate: int | None, *, steps: int) -> int:
    """A task's job: runs on the worker, returns only what is asked (top-level, so it pickles by reference)."""
    return int(simulate(scenario, steps, seed, replicate=replicate).column("active").max())


def test_tasks_are_plain_data_of_either_kind():
    one, country = execution.task(SMALL, 3, 1, steps=10), execution.task(two_towns(), 3)
    assert one.kind == execution.MODEL_ONE and country.kind == execution.COUNTRY
    assert country.replicate == 0 and one.options == {"steps": 10}
    assert pickle.loads(pickle.dumps(one)) == one
    assert one.scenario_object() == SMALL and country.scenario_object() == two_towns()
    with pytest.raises(TypeError):
        execution.task({"width": 20}, 0)


def test_an_ensemble_snapshots_only_replicate_zero():
    tasks = execution.tasks(SMALL, 3, seed=5, snapshot_every=10, steps=30)
    assert [t.replicate for t in tasks] == [0, 1, 2] and {t.seed for t in tasks} == {5}
    assert [t.options for t in tasks] == [{"steps": 30, "snapshot_every": 10}, {"steps": 30}, {"steps": 30}]


def test_model_one_in_this_process_is_the_direct_simulation():
    results = execution.run_many(execution.tasks(SMALL, 2, seed=4, snapshot_every=10))
    assert all(isinstance(r, Result) for r in results)
    for r, direct in zip(results, (simulate(SMALL, seed=4, replicate=i, snapshot_every=10 if i == 0 else None)
                                   for i in range(2))):
        assert r.counts.tobytes() == direct.counts.tobytes() and r.run_id == direct.run_id
        assert sorted(r.snapshots) == sorted(direct.snapshots)
    assert not np.array_equal(results[0].counts, results[1].counts)


def test_both_kinds_and_a_job_on_a_process_pool_come_back_in_order():
    tasks = [execution.task(two_towns(), 2, 1), execution.task(SMALL, 2, 0),
             execution.task(SMALL, 2, 1, job=measure_peak, steps=30)]
    seen = []
    with execution.executor_for(workers=2) as pool:
        remote = execution.run_many(tasks, pool, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(remote[0], CountryResult) and isinstance(remote[1], Result)
    assert remote[0].counts.tobytes() == simulate_country(two_towns(), 2, 1).counts.tobytes()
    assert remote[1].counts.tobytes() == simulate(SMALL, seed=2, replicate=0).counts.tobytes()
    assert remote[2] == measure_peak(SMALL, 2, 1, steps=30)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_thread_pool_is_an_executor_too():
    tasks = execution.tasks(SMALL, 2, seed=1)
    with cf.ThreadPoolExecutor(2) as pool:
        threaded = execution.run_many(tasks, pool)
    assert [r.counts.tobytes() for r in threaded] == [r.counts.tobytes() for r in execution.run_many(tasks)]
