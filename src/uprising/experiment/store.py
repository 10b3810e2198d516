"""The results store: one folder of Parquet and JSON files per experiment, indexed by DuckDB.

Layout under the store's root::

    runs/<run_id>.parquet       the tidy time series of a run (Result.table, run_id replaced by the
                                store's, plus the columns `experiment` and the varied parameters)
    outcomes/<run_id>.parquet   one row: run_id, experiment, scenario_hash, replicate, seed, root_seed,
                                point_index, steps, citizens, each varied parameter, each outcome,
                                wall_seconds, worker, finished_at, status = "ok"
    failures/<run_id>.json      a run that raised: the error, its traceback, the parameters
    experiments/<name>.json     the plan of each experiment run into this store (its run ids)
    catalog.duckdb              DuckDB views over the files (rebuilt from them at any time)
    compacted/<experiment>/     finished runs packed into one Parquet dataset per experiment: parts
                                outcomes-<token>.parquet and series-<token>.parquet of up to 2,000 runs
                                (:meth:`ResultStore.compact`; a store of 10^5 single files is slow to query)
    quarantine/runs|outcomes/   files found unreadable (truncated, not Parquet), moved aside, never deleted
    verified.txt                the files already found readable (name, size, mtime), so each is checked once

The files are the truth. Each is written under a temporary name ending in
``.partial`` (``<name>.<host>.<pid>.<token>.partial``, unique per writer, so two
processes that run the same run never write into one file) and then renamed
with :func:`os.replace`, which is atomic: a process killed mid-write leaves at
most a ``.partial`` file, which nothing reads and :meth:`ResultStore.clean_partials`
removes. A run's series is written first and its outcomes row last: the
outcomes row is the completion marker (:meth:`ResultStore.has`).

A run's varied parameters appear as columns under their own names (dotted
names for schedule keys: quote them in SQL, ``"legitimacy_schedule.value"``).
In the series, a parameter whose name is already a series column keeps the
series column: ``legitimacy`` there is the value in effect at each step.

A file that cannot be read (a disk filled up, a copy cut short, a file written by
hand) would otherwise break every query, since each view reads every file:
:meth:`ResultStore.verify` checks each file once (its Parquet header, footer and
metadata), moves an unreadable one to ``quarantine/`` and, where it was a series,
moves its run's outcomes row there too, so that the run counts as not done and the
next resume runs it again. The catalog verifies before it builds its views.

Crash safety is against a killed process (``kill -9``, a dead worker, Ctrl-C);
pass ``fsync=True`` to also flush every file to disk before it is renamed
(against power loss, at some cost per file).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..kernels import codes
from ..simulate import Result
from .kinds import COUNTRY, citizens_of, kind_of, replicate_of, scenario_from_text, scenario_text

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from .spec import Experiment

#: Columns of an outcomes row that describe how and where it ran, not what it computed:
#: they differ from one execution to another and are left out of reproducibility checks.
PROVENANCE = ("wall_seconds", "worker", "finished_at")
_HOST = socket.gethostname()
#: columns a compacted outcomes part adds to each row, for what a single file keeps in its metadata
_SCENARIO = "_scenario"
_OUTCOME_NAMES = "_outcome_names"
_PRIVATE = (_SCENARIO, _OUTCOME_NAMES)
#: runs per compacted part, and the number of single outcomes files at which a finished sweep compacts them
PART_RUNS = 2000
COMPACT_AT = 2000
#: run ids of each compacted outcomes part read so far in this process: path -> (mtime_ns, size, ids)
_PART_IDS: dict[str, tuple[int, int, list[str]]] = {}


@dataclass(frozen=True)
class Quarantined:
    """A file moved out of the store because it could not be read."""

    path: Path  # where it was
    moved_to: Path  # where it is now, under quarantine/
    reason: str  # one line: why it could not be read
    run_id: str  # the run it belonged to (that run is not done any more)

    def line(self) -> str:
        return f"{self.path}: unreadable ({self.reason}); moved to {self.moved_to}; run {self.run_id} will be redone"


class StoreError(ValueError):
    """A bad request to the store (unknown run id, bad SQL); ``str()`` is one line."""


def worker_name() -> str:
    return f"{_HOST}:{os.getpid()}"


def _partial_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.partial")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf/nan; DuckDB refuses them
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def _column(value: Any) -> pa.Array:
    """A one-row column with a stable type for a parameter or outcome value."""
    if value is None:
        return pa.array([None], pa.null())
    if isinstance(value, bool):
        return pa.array([value], pa.bool_())
    if isinstance(value, (int, np.integer)):
        return pa.array([int(value)], pa.int64())
    if isinstance(value, (float, np.floating)):
        return pa.array([float(value)], pa.float64())
    return pa.array([str(value)], pa.string())


class ResultStore:
    """A folder of runs. ``ResultStore(root)`` creates the folders if needed.

    Writing (used by the workers): :meth:`write_run`, :meth:`write_failure`.
    Reading: :meth:`has`, :meth:`completed`, :meth:`failed`, :meth:`outcome_row`,
    :meth:`failure`, :meth:`result` (a run's :class:`~uprising.simulate.Result`,
    rebuilt from its series file), :meth:`outcomes_for` and
    :meth:`outcome_matrix` (an experiment's outcomes in design order, for
    SALib and ABC), :meth:`query` (SQL over the views ``outcomes``, ``series``,
    ``failures`` and ``runs``), :meth:`export`.
    """

    def __init__(self, root: str | Path, *, fsync: bool = False, create: bool = True):
        self.root = Path(root).resolve()
        self.fsync = fsync
        self.runs_dir = self.root / "runs"
        self.outcomes_dir = self.root / "outcomes"
        self.failures_dir = self.root / "failures"
        self.experiments_dir = self.root / "experiments"
        self.quarantine_dir = self.root / "quarantine"
        self.compacted_dir = self.root / "compacted"
        #: what :meth:`verify` moved aside through this object (the catalog verifies before each query)
        self.quarantined: list[Quarantined] = []
        if create:
            for d in (self.runs_dir, self.outcomes_dir, self.failures_dir, self.experiments_dir):
                d.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    @staticmethod
    def is_store(path: str | Path) -> bool:
        """Whether ``path`` holds a store (its outcomes folder)."""
        return (Path(path) / "outcomes").is_dir()

    # ---------------------------------------------------------------- paths
    def series_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.parquet"

    def outcomes_path(self, run_id: str) -> Path:
        return self.outcomes_dir / f"{run_id}.parquet"

    def failure_path(self, run_id: str) -> Path:
        return self.failures_dir / f"{run_id}.json"

    # ---------------------------------------------------------------- atomic writes
    def _atomic(self, path: Path, write: Callable[[Path], None]) -> Path:
        tmp = _partial_name(path)
        try:
            write(tmp)
            if self.fsync:
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return path

    def _write_parquet(self, path: Path, table: pa.Table) -> Path:
        """Write ``table`` as Parquet, atomically: encoded in memory, then one write of the bytes (going
        through pyarrow's file system layer costs more per file than encoding a run's small tables)."""
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        data = sink.getvalue()

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                fh.write(data)

        return self._atomic(path, write)

    def _write_json(self, path: Path, data: dict[str, Any]) -> Path:
        text = json.dumps(_jsonable(data), indent=1, allow_nan=False)
        return self._atomic(path, lambda p: p.write_text(text, encoding="utf-8"))

    def clean_partials(self) -> int:
        """Remove ``.partial`` files left by writers that are gone; returns how many.

        A partial file of this host whose process no longer exists is removed at
        once; one from another host (a Dask worker elsewhere) once it is an hour old.
        """
        removed = 0
        now = time.time()
        for folder in (self.runs_dir, self.outcomes_dir, self.failures_dir, self.experiments_dir, self.root):
            if not folder.is_dir():
                continue
            for path in folder.glob("*.partial"):
                parts = path.name.split(".")
                stale = False
                try:
                    host, pid = parts[-4], int(parts[-3])
                except (IndexError, ValueError):
                    host, pid = "", -1
                if host == _HOST and pid > 0:
                    stale = not _alive(pid)
                if not stale:
                    with contextlib.suppress(FileNotFoundError):
                        stale = now - path.stat().st_mtime > 3600
                if stale:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed += 1
        return removed

    # ---------------------------------------------------------------- unreadable files
    def verify(self) -> list[Quarantined]:
        """Check every Parquet file of ``runs/`` and ``outcomes/`` not checked before; move the unreadable
        ones to ``quarantine/`` (never deleted) and return them (also added to :attr:`quarantined`).

        A file is checked once: its name, size and modification time go to ``verified.txt`` when it reads,
        so a store of 10^5 runs pays for the check of its new files only. A quarantined series takes its
        run's outcomes row with it, so that the run counts as not done and the next resume redoes it.
        """
        seen = self._verified()
        moved: list[Quarantined] = []
        fresh: list[str] = []
        part_dirs = [Path(e.path) for e in os.scandir(self.compacted_dir) if e.is_dir()] \
            if self.compacted_dir.is_dir() else []
        for folder in (self.outcomes_dir, self.runs_dir, *part_dirs):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if not entry.name.endswith(".parquet"):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                key = f"{folder.name}/{entry.name} {st.st_size} {st.st_mtime_ns}"
                if key in seen:
                    continue
                reason = parquet_problem(Path(entry.path))
                if reason is None:
                    fresh.append(key)
                    continue
                run_id = entry.name[:-8]
                if folder in part_dirs:  # a whole part: its runs are not done any more
                    partner = Path(entry.path).with_name(entry.name.replace("series-", "outcomes-", 1)
                                                         if entry.name.startswith("series-") else
                                                         entry.name.replace("outcomes-", "series-", 1))
                    moved.append(self._quarantine(Path(entry.path), reason, f"(the part {entry.name})"))
                    if partner.is_file():
                        moved.append(self._quarantine(partner, "the other half of an unreadable part",
                                                      f"(the part {partner.name})"))
                    continue
                moved.append(self._quarantine(Path(entry.path), reason, run_id))
                if folder == self.runs_dir and self.outcomes_path(run_id).is_file():
                    moved.append(self._quarantine(self.outcomes_path(run_id), "its run's series was unreadable",
                                                  run_id))
        if fresh:
            with open(self.root / "verified.txt", "a", encoding="utf-8") as fh:
                fh.write("".join(k + "\n" for k in fresh))
        self.quarantined.extend(moved)
        self._clean_packed_leftovers()
        return moved

    def _clean_packed_leftovers(self) -> None:
        """Remove single files of runs that a compaction cut short had already packed (older than their part)."""
        packed = self._compacted()
        if not packed or not self.outcomes_dir.is_dir():
            return
        for entry in os.scandir(self.outcomes_dir):
            rid = entry.name[:-8]
            if entry.name.endswith(".parquet") and rid in packed:
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime_ns <= packed[rid].stat().st_mtime_ns:
                        self._drop_loose(rid, entry.stat().st_mtime_ns)

    def _verified(self) -> set[str]:
        path = self.root / "verified.txt"
        if not path.is_file():
            return set()
        return set(path.read_text(encoding="utf-8", errors="replace").splitlines())

    def _quarantine(self, path: Path, reason: str, run_id: str) -> Quarantined:
        target_dir = self.quarantine_dir / path.parent.name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        n = 1
        while target.exists():
            target = target_dir / f"{path.name}.{n}"
            n += 1
        os.replace(path, target)
        _PART_IDS.pop(str(path), None)
        return Quarantined(path, target, reason, run_id)

    # ---------------------------------------------------------------- compaction
    def compact(self, part_runs: int = PART_RUNS) -> int:
        """Pack the runs stored as single files into one Parquet dataset per experiment,
        ``compacted/<experiment>/``, in parts of at most ``part_runs`` runs; returns how many runs it packed.

        A query reads every file of a view, and 10^5 small files cost far more to open than one file of
        10^5 rows. Each part's series file is written first, then its outcomes file (the part's
        completion marker), both atomically; only then are the runs' single files removed. A compaction
        cut short leaves runs both in a part and as files: :meth:`verify` removes such leftovers, and until
        then the views keep one row per run. Unreadable files are quarantined first and never packed.
        """
        self.verify()
        packed_before = self._compacted()
        loose = sorted(e.name[:-8] for e in os.scandir(self.outcomes_dir) if e.name.endswith(".parquet")) \
            if self.outcomes_dir.is_dir() else []
        by_experiment: dict[str, list[tuple[str, pa.Table, int]]] = {}
        for rid in loose:
            path = self.outcomes_path(rid)
            try:
                mtime = path.stat().st_mtime_ns
                row = pq.read_table(path)
            except FileNotFoundError:
                continue
            meta = row.schema.metadata or {}
            row = row.replace_schema_metadata(None)
            row = row.append_column(_SCENARIO, pa.array([meta.get(b"uprising.scenario", b"").decode()]))
            row = row.append_column(_OUTCOME_NAMES, pa.array([meta.get(b"uprising.outcomes", b"[]").decode()]))
            experiment = str(row.column("experiment")[0].as_py()) if "experiment" in row.column_names else ""
            by_experiment.setdefault(experiment, []).append((rid, row, mtime))
        packed = 0
        for experiment, items in by_experiment.items():
            folder = self.compacted_dir / (re.sub(r"[^A-Za-z0-9._-]", "_", experiment) or "_")
            folder.mkdir(parents=True, exist_ok=True)
            for first in range(0, len(items), part_runs):
                chunk = items[first:first + part_runs]
                token = f"{time.time_ns():x}-{secrets.token_hex(4)}"
                series = []
                for rid, _, _ in chunk:
                    if self.series_path(rid).is_file():
                        series.append(pq.read_table(self.series_path(rid)).replace_schema_metadata(None))
                    elif rid in packed_before:  # outcomes added later to a packed run: its series moves along
                        series.append(self.series(rid).replace_schema_metadata(None))
                if series:
                    self._write_parquet(folder / f"series-{token}.parquet",
                                        pa.concat_tables(series, promote_options="default"))
                self._write_parquet(folder / f"outcomes-{token}.parquet",
                                    pa.concat_tables([row for _, row, _ in chunk], promote_options="default"))
                repacked: dict[Path, set[str]] = {}
                for rid, _, mtime in chunk:
                    if rid in packed_before:
                        repacked.setdefault(packed_before[rid], set()).add(rid)
                for part, rids in repacked.items():
                    self._remove_from_part(part, rids)
                for rid, _, mtime in chunk:
                    self._drop_loose(rid, mtime)
                packed += len(chunk)
        return packed

    def _remove_from_part(self, part: Path, run_ids: set[str]) -> None:
        """Rewrite a compacted part (outcomes and series) without ``run_ids``; remove it when empty."""
        drop = pa.array(sorted(run_ids), pa.string())
        for path in (_series_part(part), part):
            if not path.is_file():
                continue
            rest = pq.read_table(path)
            rest = rest.filter(pc.invert(pc.is_in(rest.column("run_id"), value_set=drop)))
            if rest.num_rows:
                self._write_parquet(path, rest)
            else:
                path.unlink()
            _PART_IDS.pop(str(path), None)

    def files_of(self, run_id: str) -> tuple[Path, Path]:
        """The files that hold a completed run's series and outcomes row (its own, or its compacted part's)."""
        if self.outcomes_path(run_id).is_file():
            part = self._compacted().get(run_id)
            series = self.series_path(run_id)
            return (series if series.is_file() or part is None else _series_part(part)), self.outcomes_path(run_id)
        part = self._compacted()[run_id]
        return _series_part(part), part

    def loose_runs(self) -> int:
        """How many completed runs are stored as single files (not yet compacted)."""
        if not self.outcomes_dir.is_dir():
            return 0
        return sum(1 for e in os.scandir(self.outcomes_dir) if e.name.endswith(".parquet"))

    def _drop_loose(self, run_id: str, packed_mtime: int) -> None:
        """Remove a packed run's single files, unless its outcomes file changed since it was packed."""
        path = self.outcomes_path(run_id)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime_ns != packed_mtime:
                return  # rewritten meanwhile (outcomes added): the newer row stays a file and wins
            self.series_path(run_id).unlink(missing_ok=True)
            path.unlink()

    def _compacted_parts(self) -> list[Path]:
        """The compacted outcomes parts (each with its series part of the same token)."""
        if not self.compacted_dir.is_dir():
            return []
        # sorted by token (the time of packing, hex digits of fixed width), so that a newer part wins below
        return sorted((Path(e.path) / f.name for e in os.scandir(self.compacted_dir) if e.is_dir()
                       for f in os.scandir(e.path) if f.name.startswith("outcomes-") and f.name.endswith(".parquet")),
                      key=lambda p: p.name)

    def _compacted(self) -> dict[str, Path]:
        """Run id -> the compacted outcomes part that holds it (the ids of each part read once a process)."""
        out: dict[str, Path] = {}
        for part in self._compacted_parts():
            try:
                st = part.stat()
            except FileNotFoundError:
                continue
            cached = _PART_IDS.get(str(part))
            if cached is None or cached[:2] != (st.st_mtime_ns, st.st_size):
                ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_pylist()
                cached = _PART_IDS[str(part)] = (st.st_mtime_ns, st.st_size, ids)
            for rid in cached[2]:
                out[rid] = part
        return out

    def _compacted_row(self, run_id: str) -> dict[str, Any]:
        part = self._compacted()[run_id]
        return pq.read_table(part, filters=[("run_id", "=", run_id)]).to_pylist()[0]

    def _expand(self, run_id: str) -> None:
        """Take a run out of its compacted part and write it back as single files (to change its row)."""
        part = self._compacted()[run_id]
        row = self._compacted_row(run_id)
        series = self.series(run_id)
        self._write_parquet(self.series_path(run_id), series)
        meta = {b"uprising.scenario": row[_SCENARIO].encode(), b"uprising.outcomes": row[_OUTCOME_NAMES].encode()}
        table = pa.Table.from_pylist([{k: v for k, v in row.items() if k not in _PRIVATE}])
        self._write_parquet(self.outcomes_path(run_id), table.replace_schema_metadata(meta))
        self._remove_from_part(part, {run_id})

    # ---------------------------------------------------------------- state of runs
    def has(self, run_id: str) -> bool:
        """Whether the run completed (its outcomes row exists, as a file or in a compacted part)."""
        return self.outcomes_path(run_id).is_file() or run_id in self._compacted()

    def completed(self) -> set[str]:
        """Ids of the completed runs (one directory listing, and the run ids of the compacted parts)."""
        loose = {e.name[:-8] for e in os.scandir(self.outcomes_dir) if e.name.endswith(".parquet")} \
            if self.outcomes_dir.is_dir() else set()
        return loose | set(self._compacted())

    def failed(self) -> set[str]:
        """Ids of runs whose last attempt failed and that have not completed since."""
        if not self.failures_dir.is_dir():
            return set()
        return {e.name[:-5] for e in os.scandir(self.failures_dir) if e.name.endswith(".json")} - self.completed()

    # ---------------------------------------------------------------- writing
    def write_run(self, run_id: str, result: Result, values: dict[str, float], *, experiment: str,
                  point_index: int, params: dict[str, Any], root_seed: int = 0, wall_seconds: float = 0.0,
                  write_series: bool = True) -> Path:
        """Write a completed run: its series, then its outcomes row (the completion marker).

        ``write_series=False`` rewrites the outcomes row only (outcomes added to a stored run).
        """
        if write_series:
            self._write_series(run_id, result, experiment, params)
        cols: dict[str, pa.Array] = {
            "run_id": pa.array([run_id], pa.string()),
            "experiment": pa.array([experiment], pa.string()),
            "scenario_hash": pa.array([result.scenario.hash()], pa.string()),
            "replicate": pa.array([replicate_of(result)], pa.int64()),
            "seed": pa.array([result.seed], pa.int64()),
            "root_seed": pa.array([root_seed], pa.int64()),
            "point_index": pa.array([point_index], pa.int64()),
            "steps": pa.array([result.steps], pa.int64()),
            "citizens": pa.array([citizens_of(result)], pa.int64()),
        }
        for name, value in params.items():
            cols[name] = _column(value)
        for name, value in values.items():
            cols[name] = pa.array([float(value)], pa.float64())
        cols["wall_seconds"] = pa.array([float(wall_seconds)], pa.float64())
        cols["worker"] = pa.array([worker_name()], pa.string())
        cols["finished_at"] = pa.array([time.time()], pa.float64())
        cols["status"] = pa.array(["ok"], pa.string())
        meta = {b"uprising.scenario": scenario_text(result.scenario).encode(),
                b"uprising.outcomes": json.dumps(list(values)).encode()}
        row = pa.table(cols).replace_schema_metadata(meta)
        path = self._write_parquet(self.outcomes_path(run_id), row)
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(run_id).unlink()  # an earlier attempt failed; this one did not
        return path

    def _write_series(self, run_id: str, result: Result, experiment: str, params: dict[str, Any]) -> Path:
        series = result.table
        meta = dict(series.schema.metadata or {})
        meta[b"uprising.run_id"] = run_id.encode()
        n = series.num_rows
        series = series.set_column(series.column_names.index("run_id"), "run_id", pa.array([run_id] * n, pa.string()))
        series = series.append_column("experiment", pa.array([experiment] * n, pa.string()))
        for name, value in params.items():
            if name not in series.column_names:
                col = _column(value)
                series = series.append_column(name, pa.repeat(col[0], n) if n else col.slice(0, 0))
        series = series.replace_schema_metadata(meta)
        return self._write_parquet(self.series_path(run_id), series)

    def stored_outcomes(self, run_id: str) -> dict[str, float]:
        """The outcomes recorded in a completed run's row, by name."""
        if not self.outcomes_path(run_id).is_file() and run_id in self._compacted():
            row = self._compacted_row(run_id)
            names = json.loads(row[_OUTCOME_NAMES])
            return {n: row[n] for n in names if n in row}
        table = pq.read_table(self.outcomes_path(run_id))
        names = json.loads((table.schema.metadata or {}).get(b"uprising.outcomes", b"[]"))
        row = table.to_pylist()[0]
        return {n: row[n] for n in names if n in row}

    def missing_outcomes(self, run_ids: list[str], names: list[str]) -> set[str]:
        """Those of the completed ``run_ids`` whose rows lack one of the outcomes ``names``."""
        done = self.completed()
        ids = [r for r in run_ids if r in done]
        if not ids or not names:
            return set()
        with self.catalog() as con:
            have = {row[0] for row in con.execute("DESCRIBE outcomes").fetchall()}
            if any(n not in have for n in names):
                return set(ids)
            lacking = " OR ".join(f"{_quote(n)} IS NULL" for n in names)
            rows = con.execute(f"SELECT run_id FROM outcomes WHERE ({lacking}) AND run_id IN "
                               "(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
        return {r[0] for r in rows}

    def forget_outcomes(self, run_id: str) -> None:
        """Remove a run's outcomes row (the run is then not complete; its series stays)."""
        if run_id in self._compacted():
            self._expand(run_id)
        with contextlib.suppress(FileNotFoundError):
            self.outcomes_path(run_id).unlink()

    def write_failure(self, run_id: str, record: dict[str, Any]) -> Path:
        """Record a failed run (``record`` holds at least ``error`` and ``traceback``)."""
        data = {"run_id": run_id, "status": "failed", "worker": worker_name(), "finished_at": time.time(), **record}
        return self._write_json(self.failure_path(run_id), data)

    def write_manifest(self, experiment: "Experiment") -> Path:
        """Record the experiment's plan (its run ids) under ``experiments/NAME.json``."""
        data = {"name": experiment.name, "description": experiment.description, "source": experiment.source,
                "base": str(experiment.base_path or experiment.base), "kind": experiment.kind,
                "steps": experiment.steps_per_run,
                "replicates": experiment.replicates, "seed": experiment.seed,
                "design": experiment.design.model_dump(), "parameters": experiment.parameters,
                "outcomes": list(experiment.outcomes), "points": len(experiment.points()),
                "run_ids": experiment.run_ids(), "written_at": time.time()}
        return self._write_json(self.experiments_dir / f"{experiment.name}.json", data)

    def manifests(self) -> list[dict[str, Any]]:
        """The plans of the experiments run into this store."""
        out = []
        for path in sorted(self.experiments_dir.glob("*.json")) if self.experiments_dir.is_dir() else []:
            with contextlib.suppress(ValueError, OSError):
                out.append(json.loads(path.read_text(encoding="utf-8")))
        return out

    # ---------------------------------------------------------------- reading one run
    def resolve_id(self, prefix: str) -> str:
        """The run id that ``prefix`` starts (a full id or a unique prefix); StoreError otherwise."""
        ids = sorted(self.completed() | self.failed())
        if prefix in ids:
            return prefix
        hits = [i for i in ids if i.startswith(prefix)] if prefix else []
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise StoreError(f"{self.root}: no run {prefix!r} ({len(ids)} runs here; see `uprising runs ls`)")
        raise StoreError(f"{self.root}: {prefix!r} matches {len(hits)} runs ({', '.join(hits[:4])}, ...); "
                         "give more of the id")

    def outcome_row(self, run_id: str) -> dict[str, Any]:
        """The outcomes row of a completed run, as a dict."""
        path = self.outcomes_path(run_id)
        if not path.is_file():
            if run_id in self._compacted():
                return {k: v for k, v in self._compacted_row(run_id).items() if k not in _PRIVATE}
            raise StoreError(f"{self.root}: run {run_id!r} has not completed")
        return pq.read_table(path).to_pylist()[0]

    def failure(self, run_id: str) -> dict[str, Any]:
        """The failure record of a run."""
        path = self.failure_path(run_id)
        if not path.is_file():
            raise StoreError(f"{self.root}: run {run_id!r} has no failure record")
        return json.loads(path.read_text(encoding="utf-8"))

    def scenario(self, run_id: str) -> Any:
        """The scenario a completed run ran (from its outcomes file's metadata, or its compacted row): a
        :class:`Scenario`, or a country scenario (:mod:`uprising.experiment.kinds`)."""
        return scenario_from_text(self._scenario_toml(run_id), source=run_id)

    def _scenario_toml(self, run_id: str) -> str:
        path = self.outcomes_path(run_id)
        if not path.is_file() and run_id in self._compacted():
            return self._compacted_row(run_id)[_SCENARIO]
        meta = pq.read_schema(path).metadata or {}
        return meta[b"uprising.scenario"].decode()

    def series(self, run_id: str) -> pa.Table:
        """The stored time series of a run."""
        path = self.series_path(run_id)
        if not path.is_file():
            part = self._compacted().get(run_id)
            if part is None:
                raise StoreError(f"{self.root}: run {run_id!r} has no series file")
            table = pq.read_table(_series_part(part), filters=[("run_id", "=", run_id)])
            keep = [c for c in table.column_names if table.column(c).null_count < table.num_rows]
            meta = {b"uprising.scenario": self._scenario_toml(run_id).encode(), b"uprising.run_id": run_id.encode()}
            return table.select(keep).replace_schema_metadata(meta)
        return pq.read_table(path)

    def result(self, run_id: str) -> Any:
        """The run's :class:`~uprising.simulate.Result` (or :class:`~uprising.country.simulate.CountryResult`),
        rebuilt from its series file (no snapshots, no timing).

        ``evaluate(store.result(id), names)`` recomputes outcomes without simulating again.
        """
        table = self.series(run_id)
        scenario = self.scenario(run_id)
        if kind_of(scenario) == COUNTRY:
            from ..country.simulate import country_results_from_table

            return country_results_from_table(table, scenario, source=run_id)[0]
        counts = np.column_stack([table.column(c).to_numpy() for c in codes.OUT_NAMES]).astype(np.int64)
        rep = int(table.column("replicate")[0].as_py())
        return Result(scenario, int(table.column("seed")[0].as_py()), None if rep < 0 else rep, counts,
                      table.column("legitimacy").to_numpy(), int(table.column("citizens")[0].as_py()))

    # ---------------------------------------------------------------- the catalog
    def _create_views(self, con: "duckdb.DuckDBPyConnection") -> None:
        out_glob = _sql_string(str(self.outcomes_dir / "*.parquet"))
        run_glob = _sql_string(str(self.runs_dir / "*.parquet"))
        fail_glob = _sql_string(str(self.failures_dir / "*.json"))
        has = (lambda d, pat: d.is_dir() and any(d.glob(pat)))
        parts = sorted(self._compacted_parts())
        sources = []
        if has(self.outcomes_dir, "*.parquet"):
            sources.append(f"SELECT * FROM read_parquet({out_glob}, union_by_name = true)")
        if parts:
            files = ", ".join(_sql_string(str(p)) for p in parts)
            sources.append(f"SELECT * EXCLUDE ({_SCENARIO}, {_OUTCOME_NAMES}) FROM read_parquet([{files}], "
                           "union_by_name = true)")
        if len(sources) == 2:
            # a run in a part and as a file: a compaction cut short, or outcomes added later: the newest row wins
            con.execute(f"CREATE OR REPLACE VIEW outcomes AS SELECT * FROM ({sources[0]} UNION ALL BY NAME "
                        f"{sources[1]}) QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY finished_at DESC) = 1")
        elif sources:
            con.execute(f"CREATE OR REPLACE VIEW outcomes AS {sources[0]}")
        else:
            con.execute("CREATE OR REPLACE VIEW outcomes AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS experiment, "
                        "NULL::VARCHAR AS scenario_hash, NULL::BIGINT AS replicate, NULL::BIGINT AS seed, "
                        "NULL::BIGINT AS root_seed, NULL::BIGINT AS point_index, NULL::BIGINT AS steps, "
                        "NULL::BIGINT AS citizens, NULL::DOUBLE AS wall_seconds, NULL::VARCHAR AS worker, "
                        "NULL::DOUBLE AS finished_at, NULL::VARCHAR AS status WHERE false")
        series_parts = [_series_part(p) for p in parts if _series_part(p).is_file()]
        series_sources = []
        if has(self.runs_dir, "*.parquet"):
            series_sources.append(f"SELECT * FROM read_parquet({run_glob}, union_by_name = true)")
        if series_parts:
            files = ", ".join(_sql_string(str(p)) for p in series_parts)
            series_sources.append(f"SELECT * FROM read_parquet([{files}], union_by_name = true)")
        if series_sources:
            # a series without its outcomes row belongs to a run that did not complete: left out
            con.execute(f"CREATE OR REPLACE VIEW series AS SELECT * FROM ({' UNION ALL BY NAME '.join(series_sources)}) "
                        "WHERE run_id IN (SELECT run_id FROM outcomes)")
        else:
            con.execute("CREATE OR REPLACE VIEW series AS SELECT NULL::VARCHAR AS run_id, NULL::BIGINT AS step "
                        "WHERE false")
        fail_cols = ("{run_id: 'VARCHAR', experiment: 'VARCHAR', scenario_hash: 'VARCHAR', replicate: 'BIGINT', "
                     "seed: 'BIGINT', point_index: 'BIGINT', params: 'JSON', error: 'VARCHAR', traceback: 'VARCHAR', "
                     "wall_seconds: 'DOUBLE', worker: 'VARCHAR', finished_at: 'DOUBLE', status: 'VARCHAR'}")
        if has(self.failures_dir, "*.json"):
            con.execute(f"CREATE OR REPLACE VIEW failures AS SELECT * FROM read_json({fail_glob}, columns = {fail_cols}, "
                        "format = 'auto') WHERE run_id NOT IN (SELECT run_id FROM outcomes)")
        else:
            con.execute("CREATE OR REPLACE VIEW failures AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS experiment, "
                        "NULL::VARCHAR AS scenario_hash, NULL::BIGINT AS replicate, NULL::BIGINT AS seed, "
                        "NULL::BIGINT AS point_index, NULL::JSON AS params, NULL::VARCHAR AS error, "
                        "NULL::VARCHAR AS traceback, NULL::DOUBLE AS wall_seconds, NULL::VARCHAR AS worker, "
                        "NULL::DOUBLE AS finished_at, NULL::VARCHAR AS status WHERE false")
        con.execute("CREATE OR REPLACE VIEW runs AS "
                    "SELECT run_id, experiment, point_index, replicate, seed, scenario_hash, status, wall_seconds, "
                    "worker, finished_at, NULL::VARCHAR AS error FROM outcomes "
                    "UNION ALL SELECT run_id, experiment, point_index, replicate, seed, scenario_hash, 'failed', "
                    "wall_seconds, worker, finished_at, error FROM failures")

    @contextlib.contextmanager
    def catalog(self, persist: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:
        """A DuckDB connection with the views ``outcomes``, ``series``, ``failures`` and ``runs``.

        ``persist=True`` opens ``catalog.duckdb`` and (re)writes its views there, so
        that the DuckDB command line (``duckdb results/NAME/catalog.duckdb``) sees them;
        if another process holds that file, an in-memory catalog is used instead.
        The default is an in-memory catalog, built from the files in milliseconds:
        queries never lock the store nor change it.
        """
        import duckdb

        con = None
        if persist:
            with contextlib.suppress(duckdb.Error):
                con = duckdb.connect(str(self.root / "catalog.duckdb"))
        if con is None:
            con = duckdb.connect()
        try:
            self.verify()
            self._create_views(con)
            yield con
        finally:
            con.close()

    def refresh_catalog(self) -> bool:
        """Rewrite the views of ``catalog.duckdb`` from the files; False if the file is locked elsewhere."""
        import duckdb

        try:
            con = duckdb.connect(str(self.root / "catalog.duckdb"))
        except duckdb.Error:
            return False
        try:
            self.verify()
            self._create_views(con)
        finally:
            con.close()
        return True

    def query(self, sql: str) -> pa.Table:
        """Run SQL over the store's views and return the rows as a pyarrow Table (StoreError on bad SQL)."""
        import duckdb

        with self.catalog() as con:
            try:
                rel = con.sql(sql)
                if rel is None:
                    return pa.table({})
                return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            except duckdb.Error as exc:
                raise StoreError(f"SQL: {_one_line(str(exc))}") from None

    def export(self, path: str | Path, what: str = "outcomes") -> Path:
        """Write the ``outcomes`` (or ``series``, ``failures``, ``runs``) view to .csv or .parquet, atomically."""
        import duckdb

        path = Path(path)
        if what not in ("outcomes", "series", "failures", "runs"):
            raise StoreError(f"export: {what!r}: allowed: outcomes, series, failures, runs")
        fmt = {".csv": "CSV, HEADER", ".parquet": "PARQUET"}.get(path.suffix.lower())
        if fmt is None:
            raise StoreError(f"export: {path}: the file must end in .csv or .parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        order = "ORDER BY run_id, step" if what == "series" else "ORDER BY run_id"

        def write(tmp: Path) -> None:
            with self.catalog() as con:
                try:
                    con.execute(f"COPY (SELECT * FROM {what} {order}) TO {_sql_string(str(tmp))} (FORMAT {fmt})")
                except duckdb.Error as exc:
                    raise StoreError(f"export: {_one_line(str(exc))}") from None

        return self._atomic(path, write)

    # ---------------------------------------------------------------- an experiment's results
    def outcomes_for(self, experiment: "Experiment") -> pa.Table:
        """One row per run of ``experiment`` in design order (point_index, replicate): the run id, the
        varied parameters and the experiment's outcomes; outcomes are null for runs not completed.

        Joined by run id, so it is right even when runs are shared with another experiment.
        """
        runs = experiment.runs()
        plan: dict[str, Any] = {
            "point_index": pa.array([r.point_index for r in runs], pa.int64()),
            "replicate": pa.array([r.replicate for r in runs], pa.int64()),
            "run_id": pa.array([r.run_id for r in runs], pa.string()),
        }
        for name in experiment.varied:
            plan[name] = pa.array([r.params.get(name) for r in runs])
        plan_table = pa.table(plan)
        done = self.completed()
        wanted = list(experiment.outcomes)
        values = {name: np.full(len(runs), np.nan) for name in wanted}
        ok = np.zeros(len(runs), dtype=bool)
        ids = [r.run_id for r in runs if r.run_id in done]
        if ids:
            with self.catalog() as con:
                have = {row[0] for row in con.execute("DESCRIBE outcomes").fetchall()}
                cols = ", ".join(_quote(n) if n in have else f"NULL::DOUBLE AS {_quote(n)}" for n in wanted)
                rows = con.execute(f"SELECT run_id, {cols} FROM outcomes WHERE run_id IN "
                                   f"(SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()
            index: dict[str, list[int]] = {}
            for i, r in enumerate(runs):
                index.setdefault(r.run_id, []).append(i)
            for row in rows:
                for i in index.get(row[0], []):
                    ok[i] = True
                    for name, v in zip(wanted, row[1:]):
                        values[name][i] = np.nan if v is None else v
        for name in wanted:
            plan_table = plan_table.append_column(name, pa.array(np.where(ok, values[name], np.nan),
                                                                 mask=~ok))
        return plan_table

    def outcome_matrix(self, experiment: "Experiment", outcome: str) -> np.ndarray:
        """``outcome`` as an array of shape (points, replicates) in design order; nan where a run is missing."""
        table = self.outcomes_for(experiment)
        if outcome not in table.column_names:
            raise StoreError(f"outcome {outcome!r} is not one of the experiment's: {', '.join(experiment.outcomes)}")
        values = table.column(outcome).to_numpy(zero_copy_only=False).astype(float)
        return values.reshape(len(experiment.points()), experiment.replicates)


def _series_part(outcomes_part: Path) -> Path:
    """The series part that goes with a compacted outcomes part (same token)."""
    return outcomes_part.with_name("series-" + outcomes_part.name.removeprefix("outcomes-"))


def parquet_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable Parquet file (one line), or None if it reads: its magic bytes at both
    ends, then its footer's metadata (row groups and schema)."""
    try:
        size = path.stat().st_size
        if size < 12:
            return f"{size} bytes, too short for Parquet"
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
        if head != b"PAR1":
            return "not a Parquet file (no magic bytes at its start)"
        if tail != b"PAR1":
            return "truncated (no magic bytes at its end)"
        pq.read_metadata(path)
    except OSError as exc:
        return _one_line(str(exc))[:200] or type(exc).__name__
    except Exception as exc:  # pyarrow's errors for a corrupt footer
        return _one_line(str(exc))[:200] or type(exc).__name__
    return None


def _one_line(text: str) -> str:
    """DuckDB's message on one line, without its echo of the query (``LINE 1: ...`` and the ``^^^`` marker)."""
    keep = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line.startswith("LINE ") or not line or set(line) <= {"^", " "}:
            continue
        keep.append(line)
    return " ".join(keep)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
