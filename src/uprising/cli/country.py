"""Command line of country scenarios: ``run`` (for a file with ``[[cities]]``), ``fit`` and ``compare``.

Bad input prints one line naming the file, the field and what is allowed, and exits with 2
(``ScenarioError`` and ``UsageFailure``, reported by :func:`uprising.cli.main`). The drivers
(:mod:`uprising.country`) return results; the figures are drawn here, with :mod:`uprising.viz.country_plots`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from pathlib import Path
from typing import Any, Iterator

import click

from ..scenario import parse_sets
from .common import (Progress, UsageFailure, check_memory, cluster_option, connect, file_stem, need_module, plotting,
                     say_if_compiling, seed_option, sets_option, workers_option, writable_folder)


def load_country(path: Path, sets: tuple[str, ...]):
    """The country scenario in ``path`` with ``--set`` overrides applied (values parsed as TOML)."""
    from ..country.scenario import CountryScenario

    scenario = CountryScenario.load(path)
    changes = parse_sets(sets, str(path), example="scale=0.1")
    if changes:
        scenario = scenario.replace(changes, source=f"{path} --set")
    return scenario


def check_runs_fit(scenario, source: str, replicates: int, workers: int | None, cluster: str | None,
                   scenarios: int = 1) -> None:
    """The memory estimate of ``scenarios`` ensembles of ``replicates`` runs (every run's tables kept; as many
    lattices at once as local processes) against this machine, before any run (a Dask cluster's workers are
    not measured here, only the tables that come back)."""
    import os

    at_once = 0 if cluster else min(replicates * scenarios, workers or os.cpu_count() or 1)
    check_memory(scenario.memory_estimate(replicates * scenarios, at_once), source)


def _console():
    """A console for the tables: the terminal's width, or 120 columns in a log (rich's 80 cut the labels)."""
    from rich.console import Console

    probe = Console()
    return probe if probe.is_terminal else Console(width=120)


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


@contextlib.contextmanager
def _executor(cluster: str | None, workers: int | None) -> Iterator[Any]:
    """Where the runs go: the Dask scheduler at ``cluster`` (closed on leaving), else ``workers`` local
    processes (one per CPU when None). An unreachable scheduler is a one-line usage error."""
    from ..execution import executor_for

    if cluster:
        ex, close = connect(cluster)
        try:
            yield ex
        finally:
            close()
    else:
        with executor_for(workers) as ex:
            yield ex


def _ensemble(scenario, replicates: int, seed: int, workers: int | None, cluster: str | None, label: str,
              executor=None, snapshot_every: int | None = None):
    """Run ``replicates`` runs with a progress bar. One run is made in this process, its cities advanced
    side by side in a thread per core, with progress over its steps."""
    import os

    from .. import execution as E
    from ..country.simulate import simulate_country

    if replicates == 1 and cluster is None and executor is None:
        with Progress(label, unit="steps") as bar:
            bar(0, scenario.clock.clock().ticks, None)
            return [simulate_country(scenario, seed, 0, threads=os.cpu_count() or 1, snapshot_every=snapshot_every,
                                     progress=lambda done, total: bar(done, total, None), progress_every=6)]
    tasks = E.tasks(scenario, replicates, seed, snapshot_every)
    with Progress(label) as bar:
        progress = (lambda done, total: bar(done, total, None))
        progress(0, len(tasks))
        if executor is not None:
            return E.run_many(tasks, executor, progress)
        with _executor(cluster, workers) as ex:
            return E.run_many(tasks, ex, progress)


def _score_table(scores, start, title: str, unmeasured=()):
    """The score per target, with its split (fit or test); targets the model does not measure last."""
    from rich.table import Table

    from ..country.fit import as_rows, unmeasured_rows

    table = Table(title=title)
    for col in ("target", "split", "record", "model", "model 5-95%", "error", ""):
        table.add_column(col, justify="left" if col in ("target", "split", "") else "right")
    for row in as_rows(scores, start) + unmeasured_rows(list(unmeasured), start):
        verdict = {"hit": "[green]hit[/green]", "miss": "[red]miss[/red]"}.get(row["verdict"], row["verdict"])
        table.add_row(row["target"], row["split"], row["record"], row["model"], row["model_90"],
                      "-" if row["error"] is None else f"{row['error']:.2g}", verdict)
    return table


def _split_phrase(scores, day_weight: float = 1.0) -> str:
    """'loss: fit 1.23 (12 targets), test 0.45 (9 targets)': the two totals of a score table's title."""
    from ..country.fit import SPLITS, split_losses

    losses = split_losses(scores, day_weight)
    return "loss: " + ", ".join(f"{s} {losses[s]:.2f} ({sum(x.target.split == s for x in scores)} targets)"
                                for s in SPLITS)


