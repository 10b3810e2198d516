"""A report in two steps around the ensemble, which the caller runs: :func:`plan_report` reads and checks the
file and says which runs the report wants (:meth:`ReportPlan.tasks`); :func:`build_report` writes the HTML
file from the results, figures and validation record handed to it.

``uprising report`` (:mod:`uprising.cli.viz`) runs the tasks with :func:`uprising.execution.run_many`,
draws the figures with :func:`uprising.report.figures.draw_figures` and hands both to
:func:`build_report`. Bad input raises :class:`uprising.scenario.ScenarioError` (one line) in
:func:`plan_report`, before anything runs or is written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..scenario import Scenario, ScenarioError, read_toml
from .html import Figure, Markdown, Report, render_html
from .notes import FileNotes, merge_notes, read_notes
from .odd import COUNTRY_TEXT, MODEL_ONE_TEXT, OddText, load_odd_text
from .record import CheckoutRecord

DEFAULT_REPLICATES = 4
MODEL_ONE, EXPERIMENT, COUNTRY = "model1", "experiment", "country"


def file_kind(data: dict[str, Any]) -> str:
    """Which kind of file a TOML table is: a country scenario (it has cities), an experiment (a base and a
    design) or a Model I scenario."""
    if "cities" in data:
        return COUNTRY
    if "base" in data and ("parameters" in data or "design" in data or "replicates" in data):
        return EXPERIMENT
    return MODEL_ONE


@dataclass
class ReportPlan:
    """A report's inputs, read and checked: the file, its scenario and comments, and the ensemble it wants.

    ``scenario`` is the scenario reported on (an experiment's base scenario, at the experiment's or
    ``--steps``'s steps; a country scenario as in its file) and ``scenario_path``, ``data``, ``notes`` its
    file, table and comments. ``ensemble_scenario`` is what the ensemble runs (a country scenario at the
    report's ``scale``). ``model_text`` is docs/model.md's ODD text, and ``country_text``
    docs/country-model.md's for a country scenario."""

    path: Path
    kind: str
    out: Path
    name: str
    replicates: int
    seed: int
    scenario: Any
    ensemble_scenario: Any
    scenario_path: Path
    data: dict[str, Any]
    notes: FileNotes
    steps: int | None = None
    scale: float | None = None
    experiment: Any = None
    file_notes: FileNotes | None = None
    targets_path: Path | None = None
    targets: Any = None
    model_text: OddText | None = None
    country_text: OddText | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def snapshot_every(self) -> int:
        """Replicate 0 keeps about 20 lattice snapshots (the report's strip of frames)."""
        if self.kind == COUNTRY:
            return max(1, self.scenario.clock.clock().ticks // 20)
        return max(1, self.scenario.steps // 20)

    def tasks(self) -> list:
        """The runs of the report's ensemble (:class:`uprising.execution.Task`): ``replicates`` replicates of
        ``ensemble_scenario`` from the root ``seed``; replicate 0 keeps snapshots."""
        from ..execution import tasks

        if self.kind == COUNTRY:
            return tasks(self.ensemble_scenario, self.replicates, self.seed, snapshot_every=self.snapshot_every)
        steps = self.ensemble_scenario.steps
        return tasks(self.ensemble_scenario, self.replicates, self.seed, snapshot_every=self.snapshot_every,
                     steps=steps, chunk=max(1, min(250, steps)))

    def describe_ensemble(self) -> str:
        """One line saying what the ensemble runs (for the log)."""
        runs = f"{self.replicates} run{'s' if self.replicates != 1 else ''}"
        if self.kind == COUNTRY:
            s = self.ensemble_scenario
            agents = sum(size[1] for size in s.lattice_sizes())
            return (f"{self.scenario.name}: {runs} at scale {self.scale:g} ({agents:,} citizens, "
                    f"{s.clock.clock().ticks} steps of {s.clock.tick_hours:g} h)")
        return f"{self.scenario.name}: {runs} of {self.scenario.steps} steps"

    def command(self) -> str:
        """The command line that makes this report."""
        text = f"uprising report {self.path} --replicates {self.replicates}"
        if self.kind == COUNTRY:
            return text + f" --scale {self.scale:g} --seed {self.seed}"
        return text + f" --seed {self.seed}" + (f" --steps {self.steps}" if self.steps else "")


def plan_report(path: str | Path, out: str | Path | None = None, *, replicates: int | None = None,
                scale: float | None = None, seed: int = 0, steps: int | None = None,
                targets_path: str | Path | None = None) -> ReportPlan:
    """Read and check everything a report of the scenario or experiment in ``path`` needs, before anything runs.

    Defaults: ``replicates`` 4, ``scale`` the scenario's own (country scenarios), the scenario's steps (Model I; an
    experiment's own steps), ``out`` ``results/NAME-report.html``; a country scenario's targets are
    ``NAME-targets.csv`` beside it (:func:`uprising.country.fit.find_targets`). Bad input raises
    :class:`ScenarioError`; a package without its ODD text raises :class:`~uprising.report.odd.OddTextMissing`."""
    path = Path(path)
    source = str(path)
    data = read_toml(path, "scenario or experiment")
    kind = file_kind(data)
    replicates = DEFAULT_REPLICATES if replicates is None else int(replicates)
    if replicates < 1:
        raise ScenarioError(source, "--replicates", f"{replicates}: at least 1")
    if kind != COUNTRY:
        for flag, value in (("--scale", scale), ("--targets", targets_path)):
            if value is not None:
                raise ScenarioError(source, flag, "only for country scenarios (files with [[cities]])")
    elif steps is not None:
        raise ScenarioError(source, "--steps", "a country scenario's clock sets its steps")
    if out is not None:
        out = Path(out)
        if out.is_dir():
            raise ScenarioError(source, "--out", f"{out} is a folder; give the HTML file to write, e.g. report.html")
        if out.suffix.lower() not in (".html", ".htm"):
            raise ScenarioError(source, "--out", f"{out.name}: the report is an HTML file; name it .html")
    started = time.perf_counter()
    notes = read_notes(path)
    if kind == COUNTRY:
        from ..country import fit as F
        from ..country.scenario import CountryScenario

        if "behaviour" in data:  # the behaviour file's parameters and their notes, the country's over them
            from ..country.inputs import behaviour_file, with_behaviour

            data, behaviour_path = with_behaviour(data, path, CountryScenario.mechanisms), behaviour_file(data, path)
            notes = merge_notes(read_notes(behaviour_path), notes)

        scenario = CountryScenario.load(path)
        scale = scenario.scale if scale is None else float(scale)  # one default scale everywhere: the file's
        if not (0.0 < scale <= 1.0) or not math.isfinite(scale):
            raise ScenarioError(source, "--scale", f"{scale:g}: agents per resident must lie in (0, 1]")
        ensemble = scenario if scale == scenario.scale else scenario.replace({"scale": scale}, source=f"{source} --scale")
        ensemble.lattice_sizes()
        tpath = Path(targets_path) if targets_path is not None else F.find_targets(path)
        targets = F.load_targets(tpath, scenario) if tpath is not None else None  # a bad file stops here
        plan = ReportPlan(path, kind, Path(), scenario.name, replicates, seed, scenario, ensemble, path, data, notes,
                          scale=scale, targets_path=tpath, targets=targets, started=started)
    else:
        exp = None
        if kind == EXPERIMENT:
            from ..experiment.spec import Experiment

            exp = Experiment.load(path)
            scenario = exp.base_scenario
            base_path = exp.base_path or path
            base_data = read_toml(base_path, "scenario")
            base_notes = read_notes(base_path)
        else:
            scenario = Scenario.load(path)
            base_path, base_data, base_notes = path, data, notes
        if steps is not None:
            scenario = scenario.replace(steps=int(steps))
        name = exp.name if exp is not None else scenario.name
        plan = ReportPlan(path, kind, Path(), name, replicates, seed, scenario, scenario, base_path, base_data,
                          base_notes, steps=steps, experiment=exp, file_notes=notes, started=started)
    plan.model_text = load_odd_text(MODEL_ONE_TEXT)
    plan.country_text = load_odd_text(COUNTRY_TEXT) if kind == COUNTRY else None
    plan.out = Path("results") / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', plan.name)}-report.html" if out is None else out
    return plan


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("uprising")
    except Exception:  # noqa: BLE001
        return "?"


def _commit(record: CheckoutRecord | None) -> str:
    """The checkout's commit (short), when the report is handed a checkout's record."""
    import subprocess

    if record is None:
        return ""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=record.root, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def render_report(plan: ReportPlan, results: Sequence, *, figures: Sequence[Figure] = (),
                  record: CheckoutRecord | None = None) -> str:
    """The report's HTML page, from the plan, the ensemble's ``results`` (Model I
    :class:`~uprising.simulate.Result` or country :class:`~uprising.country.simulate.CountryResult`, in
    replicate order), its ``figures`` and the checkout's validation ``record`` (None: none here)."""
    md = Markdown(base=record.docs if record is not None else None)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    if plan.kind == COUNTRY:
        from .country import country_sections, country_validation

        scenario = plan.scenario
        rep = Report(f"{plan.name}: the model, its parameters, figures and validation",
                     scenario.description or "a country scenario")
        rep.meta = [("scenario", str(plan.path)), ("kind", f"country: {len(scenario.cities)} cities, Model I on each"),
                    ("hash", scenario.hash()),
                    ("ensemble", f"{plan.replicates} runs at scale {plan.scale:g}, root seed {plan.seed}")]
        country_sections(rep, md, plan.country_text, plan.model_text, plan.path, scenario,
                         plan.data, plan.notes, plan.replicates, plan.scale, plan.seed, plan.targets, plan.targets_path)
        rep.validation.extend(country_validation(scenario, plan.targets, plan.targets_path, list(results), plan.scale,
                                                 record, md))
    else:
        from .model_one import model_one_sections, model_one_validation

        exp, scenario = plan.experiment, plan.scenario
        title = (f"{plan.name}: an experiment on {scenario.name}" if exp is not None else
                 f"{plan.name}: the model, its parameters, figures and validation")
        rep = Report(title, (exp.description if exp is not None else scenario.description) or "a Model I scenario")
        rep.meta = [("file", str(plan.path))]
        if exp is not None:
            rep.meta.append(("base scenario", str(plan.scenario_path)))
        rep.meta += [("kind", "Model I (Epstein 2002)" + (", an experiment" if exp is not None else "")),
                     ("hash", scenario.hash()),
                     ("ensemble", f"{plan.replicates} runs of {scenario.steps:,} steps, root seed {plan.seed}")]
        if exp is not None:
            from .experiment import experiment_parts

            rep.extra.append(("experiment", "The experiment's design", experiment_parts(exp, plan.path, plan.file_notes)))
        model_one_sections(rep, md, plan.model_text, plan.scenario_path, scenario, plan.data, plan.notes,
                           plan.replicates, plan.seed)
        rep.validation.extend(model_one_validation(plan.scenario_path, scenario, record, md))
    rep.figures.extend(figures)
    commit = _commit(record)
    rep.meta += [("written", f"{when} by uprising {_version()}" + (f" at commit {commit}" if commit else "")),
                 ("command", plan.command()), ("time", f"{time.perf_counter() - plan.started:.1f} s")]
    return render_html(rep)


def build_report(plan: ReportPlan, results: Sequence, *, figures: Sequence[Figure] = (),
                 record: CheckoutRecord | None = None) -> Path:
    """Write the report of ``plan`` (see :func:`render_report`) to ``plan.out``, whole (under a temporary
    name, then renamed); returns the file written."""
    text = render_report(plan, results, figures=figures, record=record)
    out = plan.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
