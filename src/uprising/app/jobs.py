"""Simulation jobs of the explorer: each runs in a thread of a small pool, with its own id, state and results.

A job is a list of *arms* (a scenario and its replicates): one arm for a run, the
baseline and its variants for a comparison, one snapshot run for a lattice
animation. The pool's threads call :func:`uprising.country.simulate.simulate_country`
(its kernel releases the GIL) with a progress callback that counts the job's steps
and raises :class:`Cancelled` once the job is cancelled, so a cancel stops the run
within a step. Jobs share nothing but the pool: a job's scenario, results and files
are its own, so two browser tabs cannot mix their runs.

Each job belongs to a *client* (the page names itself with a random id in the
``X-Uprising-Client`` header; a request without one belongs to the client
``anonymous``). The queue is bounded: at most :data:`MAX_WAITING` jobs queued or
running in all, and :data:`MAX_WAITING_PER_CLIENT` per client; beyond that a submit
raises :class:`QueueFull`. A finished job keeps its results in memory until its client
drops it, or :data:`KEEP_HOURS` after it finished, or when its own client has more than
:data:`KEEP_PER_CLIENT` finished jobs (its oldest go first): another client's jobs
never evict it. A forgotten job leaves a note saying why, so that the page can say
it is gone rather than unknown. Its files stay in ``RESULTS/app/<id>/``.
"""

from __future__ import annotations

import collections
import json
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
#: most jobs queued or running at once, all clients together (2 run, the others wait)
MAX_WAITING = 8
#: most jobs queued or running at once for one client
MAX_WAITING_PER_CLIENT = 4
#: hours a finished job's results are kept in memory after it finished (unless its client drops it first)
KEEP_HOURS = 24.0
#: most finished jobs kept per client (its oldest are dropped beyond this; other clients' jobs never are)
KEEP_PER_CLIENT = 20
#: how many forgotten jobs are remembered, to say why they are gone
GONE_NOTES = 10_000
ANONYMOUS = "anonymous"
UNFINISHED = ("queued", "running")


def duration(seconds: float) -> str:
    """``seconds`` as a short duration for a message: 24 h, 1.5 h, 30 min, 5 s."""
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


#: what a running job says while the numba kernels are compiled in this process (tens of seconds)
COMPILING = "compiling kernels (first run only)"
#: what it says while they are loaded from numba's on-disk cache instead (about a second)
LOADING = "loading compiled kernels (first run only)"


def kernel_phase() -> str | None:
    """What a job starting now will do before its first step (:func:`uprising.kernels.cache.kernel_state`):
    None (kernels ready), :data:`LOADING` (from numba's cache) or :data:`COMPILING` (also when it cannot be
    told: a first run may compile)."""
    from ..kernels.cache import CACHED, READY, kernel_state

    state = kernel_state()
    return None if state == READY else LOADING if state == CACHED else COMPILING


class QueueFull(Exception):
    """A job refused because the queue (all clients', or this client's share of it) is full; one line."""


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
    client: str = ANONYMOUS  # the page (or API user) that started it
    order: int = 0  # its place in the order of submission (the pool runs jobs in this order)
    state: str = "queued"  # queued | running | done | cancelled | failed
    phase: str | None = None  # what a running job is doing before its first step (COMPILING), else None
    levers: dict[str, Any] = field(default_factory=dict)  # the levers as the request gave them
    settings: dict[str, Any] = field(default_factory=dict)  # the run settings used (scale, replicates, seed)
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

    def status(self, queue_position: int | None = None) -> dict[str, Any]:
        """What the API says of a job; ``queue_position``: 1 when it is the next to start, None unless queued."""
        with self.lock:
            out = {"id": self.id, "kind": self.kind, "scenario": self.scenario_id, "state": self.state,
                   "phase": self.phase if self.state == "running" else None,
                   "queue_position": queue_position if self.state == "queued" else None,
                   "done": self.done, "total": self.total, "error": self.error,
                   "arms": [a.name for a in self.arms], "replicates": self.replicates, "seed": self.seed,
                   "scale": self.arms[0].scenario.scale, "city": self.city,
                   "elapsed": round((self.finished or time.time()) - self.created, 2),
                   "started": self.started, "finished": self.finished}
            if self.state == "done":
                out["files"] = dict(self.files)
        return out


