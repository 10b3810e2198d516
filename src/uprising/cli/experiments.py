"""Command line of the experiment layer: ``experiment``, ``runs ...`` and ``cluster local``.

Registered on the main group by :mod:`uprising.cli`.
Bad input prints one line and exits with 2 (through ``UsageFailure`` and
``ScenarioError``, which :func:`uprising.cli.main` reports); an interrupted
experiment exits with 130 after one line saying how to resume; an experiment
in which some runs failed exits with 1 after the others completed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ..scenario import echo
from .common import (Progress, UsageFailure, cluster_option, connect, need_plot_extra, say_if_compiling, workers_option,
                     writable_folder)

DEFAULT_RESULTS = Path("results")


def _need_extra() -> None:
    missing = []
    for module in ("duckdb", "distributed", "SALib", "scipy"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UsageFailure(f"{', '.join(missing)} not installed; install the experiments extra: "
                     "pip install 'uprising[experiments]'")


def _interrupt_on_sigterm() -> list[bool]:
    """Make SIGTERM (a batch system's or `kill`'s stop) act as Ctrl-C; the list is set when it came."""
    import signal

    came: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        came.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    return came


def _where_to_run(command):
    """The options every command that makes runs shares: the store, a Dask scheduler or local workers."""
    for option in reversed((
        click.option("--store", "store_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help="Results store (default: results/NAME, NAME the experiment's)."),
        cluster_option("Run on this Dask scheduler (see `uprising cluster local`) instead of local processes."),
        workers_option(),
    )):
        command = option(command)
    return command


# ------------------------------------------------------------------ experiment
@click.command("experiment")
@click.argument("experiment_path", metavar="EXPERIMENT", type=click.Path(path_type=Path))
@_where_to_run
def experiment_cmd(experiment_path: Path, store_dir: Path | None, cluster: str | None, workers: int | None) -> None:
    """Run every run of EXPERIMENT (a TOML experiment file) not already in the store.

    Each run writes its time series and its outcomes row to the store as it
    finishes; re-running the same command resumes where it stopped.
    """
    _need_extra()
    from ..experiment.runner import ExperimentInterrupted, run_experiment
    from ..experiment.spec import Experiment
    from ..experiment.store import ResultStore

    if cluster is not None and workers is not None:
        raise UsageFailure("--workers: the cluster's workers run the experiment with --cluster; give one of the two")
    if cluster is not None and not cluster.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise UsageFailure(f"--cluster: {echo(cluster)}: expected a scheduler address such as tcp://127.0.0.1:8786")
    exp = Experiment.load(experiment_path)
    store_dir = store_dir if store_dir is not None else DEFAULT_RESULTS / exp.name
    if store_dir.exists() and not store_dir.is_dir():
        raise UsageFailure(f"--store: {store_dir}: not a folder")
    writable_folder(store_dir, "--store")
    executor, close = connect(cluster)
    store = ResultStore(store_dir)
    where = f"on {cluster}" if cluster else f"on {workers or 'all'} local processes"
    total = len(exp.run_ids())
    click.echo(f"{exp.name}: {len(exp.points())} points x {exp.replicates} replicates = {total} runs, {where}; "
               f"store {store.root}", err=True)
    terminated = _interrupt_on_sigterm()
    say_if_compiling()
    try:
        with Progress(exp.name) as progress:
            summary = run_experiment(exp, store, executor, progress, workers=workers)
    except ExperimentInterrupted as exc:
        s = exc.summary
        how = "terminated" if terminated else "interrupted"
        click.echo(f"uprising: {how}: {s.done} of {s.total} runs complete in {store.root}; run the same "
                   "command again to resume", err=True)
        sys.exit(143 if terminated else 130)
    finally:
        if close is not None:
            close()
    failed = summary.failed + summary.lost
    again = f", {summary.reevaluated} given new outcomes from their series" if summary.reevaluated else ""
    click.echo(f"{exp.name}: {summary.done}/{summary.total} runs complete in {store.root} ({summary.completed} now, "
               f"{summary.already} already there{again}), {failed} failed, {summary.wall_seconds:.1f} s")
    if failed:
        click.echo(f"uprising: {failed} runs failed; see `uprising runs ls --store {store_dir} --failed`; re-running "
                   "the command retries them", err=True)
        sys.exit(1)


# ------------------------------------------------------------------ runs
def _open_store(store_dir: Path | None) -> Any:
    _need_extra()
    from ..experiment.store import ResultStore

    path = store_dir if store_dir is not None else DEFAULT_RESULTS
    if ResultStore.is_store(path):
        return _verified(ResultStore(path, create=False))
    inner = sorted(d for d in path.iterdir() if ResultStore.is_store(d)) if path.is_dir() else []
    if len(inner) == 1 and store_dir is None:
        return _verified(ResultStore(inner[0], create=False))
    if inner:
        names = ", ".join(str(d) for d in inner[:6])
        raise UsageFailure(f"--store: {path} holds {len(inner)} stores ({names}); pass --store with one of them")
    raise UsageFailure(f"--store: {path}: no results store there; run `uprising experiment FILE` first or pass --store DIR")


_store_option = click.option("--store", "store_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                              help="Results store (default: the one store under results/).")


@click.group("runs")
def runs_group() -> None:
    """List, show, query and export the runs of a results store (DuckDB, no server)."""


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_table(table: Any, title: str | None = None, limit: int = 0) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title=title)
    for name in table.column_names:
        out.add_column(name, no_wrap=name == "run_id", overflow="fold")
    rows = table.to_pylist()
    shown = rows if limit <= 0 else rows[:limit]
    for row in shown:
        out.add_row(*(_fmt(row[c]) for c in table.column_names))
    console = Console()
    (console if console.is_terminal else Console(width=250)).print(out)
    if len(shown) < len(rows):
        click.echo(f"... {len(rows) - len(shown)} more rows (--limit 0 shows all; `runs export` writes them)")


def _verified(store: Any) -> Any:
    """The store after moving its unreadable files to quarantine/, each reported in one line on stderr."""
    for q in store.verify():
        click.echo(f"uprising: {q.line()}", err=True)
    return store


@runs_group.command("check")
@_store_option
def runs_check(store_dir: Path | None) -> None:
    """Verify every file of a store; move unreadable ones to quarantine/ (their runs are redone on resume)."""
    store = _open_store(store_dir)
    moved = store.quarantined
    runs = len(store.completed())
    click.echo(f"{store.root}: {runs} runs readable" + (f"; {len(moved)} files moved to {store.quarantine_dir}"
                                                        if moved else "; nothing to quarantine"))


@runs_group.command("compact")
@_store_option
def runs_compact(store_dir: Path | None) -> None:
    """Pack the runs stored as single files into one Parquet dataset per experiment (faster queries)."""
    store = _open_store(store_dir)
    packed = store.compact()
    click.echo(f"{store.root}: {packed} runs packed into {store.compacted_dir}" if packed else
               f"{store.root}: nothing to pack")


@runs_group.command("ls")
@_store_option
@click.option("--failed", is_flag=True, help="Only the failed runs, with their errors.")
@click.option("--limit", type=click.IntRange(0, None), default=50, show_default=True, help="Rows shown (0: all).")
def runs_ls(store_dir: Path | None, failed: bool, limit: int) -> None:
    """List the runs of a store, with each experiment's progress."""
    store = _open_store(store_dir)
    store.refresh_catalog()
    done, bad = store.completed(), store.failed()
    for plan in store.manifests():
        ids = plan.get("run_ids", [])
        ok = sum(1 for i in ids if i in done)
        nf = sum(1 for i in ids if i in bad)
        click.echo(f"{plan['name']}: {len(ids)} runs planned, {ok} ok, {nf} failed, {len(ids) - ok - nf} not run")
    params: list[str] = []
    for plan in store.manifests():
        params += [p for p in plan.get("parameters", {}) if p not in params]
    cols = store.query("DESCRIBE outcomes").column("column_name").to_pylist()
    shown = ", ".join(f'o."{p}"' for p in params if p in cols)
    where = "WHERE r.status = 'failed'" if failed else ""
    extra = ", r.error" if failed else ""
    sql = (f"SELECT r.run_id, r.status, r.experiment, r.point_index AS point, r.replicate AS rep"
           f"{', ' + shown if shown else ''}, r.wall_seconds{extra} FROM runs r LEFT JOIN outcomes o USING (run_id) "
           f"{where} ORDER BY r.experiment, r.point_index, r.replicate")
    table = store.query(sql)
    if table.num_rows == 0:
        click.echo(f"no {'failed ' if failed else ''}runs in {store.root}")
        return
    _print_table(table, title=str(store.root), limit=limit)


