"""The results store at 10^4 and 10^5 runs: `uprising runs ls` and a query, before and after compaction.

Fills a fresh store with ``N`` small synthetic runs (one real 10-step Model I run on a 15x15 lattice, written
under ``N`` run ids with a varied parameter, through the store's own writer, so each run has its series file
and its outcomes row as a sweep leaves them), then times, in this one process:

* the first verification of every file (done once; later ones only stat the files);
* ``uprising runs ls`` (progress per experiment, then the listing query) and ``uprising runs query`` (a
  grouped mean over the outcomes view) on the single files;
* ``uprising runs compact`` (one Parquet dataset per experiment);
* the same two commands on the compacted store.

The speed-up is the ratio of the two timings of each command in the same run. With ``--write`` the section
between the markers in BENCHMARKS.md is replaced.

Usage: python benchmarks/store.py [--runs 10000 100000] [--write] [--dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

from _mesa_runner import machine  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from uprising.cli import main
from uprising.experiment.store import ResultStore
from uprising.scenario import Scenario
from uprising.simulate import simulate

REPO = Path(__file__).resolve().parents[1]
START = "<!-- store:start -->"
END = "<!-- store:end -->"
QUERY = "SELECT experiment, count(*) AS runs, avg(mean_active_fraction) AS mean FROM outcomes GROUP BY experiment"


def fill(root: Path, runs: int) -> ResultStore:
    store = ResultStore(root)
    scenario = Scenario(name="synthetic", width=15, height=15, citizen_vision=3.0, cop_vision=3.0, steps=10)
    result = simulate(scenario, seed=1)
    for i in range(runs):
        store.write_run(f"synthetic-{i:07d}", result, {"mean_active_fraction": 0.1 + (i % 97) * 1e-3},
                        experiment=f"sweep-{i % 4}", point_index=i // 10, params={"legitimacy": 0.5 + (i % 50) * 0.01},
                        wall_seconds=0.0)
        if (i + 1) % 10_000 == 0:
            print(f"  written {i + 1:,} runs", flush=True)
    return store


def timed(*args: str) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(list(args))
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"uprising {' '.join(args)} exited with {exc.code}") from None
    return time.perf_counter() - start


def measure(runs: int, parent: Path) -> dict:
    import duckdb  # noqa: F401  (imported before any timing, so the first command does not pay for it)

    root = parent / f"store-{runs}"
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    store = fill(root, runs)
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.verify()
    verify = time.perf_counter() - t0
    s = str(root)
    row = {"runs": runs, "write_s": write, "first_verify_s": verify,
           "ls_files_s": timed("runs", "ls", "--store", s), "query_files_s": timed("runs", "query", QUERY, "--store", s),
           "compact_s": timed("runs", "compact", "--store", s),
           "ls_compacted_s": timed("runs", "ls", "--store", s),
           "query_compacted_s": timed("runs", "query", QUERY, "--store", s)}
    rows = ResultStore(root).query("SELECT count(*) AS n FROM outcomes").column("n")[0].as_py()
    assert rows == runs, (rows, runs)
    shutil.rmtree(root, ignore_errors=True)
    print(row, flush=True)
    return row


def markdown(rows: list[dict]) -> str:
    lines = [START, "", "## The results store at 10^4 and 10^5 runs (issue #13, item 2)", "",
             f"`python benchmarks/store.py` on {machine()}: synthetic 10-step runs written through the store's "
             "own writer (a series file and an outcomes row each, 4 experiments), then each command timed in the "
             "same process on the single files and after `uprising runs compact` (one Parquet dataset per "
             "experiment, parts of 2,000 runs). Seconds of wall time; the ratio is the speed-up in the same run.", "",
             "| runs | first verification | `runs ls`: files | compacted | ratio | `runs query`: files | compacted "
             "| ratio | compaction |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['runs']:,} | {r['first_verify_s']:.1f} | {r['ls_files_s']:.2f} | {r['ls_compacted_s']:.2f} "
                     f"| {r['ls_files_s'] / r['ls_compacted_s']:.0f}x | {r['query_files_s']:.2f} | "
                     f"{r['query_compacted_s']:.2f} | {r['query_files_s'] / r['query_compacted_s']:.0f}x | "
                     f"{r['compact_s']:.1f} |")
    lines += ["", "A sweep compacts itself when it finishes with 2,000 or more runs as single files; "
              "`uprising runs compact` does it on demand. The first verification reads each file's Parquet footer "
              "once (`verified.txt` remembers it), so later commands only list and stat the files.", "", END]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    old = path.read_text(encoding="utf-8")
    if START in old and END in old:
        new = old[: old.index(START)] + text + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


def run(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    parser.add_argument("--dir", type=Path, default=None, help="where the stores are made (default: a temp folder)")
    args = parser.parse_args(argv)
    parent = args.dir or Path(tempfile.mkdtemp(prefix="uprising-store-bench-"))
    rows = [measure(n, parent) for n in args.runs]
    text = markdown(rows)
    print(text)
    if args.write:
        write_section(text)
    return rows


if __name__ == "__main__":
    run()
