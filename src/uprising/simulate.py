"""The one driver: owns time, schedules, recording and snapshots.

``simulate(scenario, steps, seed)`` builds the model with :func:`uprising.model.init`
and calls the kernel in chunks (between snapshots and progress updates). The
result is a tidy table with one row per step (step 0 is the initial state),
written to Parquet by :meth:`Result.to_parquet`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import model as _model
from .analysis import outbursts
from .kernels import codes
from .scenario import Scenario, seed_sequence

ProgressCallback = Callable[[int, int], None]


@dataclass
class Result:
    """What one run produced: per-step counts, optional lattice snapshots, timing."""

    scenario: Scenario
    seed: int
    replicate: int | None
    counts: np.ndarray  # (steps + 1) x 6, columns codes.OUT_NAMES; row 0 is the initial state
    legitimacy: np.ndarray  # (steps + 1,)
    citizens: int
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> height x width kinds
    wall_seconds: float = 0.0

    @property
    def steps(self) -> int:
        return self.counts.shape[0] - 1

    @property
    def run_id(self) -> str:
        rep = "" if self.replicate is None else f"-r{self.replicate}"
        return f"{self.scenario.hash()}-s{self.seed}{rep}"

    def column(self, name: str) -> np.ndarray:
        return self.counts[:, codes.OUT_NAMES.index(name)]

    @property
    def table(self) -> pa.Table:
        """Tidy table: run id, scenario hash, seed, replicate, step, city, counts and fractions."""
        n = self.counts.shape[0]
        cols: dict[str, pa.Array | list] = {
            "run_id": pa.array([self.run_id] * n, pa.string()),
            "scenario_hash": pa.array([self.scenario.hash()] * n, pa.string()),
            "seed": pa.array(np.full(n, self.seed, dtype=np.int64)),
            "replicate": pa.array(np.full(n, -1 if self.replicate is None else self.replicate, dtype=np.int64)),
            "step": pa.array(np.arange(n, dtype=np.int64)),
            "city": pa.array(["lattice"] * n, pa.string()),
            "legitimacy": pa.array(self.legitimacy),
        }
        for i, name in enumerate(codes.OUT_NAMES):
            cols[name] = pa.array(self.counts[:, i])
        cols["citizens"] = pa.array(np.full(n, self.citizens, dtype=np.int64))
        denom = max(self.citizens, 1)
        cols["active_fraction"] = pa.array(self.counts[:, codes.OUT_ACTIVE] / denom)
        cols["jailed_fraction"] = pa.array(self.counts[:, codes.OUT_JAILED] / denom)
        meta = {b"uprising.scenario": self.scenario.to_toml().encode(), b"uprising.seed": str(self.seed).encode()}
        return pa.table(cols).replace_schema_metadata(meta)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the tidy table (with the scenario TOML in the file's metadata)."""
        return write_parquet(self.table, path)

    def summary(self) -> dict[str, float]:
        """Headline statistics of the run (after the initial state)."""
        act = self.column("active")[1:]
        jail = self.column("jailed")[1:]
        ep = outbursts(self.column("active"), threshold=50)
        denom = max(self.citizens, 1)
        return {
            "steps": self.steps,
            "citizens": self.citizens,
            "cops_start": int(self.column("cops")[0]),
            "mean_active_fraction": float(act.mean() / denom),
            "peak_active": int(act.max()),
            "mean_jailed_fraction": float(jail.mean() / denom),
            "total_arrests": int(self.column("arrests").sum()),
            "outbursts_above_50": len(ep),
            "mean_wait_between_outbursts": float(np.mean(np.diff([e[0] for e in ep]))) if len(ep) > 1 else float("nan"),
            "mean_outburst_activation": float(np.mean([e[2] for e in ep])) if ep else float("nan"),
            "agent_steps_per_second": (self.citizens + int(self.column("cops")[0])) * self.steps / self.wall_seconds
            if self.wall_seconds > 0 else float("nan"),
        }


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to ``path`` under a ``.partial`` name, then rename it: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def simulate(scenario: Scenario, steps: int | None = None, seed: int = 0, *, replicate: int | None = None,
             snapshot_every: int | None = None, progress: ProgressCallback | None = None,
             chunk: int = 1000) -> Result:
    """Run ``scenario`` for ``steps`` steps (default: the scenario's) from ``seed``.

    The same scenario, seed and replicate give bit-identical results in any
    process. ``snapshot_every=k`` keeps the lattice (cell kinds) every ``k``
    steps and at step 0. ``progress(done, total)`` is called after each chunk.
    """
    steps = scenario.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError("steps must be at least 1")
    if steps != scenario.steps:
        # the result records the run that was made, so its hash and run id tell runs of different lengths apart
        scenario = scenario.replace(steps=steps)
    mdl, state = _model.init(scenario, seed_sequence(seed, replicate))
    counts = np.zeros((steps + 1, codes.OUT_SIZE), dtype=np.int64)
    c0 = state.counts()
    counts[0, :4] = (c0["quiet"], c0["active"], c0["jailed"], c0["cops"])
    legit = np.empty(steps + 1)
    legit[0] = scenario.legitimacy
    legit[1:] = _model.legitimacy_path(scenario, 0, steps)
    cops = _model.cop_targets(scenario, state.initial_cops, 0, steps)
    snapshots: dict[int, np.ndarray] = {}
    if snapshot_every:
        snapshots[0] = state.kinds().reshape(scenario.height, scenario.width).copy()
        chunk = min(chunk, snapshot_every)
    start = time.perf_counter()
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        if snapshot_every:
            n = min(n, snapshot_every - done % snapshot_every)
        counts[done + 1:done + 1 + n] = _model.step(mdl, state, legit[done + 1:done + 1 + n], cops[done:done + n])
        done += n
        if snapshot_every and done % snapshot_every == 0:
            snapshots[done] = state.kinds().reshape(scenario.height, scenario.width).copy()
        if progress is not None:
            progress(done, steps)
    wall = time.perf_counter() - start
    return Result(scenario, seed, replicate, counts, legit, state.citizens, snapshots, wall)


def read_parquet(path: str | Path) -> tuple[pa.Table, Scenario | None]:
    """Read a result table and the scenario stored in its metadata."""
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    text = meta.get(b"uprising.scenario")
    if text is None:
        return table, None
    import tomllib

    return table, Scenario.from_dict(tomllib.loads(text.decode()), source=str(path))