@runs_group.command("show")
@click.argument("run_id", metavar="ID")
@_store_option
def runs_show(run_id: str, store_dir: Path | None) -> None:
    """Show one run: its outcomes, parameters and files, or its error and traceback (ID may be a unique prefix)."""
    from ..experiment.store import StoreError

    store = _open_store(store_dir)
    try:
        rid = store.resolve_id(run_id)
    except StoreError as exc:
        raise UsageFailure(f"runs show: {exc}") from None
    if store.has(rid):
        row = store.outcome_row(rid)
        click.echo(f"run {rid}: ok")
        for key, value in row.items():
            click.echo(f"  {key:32} {_fmt(value)}")
        series, outcomes = store.files_of(rid)
        click.echo(f"  {'series':32} {series} ({store.series(rid).num_rows} rows)")
        click.echo(f"  {'outcomes file':32} {outcomes}")
        click.echo(f"  reproduce: simulate(scenario, seed={row['seed']}, replicate={row['replicate']}) with the "
                   "scenario stored in the outcomes file's metadata (ResultStore.scenario(id))")
        return
    rec = store.failure(rid)
    click.echo(f"run {rid}: failed")
    for key in ("experiment", "point_index", "replicate", "seed", "scenario_hash", "params", "worker", "error"):
        click.echo(f"  {key:32} {_fmt(rec.get(key))}")
    click.echo(f"  {'failure file':32} {store.failure_path(rid)}")
    click.echo("traceback:")
    click.echo(rec.get("traceback", "").rstrip())