class JobManager:
    """Submits jobs to a pool of ``workers`` threads; bounds the queue and keeps each client's jobs.

    ``max_waiting`` and ``max_waiting_per_client`` bound the jobs queued or running (:class:`QueueFull`
    beyond them); a finished job is kept ``keep_hours`` after it finished, unless its client drops it,
    and at most ``keep_per_client`` finished jobs are kept per client.
    """

    def __init__(self, results_dir: Path, workers: int = 2, max_waiting: int = MAX_WAITING,
                 max_waiting_per_client: int = MAX_WAITING_PER_CLIENT, keep_hours: float = KEEP_HOURS,
                 keep_per_client: int = KEEP_PER_CLIENT):
        self.results_dir = Path(results_dir)
        self.pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="uprising-job")
        self.max_waiting = max_waiting
        self.max_waiting_per_client = max_waiting_per_client
        self.keep_hours = keep_hours
        self.keep_per_client = keep_per_client
        self.jobs: dict[str, Job] = {}
        self.gone: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()  # id -> (client, why)
        self.lock = threading.Lock()
        self._submitted = 0

    # ------------------------------------------------------------------ bookkeeping
    def get(self, job_id: str) -> Job | None:
        self.prune()
        with self.lock:
            return self.jobs.get(job_id)

    def gone_reason(self, job_id: str) -> str | None:
        """Why a job that existed is no longer kept, or None if it never existed (or was forgotten long ago)."""
        with self.lock:
            note = self.gone.get(job_id)
        return note[1] if note else None

    def _forget(self, job: Job, why: str) -> None:
        """Drop a job from memory (the lock is held) and leave a note saying why."""
        self.jobs.pop(job.id, None)
        self.gone[job.id] = (job.client, why)
        while len(self.gone) > GONE_NOTES:
            self.gone.popitem(last=False)

    def prune(self, now: float | None = None) -> None:
        """Forget the finished jobs older than ``keep_hours``, and each client's oldest beyond ``keep_per_client``."""
        now = time.time() if now is None else now
        keep = self.keep_hours * 3600.0
        with self.lock:
            finished = sorted((j for j in self.jobs.values() if j.state not in UNFINISHED and j.finished is not None),
                              key=lambda j: j.order)
            for job in finished:
                if now - job.finished > keep:
                    self._forget(job, f"it finished more than {duration(keep)} ago, and finished jobs are kept "
                                      f"{duration(keep)}")
            per_client: dict[str, list[Job]] = {}
            for job in finished:
                if job.id in self.jobs:
                    per_client.setdefault(job.client, []).append(job)
            for jobs in per_client.values():
                for job in jobs[:max(0, len(jobs) - self.keep_per_client)]:
                    self._forget(job, f"its client had more than {self.keep_per_client} finished jobs, and the "
                                      "oldest are dropped")

    def client_jobs(self, client: str) -> tuple[list[Job], list[dict[str, str]]]:
        """A client's jobs, in the order they were submitted, and the notes of its jobs that are gone."""
        self.prune()
        with self.lock:
            jobs = sorted((j for j in self.jobs.values() if j.client == client), key=lambda j: j.order)
            gone = [{"id": i, "reason": why} for i, (owner, why) in self.gone.items() if owner == client]
        return jobs, gone

    def queue_position(self, job: Job) -> int | None:
        """1 for the next queued job to start, 2 for the one after it, ...; None for a job that is not queued."""
        with self.lock:
            if job.state != "queued":
                return None
            return 1 + sum(1 for j in self.jobs.values() if j.state == "queued" and j.order < job.order)

    def status(self, job: Job) -> dict[str, Any]:
        """The job's status with its place in the queue."""
        return job.status(self.queue_position(job))

    def submit(self, kind: str, scenario_id: str, arms: list[Arm], replicates: int, seed: int,
               city: str | None = None, source_path: Path | None = None, client: str = ANONYMOUS,
               levers: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> Job:
        """Queue a job for ``client``; :class:`QueueFull` (one line) when the queue or the client's share is full.
        ``levers`` and ``settings`` (the request's levers and run settings) are recorded next to its files."""
        self.prune()
        job = Job(uuid.uuid4().hex[:12], kind, scenario_id, arms, replicates, seed, city=city, source_path=source_path,
                  client=client, levers=dict(levers or {}), settings=dict(settings or {}))
        ticks = arms[0].scenario.clock.clock().ticks
        job.total = ticks * (1 if kind == "lattice" else replicates * len(arms))
        with self.lock:
            waiting = [j for j in self.jobs.values() if j.state in UNFINISHED]
            own = sum(1 for j in waiting if j.client == client)
            if own >= self.max_waiting_per_client:
                raise QueueFull(f"jobs: you have {own} jobs waiting or running (at most {self.max_waiting_per_client} "
                                "per client); wait for one to finish, or cancel one")
            if len(waiting) >= self.max_waiting:
                raise QueueFull(f"jobs: the queue is full ({len(waiting)} jobs waiting or running, at most "
                                f"{self.max_waiting} jobs at once for everyone); try again when one has finished")
            self._submitted += 1
            job.order = self._submitted
            self.jobs[job.id] = job
        self.pool.submit(self._run, job)
        return job

    def cancel(self, job: Job) -> None:
        job.cancel_event.set()
        with job.lock:
            if job.state == "queued":
                job.state = "cancelled"
                job.finished = time.time()

    def drop(self, job: Job) -> None:
        """Its client drops it: cancelled if unfinished, then forgotten (its files stay on disk)."""
        self.cancel(job)
        with self.lock:
            self._forget(job, "its page dropped it (a page drops a job it no longer shows)")

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
            job.phase = kernel_phase()
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
                job.phase = None

    def _progress(self, job: Job, base: int):
        def callback(done: int, total: int) -> None:
            if job.cancel_event.is_set():
                raise Cancelled(job.id)
            job.phase = None  # a step is done: the kernels are ready
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
        self._write_levers(job, folder)
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
        self._write_levers(job, folder)
        if job.kind == "compare":
            from ..country.compare import compare, markdown, rows_as_dicts

            base = job.arms[0].name
            rows = compare(job.results[base], {a.name: job.results[a.name] for a in job.arms[1:]})
            job.compare_rows = rows
            dicts = rows_as_dicts(rows)
            tmp = folder / "compare.csv.partial"
            pacsv.write_csv(pa.Table.from_pylist(dicts), tmp)
            tmp.replace(folder / "compare.csv")
            (folder / "compare.md").write_text(markdown(rows, scale=job.arms[0].scenario.scale) + "\n",
                                               encoding="utf-8")
            job.files["comparison (CSV)"] = f"app/{job.id}/compare.csv"
            job.files["comparison (Markdown)"] = f"app/{job.id}/compare.md"

    def _write_levers(self, job: Job, folder: Path) -> None:
        """RESULTS/app/<id>/levers.json: what made the job's files (scenario, kind, levers as requested, run
        settings, arms and the scale they ran at), so that a download says how it was made."""
        record = {"job": job.id, "kind": job.kind, "scenario": job.scenario_id,
                  "scenario_file": job.source_path.name if job.source_path is not None else None,
                  "levers": job.levers, "run": job.settings, "city": job.city,
                  "arms": [{"name": a.name, "description": a.description, "scale": a.scenario.scale}
                           for a in job.arms],
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(job.created))}
        tmp = folder / "levers.json.partial"
        tmp.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(folder / "levers.json")
        job.files["levers and settings (JSON)"] = f"app/{job.id}/levers.json"
