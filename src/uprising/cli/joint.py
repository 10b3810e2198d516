"""``uprising joint``: the joint posterior of several episodes (:mod:`uprising.experiment.joint`)."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from .common import Progress, UsageFailure, connect, need_plot_extra, say_if_compiling, writable_folder
from .experiments import _interrupt_on_sigterm, _need_extra, _where_to_run


def _write_csv(path: Path, table: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    return path


@click.command("joint")
@click.argument("spec_path", metavar="JOINT", type=click.Path(path_type=Path))
@_where_to_run
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for each episode's posterior and predictive, the tension table and figures "
                   "(default: STORE/joint).")
@click.option("--no-plot", is_flag=True, help="Skip the figures.")
def joint_cmd(spec_path: Path, store_dir: Path | None, cluster: str | None, workers: int | None,
              out_dir: Path | None, no_plot: bool) -> None:
    """The joint posterior of JOINT's episodes: one behaviour, each country's inputs its own.

    Reads the first episode's calibration from its store (making any run it lacks, as `uprising calibrate`
    would), runs every one of its points once in each later episode (with that episode's own parameters drawn
    from their priors) into STORE/EPISODE, and keeps the points of smallest summed loss over every episode's fit
    targets. Writes, per episode, EPISODE/posterior.json (what `uprising compare --posterior` reads, with the
    episode's own parameters), posterior.csv, particles.csv and predictive.csv (fresh runs of every particle,
    fit and test targets apart), and tension.csv: every episode's loss under each episode's posterior alone and
    the joint one. Deterministic: a second call makes no new run, a stopped one resumes.
    """
    _need_extra()
    from ..experiment import joint as J
    from ..experiment import posterior as P

    if cluster is not None and workers is not None:
        raise UsageFailure("--workers: the cluster's workers simulate with --cluster; give one of the two")
    spec = J.JointSpec.load(spec_path)
    for k, e in enumerate(spec.episodes):  # every later episode's files before any work
        for field, rel in (("base", e.base), ("targets", e.targets)):
            if not spec.path(rel).is_file():
                raise UsageFailure(f"{spec_path}: episodes[{k}].{field}: no such file {str(spec.path(rel))!r}")
    for field, rel in (("experiment", spec.first.experiment), ("targets", spec.first.targets)):
        if not spec.path(rel).is_file():
            raise UsageFailure(f"{spec_path}: first.{field}: no such file {str(spec.path(rel))!r}")
    if not no_plot:
        need_plot_extra("--no-plot")
    store_dir = store_dir if store_dir is not None else Path("results") / spec.name
    out_dir = out_dir if out_dir is not None else store_dir / "joint"
    for flag, folder in (("--store", store_dir), ("--out", out_dir)):
        if folder.exists() and not folder.is_dir():
            raise UsageFailure(f"{flag}: {folder}: not a folder")
        writable_folder(folder, flag)
    executor, close = connect(cluster)
    names = ", ".join([spec.first.name, *(e.name for e in spec.episodes)])
    click.echo(f"{spec.name}: joint posterior of {names}: {spec.first.name}'s calibration "
               f"({spec.path(spec.first.store)}) proposes the points, each later episode runs every one of them; "
               f"keeping {spec.keep}; store {store_dir}, out {out_dir}", err=True)
    say_if_compiling()
    terminated = _interrupt_on_sigterm()
    started = time.perf_counter()
    try:
        with Progress(spec.name) as bar:
            def progress(event: str, info: dict) -> None:
                if event == "run":
                    bar.phase(f"{spec.name}: {info['g'] if isinstance(info['g'], str) else 'generation ' + str(info['g'])}",
                              info["done"], info["todo"])
                elif event == "kept":
                    bar.line(f"{spec.name}: {spec.first.name} generation {info['g']}: {info['made']} runs made")
            run = J.joint_posterior(spec, store_dir, executor, workers=workers, progress=progress)
            predictive = []
            for k, e in enumerate(run.episodes):
                post = run.posterior(k)
                bar.line(f"{spec.name}: {e.name}: posterior predictive, {len(post.weights)} particles run again")
                rows, fresh = P.posterior_predictive(e.experiment, post, [*e.fit, *e.test], e.store, executor,
                                                     workers=workers, progress=progress)
                predictive.append((rows, fresh))
    except KeyboardInterrupt:
        how = "terminated" if terminated else "interrupted"
        click.echo(f"uprising: {how}: joint posterior stopped; the stores hold every run made; run the command "
                   "again to resume (it makes only the runs that are missing)", err=True)
        sys.exit(143 if terminated else 130)
    finally:
        if close is not None:
            close()
    wall = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    summary: dict[str, Any] = {"joint": spec.name, "file": str(spec_path), "keep": spec.keep,
                               "points": int(len(run.joint_distance)), "runs_made_this_call": run.made,
                               "wall_seconds_this_call": wall,
                               "effective_sample": float(1.0 / (run.weights ** 2).sum()), "episodes": {}}
    for k, (e, (rows, fresh)) in enumerate(zip(run.episodes, predictive)):
        post = run.posterior(k)
        folder = out_dir / e.name
        folder.mkdir(parents=True, exist_ok=True)
        cover = {split: {"targets": sum(r.split == split for r in rows),
                         "covered": sum(r.covered for r in rows if r.split == split)} for split in ("fit", "test")}
        post.meta.update({"experiment": e.experiment.name, "base": str(e.experiment.base_path),
                          "base_hash": e.experiment.base_scenario.hash(), "set": dict(e.experiment.set),
                          "fit_targets": [t.label for t in e.fit], "test_targets": [t.label for t in e.test],
                          "predictive": cover})
        files.append(P.write_posterior(post, folder / "posterior.json"))
        files.append(_write_csv(folder / "posterior.csv", post.summary()))
        files.append(_write_csv(folder / "particles.csv", [
            {**post.point(i), "weight": float(post.weights[i]), "distance": float(post.distances[i]),
             "joint_distance": float(run.joint_distance[run.kept[i]]), "run_id": ";".join(post.run_ids[i])}
            for i in range(len(post.weights))]))
        files.append(_write_csv(folder / "predictive.csv", [r.as_dict() for r in rows]))
        if fresh:
            files.append(_write_csv(folder / "predictive_runs.csv", fresh))
        if not no_plot:
            from ..viz import posterior_plots

            files += posterior_plots.draw_all(post, rows, folder, title=f"{spec.name}: {e.name}")
        summary["episodes"][e.name] = {"predictive": cover, "scenario": str(e.experiment.base_path),
                                       "points_with_a_finite_loss": int((e.distances < float("inf")).sum())}
    table = J.tension(run)
    files.append(_write_csv(out_dir / "tension.csv", table))
    summary["tension"] = table
    (out_dir / "joint.json").write_text(json.dumps(summary, indent=1, default=float))
    files.append(out_dir / "joint.json")
    if not no_plot:
        from ..viz import posterior_plots

        files.append(posterior_plots.tension(run, out_dir / "tension.png", title=f"{spec.name}: loss by episode"))
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console = console if console.is_terminal else Console(width=200)
    t = Table(title=f"{spec.name}: each episode's loss (weighted median) under each posterior; "
                    f"joint effective sample {summary['effective_sample']:.0f}, {run.made} runs made, {wall:.0f} s")
    for column in table[0]:
        t.add_column(column, justify="left" if column == "posterior" else "right")
    for row in table:
        t.add_row(*(v if isinstance(v, str) else f"{v:.4g}" for v in row.values()))
    console.print(t)
    for e in run.episodes:
        cover = summary["episodes"][e.name]["predictive"]
        click.echo(f"{e.name}: posterior predictive (fresh runs): the record inside the 5-95% interval for "
                   f"{cover['fit']['covered']} of {cover['fit']['targets']} fit targets and {cover['test']['covered']} "
                   f"of {cover['test']['targets']} test targets")
    click.echo(f"wrote {len(files)} files to {out_dir}")


def _git(*args: str) -> str:
    import subprocess

    try:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _fmt(value: float, unit: str, start: Any) -> str:
    import datetime as dt
    import math

    if not math.isfinite(value):
        return "-"
    if unit == "day":
        return (start + dt.timedelta(days=int(round(value)))).strftime("%d %b")
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:.2g}"


@click.command("predict")
@click.argument("spec_path", metavar="PREDICTION", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the runs (runs.csv), the distributions (summary.csv) and prediction.json.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the prediction as a Markdown page here (default: OUT/prediction.md).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None, help="Local worker processes.")
@click.option("--cluster", default=None, metavar="tcp://HOST:PORT", help="A Dask scheduler.")
def predict_cmd(spec_path: Path, out_dir: Path, markdown_path: Path | None, workers: int | None,
                cluster: str | None) -> None:
    """Predict an episode that was not fitted, from a joint posterior (PREDICTION: experiments/*-prediction.toml).

    Each of the file's draws takes a joint-posterior particle's behaviour, the starting legitimacy of that particle
    in one of the fitted episodes (chosen with equal chance) and the file's own unknowns from their priors, and runs
    the new scenario once. Writes the distributions of deaths (in total and by city), detained, injured,
    participants, the cities that rise, the day of peak violence and of the end of unrest and the buildings attacked,
    with the command, the commit it was made at and the hashes of its inputs. Reads no record.
    """
    import hashlib
    import json

    from ..country import predict as PR
    from ..country.scenario import CountryScenario
    from .country import _run_tasks

    if cluster is not None and workers is not None:
        raise UsageFailure("--workers: the cluster's workers simulate with --cluster; give one of the two")
    spec = PR.PredictionSpec.load(spec_path)
    scenario_path = spec.path(spec.scenario)
    if not scenario_path.is_file():
        raise UsageFailure(f"{spec_path}: scenario: no such file {str(scenario_path)!r}")
    scenario = CountryScenario.load(scenario_path)
    if spec.set:
        scenario = scenario.replace(spec.set, source=f"{spec_path} set")
    posteriors = PR.fitted_posteriors(spec)
    draws = PR.prediction_draws(spec, posteriors)
    scenario.replace(draws[0], source=f"{spec_path} draw 0")  # every key must be the scenario's: checked first
    out_dir = writable_folder(out_dir, "--out")
    markdown_path = markdown_path or out_dir / "prediction.md"
    writable_folder(markdown_path.parent, "--markdown")
    command = "uprising predict " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else f"uprising predict {spec_path}"
    commit, dirty = _git("rev-parse", "HEAD"), _git("status", "--porcelain", "--untracked-files=no")
    click.echo(f"{spec.name}: {spec.draws} runs of {scenario.name} at scale {scenario.scale:g} over the joint posterior "
               f"of {', '.join(posteriors)} ({spec.path(spec.joint)})", err=True)
    started = time.perf_counter()
    tasks = PR.prediction_tasks(scenario, draws, spec.seed, source=str(spec_path))
    rows = _run_tasks(tasks, f"{spec.name}", cluster, workers)
    wall = time.perf_counter() - started
    summary = PR.summarise(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "runs.csv", [{**{f"draw:{k}": v for k, v in d.items()}, **r} for d, r in zip(draws, rows)])
    _write_csv(out_dir / "summary.csv", summary)
    digest = {name: hashlib.sha256((spec.path(spec.joint) / name / "posterior.json").read_bytes()).hexdigest()[:16]
              for name in posteriors}
    meta = {"prediction": spec.name, "file": str(spec_path), "command": command, "commit": commit or "unknown",
            "tree_clean": (dirty == "") if commit else None, "made": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "scenario": str(spec.scenario), "scenario_hash": scenario.hash(), "scale": scenario.scale,
            "draws": spec.draws, "seed": spec.seed, "joint": str(spec.joint), "joint_posterior_sha256": digest,
            "wall_seconds": wall, "summary": summary}
    (out_dir / "prediction.json").write_text(json.dumps(meta, indent=1, default=float))
    markdown_path.write_text(prediction_markdown(spec, scenario, meta, summary))
    click.echo(f"wrote {out_dir / 'runs.csv'}, {out_dir / 'summary.csv'}, {out_dir / 'prediction.json'} and "
               f"{markdown_path} ({wall:.0f} s)")


def prediction_markdown(spec: Any, scenario: Any, meta: dict[str, Any], summary: list[dict[str, Any]]) -> str:
    """The prediction as a page: the distributions, the cities, how it was made."""
    from ..country import predict as PR

    start = scenario.clock.start.date()
    by = {row["quantity"]: row for row in summary}
    lines = [f"# Prediction: {scenario.name}", "",
             f"Made {meta['made']} at commit `{meta['commit']}`"
             f"{'' if meta['tree_clean'] else ' (with uncommitted changes)' if meta['tree_clean'] is not None else ''}"
             f" by", "", "```", meta["command"], "```", "",
             f"from `{spec.source}`: {meta['draws']} runs of `{meta['scenario']}` (hash {meta['scenario_hash']}) at "
             f"scale {meta['scale']:g}, each at a parameter set drawn from the joint posterior in `{meta['joint']}` "
             f"(posterior files' sha256: " + ", ".join(f"{k} {v}" for k, v in meta["joint_posterior_sha256"].items())
             + "). No record of this episode was read. The prediction is never changed after it is committed; a "
             "later model makes a new, dated prediction beside it.", ""]
    if spec.description:
        lines += [spec.description, ""]
    if spec.notes:
        lines += ["## What it assumes", ""] + [f"- {note}" for note in spec.notes] + [""]
    lines += [
             "## The predicted distributions", "",
             "| quantity | unit | 5% | 25% | median | 75% | 95% | runs where it happened |", "|---|---|---|---|---|---|---|---|"]
    for key, (label, unit) in PR.NATIONAL.items():
        row = by[key]
        cells = [_fmt(row[q], unit, start) for q in ("q5", "q25", "q50", "q75", "q95")]
        lines.append(f"| {label} | {unit} | " + " | ".join(cells) + f" | {row['defined']} of {row['runs']} |")
    lines += ["", "Days are calendar days of the local clock; a day that never came in a run (unrest still going at "
              "the end) is left out of its quantiles and counted in the last column.", "",
              "## By city", "", "| city | deaths, 5% | median | 95% | onset (median day) | runs where it rose |",
              "|---|---|---|---|---|---|"]
    for city in (c.name for c in scenario.cities):
        d, o = by[f"deaths@{city}"], by[f"onset@{city}"]
        lines.append(f"| {city} | {_fmt(d['q5'], 'people', start)} | {_fmt(d['q50'], 'people', start)} | "
                     f"{_fmt(d['q95'], 'people', start)} | {_fmt(o['q50'], 'day', start)} | {o['defined']} of {o['runs']} |")
    return "\n".join(lines) + "\n"