@runs_group.command("query")
@click.argument("sql", metavar="SQL")
@_store_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (all rows) instead of a table.")
@click.option("--limit", type=click.IntRange(0, None), default=100, show_default=True, help="Rows shown (0: all).")
def runs_query(sql: str, store_dir: Path | None, as_csv: bool, limit: int) -> None:
    """Run SQL over the store: views outcomes, series, failures and runs (DuckDB's dialect).

    Example: uprising runs query "SELECT legitimacy, avg(mean_active_fraction) FROM outcomes GROUP BY ALL ORDER BY 1"
    """
    from ..experiment.store import StoreError

    store = _open_store(store_dir)
    try:
        table = store.query(sql)
    except StoreError as exc:
        raise UsageFailure(f"runs query: {exc}") from None
    if as_csv:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, sys.stdout.buffer)
        return
    _print_table(table, limit=limit)


@runs_group.command("export")
@click.argument("out", metavar="OUT.csv|OUT.parquet", type=click.Path(path_type=Path, dir_okay=False))
@_store_option
@click.option("--what", type=click.Choice(["outcomes", "series", "failures", "runs"]), default="outcomes",
              show_default=True, help="Which view to write.")
def runs_export(out: Path, store_dir: Path | None, what: str) -> None:
    """Write the outcomes (or the time series, failures, runs) of a store to one CSV or Parquet file."""
    from ..experiment.store import StoreError

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise UsageFailure(f"runs export: {out}: the file must end in .csv or .parquet")
    store = _open_store(store_dir)
    try:
        path = store.export(out, what)
    except StoreError as exc:
        raise UsageFailure(f"runs export: {exc}") from None
    n = store.query(f"SELECT count(*) AS n FROM {what}").column("n")[0].as_py()
    click.echo(f"wrote {path} ({n} rows of {what})")


# ------------------------------------------------------------------ sensitivity
def draw_sensitivity(table: Any, out_dir: Path) -> list[Path]:
    """One figure per outcome of a table of indices (:func:`uprising.experiment.sensitivity.analyse`): bars
    with their intervals, ``OUTCOME.png`` and ``OUTCOME.svg`` in ``out_dir``. Returns the paths written."""
    from ..experiment.sensitivity import metadata, outcome_stem
    from ..viz import sensitivity_plots

    meta = metadata(table)
    rows = table.to_pylist()
    written: list[Path] = []
    for outcome in dict.fromkeys(r["outcome"] for r in rows):
        mine = [r for r in rows if r["outcome"] == outcome]
        written += sensitivity_plots.indices_figure(mine, meta, outcome, out_dir / outcome_stem(outcome))
    return written


@click.command("sensitivity")
@click.argument("experiment_path", metavar="EXPERIMENT", type=click.Path(path_type=Path))
@_where_to_run
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the indices and figures (default: STORE/sensitivity).")
@click.option("--outcome", "outcomes", multiple=True, metavar="NAME",
              help="Analyse only this outcome of the experiment; repeatable (default: all of them).")
