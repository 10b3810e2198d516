"""The report's section on an experiment file: its design, the parameters it varies and its outcomes (the
report of its base scenario is made by :mod:`uprising.report.model_one`)."""

from __future__ import annotations

from pathlib import Path

from .html import Raw, code, esc, fmt, table
from .notes import FileNotes, source_cell


def experiment_parts(exp, path: Path, notes: FileNotes) -> list[Raw]:
    """The experiment's section: its file, design, the parameters it varies, its outcomes and its points."""
    from ..experiment.outcomes import OUTCOMES

    parts: list[Raw] = []
    points = exp.points()
    runs = len(points) * exp.replicates
    rows = [["file", code(path)], ["name", exp.name], ["description", exp.description or "-"],
            ["base scenario", code(exp.base)], ["steps per run", fmt(exp.steps_per_run)],
            ["replicates per point", fmt(exp.replicates)], ["root seed", fmt(exp.seed)],
            ["design", exp.design.kind + (f", {exp.design.samples} samples" if exp.design.samples else "")],
            ["design points", f"{len(points):,}"], ["runs", f"{runs:,}"]]
    parts.append(Raw(f"<p>This report describes the experiment's base scenario (above, run at the experiment's "
                     f"steps); the experiment runs it at {len(points):,} design points.</p>"))
    pre = notes.blocks.get("(preamble)")
    if pre:
        parts.append(Raw(f"<p>The experiment file says ({code(path)}):</p><pre class=\"file\">{esc(pre)}</pre>"))
    parts.append(table(("", "value"), rows))
    prow = []
    for name, spec in exp.parameters.items():
        prow.append([code(name), fmt(spec) if not isinstance(spec, dict) else f"{spec.get('low')} to {spec.get('high')}",
                     fmt(getattr(exp.base_scenario, name.split(".")[0], "")) if "." not in name else "-",
                     source_cell(notes, f"parameters.{name}", True)])
    parts.append(Raw("<p><b>Parameters varied</b> (values of a factorial design, or ranges of a sampled one):</p>"))
    parts.append(table(("parameter", "values or range", "base value", "source (the file)"), prow))
    orow = [[code(o), OUTCOMES[o].description if o in OUTCOMES else ""] for o in exp.outcomes]
    parts.append(Raw("<p><b>Outcomes</b> measured on every run:</p>"))
    parts.append(table(("outcome", "meaning"), orow))
    shown = points[:40]
    varied = list(exp.parameters)
    parts.append(Raw(f"<details><summary>The design points ({len(points):,}"
                     f"{'; the first 40' if len(points) > 40 else ''})</summary>" +
                     table(("point", *varied), [[str(i), *(fmt(p.get(k)) for k in varied)]
                                                for i, p in enumerate(shown)]) + "</details>"))
    return parts
