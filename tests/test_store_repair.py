"""A store survives unreadable files: each is reported in one line, moved to quarantine/ (never deleted), its
run counts as not done and the next resume redoes it, while queries over the rest keep working (issue #13.1).
Runs are tiny (15x15 lattices, 30 steps) and go through a thread pool, so the test costs a few seconds."""

from __future__ import annotations

import concurrent.futures as cf
import json
from pathlib import Path

import pytest

from conftest import SCENARIOS
from uprising.experiment import Experiment
from uprising.experiment import store as store_module
from uprising.experiment.runner import run_experiment
from uprising.experiment.store import ResultStore

TINY = f"""
name = "tiny-repair"
base = {json.dumps(str(SCENARIOS / "epstein-2002" / "run2.toml"))}
steps = 30
replicates = 2
outcomes = ["mean_active_fraction", "peak_active_fraction"]
[design]
kind = "factorial"
[parameters]
width = [15]
height = [15]
citizen_vision = [3.0]
cop_vision = [3.0]
legitimacy = [0.6, 0.8]
"""


@pytest.fixture
def done(tmp_path):
    """A completed tiny experiment: 4 runs in a store."""
    path = tmp_path / "exp.toml"
    path.write_text(TINY, encoding="utf-8")
    exp = Experiment.load(path)
    store = ResultStore(tmp_path / "store")
    with cf.ThreadPoolExecutor(2) as pool:
        run_experiment(exp, store, executor=pool)
    assert len(store.completed()) == 4
    return exp, store


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def count(store: ResultStore, view: str) -> int:
    return store.query(f"SELECT count(*) AS n FROM {view}").column("n")[0].as_py()


@pytest.mark.parametrize("which", ["outcomes", "series"])
def test_a_truncated_file_is_quarantined_and_its_run_redone(done, which):
    exp, store = done
    victim = exp.run_ids()[1]
    path = store.outcomes_path(victim) if which == "outcomes" else store.series_path(victim)
    truncate(path)
    # before the fix, DuckDB raised "No magic bytes found at end of file" on any view, and the resume never
    # redid the run because its outcomes row existed
    assert count(store, "outcomes") == 3
    assert count(store, "series") == 3 * 31
    lines = [q.line() for q in store.quarantined]
    assert len(lines) == 1 + (which == "series"), lines
    assert str(path) in lines[0] and "truncated" in lines[0] and "\n" not in lines[0]
    moved = store.quarantine_dir / path.parent.name / path.name
    assert moved.is_file() and not path.exists(), "moved aside, never deleted"
    assert victim not in store.completed()
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, store, executor=pool)
    assert (summary.already, summary.completed) == (3, 1)
    assert count(store, "outcomes") == 4 and count(store, "series") == 4 * 31
    assert store.verify() == []


def test_a_file_that_is_not_parquet_is_quarantined(done):
    exp, store = done
    stray = store.outcomes_dir / "by-hand.parquet"
    stray.write_text("run_id,x\n1,2\n")
    assert count(store, "outcomes") == 4
    assert [q.reason for q in store.quarantined] == ["not a Parquet file (no magic bytes at its start)"]


def test_each_file_is_checked_once(done, monkeypatch):
    exp, store = done
    store.verify()
    calls = []
    real = store_module.parquet_problem
    monkeypatch.setattr(store_module, "parquet_problem", lambda p: calls.append(p) or real(p))
    assert store.verify() == [] and calls == [], "files already found readable are not read again"
    truncate(store.outcomes_path(exp.run_ids()[0]))  # a changed file (size, mtime) is checked again
    assert len(store.verify()) == 1 and len(calls) == 1


def test_the_resume_alone_finds_and_redoes_a_truncated_run(done):
    exp, store = done
    victim = exp.run_ids()[2]
    truncate(store.series_path(victim))
    fresh = ResultStore(store.root)  # a new process: nothing verified in memory
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, fresh, executor=pool)
    assert (summary.already, summary.completed) == (3, 1)
    assert [q.run_id for q in fresh.quarantined] == [victim, victim]
    assert count(fresh, "series") == 4 * 31


def test_runs_commands_report_the_quarantine_in_one_line_and_keep_working(done, capsys):
    from uprising.cli import main

    exp, store = done
    victim = exp.run_ids()[0]
    truncate(store.outcomes_path(victim))

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("runs", "check", "--store", str(store.root))
    assert code == 0 and "3 runs readable; 1 files moved" in out, (out, err)
    assert len(err.splitlines()) == 1 and str(store.outcomes_path(victim)) in err and "Traceback" not in err
    code, out, err = run("runs", "ls", "--store", str(store.root))
    assert code == 0 and err == "" and out.count("ok") >= 3
    code, out, err = run("runs", "query", "SELECT count(*) AS n FROM outcomes", "--store", str(store.root))
    assert code == 0 and "3" in out