@click.option("--no-plot", is_flag=True, help="Skip the figures.")
@click.pass_context
def sensitivity_cmd(ctx: click.Context, experiment_path: Path, store_dir: Path | None, cluster: str | None,
                    workers: int | None, out_dir: Path | None, outcomes: tuple[str, ...], no_plot: bool) -> None:
    """Sobol' or Morris sensitivity indices of EXPERIMENT's outcomes, with SALib.

    The experiment's [design] kind picks the method: sobol (S1, ST, and S2 with
    second_order = true) or morris (mu_star, mu, sigma). Its runs are made first
    exactly as `uprising experiment` makes them (runs already in the store are
    skipped), then Y = the mean over replicates of each outcome at each design
    point is analysed. Writes indices.csv, indices.parquet, indices.md and one
    figure per outcome (PNG and SVG) to --out, and prints the table.
    """
    _need_extra()
    from ..experiment.sensitivity import SensitivityError, analyse, check_method, write_outputs, wide
    from ..experiment.spec import Experiment
    from ..experiment.store import ResultStore

    exp = Experiment.load(experiment_path)
    method = check_method(exp)
    for name in outcomes:
        if name not in exp.outcomes:
            raise UsageFailure(f"--outcome: {echo(name)} is not one of {experiment_path}'s outcomes: {', '.join(exp.outcomes)}")
    if not no_plot:
        need_plot_extra("--no-plot")
    store_dir = store_dir if store_dir is not None else DEFAULT_RESULTS / exp.name
    if out_dir is not None:
        writable_folder(out_dir, "--out")
    ctx.invoke(experiment_cmd, experiment_path=experiment_path, store_dir=store_dir, cluster=cluster,
               workers=workers)  # the runs, resumable; exits 1 (some failed), 2, 130 or 143 as `experiment` does
    store = ResultStore(store_dir, create=False)
    try:
        table = analyse(exp, store, list(outcomes) or None)
    except SensitivityError as exc:
        raise UsageFailure(str(exc)) from None
    out_dir = out_dir if out_dir is not None else store.root / "sensitivity"
    written = write_outputs(table, out_dir)
    if not no_plot:
        written += draw_sensitivity(table, out_dir)
    from rich.console import Console
    from rich.table import Table

    columns, rows = wide(table)
    shown = Table(title=f"{exp.name}: {method} indices (Y = mean over {exp.replicates} replicate(s); ± is the "
                        f"95% bootstrap half-width)")
    for column in columns:
        shown.add_column(column, justify="left" if column in ("outcome", "parameter") else "right")
    for row in rows:
        shown.add_row(*row)
    console = Console()
    (console if console.is_terminal else Console(width=200)).print(shown)
    click.echo(f"wrote {len(written)} files to {out_dir}: indices.csv, indices.parquet, indices.md"
               + ("" if no_plot else ", a PNG and an SVG per outcome"))


# ------------------------------------------------------------------ calibrate
class _CalibrationProgress:
    """Progress of a calibration on stderr: a line per population (with an ETA); on a terminal also a bar of
    the accepted particles of the population being sampled."""

    def __init__(self, name: str):
        from rich.console import Console

        self.name = name
        self.console = Console(stderr=True)
        self.bar = None
        self.task = None
        self.total = 0
        self.started = time.perf_counter()

    def __enter__(self) -> "_CalibrationProgress":
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
                TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("accepted, {task.fields[simulated]} simulated"), TimeElapsedColumn(),
                                TextColumn("eta"), TimeRemainingColumn(), console=self.console)
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text, err=True)

    def __call__(self, event: str, info: dict) -> None:
        eps = info.get("epsilon")
        eps_text = f"epsilon {eps:.4g}" if eps is not None else "epsilon from this sample"
        if event == "start" and self.bar is not None:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.total = info["n"]
            self.task = self.bar.add_task(f"{self.name}: {info['label']}", total=self.total, simulated=0)
        elif event == "particle" and self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=min(info["accepted"], self.total), simulated=info["simulated"])
        elif event == "end":
            if self.bar is not None and self.task is not None:
                self.bar.remove_task(self.task)
                self.task = None
            eta = info.get("eta_seconds")
            rate = info.get("acceptance_rate") or 0.0
            tail = f", eta {eta:.0f} s" if eta else ""
            self._line(f"{self.name}: {info['label']}: {eps_text}, {info['accepted']} accepted of "
                       f"{info['simulated']} simulated ({100 * rate:.0f}%), {info['wall_seconds']:.1f} s; "
                       f"{time.perf_counter() - self.started:.0f} s so far{tail}")
        elif event == "check":
            self._line(f"{self.name}: running {info['candidates']} candidates for the best parameter set "
                       f"{info['replicates']} times each")


