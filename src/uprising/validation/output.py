"""The suite's record: the Markdown section of docs/validation.md and the numbers as JSON.

:func:`summary_json` is what ``docs/data/validation.json`` holds: the budget,
the statistics and verdicts per variant key, the labels, and under ``changes``
each variant's scenario changes (so that a reader, such as the report, rebuilds
a variant's scenario with ``paper.replace(**changes[key])`` and never parses a
key). :func:`write_report` writes both files atomically; the figures are drawn
beforehand, at the edge, and handed to it as paths.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .markdown import render_markdown, splice
from .suite import SuiteResult
from .verdicts import run1_verdict, run34_verdict, tension_verdict


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def summary_json(res: SuiteResult) -> dict:
    """The suite's statistics as plain JSON (for the report command and for diffing runs)."""
    return _jsonable({"budget": vars(res.budget), "closest_run2": res.closest, "labels": res.run2_labels,
                      "run1": res.run1, "run2": res.run2, "tension": res.tension,
                      "run34": {k: {"run3": {a: b for a, b in v["run3"].items() if a != "peaks"},
                                    "run4": {a: b for a, b in v["run4"].items() if a != "peaks"},
                                    "fisher_p": v["fisher_p"], "run4_higher_same_seed": v["run4_higher_same_seed"],
                                    "verdict": run34_verdict(v)} for k, v in res.run34.items()},
                      "verdicts": {"run1": {k: run1_verdict(v) for k, v in res.run1.items()},
                                   "tension": {k: tension_verdict(v) for k, v in res.tension.items()}},
                      "changes": getattr(res, "changes", {}),
                      "wall_seconds": res.wall_seconds})


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_report(res: SuiteResult, out: Path, json_path: Path | None, root: Path, command: str,
                 figures: dict[str, str] | None = None) -> Path:
    """Write the Markdown section into ``out`` (atomically) and the JSON numbers to ``json_path``.

    ``figures`` maps a figure's name (``run2_map``, ``run1``, ...) to its path
    relative to ``out``'s folder, as :func:`uprising.viz.validation_plots.suite_figures`
    returns them; figures left out are not shown.
    """
    section = render_markdown(res, figures or {}, root, command)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    _write_atomically(out, splice(old, section))
    if json_path is not None:
        _write_atomically(json_path, json.dumps(summary_json(res), indent=1))
    return out
