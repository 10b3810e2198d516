"""Command line of figures, animations and reports from results: ``uprising plot``, ``animate``, ``report``.

Thin wrappers: the work is done in :mod:`uprising.viz.publication`, :mod:`uprising.viz.animate` and
:mod:`uprising.report`. Bad input (a missing file, a Parquet file that is not a result, an unknown city or
format, a bad frame rate) raises :class:`uprising.scenario.ScenarioError` there, before anything is written,
and :func:`uprising.cli.main` prints it as one line and exits with 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import (Progress, UsageFailure, check_memory, need_plot_extra, say_if_compiling, seed_option, workers_option,
                     writable_file)


@click.command("plot")
@click.argument("result", metavar="RESULT", type=click.Path(path_type=Path))
@click.option("--format", "formats", default="png,svg,pdf", show_default=True, metavar="png,svg,pdf",
              help="Formats to write, comma-separated.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the figures (default: the result's folder).")
@click.option("--targets", "targets_path", type=click.Path(path_type=Path), default=None,
              help="Country results: the record (a targets CSV); default: NAME-targets.csv of the scenario, "
                   "beside the result or in scenarios/.")
def plot_cmd(result: Path, formats: str, out_dir: Path | None, targets_path: Path | None) -> None:
    """Publication figures of a result table (uprising run's .parquet), in PNG, SVG and PDF.

    Model I: citizens by state over the steps; arrests, releases and legitimacy. A country: the cities'
    timelines, the national timeline, the record (with a targets file) and the map.
    """
    need_plot_extra()
    from ..validation import repo_root
    from ..viz.publication import plot_result

    written = plot_result(result, out_dir, formats, targets_path, log=lambda line: click.echo(line, err=True),
                          record_folders=(repo_root() / "scenarios",))
    for path in written:
        click.echo(str(path))


@click.command("animate")
@click.argument("result", metavar="RESULT", type=click.Path(path_type=Path))
@click.option("--city", default=None, metavar="NAME", help="The city to draw (a country run that kept several).")
@click.option("--format", "fmt", default=None, metavar="gif|mp4", help="gif or mp4 (default: --out's suffix, else gif).")
@click.option("--fps", default="4", show_default=True, metavar="N", help="Frames per second (0.1 to 60).")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The file to write (default: beside the snapshots, NAME[-CITY].gif or .mp4).")
def animate_cmd(result: Path, city: str | None, fmt: str | None, fps: str, out_file: Path | None) -> None:
    """A GIF or MP4 of a lattice over time, from uprising run --snapshot-every K.

    RESULT is the snapshots file (NAME-seedS-snapshots.npz) or the result table beside it (NAME-seedS.parquet).
    """
    need_plot_extra()
    from ..viz.animate import animate

    path, frames = animate(result, out_file, city, fmt, fps)
    click.echo(f"{path} ({frames} frames)")


@click.command("report")
@click.argument("path", metavar="SCENARIO_OR_EXPERIMENT", type=click.Path(path_type=Path))
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The HTML file to write (default: results/NAME-report.html).")
@click.option("--replicates", type=click.IntRange(1, 10_000), default=None,
              help="Runs of the fresh ensemble behind the figures (default: 4).")
@click.option("--scale", type=float, default=None,
              help="Country scenarios: agents per resident of that ensemble (default: the scenario's own scale).")
@seed_option("Root seed of the ensemble.")
@click.option("--steps", type=click.IntRange(1, 10_000_000), default=None,
              help="Model I: steps per run (default: the scenario's, or the experiment's).")
@workers_option()
@click.option("--targets", "targets_path", type=click.Path(path_type=Path), default=None,
              help="Country scenarios: the record (default: NAME-targets.csv beside the scenario).")
def report_cmd(path: Path, out_file: Path | None, replicates: int | None, scale: float | None, seed: int,
               steps: int | None, workers: int | None, targets_path: Path | None) -> None:
    """One self-contained HTML report of a scenario or an experiment: the model in the ODD protocol, the
    parameter table with sources, figures of a fresh small ensemble, and the validation status."""
    need_plot_extra()
    import os

    from ..execution import executor_for, run_many
    from ..report import COUNTRY, OddTextMissing, build_report, plan_report, read_checkout_record
    from ..validation import repo_root
    from ..viz.report_figures import draw_figures

    try:
        plan = plan_report(path, out_file, replicates=replicates, scale=scale, seed=seed, steps=steps,
                           targets_path=targets_path)
    except OddTextMissing as exc:  # a broken install: say so in one line, before anything runs
        raise UsageFailure(str(exc)) from None
    writable_file(plan.out, "--out")
    if plan.kind == COUNTRY:  # the ensemble's memory against the machine, before any run
        check_memory(plan.ensemble_scenario.memory_estimate(plan.replicates, min(plan.replicates,
                                                                                 workers or os.cpu_count() or 1)),
                     str(path))
    click.echo(plan.describe_ensemble(), err=True)
    say_if_compiling()
    # a country's runs go to worker processes; Model I's short runs stay in this process unless --workers asks
    pooled = plan.replicates > 1 and (plan.kind == COUNTRY or (workers or 1) > 1)
    with Progress(f"{plan.scenario.name}: runs") as bar:
        def progress(done: int, total: int) -> None:
            bar(done, total, None)

        if pooled:
            with executor_for(workers or min(plan.replicates, os.cpu_count() or 1)) as executor:
                results = run_many(plan.tasks(), executor, progress)
        else:
            results = run_many(plan.tasks(), None, progress)
    click.echo("figures", err=True)
    written = build_report(plan, results, figures=draw_figures(plan, results), record=read_checkout_record(repo_root()))
    click.echo(str(written))