def draw_calibration(result: Any) -> dict[str, Path]:
    """The figures of a calibration (:class:`uprising.experiment.calibrate.CalibrationResult`) in its folder:
    ``posterior.png`` (every population's marginals, the last one's pairwise densities, the posterior median
    and the best set marked) and ``epsilon.png`` (epsilon and acceptance rate per population)."""
    from ..viz import calibration_plots

    median = {r["parameter"]: r["q50"] for r in result.posterior}
    return {
        "posterior.png": calibration_plots.posterior_pairs(
            result.particles, list(result.ranges), result.ranges, result.out / "posterior.png",
            title=f"{result.experiment}: posterior (last population dark, earlier lighter)", median=median,
            best={n: float(v) for n, v in result.best_parameters.items()}),
        "epsilon.png": calibration_plots.epsilon_per_population(
            result.population_rows, result.out / "epsilon.png", title=f"{result.experiment}: epsilon per population"),
    }


@click.command("calibrate")
@click.argument("experiment_path", metavar="EXPERIMENT", type=click.Path(path_type=Path))
@click.option("--targets", "targets_path", type=click.Path(path_type=Path), required=True,
              help="Model I: CSV with the columns outcome,value,scale (scale: the tolerance, e.g. the observed sd). "
                   "A country: its targets file (quantity,value_low,value_high,date,split,source); the fit split "
                   "is calibrated on, the test split only measured.")
@_where_to_run
@click.option("--populations", type=click.IntRange(0, 1000), default=None,
              help="Populations (generations) after the prior's sample [Model I: 4; a country: 4].")
@click.option("--population-size", type=click.IntRange(2, 1_000_000), default=None,
              help="Particles accepted (kept) per population [Model I: 50; a country: 200].")
@click.option("--first", type=click.IntRange(2, 10_000_000), default=None,
              help="A country: points drawn from the prior in the first generation [1000].")
@click.option("--size", type=click.IntRange(2, 10_000_000), default=None,
              help="A country: points proposed in each later generation [500].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="A country: seed of the prior's points and the proposals [the experiment's seed].")
@click.option("--local-from", type=click.IntRange(0, 1000), default=None,
              help="A country: generations from this one on propose with the local kernel (a covariance from the "
                   "particles nearest the record, Filippi et al. 2013) around the posterior pooled so far; 0: "
                   "never [0].")
@click.option("--adjust", type=click.IntRange(0, 10_000_000), default=None,
              help="A country: regression-adjust the posterior over this many nearest runs (Beaumont et al. "
                   "2002); 0: none [0]. Check its predictive: under a misspecified model it can fit worse.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the posterior, records, best scenario and figures (default: STORE/calibration).")