def _write_table(rows: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _write_results(results, path: Path) -> Path:
    """All runs' tidy tables in one Parquet file (the first run's scenario in its metadata)."""
    import pyarrow as pa

    from ..simulate import write_parquet

    tables = [r.table for r in results]
    return write_parquet(pa.concat_tables(tables).replace_schema_metadata(tables[0].schema.metadata), path)


# ------------------------------------------------------------------ run
def run_country(scenario_path: Path, seed: int, sets: tuple[str, ...], out_dir: Path, replicates: int | None,
                workers: int | None, cluster: str | None, no_plot: bool, targets_path: Path | None,
                snapshot_every: int | None) -> None:
    """``uprising run`` for a country scenario: an ensemble, a summary against the record, Parquet and figures."""
    from rich.console import Console
    from rich.table import Table

    import numpy as np

    from ..country import fit as F
    from ..country import observables as O

    scenario = load_country(scenario_path, sets)
    replicates = replicates or 10
    targets_path = targets_path or F.find_targets(scenario_path)
    targets = F.load_targets(targets_path, scenario) if targets_path else None
    writable_folder(out_dir, "--out")
    check_runs_fit(scenario, str(scenario_path), replicates, workers, cluster)
    agents = sum(s[1] for s in scenario.lattice_sizes())
    click.echo(f"{scenario.name}: {len(scenario.cities)} cities, {agents:,} citizens at scale {scenario.scale:g} "
               f"({1 / scenario.scale:g} residents per agent), {scenario.clock.clock().ticks} steps of "
               f"{scenario.clock.tick_hours:g} h, {_runs(replicates)}", err=True)
    say_if_compiling()
    started = time.perf_counter()
    results = _ensemble(scenario, replicates, seed, workers, cluster, scenario.name, snapshot_every=snapshot_every)
    wall = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(f"{scenario.name}-seed{seed}")
    console = _console()
    summaries = [O.summary(r) for r in results]
    table = Table(title=f"{scenario.name} [{scenario.hash()}] seed {seed}: {_runs(replicates)} at scale "
                        f"{scenario.scale:g}, median (5-95%)")
    table.add_column("figure")
    table.add_column("model", justify="right")
    keys = ("peak_unrest", "detained_total", "deaths_total", "deaths_protesters", "deaths_security",
            "deaths_bystanders", "injured_security", "site_attacks")
    if scenario.sites.enabled:
        keys += ("buildings_attacked", "buildings_burnt")
    for key in keys:
        vals = np.array([s[key] for s in summaries], dtype=float)
        table.add_row(key.replace("_", " "), f"{np.median(vals):,.0f} ({np.percentile(vals, 5):,.0f}-"
                                             f"{np.percentile(vals, 95):,.0f})")
    table.add_row("end of unrest (median day)", _median_day([s["end_of_unrest"] for s in summaries]))
    rate = np.median([s["agent_steps_per_second"] for s in summaries])
    table.add_row("agent-steps/s per run", f"{rate:.3g}")
    console.print(table)
    onsets = Table(title="onset day by city (first step with 1 active or violent per 1,000; median over runs)")
    onsets.add_column("city")
    onsets.add_column("onset", justify="right")
    onsets.add_column("peak violence", justify="right")
    for name in scenario.cities:
        onsets.add_row(name.name, _median_day([s["onsets"][name.name] for s in summaries]),
                       _median_day([str(O.peak_violence_day(r, name.name) or "-") for r in results]))
    console.print(onsets)
    if targets is not None:
        scores = F.score(targets.targets, results)
        console.print(_score_table(scores, scenario.clock.start.date(),
                                   f"against the record ({targets_path}); {_split_phrase(scores)}",
                                   targets.unmeasured))
    pq_path = _write_results(results, out_dir / f"{stem}.parquet")
    click.echo(f"table:   {pq_path} ({_runs(replicates)} x {len(scenario.cities)} cities x {results[0].steps + 1} steps)")
    if snapshot_every:
        path = out_dir / f"{stem}-snapshots.npz"  # replicate 0 kept its lattices
        arrays = {}
        for city, frames in results[0].snapshots.items():
            arrays[f"{city}/steps"] = np.array(sorted(frames))
            arrays[f"{city}/kinds"] = np.stack([frames[k] for k in sorted(frames)])
        np.savez_compressed(path, **arrays)
        click.echo(f"snapshots: {path} (cell kinds: 0 empty, 1 quiet, 2 active, 3 jailed, 4 cop, 5 violent)")
    if not no_plot:
        _figures(results, targets.targets if targets else None, out_dir, f"{stem}-", ("cities", "record", "map"))
    click.echo(f"{_runs(replicates)} in {wall:.1f} s", err=True)


def _figures(results, targets, out_dir: Path, prefix: str, which: tuple[str, ...]) -> None:
    """Write the named country figures (cities, record, map) as PNG and print their paths; skipped, with a
    line saying why, without the 'plot' extra."""
    P = plotting("country_plots")
    if P is None:
        return
    draw = {"cities": lambda path: P.plot_cities(results, path),
            "record": lambda path: P.plot_record(results, targets, path),
            "map": lambda path: P.plot_map(results, path)}
    for i, name in enumerate(which):
        click.echo(f"{'figures:' if i == 0 else '        '} {draw[name](out_dir / f'{prefix}{name}.png')}")


def _median_day(days: list[str]) -> str:
    """The median of days given as YYYY-MM-DD text, a run without one counting as later than all ("-")."""
    import datetime as dt

    keyed = sorted((dt.date.fromisoformat(d) if d and d[0].isdigit() else dt.date.max) for d in days)
    mid = keyed[(len(keyed) - 1) // 2]
    return "-" if mid == dt.date.max else mid.strftime("%d %b")


# ------------------------------------------------------------------ fit
def _where(command):
    for option in reversed((
        click.option("--replicates", type=click.IntRange(1, 100_000), default=20, show_default=True,
                     help="Runs per scenario (seeds 0..R-1 of --seed)."),
        seed_option(),
        sets_option("Override a parameter (dotted keys: price.elasticity, cities.Almaty.police_per_1000, "
                          "cities.*.x, events.ID.at); repeatable."),
        workers_option(),
        cluster_option(),
        click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help="Folder for tables and figures (default: results/NAME-COMMAND)."),
    )):
        command = option(command)
    return command


@click.command("fit")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option("--targets", "targets_path", type=click.Path(path_type=Path), required=True,
              help="Targets CSV (quantity,value_low,value_high,date,source), e.g. data/kz2022/targets.csv.")
@_where
@click.option("--search", "samples", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="Latin-hypercube points to try over the --vary ranges (0: score the scenario as it is).")
@click.option("--refine", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="Rounds of local search around the best point after the design.")
@click.option("--vary", multiple=True, metavar="KEY=LOW:HIGH[:log]", help="A parameter to search; repeatable.")
@click.option("--day-weight", type=click.FloatRange(0, None), default=1.0, show_default=True,
              help="Weight of a day off against a factor e off in a count.")
@click.option("--city-pattern", "pattern_path", type=click.Path(path_type=Path), default=None,
              help="Also score the per-city pattern against this table (e.g. data/kz2022/city_pattern.csv); "
                   "never used by the search.")
@click.option("--posterior", "posterior_path", type=click.Path(path_type=Path), default=None,
              help="A posterior (posterior.json of `uprising calibrate` or `uprising joint`): each of the "
                   "--replicates runs at a parameter set drawn from it (its own seed), so the scores hold the "
                   "parameters' uncertainty and the seeds'.")
def fit_cmd(scenario_path: Path, targets_path: Path, replicates: int, seed: int, sets: tuple[str, ...],
            workers: int | None, cluster: str | None, out_dir: Path | None, samples: int, refine: int,
            vary: tuple[str, ...], day_weight: float, pattern_path: Path | None,
            posterior_path: Path | None = None) -> None:
    """Score an ensemble of SCENARIO against the record in --targets; optionally search parameters first.

    With --posterior, run i of the ensemble is at parameter set i drawn from the posterior (by weight, from
    --seed), the posterior's fixed changes (its scale) applied before --set."""
    from rich.console import Console

    from .. import execution as E
    from ..country import fit as F

    draws = None
    if posterior_path is not None:
        from ..country.scenario import CountryScenario
        from ..experiment.posterior import read_posterior
        from ..scenario import ScenarioError

        if samples or refine:
            raise UsageFailure("--posterior: scores a posterior as it is; leave out --search and --refine")
        post = read_posterior(posterior_path)
        scenario = CountryScenario.load(scenario_path)
        if post.meta.get("set"):
            scenario = scenario.replace(post.meta["set"], source=f"{posterior_path} set")
        changes = parse_sets(sets, str(scenario_path), example="scale=0.1")
        if changes:
            scenario = scenario.replace(changes, source=f"{scenario_path} --set")
        draws = post.draw(replicates, seed)
        try:
            scenario.replace(draws[0], source=str(posterior_path))
        except ScenarioError as exc:
            raise ScenarioError(str(posterior_path), f"parameters.{exc.field}", exc.message) from None
    else:
        scenario = load_country(scenario_path, sets)
    targets = F.load_targets(targets_path, scenario)
    pattern = F.load_city_pattern(pattern_path) if pattern_path is not None else None  # bad input: before any run
    axes = [F.Axis.parse(v) for v in vary]
    if (samples or refine) and not axes:
        raise UsageFailure("--search/--refine: name the parameters to search with --vary KEY=LOW:HIGH[:log]")
    for axis in axes:  # a bad key is reported before anything runs
        scenario.replace({axis.key: axis.low}, source="--vary")
    if axes and (samples or refine):
        need_module("scipy.stats", "experiments", "--refine" if refine else "--search")
    out_dir = writable_folder(out_dir or Path("results") / f"{file_stem(scenario.name)}-fit", "--out")
    check_runs_fit(scenario, str(scenario_path), replicates, workers, cluster, scenarios=4 if axes and (samples or refine) else 1)  # a search runs 4 points at once
    out_dir.mkdir(parents=True, exist_ok=True)
    console = _console()
    say_if_compiling()
    for quantity, why in targets.skipped:
        click.echo(f"not scored: {quantity} ({why})", err=True)
    for target in targets.unmeasured:
        click.echo(f"{F.UNMEASURED}: {target.quantity} ({target.split})", err=True)
    best_scenario = scenario
    if axes and (samples or refine):
        log = (out_dir / "search.jsonl").open("w", encoding="utf-8")
        started = time.perf_counter()
        best = [float("inf")]

        def on_trial(trial) -> None:
            best[0] = min(best[0], trial.loss)
            log.write(json.dumps({"phase": trial.phase, "loss": trial.loss, "point": trial.point,
                                  "errors": {s.target.label: s.error for s in trial.scores}}) + "\n")
            log.flush()
            click.echo(f"search: {trial.phase} loss {trial.loss:.3f} (best {best[0]:.3f}), "
                       f"{time.perf_counter() - started:.0f} s", err=True)

        def run_with(executor):
            def evaluate(scenarios):
                tasks = [t for sc in scenarios for t in E.tasks(sc, replicates, seed)]
                res = E.run_many(tasks, executor)
                return [res[i * replicates:(i + 1) * replicates] for i in range(len(scenarios))]

            return F.search(scenario, targets.targets, axes, evaluate, samples=samples, refine=refine, seed=seed,
                            day_weight=day_weight, on_trial=on_trial)

        with _executor(cluster, workers) as ex:
            trials = run_with(ex)
        log.close()
        winner = min(trials, key=lambda t: t.loss)
        (out_dir / "best.toml").write_text(F.best_overrides_toml(winner), encoding="utf-8")
        click.echo(f"best of {len(trials)} points: loss {winner.loss:.3f}; written to {out_dir / 'best.toml'}")
        best_scenario = scenario.replace(winner.point, source="--vary")
    if draws is not None:
        tasks = [E.task(scenario.replace(d, source=f"{posterior_path} draw {r}"), seed, r) for r, d in enumerate(draws)]
        results = _run_tasks(tasks, f"{scenario.name} fit over {posterior_path}", cluster, workers)
    else:
        results = _ensemble(best_scenario, replicates, seed, workers, cluster, f"{scenario.name} fit")
    scores = F.score(targets.targets, results)
    total = F.loss(scores, day_weight)
    by_split = F.split_losses(scores, day_weight)
    start = scenario.clock.start.date()
    over = "" if draws is None else f" (each at a parameter set drawn from {posterior_path})"
    console.print(_score_table(scores, start, f"{scenario.name}: {_runs(replicates)}{over} at scale "
                                              f"{best_scenario.scale:g} against {targets_path}; "
                                              f"{_split_phrase(scores, day_weight)}, "
                                              f"{sum(s.hit for s in scores)}/{len(scores)} hit",
                               targets.unmeasured))
    rows = F.as_rows(scores, start)
    unmeasured = F.unmeasured_rows(targets.unmeasured, start)
    _write_table(rows + unmeasured, out_dir / "scores.csv")
    md = ["| target | split | record | model (mean or median) | model 5-95% | error | verdict |",
          "|---|---|---|---|---|---|---|"]
    md += [f"| {r['target']} | {r['split']} | {r['record']} | {r['model']} | {r['model_90']} | "
           f"{'-' if r['error'] is None else format(r['error'], '.2g')} | {r['verdict']} |" for r in rows + unmeasured]
    counts = {s: sum(r["split"] == s for r in rows) for s in F.SPLITS}
    totals = "\n".join(f"loss of the {s} targets: {by_split[s]:.3f} ({counts[s]} targets)" for s in F.SPLITS)
    (out_dir / "scores.md").write_text("\n".join(md) + f"\n\n{totals}\n\nloss {total:.3f} ({_runs(replicates)} at "
                                       f"scale {best_scenario.scale:g}, seed {seed})\n",
                                       encoding="utf-8")
    (out_dir / "scores.json").write_text(json.dumps({"loss": total, "loss_fit": by_split["fit"],
                                                     "loss_test": by_split["test"], "replicates": replicates,
                                                     "seed": seed, "scale": best_scenario.scale,
                                                     "posterior": None if draws is None else str(posterior_path),
                                                     "scenario_hash": best_scenario.hash(), "scores": rows,
                                                     "not_measured": unmeasured},
                                                    indent=1), encoding="utf-8")
    click.echo(f"scores:  {out_dir / 'scores.csv'}, scores.md, scores.json")
    if pattern is not None:
        _print_pattern(F.score_city_pattern(pattern, results), pattern_path, out_dir / "pattern.json", console)
    _figures(results, targets.targets, out_dir, "", ("record", "cities"))


def _print_pattern(ps, pattern_path: Path, json_path: Path, console) -> None:
    """The per-city pattern score (uprising.country.fit.score_city_pattern): a table, its checks, and JSON."""
    from rich.table import Table

    table = Table(title=f"where the violence is, against {pattern_path} (means over the runs; the model's class "
                        "is its rank in violent person-hours per resident, cut at the record's counts)")
    for col in ("city", "record", "model", "violent person-hours", "per 1,000 residents", "deaths"):
        table.add_column(col, justify="left" if col in ("city", "record", "model") else "right")
    for r in ps.rows():
        table.add_row(r["city"], r["record"], r["model"], f"{r['violent_person_hours']:,}",
                      f"{r['violent_person_hours_per_1000']:,.1f}", f"{r['deaths']:,.0f}")
    console.print(table)
    for check, ok in ps.checks.items():
        share = ps.runs_passing[check]
        click.echo(f"pattern: {check}: {'n/a' if ok is None else 'yes' if ok else 'no'}"
                   f"{'' if share is None else f' ({share:.0%} of the runs)'}")
    spearman = "undefined" if ps.spearman is None else f"{ps.spearman:+.2f}"
    click.echo(f"pattern: class agreement {ps.class_agreement:.0%}, peaceful agreement {ps.peaceful_agreement:.0%}, "
               f"Spearman {spearman}")
    json_path.write_text(json.dumps({"pattern": str(pattern_path), "rows": ps.rows(), "checks": ps.checks,
                                     "runs_passing": ps.runs_passing, "class_agreement": ps.class_agreement,
                                     "peaceful_agreement": ps.peaceful_agreement, "spearman": ps.spearman},
                                    indent=1), encoding="utf-8")
    click.echo(f"pattern: {json_path}")


# ------------------------------------------------------------------ compare
@click.command("compare")
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option("--variant", "variant_names", multiple=True, metavar="NAME",
              help="A variant of the scenario ([variants.NAME]); repeatable. Default: all of them.")
@_where
@click.option("--posterior", "posterior_path", type=click.Path(path_type=Path), default=None,
              help="A posterior (posterior.json of `uprising calibrate`): also run every variant paired with the "
                   "baseline on --draws parameter sets drawn from it, and report intervals over parameters and seeds.")
@click.option("--draws", type=click.IntRange(2, 1_000_000), default=200, show_default=True,
              help="With --posterior: parameter sets drawn from it (one paired run each).")
def compare_cmd(scenario_path: Path, variant_names: tuple[str, ...], replicates: int, seed: int,
                sets: tuple[str, ...], workers: int | None, cluster: str | None, out_dir: Path | None,
                posterior_path: Path | None, draws: int) -> None:
    """Run the baseline and each --variant of SCENARIO on the same seeds; report paired differences.

    With --posterior, also over the posterior: the scenario at each of --draws parameter sets drawn from it, every
    variant paired with the baseline on the same seeds, next to the --replicates runs at the scenario's own
    parameters (the seed-only intervals).
    """
    if posterior_path is not None:
        return _compare_posterior(scenario_path, variant_names, replicates, seed, sets, workers, cluster, out_dir,
                                  posterior_path, draws)
    from rich.console import Console
    from rich.table import Table

    from ..country import compare as C
    from .. import execution as E

    scenario = load_country(scenario_path, sets)
    names = list(variant_names) or list(scenario.variants)
    if not names:
        raise UsageFailure(f"{scenario_path}: declares no [variants.NAME]; add one or pass --variant")
    variants = {name: scenario.variant(name, source=str(scenario_path)) for name in names}
    base = scenario.variant("baseline")
    out_dir = writable_folder(out_dir or Path("results") / f"{file_stem(scenario.name)}-compare", "--out")
    everything = [("baseline", base), *variants.items()]
    check_runs_fit(scenario, str(scenario_path), replicates, workers, cluster, scenarios=len(everything))
    if replicates < C.ADVISED_REPLICATES:
        click.echo(f"warning: {replicates} replicates per variant; at least {C.ADVISED_REPLICATES} are advised for "
                   "the intervals, and below that significance is not marked", err=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [t for _, sc in everything for t in E.tasks(sc, replicates, seed)]
    click.echo(f"{scenario.name}: baseline and {len(variants)} variant{'s' if len(variants) != 1 else ''} x {_runs(replicates)} = {len(tasks)} runs",
               err=True)
    started = time.perf_counter()
    res = _run_tasks(tasks, f"{scenario.name} compare", cluster, workers)
    groups = {name: res[i * replicates:(i + 1) * replicates] for i, (name, _) in enumerate(everything)}
    baseline = groups.pop("baseline")
    rows = C.compare(baseline, groups)
    console = _console()
    table = Table(title=f"{scenario.name}: variant minus baseline, {replicates} paired runs each at scale "
                        f"{scenario.scale:g} (95% bootstrap CI)")
    for col in ("variant", "outcome", "baseline", "variant mean", "difference (95% CI)", "significant"):
        table.add_column(col, justify="left" if col in ("variant", "outcome", "significant") else "right")
    for c in rows:
        sig = C.significance(c)
        diff = f"{c.difference:+,.1f} ({c.difference_ci[0]:+,.1f} to {c.difference_ci[1]:+,.1f})"
        table.add_row(c.variant, C.OUTCOMES[c.outcome][0], f"{c.baseline_mean:,.1f}", f"{c.variant_mean:,.1f}",
                      f"[bold]{diff}[/bold]" if sig == "yes" else diff, sig)
    console.print(table)
    _write_table(C.rows_as_dicts(rows), out_dir / "compare.csv")
    (out_dir / "compare.md").write_text(C.markdown(rows, scenario.scale) + "\n", encoding="utf-8")
    runs = _write_results(baseline + [r for runs in groups.values() for r in runs], out_dir / "runs.parquet")
    click.echo(f"tables:  {out_dir / 'compare.csv'}, compare.md; runs: {runs}")
    P = plotting("country_plots")
    if P is not None:
        click.echo(f"figure:  {P.plot_compare(baseline, groups, rows, out_dir / 'compare.png')}")
    click.echo(f"{len(tasks)} runs in {time.perf_counter() - started:.1f} s", err=True)


def _run_tasks(tasks: list, label: str, cluster: str | None, workers: int | None) -> list:
    """Run ``tasks`` (:mod:`uprising.execution`) on the cluster or local processes, with a progress bar."""
    from .. import execution as E

    say_if_compiling()
    with Progress(label) as bar:
        progress = (lambda done, total: bar(done, total, None))
        progress(0, len(tasks))
        with _executor(cluster, workers) as ex:
            return E.run_many(tasks, ex, progress)


def _compare_posterior(scenario_path: Path, variant_names: tuple[str, ...], replicates: int, seed: int,
                       sets: tuple[str, ...], workers: int | None, cluster: str | None, out_dir: Path | None,
                       posterior_path: Path, draws: int) -> None:
    """`uprising compare --posterior` (see :func:`compare_cmd`)."""
    from rich.table import Table

    from ..country import compare as C
    from ..country.scenario import CountryScenario
    from ..experiment.posterior import read_posterior
    from ..scenario import ScenarioError

    post = read_posterior(posterior_path)
    scenario = CountryScenario.load(scenario_path)
    fixed = post.meta.get("set") or {}
    if fixed:  # the posterior's own fixed changes (its scale), before --set
        scenario = scenario.replace(fixed, source=f"{posterior_path} set")
    changes = parse_sets(sets, str(scenario_path), example="scale=0.005")
    if changes:
        scenario = scenario.replace(changes, source=f"{scenario_path} --set")
    names = list(variant_names) or list(scenario.variants)
    if not names:
        raise UsageFailure(f"{scenario_path}: declares no [variants.NAME]; add one or pass --variant")
    for name in names:
        scenario.variant(name, source=str(scenario_path))
    try:  # every parameter of the posterior must be a key of this scenario (checked on its first particle)
        scenario.replace(post.point(0), source=str(posterior_path))
    except ScenarioError as exc:
        raise ScenarioError(str(posterior_path), f"parameters.{exc.field}", exc.message) from None
    if post.meta.get("base_hash") and post.meta["base_hash"] != scenario.replace({}).hash() and not changes:
        click.echo(f"warning: {posterior_path} was calibrated on a scenario other than {scenario_path} as given "
                   f"(hash {post.meta['base_hash']} != {scenario.hash()}); its parameter sets are applied anyway",
                   err=True)
    out_dir = writable_folder(out_dir or Path("results") / f"{file_stem(scenario.name)}-compare-posterior", "--out")
    everything = ["baseline", *names]
    drawn_sets = post.draw(draws, seed)
    tasks = C.posterior_tasks(scenario, names, drawn_sets, seed, replicates, source=str(posterior_path))
    click.echo(f"{scenario.name}: baseline and {len(names)} variants x ({replicates} runs at its own parameters + "
               f"{draws} parameter sets drawn from {posterior_path}) = {len(tasks)} runs at scale {scenario.scale:g}",
               err=True)
    started = time.perf_counter()
    values = _run_tasks(tasks, f"{scenario.name} compare --posterior", cluster, workers)
    wall = time.perf_counter() - started
    point, drawn = C.posterior_values(values, names, replicates, draws)
    n_point, k = len(everything) * replicates, len(everything)
    rows = C.compare_posterior(point, drawn)
    table = Table(title=f"{scenario.name}: variant minus baseline at its parameters ({replicates} paired runs) and "
                        f"over the posterior ({draws} draws, one paired run each), scale {scenario.scale:g}")
    for col in ("variant", "outcome", "point: mean (95% CI, seeds)", "posterior: mean (95% CI)",
                "one run 2.5-97.5%: posterior", "P(sign)"):
        table.add_column(col, justify="left" if col in ("variant", "outcome") else "right")
    for c in rows:
        table.add_row(c.variant, C.OUTCOMES[c.outcome][0],
                      f"{c.point_mean:+,.1f} ({c.point_ci[0]:+,.1f} to {c.point_ci[1]:+,.1f})",
                      f"{c.posterior_mean:+,.1f} ({c.posterior_ci[0]:+,.1f} to {c.posterior_ci[1]:+,.1f})",
                      f"{c.posterior_interval[0]:+,.0f} to {c.posterior_interval[1]:+,.0f}", f"{c.p_sign:.2f}")
    _console().print(table)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_table(C.posterior_rows_as_dicts(rows, scenario.scale), out_dir / "compare-posterior.csv")
    (out_dir / "compare-posterior.md").write_text(C.posterior_markdown(rows, scenario.scale) + "\n", encoding="utf-8")
    _write_table([{"draw": d, "variant": v, **theta, **values[n_point + d * k + i]}
                  for d, theta in enumerate(drawn_sets) for i, v in enumerate(everything)],
                 out_dir / "posterior-runs.csv")
    _write_table([{"variant": v, "replicate": r, **values[i * replicates + r]}
                  for i, v in enumerate(everything) for r in range(replicates)], out_dir / "point-runs.csv")
    click.echo(f"tables:  {out_dir / 'compare-posterior.csv'}, compare-posterior.md, posterior-runs.csv, "
               "point-runs.csv")
    P = plotting("country_plots")
    if P is not None and hasattr(P, "plot_compare_posterior"):
        click.echo(f"figure:  {P.plot_compare_posterior(rows, out_dir / 'compare-posterior.png')}")
    click.echo(f"{len(tasks)} runs in {wall:.1f} s", err=True)
