"""Simulation jobs of the explorer: each runs in a thread of a small pool, with its own id, state and results.

A job is a list of *arms* (a scenario and its replicates): one arm for a run, the
baseline and its variants for a comparison, one snapshot run for a lattice
animation. The pool's threads call :func:`uprising.country.simulate.simulate_country`
(its kernel releases the GIL) with a progress callback that counts the job's steps
and raises :class:`Cancelled` once the job is cancelled, so a cancel stops the run
within a step. Jobs share nothing but the pool: a job's scenario, results and files
are its own, so two browser tabs cannot mix their runs. Finished jobs keep their
results in memory (the oldest beyond ``keep`` are forgotten; their files stay in
``RESULTS/app/<id>/``).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..country.scenario import CountryScenario
from ..country.simulate import CountryResult, simulate_country
from ..scenario import ScenarioError
from ..simulate import write_parquet

log = logging.getLogger("uprising.app")

#: most bytes of lattice frames a lattice job keeps (the snapshot interval is widened to fit)
LATTICE_BYTES = 8_000_000
LATTICE_FRAMES = 240


class Cancelled(Exception):
    """Raised inside a run by its progress callback when its job was cancelled."""


@dataclass
class Arm:
    name: str
    scenario: CountryScenario
    description: str = ""


@dataclass
class Job:
    """One request's runs: its own state, progress, results and files."""

    id: str
    kind: str  # run | compare | lattice
    scenario_id: str
    arms: list[Arm]
    replicates: int
    seed: int
    city: str | None = None  # lattice jobs
    state: str = "queued"  # queued | running | done | cancelled | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    results: dict[str, list[CountryResult]] = field(default_factory=dict)
    lattice: dict[str, Any] | None = None
    lattice_bytes: bytes | None = None  # the frames, frame after frame, row-major uint8 cell kinds
    compare_rows: list | None = None  # uprising.country.compare.Comparison rows of a comparison
    files: dict[str, str] = field(default_factory=dict)  # label -> path relative to the results folder
    source_path: Path | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def finished_ok(self) -> bool:
        return self.state == "done"

    def status(self) -> dict[str, Any]:
        with self.lock:
            out = {"id": self.id, "kind": self.kind, "scenario": self.scenario_id, "state": self.state,
                   "done": self.done, "total": self.total, "error": self.error,
                   "arms": [a.name for a in self.arms], "replicates": self.replicates, "seed": self.seed,
                   "scale": self.arms[0].scenario.scale, "city": self.city,
                   "elapsed": round((self.finished or time.time()) - self.created, 2),
                   "started": self.started, "finished": self.finished}
            if self.state == "done":
                out["files"] = dict(self.files)
        return out


