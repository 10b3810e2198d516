"""Experiments at scale: sweeps and ensembles over scenarios, on any executor, into a crash-safe store.

The driver layer above :mod:`uprising.simulate` (the core never imports it):

* :mod:`.outcomes` -- named outcomes, ``Result -> float``: :data:`OUTCOMES`, :func:`evaluate`, :func:`register`.
* :mod:`.spec` -- :class:`Experiment` (TOML experiment files), design points, :class:`RunSpec`,
  :func:`run_seed`, :func:`run_id`.
* :mod:`.store` -- :class:`ResultStore`: Parquet per run, failures as JSON, a DuckDB catalog.
* :mod:`.runner` -- :func:`run_experiment` with any ``concurrent.futures.Executor``, Dask included
  (the executors are :mod:`uprising.execution`'s).

Needs the ``experiments`` extra (``pip install 'uprising[experiments]'``) for DuckDB, SALib and Dask.
"""

from .outcomes import DEFAULT_OUTCOMES, OUTCOMES, Outcome, UnknownOutcome, evaluate, register
from .runner import ExperimentInterrupted, RunSummary, run_experiment
from .spec import Experiment, RunSpec, parameter_names, run_id, run_seed
from .store import ResultStore, StoreError

__all__ = ["DEFAULT_OUTCOMES", "OUTCOMES", "Outcome", "UnknownOutcome", "evaluate", "register", "Experiment",
           "RunSpec", "parameter_names", "run_id", "run_seed", "ResultStore", "StoreError", "run_experiment",
           "RunSummary", "ExperimentInterrupted", "dask_executor"]
