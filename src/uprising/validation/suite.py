"""The validation suite: ensembles of Epstein's (2002) runs under each rule combination, measured.

:func:`run_suite` runs the paper's runs (``scenarios/epstein-2002/run1..4.toml``)
under every :class:`~uprising.validation.variants.Variant` it studies, through
:func:`uprising.execution.run_many` (in this process, or on a pool of
``workers`` processes), and measures each named result with
:mod:`uprising.analysis`. It returns a :class:`SuiteResult` and writes nothing;
:mod:`uprising.validation.output` writes the record, and the figures are drawn
at the edge (:func:`uprising.viz.validation_plots.suite_figures`).

Mesa's values come from ``docs/data/mesa-validation.parquet`` and ``.json``,
written by ``benchmarks/mesa_validation.py`` (Mesa 3.3.1's own example, run
unmodified); the same functions measure both sides.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import analysis
from ..analysis import OUTBURST_THRESHOLD, RUN34_EVENT_STEP
from ..execution import Task, executor_for, run_many, task
from ..scenario import Scenario
from .runs import run1_job, run2_job, run34_job
from .variants import (IMPLEMENTATIONS, Variant, grid_variants, implementation_variants, movement_variants,
                       sensitivity_variants)

#: ``progress(label, done, total)`` after each run of a phase of the suite
SuiteProgress = Callable[[str, int, int], None]


def repo_root() -> Path:
    """The checkout this package runs from (scenarios/ and docs/ live there)."""
    return Path(__file__).resolve().parents[3]


def commit_of(root: Path) -> str:
    """The short commit of the checkout at ``root`` ("unknown" outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass(frozen=True)
class Budget:
    """Ensemble sizes of a suite run."""

    name: str
    seeds_run1: int
    steps_run1: int
    snapshots_run1: tuple[int, ...]
    null_draws: int
    seeds_run2: int
    steps_run2: int
    burn_in: int
    seeds_run34: int
    steps_run34: int
    shapes: tuple[str, ...]
    sensitivity: bool  # one-at-a-time switch changes around the closest Run 2 combination
    search_rounds: int = 3  # rounds of the greedy Run 2 search


FULL = Budget("full", seeds_run1=20, steps_run1=200, snapshots_run1=(50, 100, 150, 200), null_draws=200,
              seeds_run2=40, steps_run2=3000, burn_in=100, seeds_run34=50, steps_run34=200,
              shapes=("euclidean", "von_neumann", "moore"), sensitivity=True)
QUICK = Budget("quick", seeds_run1=10, steps_run1=100, snapshots_run1=(50, 100), null_draws=100,
               seeds_run2=20, steps_run2=1000, burn_in=100, seeds_run34=20, steps_run34=200,
               shapes=("euclidean", "von_neumann"), sensitivity=False)


@dataclass
class SuiteResult:
    """The suite's statistics (per variant key), a few example runs for the figures, and the variants' changes."""

    budget: Budget
    run1: dict = field(default_factory=dict)  # variant key -> stats
    run1_labels: dict = field(default_factory=dict)
    run1_example: tuple | None = None
    run2: dict = field(default_factory=dict)
    run2_labels: dict = field(default_factory=dict)
    run2_example: dict | None = None  # the closest variant's first run (for the time-series figure)
    run2_examples: dict = field(default_factory=dict)  # a few named variants' first runs
    run2_sizes: dict = field(default_factory=dict)  # variant -> (waits, sizes) pooled
    tension: dict = field(default_factory=dict)
    run34: dict = field(default_factory=dict)
    run34_paths: dict = field(default_factory=dict)  # variant -> (run3 runs, run4 runs)
    run34_labels: dict = field(default_factory=dict)
    search_path: list = field(default_factory=list)  # Run 2 search: the variant kept after each round
    search_rounds: list = field(default_factory=list)  # Run 2 search: the variants tried in each round
    mesa: dict | None = None
    closest: str = ""
    wall_seconds: float = 0.0
    commit: str = ""  # the checkout the runs were made at
    changes: dict = field(default_factory=dict)  # variant key -> the scenario changes it ran under

    def record(self, variant: Variant) -> None:
        """Keep a measured variant's changes (the record carries them, so no reader parses a key)."""
        self.changes.setdefault(variant.key, variant.changes_dict())

    def grid_keys(self) -> list[str]:
        """The keys of the arrest rule x vision shape grid of this suite's budget."""
        return [v.key for v in grid_variants(self.budget.shapes)]

    def implementation_keys(self) -> list[str]:
        """The keys of the implementations' complete rule sets (Mesa's, NetLogo's)."""
        return [key for key, _, _ in IMPLEMENTATIONS]

    def headline_keys(self) -> list[str]:
        """The grid's keys, then the implementations': the variants every table shows (the search's and the
        sensitivity analysis' come on top)."""
        return self.grid_keys() + self.implementation_keys()

    def citizens_move(self, key: str) -> bool:
        """Whether citizens move under variant ``key`` (Run 1's transitions need them in place)."""
        return bool(self.changes.get(key, {}).get("movement", False))

    def mesa_label(self) -> str:
        """How tables and figures name Mesa's own runs."""
        meta = self.mesa["meta"] if self.mesa else {}
        return f"Mesa {meta.get('mesa_version', '?')} (its own rules)"


# --------------------------------------------------------------------------- Mesa's side
def load_mesa(data_dir: Path) -> dict | None:
    """Mesa's runs written by ``benchmarks/mesa_validation.py``, or None if absent."""
    pq_path, js_path = data_dir / "mesa-validation.parquet", data_dir / "mesa-validation.json"
    if not (pq_path.exists() and js_path.exists()):
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(pq_path)
    meta = json.loads(js_path.read_text())
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    series: dict[str, list[dict]] = {}
    for setting in np.unique(cols["setting"]):
        sel = cols["setting"] == setting
        seeds = cols["seed"][sel]
        for seed in np.unique(seeds):
            rows = np.flatnonzero(sel & (cols["seed"] == seed))
            rows = rows[np.argsort(cols["step"][rows])]
            series.setdefault(str(setting), []).append({k: cols[k][rows] for k in
                                                        ("active", "jailed", "deterred", "legitimacy", "citizens")})
    return {"meta": meta, "series": series, "deception": meta.get("deception", [])}


# --------------------------------------------------------------------------- the suite
def _measure(jobs: list[tuple[str, Task]], executor, progress: SuiteProgress | None, label: str) -> dict:
    """Run the tasks (through :func:`uprising.execution.run_many`); their results grouped by key, in job order."""
    tick = (lambda done, total: progress(label, done, total)) if progress else None
    results: dict = {}
    for (key, _), res in zip(jobs, run_many([t for _, t in jobs], executor, tick)):
        results.setdefault(key, []).append(res)
    return results


def run_suite(budget: Budget = QUICK, workers: int = 1, root: Path | None = None,
              mesa_dir: Path | None = None, progress: SuiteProgress | None = None) -> SuiteResult:
    """Run every part of the suite and return its statistics (no files are written).

    ``workers`` > 1 runs the suite's runs on a pool of that many processes
    (:func:`uprising.execution.executor_for`); the results are the same.
    """
    root = repo_root() if root is None else root
    with (executor_for(workers) if workers > 1 else contextlib.nullcontext(None)) as executor:
        return _run_suite(budget, executor, root, mesa_dir, progress)


def _run_suite(budget: Budget, executor, root: Path, mesa_dir: Path | None,
               progress: SuiteProgress | None) -> SuiteResult:
    start = time.perf_counter()
    paper = {n: Scenario.load(root / "scenarios" / "epstein-2002" / f"run{n}.toml") for n in (1, 2, 3, 4)}
    res = SuiteResult(budget, commit=commit_of(root))
    grid = grid_variants(budget.shapes)
    impl = implementation_variants(root)

    def run2_tasks(variants: list[Variant]) -> list[tuple[str, Task]]:
        return [(v.key, task(v.apply(paper[2]), seed, job=run2_job, steps=budget.steps_run2))
                for v in variants for seed in range(budget.seeds_run2)]

    # Run 1: deception, under each rule combination, and with everyone / nobody moving
    run1_variants = grid + movement_variants()
    jobs = [(v.key, task(v.apply(paper[1]), seed, job=run1_job, steps=budget.steps_run1,
                         snapshots=budget.snapshots_run1, null_draws=budget.null_draws))
            for v in run1_variants for seed in range(budget.seeds_run1)]
    out = _measure(jobs, executor, progress, "Run 1 (deception)")
    for v in run1_variants:
        res.run1[v.key] = analysis.run1_stats(out[v.key])
        res.run1_labels[v.key] = v.label
        res.record(v)
    res.run1_example = out["floor-euclidean"][0]["example"] if "floor-euclidean" in out else None

    # Run 2: punctuated equilibrium and tension
    run2_variants = grid + impl
    res.run2_labels.update({v.key: v.label for v in run2_variants})
    for v in run2_variants:
        res.record(v)
    out = _measure(run2_tasks(run2_variants), executor, progress, "Run 2 (outbursts)")
    if budget.sensitivity:
        # greedy search: from the best arrest rule x vision shape, change one switch at a time and keep the
        # change that brings both means closest to the paper's; stop when no change gains 0.05 in distance
        def dist(key: str) -> float:
            return analysis.run2_stats([r["active"] for r in out[key]], budget.burn_in)["distance"]

        current = min(grid, key=lambda v: dist(v.key))
        res.search_path.append(current.key)
        for round_ in range(budget.search_rounds):
            cands = sensitivity_variants(current, paper[2])
            res.run2_labels.update({v.key: v.label for v in cands if v.key not in res.run2_labels})
            for v in cands:
                res.record(v)
            out.update(_measure(run2_tasks([v for v in cands if v.key not in out]), executor, progress,
                                f"Run 2 (switch search, round {round_ + 1})"))
            res.search_rounds.append([v.key for v in cands])
            best = min(cands, key=lambda v: dist(v.key), default=None)
            if best is None or dist(best.key) > dist(current.key) - 0.05:
                break
            current = best
            res.search_path.append(current.key)
    for key, runs in out.items():
        res.run2[key] = analysis.run2_stats([r["active"] for r in runs], budget.burn_in)
        res.tension[key] = analysis.tension_stats(runs, budget.burn_in)
        waits = np.concatenate([analysis.waits(analysis.outbursts(np.asarray(r["active"])[budget.burn_in:],
                                                                  OUTBURST_THRESHOLD)) for r in runs])
        sizes = np.array([e[2] for r in runs
                          for e in analysis.outbursts(np.asarray(r["active"])[budget.burn_in:], OUTBURST_THRESHOLD)])
        res.run2_sizes[key] = (waits, sizes)
    res.closest = choose_closest(res)
    res.run2_example = out[res.closest][0] if res.run2[res.closest]["episodes"] else out["floor-euclidean"][0]
    res.run2_example = dict(res.run2_example, variant=res.closest)
    res.run2_examples = {k: out[k][0] for k in ("floor-euclidean", "ratio-euclidean", "round_half_even-von_neumann")
                         if k in out}

    # Runs 3 and 4 on the same seeds
    run34_variants = grid + impl
    if budget.sensitivity:
        floor_euclid = next(v for v in grid if v.key == "floor-euclidean")
        known = {v.key for v in run34_variants}
        run34_variants += [v for v in sensitivity_variants(floor_euclid, paper[3]) if v.key not in known]
    jobs = []
    for v in run34_variants:
        res.record(v)
        for seed in range(budget.seeds_run34):
            jobs.append((v.key + "|3", task(v.apply(paper[3]), seed, job=run34_job, steps=budget.steps_run34)))
            jobs.append((v.key + "|4", task(v.apply(paper[4]), seed, job=run34_job, steps=budget.steps_run34)))
    out = _measure(jobs, executor, progress, "Runs 3 and 4")
    for v in run34_variants:
        res.run34_labels[v.key] = v.label
        r3, r4 = out[v.key + "|3"], out[v.key + "|4"]
        res.run34[v.key] = analysis.run34_stats([r["active"] for r in r3], [r["active"] for r in r4],
                                                [r["citizens"] for r in r3], RUN34_EVENT_STEP)
        res.run34_paths[v.key] = (r3, r4)

    mesa = load_mesa(mesa_dir if mesa_dir is not None else root / "docs" / "data")
    res.mesa = analysis.mesa_stats(mesa, budget.burn_in) if mesa else None
    res.wall_seconds = time.perf_counter() - start
    return res


def choose_closest(res: SuiteResult) -> str:
    """The Run 2 combination reported as closest: where the search ended, or (no search) the nearest measured.

    Combinations within 0.05 of it in distance are as close at these ensemble sizes; the report lists them.
    """
    if res.search_path:
        return res.search_path[-1]
    return min(res.run2, key=lambda k: res.run2[k]["distance"])


def remeasure(res: SuiteResult, mesa_dir: Path) -> SuiteResult:
    """Measure a kept suite's runs again with the current definitions (cheap: no simulation), and re-read Mesa's
    data: Runs 3 and 4 from their stored paths, the closest Run 2 combination, Mesa's statistics."""
    for key, (r3, r4) in res.run34_paths.items():
        res.run34[key] = analysis.run34_stats([r["active"] for r in r3], [r["active"] for r in r4],
                                              [r["citizens"] for r in r3], RUN34_EVENT_STEP)
    res.closest = choose_closest(res)
    mesa = load_mesa(mesa_dir)
    res.mesa = analysis.mesa_stats(mesa, res.budget.burn_in) if mesa else None
    return res
