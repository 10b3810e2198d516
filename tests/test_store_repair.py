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


# ------------------------------------------------------------------ compaction (issue #13.2)
def _views(store: ResultStore) -> tuple[list, list]:
    out = store.query("SELECT * EXCLUDE (wall_seconds, worker, finished_at) FROM outcomes ORDER BY run_id").to_pylist()
    series = store.query("SELECT run_id, step, active, jailed FROM series ORDER BY run_id, step").to_pylist()
    return out, series


def test_compaction_keeps_every_answer_and_removes_the_single_files(done, capsys):
    exp, store = done
    before = _views(store)
    ids = exp.run_ids()
    one = {rid: (store.stored_outcomes(rid), store.outcome_row(rid), store.scenario(rid), store.result(rid))
           for rid in ids}
    assert store.compact(part_runs=3) == 4
    assert not list(store.outcomes_dir.glob("*.parquet")) and not list(store.runs_dir.glob("*.parquet"))
    parts = sorted(p.name.split("-")[0] for p in (store.compacted_dir / "tiny-repair").iterdir())
    assert parts == ["outcomes"] * 2 + ["series"] * 2, parts
    fresh = ResultStore(store.root)
    assert fresh.completed() == set(ids) and all(fresh.has(r) for r in ids)
    assert _views(fresh) == before
    for rid, (outcomes, row, scenario, result) in one.items():
        assert fresh.stored_outcomes(rid) == outcomes and fresh.outcome_row(rid) == row
        assert fresh.scenario(rid) == scenario
        again = fresh.result(rid)
        assert (again.counts == result.counts).all() and (again.legitimacy == result.legitimacy).all()
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(exp, fresh, executor=pool)
    assert (summary.already, summary.completed) == (4, 0), "compacted runs count as done"


def test_outcomes_added_after_compaction_are_computed_from_the_packed_series(done, tmp_path):
    exp, store = done
    store.compact()
    path = tmp_path / "more.toml"
    path.write_text(TINY.replace('"peak_active_fraction"]', '"peak_active_fraction", "final_jailed_fraction"]'))
    more = Experiment.load(path)
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_experiment(more, store, executor=pool)
    assert summary.reevaluated == 4 and summary.completed == 0, "from the packed series, not simulated again"
    rows = store.query("SELECT run_id, final_jailed_fraction FROM outcomes").to_pylist()
    assert len(rows) == 4 and all(r["final_jailed_fraction"] is not None for r in rows)
    assert count(store, "series") == 4 * 31


def test_a_compaction_cut_short_leaves_one_row_per_run_and_is_tidied(done, tmp_path):
    import shutil

    exp, store = done
    keep = tmp_path / "copies"
    keep.mkdir()
    for path in [*store.outcomes_dir.glob("*.parquet"), *store.runs_dir.glob("*.parquet")]:
        shutil.copy2(path, keep / f"{path.parent.name}-{path.name}")
    store.compact()
    for copy in keep.iterdir():  # as if killed after writing the parts, before removing the single files
        folder, name = copy.name.split("-", 1)
        shutil.copy2(copy, store.root / folder / name)
    assert count(store, "outcomes") == 4 and count(store, "series") == 4 * 31
    assert not list(store.outcomes_dir.glob("*.parquet")), "verify removed the packed leftovers"


def test_forgetting_a_packed_run_takes_it_out_of_its_part(done):
    exp, store = done
    store.compact()
    victim = exp.run_ids()[0]
    series = store.series(victim)
    store.forget_outcomes(victim)
    assert victim not in store.completed() and store.series_path(victim).is_file()
    assert store.series(victim).equals(series)
    assert count(store, "outcomes") == 3


def test_a_packed_run_with_outcomes_added_later_is_packed_again_once(done, tmp_path):
    exp, store = done
    store.compact()
    path = tmp_path / "more.toml"
    path.write_text(TINY.replace('"peak_active_fraction"]', '"peak_active_fraction", "final_jailed_fraction"]'))
    with cf.ThreadPoolExecutor(2) as pool:
        run_experiment(Experiment.load(path), store, executor=pool)
    before = _views(store)
    assert store.compact() == 4
    assert not list(store.outcomes_dir.glob("*.parquet"))
    assert _views(store) == before and count(store, "series") == 4 * 31
    rid = exp.run_ids()[0]
    assert "final_jailed_fraction" in store.stored_outcomes(rid)


def test_a_large_finished_sweep_compacts_itself(tmp_path, monkeypatch):
    from uprising.experiment import runner

    monkeypatch.setattr(runner, "COMPACT_AT", 3)  # 4 runs here: as if past the threshold
    path = tmp_path / "exp.toml"
    path.write_text(TINY, encoding="utf-8")
    store = ResultStore(tmp_path / "store")
    with cf.ThreadPoolExecutor(2) as pool:
        run_experiment(Experiment.load(path), store, executor=pool)
    assert store.loose_runs() == 0 and len(store.completed()) == 4 and count(store, "outcomes") == 4


def test_runs_compact_command(done, capsys):
    from uprising.cli import main

    exp, store = done
    try:
        main(["runs", "compact", "--store", str(store.root)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert "4 runs packed" in capsys.readouterr().out and store.loose_runs() == 0


def test_runs_show_names_the_part_of_a_packed_run(done, capsys):
    from uprising.cli import main

    exp, store = done
    store.compact()
    rid = exp.run_ids()[1]
    try:
        main(["runs", "show", rid, "--store", str(store.root)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert f"run {rid}: ok" in out and "compacted" in out and "(31 rows)" in out