class JobManager:
    """Submits jobs to a pool of ``workers`` threads and keeps the last ``keep`` of them."""

    def __init__(self, results_dir: Path, workers: int = 2, keep: int = 20):
        self.results_dir = Path(results_dir)
        self.pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="uprising-job")
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ bookkeeping
    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def _remember(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.id] = job
            finished = [j for j in self.jobs.values() if j.state not in ("queued", "running")]
            excess = len(self.jobs) - self.keep
            for old in sorted(finished, key=lambda j: j.created)[:max(0, excess)]:
                del self.jobs[old.id]

    def submit(self, kind: str, scenario_id: str, arms: list[Arm], replicates: int, seed: int,
               city: str | None = None, source_path: Path | None = None) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, scenario_id, arms, replicates, seed, city=city, source_path=source_path)
        ticks = arms[0].scenario.clock.clock().ticks
        job.total = ticks * (1 if kind == "lattice" else replicates * len(arms))
        self._remember(job)
        self.pool.submit(self._run, job)
        return job

    def cancel(self, job: Job) -> None:
        job.cancel_event.set()
        with job.lock:
            if job.state == "queued":
                job.state = "cancelled"
                job.finished = time.time()

    def shutdown(self) -> None:
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            job.cancel_event.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ running
    def _run(self, job: Job) -> None:
        with job.lock:
            if job.cancel_event.is_set():
                job.state = "cancelled"
                job.finished = time.time()
                return
            job.state = "running"
            job.started = time.time()
        try:
            if job.kind == "lattice":
                self._run_lattice(job)
            else:
                self._run_arms(job)
                self._write(job)
        except Cancelled:
            with job.lock:
                job.state = "cancelled"
        except (ScenarioError, ValueError) as exc:
            with job.lock:
                job.state, job.error = "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - reported in one line; the traceback goes to the server's log
            log.exception("job %s failed", job.id)
            with job.lock:
                job.state, job.error = "failed", f"internal error ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''}"
        else:
            with job.lock:
                job.state = "done"
                job.done = job.total
        finally:
            with job.lock:
                job.finished = time.time()

    def _progress(self, job: Job, base: int):
        def callback(done: int, total: int) -> None:
            if job.cancel_event.is_set():
                raise Cancelled(job.id)
            job.done = base + done

        return callback

    def _run_arms(self, job: Job) -> None:
        base = 0
        for arm in job.arms:
            runs = []
            ticks = arm.scenario.clock.clock().ticks
            for r in range(job.replicates):
                if job.cancel_event.is_set():
                    raise Cancelled(job.id)
                runs.append(simulate_country(arm.scenario, job.seed, r, progress=self._progress(job, base),
                                             progress_every=1))
                base += ticks
            job.results[arm.name] = runs

    def _run_lattice(self, job: Job) -> None:
        scenario = job.arms[0].scenario
        names = [c.name for c in scenario.cities]
        i = names.index(job.city)
        side = scenario.lattice_sizes()[i][0]
        ticks = scenario.clock.clock().ticks
        every = max(1, -(-ticks // LATTICE_FRAMES))
        while (ticks // every + 1) * side * side > LATTICE_BYTES and every < ticks:
            every += 1
        result = simulate_country(scenario, job.seed, 0, progress=self._progress(job, 0), progress_every=1,
                                  snapshot_every=every, snapshot_cities=[job.city])
        frames = result.snapshots[job.city]
        steps = sorted(frames)
        clock = result.clock
        unrest = (result.column("active")[i] + result.column("violent")[i]).astype(float)
        job.lattice = {"city": job.city, "width": int(frames[steps[0]].shape[1]), "height": int(frames[steps[0]].shape[0]),
                       "steps": steps, "every": every,
                       "times": [clock.time_of(k).strftime("%Y-%m-%dT%H:%M") for k in steps],
                       "unrest_per_1000": [round(float(unrest[k]) * 1000.0 / float(result.citizens[i]), 3)
                                           for k in steps],
                       "kinds": {"0": "empty", "1": "quiet", "2": "active", "3": "jailed", "4": "police",
                                 "5": "violent"}}
        job.lattice_bytes = np.stack([frames[k] for k in steps]).astype(np.uint8).tobytes()
        folder = self.results_dir / "app" / job.id
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "lattice.npz", steps=np.array(steps), kinds=np.stack([frames[k] for k in steps]))
        job.files["lattice (npz)"] = f"app/{job.id}/lattice.npz"

    def _write(self, job: Job) -> None:
        """RESULTS/app/<id>/runs.parquet and runs.csv (a comparison's rows carry their arm in ``arm``)."""
        folder = self.results_dir / "app" / job.id
        tables = []
        for arm in job.arms:
            for r in job.results[arm.name]:
                t = r.table
                meta = t.schema.metadata
                t = t.append_column("arm", pa.array([arm.name] * t.num_rows, pa.string()))
                tables.append(t.replace_schema_metadata(meta))
        table = pa.concat_tables(tables)
        # the file's metadata carries the first arm's scenario (the baseline), as uprising run's tables do
        table = table.replace_schema_metadata(tables[0].schema.metadata)
        write_parquet(table, folder / "runs.parquet")
        tmp = folder / "runs.csv.partial"
        pacsv.write_csv(table, tmp)
        tmp.replace(folder / "runs.csv")
        job.files["runs (CSV)"] = f"app/{job.id}/runs.csv"
        job.files["runs (Parquet)"] = f"app/{job.id}/runs.parquet"
        if job.kind == "compare":
            from ..country.compare import compare, markdown, rows_as_dicts

            base = job.arms[0].name
            rows = compare(job.results[base], {a.name: job.results[a.name] for a in job.arms[1:]})
            job.compare_rows = rows
            dicts = rows_as_dicts(rows)
            tmp = folder / "compare.csv.partial"
            pacsv.write_csv(pa.Table.from_pylist(dicts), tmp)
            tmp.replace(folder / "compare.csv")
            (folder / "compare.md").write_text(markdown(rows) + "\n", encoding="utf-8")
            job.files["comparison (CSV)"] = f"app/{job.id}/compare.csv"
            job.files["comparison (Markdown)"] = f"app/{job.id}/compare.md"