@click.option("--no-plot", is_flag=True, help="Skip the figures.")
def calibrate_cmd(experiment_path: Path, targets_path: Path, store_dir: Path | None, cluster: str | None,
                  workers: int | None, populations: int | None, population_size: int | None, first: int | None,
                  size: int | None, seed: int | None, local_from: int | None, adjust: int | None,
                  out_dir: Path | None, no_plot: bool) -> None:
    """Calibrate EXPERIMENT's parameter ranges against --targets: a posterior.

    Model I: ABC-SMC with pyabc. Priors are uniform over each parameter's
    { low, high } range (log-uniform with prior = "log-uniform"; the design's
    samples are not used). Every particle is simulated as a run of the store
    (seeded from its scenario hash, like any run), on local processes or a Dask
    cluster. Writes posterior.csv, particles and populations (Parquet and CSV),
    best.toml (of the posterior's weighted median, its mode and the closest
    particles, the one nearest the targets over 10 fresh runs each),
    best_check.csv, calibration.json, pyabc's abc.db and the figures to --out;
    a calibration into the same folder replaces them.

    A country scenario: ABC-SMC by population Monte Carlo in generations of runs
    of the store (uprising.experiment.posterior): deterministic, so a second call
    makes no new simulation and a stopped one resumes. Writes posterior.json (what
    `uprising compare --posterior` reads), posterior.csv, particles.csv,
    generations.csv, the posterior predictive of every fit and test target
    (predictive.csv, fresh runs of each particle) and the figures to --out.
    --adjust N moves the particles by a local-linear regression on the targets'
    measures over the N nearest runs (no new simulation; the predictive runs the
    moved particles).
    """
    _need_extra()
    import importlib.util
    import logging
    import os

    from ..experiment.spec import Experiment

    if cluster is not None and workers is not None:
        raise UsageFailure("--workers: the cluster's workers simulate with --cluster; give one of the two")
    if cluster is not None and not cluster.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise UsageFailure(f"--cluster: {echo(cluster)}: expected a scheduler address such as tcp://127.0.0.1:8786")
    exp = Experiment.load(experiment_path)
    if exp.kind == "country":
        return _calibrate_country(exp, targets_path, store_dir, cluster, workers, populations, population_size,
                                  first, size, seed, out_dir, no_plot, adjust or 0, local_from or 0)
    for flag, value in (("--first", first), ("--size", size), ("--seed", seed), ("--adjust", adjust),
                        ("--local-from", local_from)):
        if value is not None:
            raise UsageFailure(f"{flag}: only for a country scenario's calibration ({experiment_path} is Model I)")
    populations = 4 if populations is None else populations
    population_size = 50 if population_size is None else population_size
    if populations < 1:
        raise UsageFailure("--populations: at least 1 for Model I's ABC-SMC")
    if importlib.util.find_spec("pyabc") is None:  # imported later, only to run (it takes seconds)
        raise UsageFailure("pyabc not installed; install the experiments extra: pip install 'uprising[experiments]'")

    from ..experiment.calibrate import calibrate, check_ranges, load_targets
    from ..experiment.store import ResultStore

    ranges = check_ranges(exp)
    targets = load_targets(targets_path)
    if not no_plot:
        need_plot_extra("--no-plot")
    store_dir = store_dir if store_dir is not None else DEFAULT_RESULTS / exp.name
    if store_dir.exists() and not store_dir.is_dir():
        raise UsageFailure(f"--store: {store_dir}: not a folder")
    out_dir = out_dir if out_dir is not None else store_dir / "calibration"
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageFailure(f"--out: {out_dir}: not a folder")
    writable_folder(store_dir, "--store")
    writable_folder(out_dir, "--out")
    import pyabc  # noqa: F401  (sets up its "ABC" logger)

    if "ABC_LOG_LEVEL" not in os.environ:
        logging.getLogger("ABC").setLevel(logging.WARNING)  # our own progress lines replace pyabc's
    executor, close = connect(cluster)
    store = ResultStore(store_dir)
    where = f"on {cluster}" if cluster else f"on {workers or 'all'} local processes"
    shown = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in ranges.items())
    click.echo(f"{exp.name}: ABC-SMC over {shown} against {len(targets)} targets ({targets_path}), "
               f"{populations} populations of {population_size}, {exp.base_scenario.steps} steps x "
               f"{exp.replicates} replicate(s) per particle, {where}; store {store.root}, out {out_dir}", err=True)
    terminated = _interrupt_on_sigterm()
    try:
        with _CalibrationProgress(exp.name) as progress:
            result = calibrate(exp, targets, store, out_dir, executor, workers=workers, populations=populations,
                               population_size=population_size, progress=progress, targets_source=str(targets_path))
    except KeyboardInterrupt:
        how = "terminated" if terminated else "interrupted"
        click.echo(f"uprising: {how}: calibration stopped; pyabc's {out_dir / 'abc.db'} holds the populations "
                   f"finished and {store.root} every particle simulated; run the command again to start over",
                   err=True)
        sys.exit(143 if terminated else 130)
    except Exception as exc:  # pyabc or the executor gave up (a broken pool, a lost cluster)
        text = " ".join(str(exc).split())
        click.echo(f"uprising: calibration failed: {type(exc).__name__}{': ' + text if text else ''}", err=True)
        sys.exit(1)
    finally:
        if close is not None:
            close()
    if not no_plot:
        result.files.update(draw_calibration(result))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{exp.name}: posterior after {result.populations} populations of {population_size} "
                        f"({result.simulations} simulations, {result.wall_seconds:.0f} s)")
    for column in ("parameter", "mean", "sd", "2.5%", "50%", "97.5%", "prior"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for row in result.posterior:
        table.add_row(row["parameter"], *(f"{row[k]:.4g}" for k in ("mean", "sd", "q2.5", "q50", "q97.5")),
                      f"[{row['prior_low']:g}, {row['prior_high']:g}]")
    console = Console()
    (console if console.is_terminal else Console(width=200)).print(table)
    best = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                     for k, v in result.best_parameters.items())
    click.echo(f"best ({result.best_rule}): {best} -> {out_dir / 'best.toml'}")
    for row in result.check:
        click.echo(f"  {row['outcome']}: {row['mean']:.4g} (sd {row['sd']:.3g}, {row['defined']}/{row['replicates']} "
                   f"runs defined) vs target {row['target']:g} (scale {row['scale']:g}, z = {row['z']:+.2f})")
    closest = result.closest_particle
    if closest:
        text = ", ".join(f"{t.outcome} = {closest.get(t.outcome, float('nan')):.4g}" for t in targets)
        click.echo(f"closest particle (one run, distance {closest['distance']:.3g}, population {closest['t'] + 1}): "
                   f"{text}")
    click.echo(f"wrote {len(result.files)} files to {out_dir}")


