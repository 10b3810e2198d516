"""The validation suite: Epstein (2002)'s named results, under which rules they hold.

``uprising validate [--quick]`` runs ensembles of the paper's runs
(``scenarios/epstein-2002/run1..4.toml``) under every combination of the
contested rules it studies (arrest rule ratio / floor / round, and the vision
shapes), measures each named result with :mod:`uprising.analysis`, and writes
``docs/validation.md`` (a section between ``<!-- validate:start -->`` and
``<!-- validate:end -->``), its figures, and the numbers as JSON.

A driver, by layer:

* :mod:`.variants` -- the rule combinations, each a :class:`Variant` carrying its scenario changes;
* :mod:`.runs` -- what each of the paper's runs measures, step by step (the tasks' jobs);
* :mod:`.suite` -- :func:`run_suite`: the runs through :func:`uprising.execution.run_many`, measured by
  :mod:`uprising.analysis` (the statistics live there), into a :class:`SuiteResult`;
* :mod:`.verdicts` -- whether each result reproduces the paper's claim;
* :mod:`.markdown` -- the section of docs/validation.md; :mod:`.output` -- that file and the JSON record.

The figures are drawn at the edge: :func:`uprising.viz.validation_plots.suite_figures`.
Every number in the report is computed from runs made by the command (or, for
Mesa, by ``benchmarks/mesa_validation.py``); nothing is typed in except the paper's values.
"""

from .markdown import MARK_END, MARK_START, render_markdown, splice
from .output import summary_json, write_report
from .suite import (FULL, QUICK, Budget, SuiteResult, choose_closest, commit_of, load_mesa, remeasure, repo_root,
                    run_suite)
from .variants import (RULE_FIELDS, Variant, grid_variants, implementation_variants, rule_set,
                       sensitivity_variants, variant_of)
from .verdicts import number_verdict, run1_verdict, run34_verdict, tension_verdict

__all__ = ["RULE_FIELDS", "MARK_END", "MARK_START", "render_markdown", "splice", "summary_json", "write_report", "FULL", "QUICK",
           "Budget", "SuiteResult", "choose_closest", "commit_of", "load_mesa", "remeasure", "repo_root",
           "run_suite", "Variant", "grid_variants", "implementation_variants", "rule_set", "sensitivity_variants",
           "variant_of", "number_verdict", "run1_verdict", "run34_verdict", "tension_verdict"]
