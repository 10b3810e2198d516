"""Command line of Model I (and the dispatch of ``run`` to a country scenario): ``run``, ``bench``, ``validate``.

Bad input (a scenario that cannot be read or validated, a bad ``--set``) prints
one line, ``uprising: error: FILE: FIELD: what is allowed``, and exits with 2
(reported by :func:`uprising.cli.main`).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..scenario import Scenario, ScenarioError, echo, parse_sets, read_toml
from .common import (Progress, UsageFailure, check_memory, cluster_option, file_stem, plotting, seed_option,
                     say_if_compiling, sets_option, workers_option, writable_file,
                     writable_folder)


def apply_sets(scenario: Scenario, sets: tuple[str, ...], source: str) -> Scenario:
    """Apply ``key=value`` overrides (values parsed as TOML: 0.7, true, inf, "floor" or floor)."""
    changes = parse_sets(sets, source)
    try:
        return scenario.replace(**changes)
    except ScenarioError as exc:
        raise ScenarioError(f"{source} --set", exc.field, exc.message) from None


@click.command()
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option("--steps", type=click.IntRange(1, 10_000_000), default=None, help="Number of steps (default: the scenario's).")
@seed_option()
@sets_option()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Folder for the Parquet table and the PNG plot.")
@click.option("--snapshot-every", type=click.IntRange(1, None), default=None, help="Keep the lattice every K steps.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG plot.")
@click.option("--replicates", type=click.IntRange(1, 100_000), default=None,
              help="Country scenarios: runs of the ensemble (default 10).")
@workers_option("Country scenarios: local worker processes (default: one per CPU).")
@cluster_option("Country scenarios: a Dask scheduler.")
@click.option("--targets", "targets_path", type=click.Path(path_type=Path), default=None,
              help="Country scenarios: the record to print the run against (default: NAME-targets.csv beside it).")
def run(scenario_path: Path, steps: int | None, seed: int, sets: tuple[str, ...], out_dir: Path,
        snapshot_every: int | None, no_plot: bool, replicates: int | None, workers: int | None, cluster: str | None,
        targets_path: Path | None) -> None:
    """Run one scenario, print a summary, write Parquet and a PNG plot.

    A country scenario (a file with [[cities]], such as scenarios/kazakhstan-2022.toml) runs an
    ensemble over its clock, prints it against the record and writes per-city and record figures.
    """
    if "cities" in read_toml(scenario_path, "scenario"):  # a malformed file is reported here, in one line
        writable_folder(out_dir, "--out")
        if steps is not None:
            raise UsageFailure("--steps: a country scenario's clock sets its steps; change clock.end with --set")
        from .country import run_country

        run_country(scenario_path, seed, sets, out_dir, replicates, workers, cluster, no_plot, targets_path,
                    snapshot_every)
        return
    for name, value in (("--replicates", replicates), ("--workers", workers), ("--cluster", cluster),
                        ("--targets", targets_path)):
        if value is not None:
            raise UsageFailure(f"{name}: only for country scenarios (files with [[cities]])")
    from rich.console import Console
    from rich.table import Table

    from ..simulate import simulate

    scenario = apply_sets(Scenario.load(scenario_path), sets, str(scenario_path))
    total = scenario.steps if steps is None else steps
    writable_folder(out_dir, "--out")  # before the run, so a bad --out does not throw a finished run away
    check_memory(scenario.memory_estimate(total), str(scenario_path))
    say_if_compiling()
    with Progress(scenario.name, unit="steps") as bar:
        bar(0, total, None)

        def progress(done: int, all_: int) -> None:
            bar(done, total, None)

        result = simulate(scenario, total, seed, snapshot_every=snapshot_every, progress=progress,
                          chunk=max(1, min(250, total // 20 or 1)))
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(f"{scenario.name}-seed{seed}")
    pq_path = result.to_parquet(out_dir / f"{stem}.parquet")
    table = Table(title=f"{scenario.name}  [{scenario.hash()}]  seed {seed}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for key, value in result.summary().items():
        table.add_row(key.replace("_", " "), f"{value:.4g}" if isinstance(value, float) else str(value))
    Console().print(table)
    click.echo(f"table: {pq_path}")
    if result.snapshots:
        import numpy as np

        snap_path = out_dir / f"{stem}-snapshots.npz"
        np.savez_compressed(snap_path, steps=np.array(sorted(result.snapshots)),
                            kinds=np.stack([result.snapshots[k] for k in sorted(result.snapshots)]))
        click.echo(f"snapshots: {snap_path} (cell kinds: 0 empty, 1 quiet, 2 active, 3 jailed, 4 cop)")
    if not no_plot:
        plots = plotting("plots")
        if plots is not None:
            click.echo(f"plot:  {plots.plot_run(result, out_dir / f'{stem}.png')}")


@click.command()
@click.option("--sizes", default="40,100,1000", show_default=True, help="Comma-separated lattice edges.")
@click.option("--steps", type=click.IntRange(1, None), default=None, help="Steps per measurement (default: by size).")
@click.option("--repeats", type=click.IntRange(1, None), default=3, show_default=True, help="Runs per size; the median is shown.")
@click.option("--scenario", "scenario_path", type=click.Path(path_type=Path), default=None,
              help="Scenario to time (default: built-in Mesa-rules scenario).")
def bench(sizes: str, steps: int | None, repeats: int, scenario_path: Path | None) -> None:
    """Time uprising alone (agent-steps per second, all agents counted); see benchmarks/ for Mesa."""
    from rich.console import Console
    from rich.table import Table

    from ..bench import measure

    base = Scenario.load(scenario_path) if scenario_path else None
    try:
        edges = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise UsageFailure(f"--sizes: {echo(sizes)}: expected comma-separated integers, e.g. 40,100,1000") from None
    table = Table(title="uprising agent-steps per second (median)")
    for col in ("lattice", "activation", "agents", "steps", "agent-steps/s", "bytes/agent"):
        table.add_column(col, justify="right")
    cases = [(edge, activation) for edge in edges for activation in ("random_sequential", "tiled")]
    with Progress("timing", unit="cases") as bar:
        for done, (edge, activation) in enumerate(cases):
            bar.label = f"{edge}x{edge} {activation}"
            bar(done, len(cases), None)
            m = measure(edge, activation, steps=steps, repeats=repeats, base=base)
            table.add_row(f"{edge}x{edge}", activation, str(m["agents"]), str(m["steps"]), f"{m['rate']:.3g}",
                          f"{m['bytes_per_agent']:.1f}")
        bar(len(cases), len(cases), None)
    Console().print(table)


#: where ``uprising validate`` writes without --write-docs: the Markdown, its JSON and figures/ (in the checkout)
VALIDATION_OUT = Path("results/validation")
#: the committed record that --write-docs rewrites
DOCS_OUT = {"out": Path("docs/validation.md"), "fig_dir": Path("docs/figures"), "json_path": Path("docs/data/validation.json")}


@click.command()
@click.option("--quick", is_flag=True, help="Reduced ensembles (about a minute); the default is the full suite.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True,
              help="The checkout: scenarios/epstein-2002 is read from it; relative outputs are written in it.")
@click.option("--write-docs", is_flag=True,
              help="Rewrite the committed record: docs/validation.md, docs/data/validation.json and docs/figures "
                   "(default: results/validation/, leaving docs/ alone).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Markdown file whose validate section is (re)written (default: results/validation/validation.md).")
@click.option("--figures", "fig_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the PNG figures (default: results/validation/figures).")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The numbers, as JSON (default: results/validation/validation.json).")
@click.option("--mesa-data", type=click.Path(path_type=Path, file_okay=False), default=Path("docs/data"),
              show_default=True, help="Folder with mesa-validation.parquet/.json (benchmarks/mesa_validation.py).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes (default: all CPUs).")
@click.option("--save-runs", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Pickle the suite's results here (to re-render later without re-running).")
@click.option("--load-runs", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Re-render from a pickle written by --save-runs (Mesa's data is re-read).")
def validate(quick: bool, root: Path, write_docs: bool, out: Path | None, fig_dir: Path | None,
             json_path: Path | None, mesa_data: Path, workers: int | None, save_runs: Path | None,
             load_runs: Path | None) -> None:
    """Reproduce Epstein (2002)'s named results under each rule combination; write results/validation/
    (or, with --write-docs, the committed docs/validation.md, its JSON and figures)."""
    import os

    from .. import validation as V
    from ..viz.validation_plots import suite_figures

    if not (root / "scenarios" / "epstein-2002" / "run2.toml").is_file():
        raise UsageFailure(f"{root / 'scenarios' / 'epstein-2002'}: the paper's scenario files are not there; "
                           "run from the uprising checkout or pass --root")
    rel = (lambda p: p if p.is_absolute() else root / p)
    # the committed docs are rewritten only when asked; else an output folder (issue 13, item 10)
    defaults = DOCS_OUT if write_docs else {"out": VALIDATION_OUT / "validation.md", "fig_dir": VALIDATION_OUT / "figures",
                                            "json_path": VALIDATION_OUT / "validation.json"}
    out = out or defaults["out"]
    fig_dir = fig_dir or defaults["fig_dir"]
    json_path = json_path or defaults["json_path"]
    writable_folder(rel(fig_dir), "--figures")
    writable_file(rel(out), "--out")
    writable_file(rel(json_path), "--json")
    if save_runs is not None:
        writable_file(save_runs, "--save-runs")
    budget = V.QUICK if quick else V.FULL
    workers = workers or os.cpu_count() or 1
    if load_runs is None:
        say_if_compiling()
    with Progress("validation") as bar:  # a bar per phase of the suite (a line every tenth of one in a log)
        if load_runs is None:
            res = V.run_suite(budget, workers=workers, root=root, mesa_dir=rel(mesa_data), progress=bar.phase)
    if load_runs is not None:
        import pickle

        with open(load_runs, "rb") as fh:
            res = pickle.load(fh)
        V.remeasure(res, rel(mesa_data))  # cheap: re-measured with the current definitions
    if save_runs is not None:
        import pickle

        with open(save_runs, "wb") as fh:
            pickle.dump(res, fh)
    command = "uprising validate" + ("" if res.budget.name == "full" else " --quick") + (" --write-docs" if write_docs else "")
    figures = suite_figures(res, rel(fig_dir), rel(out).parent)
    path = V.write_report(res, rel(out), rel(json_path), root, command, figures)
    best = res.run2[res.closest]
    click.echo(f"Run 2 closest to the paper: {res.run2_labels[res.closest]} (waits {best['wait_mean']:.0f} vs 60, "
               f"total activation {best['size_mean']:.0f} vs 708)")
    click.echo(f"wrote {path} and its figures in {rel(fig_dir)} ({res.wall_seconds:.0f} s)")
