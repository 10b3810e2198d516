"""Ensembles of country runs: a thin use of :mod:`uprising.execution` (transitional; call it directly).

Replicate ``r`` of a scenario runs from ``(seed, r)``: each city draws from its own
stream derived from those two numbers and its name, so results do not depend on
the executor, the number of workers or the order in which runs finish. Variants
of a scenario share the seeds of their replicates (common random numbers), so a
variant's difference from the baseline is measured pair by pair.
"""

from __future__ import annotations

from ..execution import executor_for, run_many, run_task, tasks

__all__ = ["executor_for", "run_many", "run_task", "tasks"]
