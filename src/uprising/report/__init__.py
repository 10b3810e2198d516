"""One self-contained HTML report of a scenario or an experiment (``uprising report``).

A driver that runs nothing and draws nothing: it is built from the results handed to it. One HTML file
holds everything (CSS inline, figures as base64 PNG, no external URL in any ``src`` or ``href``):

* the model in the ODD protocol's seven elements (Grimm et al. 2020): the scenario-specific parts are
  generated from the scenario (its cities, clock and scale, the mechanisms switched on and their values,
  its dated events, the activation switch and the other Model I switches with their values), and the
  general text is that of ``docs/model.md`` and ``docs/country-model.md``, shipped as package data
  (:mod:`.odd`; rendered with markdown-it-py);
* the parameter table, derived from the scenario schema (:mod:`.parameters`): value, unit, default,
  reference and source, the end-of-line comment that marks the value in the scenario file
  (``# source: ...``, ``# assumption: ...``, ``# fit``; :mod:`.notes`);
* the figures handed to it (PNG bytes; ``uprising report`` draws them with
  :func:`uprising.viz.report_figures.draw_figures`);
* the validation status: for a country scenario with a targets file, the ensemble's score per target
  and a pointer to the committed fit (``docs/kazakhstan.md``); for a Model I scenario, the verdicts of
  the suite's record (``docs/data/validation.json``, :mod:`.record`) that concern it; for an experiment
  file, its base scenario's report and the experiment's design.

The layers of the package, lowest first: :mod:`.notes` (a TOML file's comments) and :mod:`.html` (the
page); :mod:`.odd` (the general text) and :mod:`.record` (the checkout's validation record);
:mod:`.parameters` (tables from the schema); :mod:`.model_one`, :mod:`.country` and :mod:`.experiment`
(the sections of each file kind); :mod:`.build` (plan, then build).

Use::

    plan = plan_report("scenarios/epstein-2002/run2.toml")      # reads and checks; ScenarioError if bad
    results = uprising.execution.run_many(plan.tasks())
    build_report(plan, results, figures=draw_figures(plan, results), record=read_checkout_record(root))
"""

from __future__ import annotations

from .build import (COUNTRY, DEFAULT_REPLICATES, EXPERIMENT, MODEL_ONE, ReportPlan, build_report,
                    file_kind, plan_report, render_report)
from .html import Figure, runs_phrase
from .notes import FileNotes, read_notes
from .odd import OddText, OddTextMissing, load_odd_text
from .record import CheckoutRecord, read_checkout_record

__all__ = ["COUNTRY", "DEFAULT_REPLICATES", "EXPERIMENT", "MODEL_ONE", "CheckoutRecord", "FileNotes",
           "Figure", "OddText", "OddTextMissing", "ReportPlan", "build_report", "file_kind", "load_odd_text",
           "plan_report", "read_checkout_record", "read_notes", "render_report", "runs_phrase"]