def _calibrate_country(exp: Any, targets_path: Path, store_dir: Path | None, cluster: str | None,
                       workers: int | None, populations: int | None, population_size: int | None, first: int | None,
                       size: int | None, seed: int | None, out_dir: Path | None, no_plot: bool,
                       adjust: int = 0, local_from: int = 0) -> None:
    """`uprising calibrate` of a country experiment (see :func:`calibrate_cmd`)."""
    import csv

    from ..country.fit import load_targets
    from ..experiment import posterior as P
    from ..experiment.store import ResultStore

    tf = load_targets(targets_path, exp.base_scenario)
    fit, test = tf.of_split("fit"), tf.of_split("test")
    settings = P.Settings(first=1000 if first is None else first, generations=4 if populations is None else populations,
                          size=500 if size is None else size, keep=200 if population_size is None else population_size,
                          seed=exp.seed if seed is None else seed, adjust=adjust, local_from=local_from)
    settings.check(f"{exp.source} (--first, --size, --populations, --population-size, --local-from, --adjust)")
    priors = P.priors_of(exp)
    if not no_plot:
        need_plot_extra("--no-plot")
    store_dir = store_dir if store_dir is not None else DEFAULT_RESULTS / exp.name
    out_dir = out_dir if out_dir is not None else store_dir / "calibration"
    for flag, folder in (("--store", store_dir), ("--out", out_dir)):
        if folder.exists() and not folder.is_dir():
            raise UsageFailure(f"{flag}: {folder}: not a folder")
        writable_folder(folder, flag)
    executor, close = connect(cluster)
    store = ResultStore(store_dir)
    where = f"on {cluster}" if cluster else f"on {workers or 'all'} local processes"
    runs = settings.simulations * exp.replicates
    click.echo(f"{exp.name}: ABC-SMC over {len(priors)} parameters against {len(fit)} fit targets ({targets_path}; "
               f"{len(test)} test targets measured, not used), {settings.first} prior points then "
               f"{settings.generations} generations of {settings.size}"
               f"{f' (from generation {settings.local_from} by the local kernel)' if settings.local_from else ''}, "
               f"keeping {settings.keep}"
               f"{f', regression-adjusted over the {settings.adjust} nearest' if settings.adjust else ''}: {runs} runs at scale "
               f"{exp.base_scenario.scale:g}, {where}; store {store.root}, out {out_dir}", err=True)
    say_if_compiling()
    terminated = _interrupt_on_sigterm()
    started = time.perf_counter()
    try:
        with Progress(f"{exp.name}") as bar:
            def progress(event: str, info: dict) -> None:
                if event == "run":
                    g = info["g"]
                    bar.phase(f"{exp.name}: " + (f"generation {g}" if g != "predictive" else "predictive"),
                              info["done"], info["todo"])
                elif event == "generation":
                    bar.line(f"{exp.name}: generation {info['g']}: {info['points']} points "
                             f"({info['simulations']} runs before it)")
                elif event == "kept":
                    bar.line(f"{exp.name}: generation {info['g']}: epsilon {info['epsilon']:.4g}, effective sample "
                             f"{info['ess']:.0f}, {info['made']} runs made ({time.perf_counter() - started:.0f} s so far)")
            result = P.calibrate_country(exp, fit, store, settings, executor, workers=workers, test_targets=test,
                                         progress=progress)
            post = result.posterior
            post.meta.update({"experiment": exp.name, "experiment_file": str(exp.source),
                              "base": str(exp.base_path), "base_hash": exp.base_scenario.hash(),
                              "set": dict(exp.set), "targets_file": str(targets_path),
                              "settings": settings.__dict__, "runs": result.total_runs,
                              "fit_targets": [t.label for t in fit], "test_targets": [t.label for t in test]})
            bar.line(f"{exp.name}: posterior predictive: each of {len(post.weights)} particles run again on fresh seeds")
            rows, fresh = P.posterior_predictive(exp, post, [*fit, *test], store, executor, workers=workers,
                                                 progress=progress)
    except KeyboardInterrupt:
        how = "terminated" if terminated else "interrupted"
        click.echo(f"uprising: {how}: calibration stopped; {store.root} holds every run made; run the command again "
                   "to resume (it makes only the runs that are missing)", err=True)
        sys.exit(143 if terminated else 130)
    finally:
        if close is not None:
            close()
    wall = time.perf_counter() - started
    post.meta["predictive"] = {split: {"targets": sum(r.split == split for r in rows),
                                       "covered": sum(r.covered for r in rows if r.split == split)}
                               for split in ("fit", "test")}
    post.meta["wall_seconds_this_call"] = wall
    post.meta["runs_made_this_call"] = result.simulated
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [P.write_posterior(post, out_dir / "posterior.json")]

    def write(name: str, table: list[dict[str, Any]]) -> None:
        path = out_dir / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(table[0]))
            w.writeheader()
            w.writerows(table)
        files.append(path)

    summary = post.summary()
    write("posterior.csv", summary)
    write("particles.csv", [{**post.point(i), "weight": float(post.weights[i]), "distance": float(post.distances[i]),
                             "run_id": ";".join(post.run_ids[i])} for i in range(len(post.weights))])
    write("generations.csv", post.generations)
    write("predictive.csv", [r.as_dict() for r in rows])
    if fresh:
        write("predictive_runs.csv", fresh)
    if not no_plot:
        from ..viz import posterior_plots

        files += posterior_plots.draw_all(post, rows, out_dir, title=exp.name)
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console = console if console.is_terminal else Console(width=200)
    table = Table(title=f"{exp.name}: posterior after {len(post.generations)} generations ({result.total_runs} runs, "
                        f"{result.simulated} made now, {wall:.0f} s); effective sample {post.ess:.0f}")
    for column in ("parameter", "5%", "50%", "95%", "prior", "90% width / prior's"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for row in summary:
        table.add_row(row["parameter"], *(f"{row[k]:.4g}" for k in ("q5", "q50", "q95")),
                      f"{row['prior']} [{row['prior_low']:g}, {row['prior_high']:g}]", f"{row['width_ratio']:.2f}")
    console.print(table)
    cover = post.meta["predictive"]
    click.echo(f"posterior predictive (fresh runs): the record inside the 5-95% interval for {cover['fit']['covered']} "
               f"of {cover['fit']['targets']} fit targets and {cover['test']['covered']} of {cover['test']['targets']} "
               "test targets")
    click.echo(f"wrote {len(files)} files to {out_dir}")


# ------------------------------------------------------------------ cluster
@click.group("cluster")
def cluster_group() -> None:
    """Dask clusters for `uprising experiment --cluster`."""


@cluster_group.command("local")
@click.option("--workers", type=click.IntRange(1, 1024), required=True, help="Worker processes (one thread each).")
@click.option("--port", type=click.IntRange(0, 65535), default=8786, show_default=True,
              help="Scheduler port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 to let other machines connect).")
@click.option("--dashboard-port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="Dashboard port (0: any free port).")
def cluster_local(workers: int, port: int, host: str, dashboard_port: int) -> None:
    """Start a Dask LocalCluster (scheduler and WORKERS single-threaded processes); block until Ctrl-C."""
    _need_extra()
    import logging
    import os

    from ..execution import SINGLE_THREAD_ENV

    os.environ.update(SINGLE_THREAD_ENV)  # the worker processes inherit it
    logging.getLogger("distributed").setLevel(logging.ERROR)
    from distributed import LocalCluster

    _interrupt_on_sigterm()
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=host,
                               scheduler_port=port, dashboard_address=f"{host}:{dashboard_port}")
    except (OSError, RuntimeError) as exc:
        raise UsageFailure(f"cluster local: cannot start on {host}:{port}: {' '.join(str(exc).split())}") from None
    try:
        click.echo(f"scheduler: {cluster.scheduler_address}")
        try:
            import bokeh  # noqa: F401

            click.echo(f"dashboard: {cluster.dashboard_link}")
        except ImportError:
            click.echo("dashboard: not served (install bokeh>=3.1 for it)")
        click.echo(f"workers:   {workers} processes, 1 thread each")
        click.echo(f"use:       uprising experiment EXPERIMENT --cluster {cluster.scheduler_address}")
        click.echo("Ctrl-C stops the cluster.", err=True)
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping the cluster", err=True)
    finally:
        cluster.close()
