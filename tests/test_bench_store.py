"""Smoke test of ``benchmarks/store.py`` (issue #13, item 2) on 60 runs: the script fills a store, times the
commands on single files and compacted, and its counts agree; the 10^4 and 10^5 runs are made by hand."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import store as bench_store  # noqa: E402


def test_small_store_benchmark_runs_and_reports_each_command(tmp_path, capsys):
    rows = bench_store.run(["--runs", "60", "--dir", str(tmp_path)])
    (row,) = rows
    assert row["runs"] == 60
    for key in ("first_verify_s", "ls_files_s", "query_files_s", "compact_s", "ls_compacted_s", "query_compacted_s"):
        assert row[key] > 0, key
    text = bench_store.markdown(rows)
    assert text.startswith(bench_store.START) and text.endswith(bench_store.END) and "| 60 |" in text
    assert not any(tmp_path.iterdir()), "the store is removed after measuring"
