"""The report's sections for a Model I scenario (Epstein 2002): the seven ODD elements generated from the
scenario, its parameter table and the verdicts of the validation suite that concern it.

Built from what it is handed (the scenario, its file's comments, the ensemble's size and seed, the
checkout's validation record); it runs nothing and draws nothing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ..analysis import OUTBURST_THRESHOLD, PAPER
from ..scenario import Scenario, ScenarioError
from ..validation import RULE_FIELDS, number_verdict
from .html import Markdown, Raw, Report, code, esc, fmt, table
from .notes import FileNotes
from .odd import OddText, general, split_sections
from .parameters import (PARAM_HEADERS, RULE_HEADERS, SWITCH_HEADERS, activation_sentence, model_one_parameter_rows,
                         rule_rows, switch_rows)
from .record import CheckoutRecord


def paper_run(path: Path | None, scenario: Scenario) -> int | None:
    """Which of Epstein's (2002) runs a scenario is (1..5), from its name or its file; None otherwise."""
    m = re.fullmatch(r"epstein-2002-run(\d)", scenario.name)
    if m:
        return int(m.group(1))
    if path is not None and path.parent.name == "epstein-2002":
        m = re.fullmatch(r"run(\d)", path.stem)
        if m:
            return int(m.group(1))
    return None


def model_one_sections(rep: Report, md: Markdown, text: OddText, path: Path, scenario: Scenario,
                       data: dict[str, Any], notes: FileNotes, replicates: int, seed: int) -> None:
    """Fill the seven ODD elements and the parameter table of ``rep`` for a Model I scenario.

    ``text`` is docs/model.md (the general text), ``data`` the file's table and ``notes`` its comments;
    ``replicates`` and ``seed`` describe the ensemble whose figures the report shows."""
    run = paper_run(path, scenario)
    cells = scenario.width * scenario.height
    citizens = int(round(scenario.citizen_density * cells))
    cops = int(round(scenario.cop_density * cells))
    what = f"Epstein's (2002) Run {run}" if run else "a Model I scenario"
    # 1
    rep.add(1, Raw(f"<p><b>This scenario.</b> {code(scenario.name)} ({esc(what)}), from {code(path)}: "
                   f"{esc(scenario.description or '(no description)')}</p>"))
    rep.add(1, general(md, text.element(1), "docs/model.md, element 1"))
    # 2
    rows = [["lattice", f"{scenario.width} x {scenario.height} cells, a torus", "cells"],
            ["citizens", f"{citizens:,} ({scenario.citizen_density:g} of the cells; placement {scenario.placement})",
             "agents"],
            ["cops", f"{cops:,} ({scenario.cop_density:g} of the cells)", "agents"],
            ["vision", f"citizens {scenario.citizen_vision:g}, cops {scenario.cop_vision:g} ({scenario.vision_shape})",
             "cells"],
            ["steps of a run", f"{scenario.steps:,}", "steps (no calendar meaning)"]]
    rep.add(2, Raw("<p><b>This scenario's entities and scales.</b></p>"), table(("entity", "here", "unit"), rows))
    rep.add(2, general(md, text.element(2), "docs/model.md, element 2"))
    # 3
    rows, classes = switch_rows(scenario, set(data), notes, "", md, text)
    rep.add(3, activation_sentence(scenario),
            Raw("<p><b>The switches of this scenario</b> (every place where the published implementations "
                "disagree is a switch; its value here, and where it acts):</p>"),
            table(SWITCH_HEADERS, rows, row_classes=classes))
    sched = []
    for name in ("legitimacy_schedule", "cop_schedule"):
        s = getattr(scenario, name)
        sched.append([code(name), s.kind, fmt(s.start), fmt(s.value), fmt(s.rate), fmt(s.stop)])
    rep.add(3, Raw("<p><b>Schedules</b> (item 1 of each step):</p>"),
            table(("schedule", "kind", "start (step)", "value", "rate per step", "stop"), sched))
    rep.add(3, general(md, text.element(3), "docs/model.md, element 3"))
    # 4
    rep.add(4, Raw(f"<p><b>Observation in this report.</b> {replicates} run{'s' if replicates != 1 else ''} of "
                   f"{scenario.steps:,} steps (root seed {seed}, replicates 0 to {replicates - 1}); an outburst is a "
                   f"spell of more than {OUTBURST_THRESHOLD} actives.</p>"))
    rep.add(4, general(md, text.element(4), "docs/model.md, element 4"))
    # 5
    rep.add(5, Raw(f"<p><b>This scenario.</b> Placement <code>{esc(scenario.placement)}</code>: {citizens:,} citizens "
                   f"and {cops:,} cops on {cells:,} cells; legitimacy L = {scenario.legitimacy:g}, threshold "
                   f"T = {scenario.threshold:g}. Replicate r of root seed {seed} draws from "
                   f"<code>SeedSequence({seed}, spawn_key=(r,))</code>.</p>"))
    rep.add(5, general(md, text.element(5), "docs/model.md, element 5"))
    # 6
    pre = notes.blocks.get("(preamble)")
    if pre:
        rep.add(6, Raw(f"<p><b>The scenario file says</b> ({code(path)}):</p><pre class=\"file\">{esc(pre)}</pre>"))
    rep.add(6, general(md, text.element(6), "docs/model.md, element 6"))
    # 7
    rep.add(7, Raw("<p><b>The rules' values in this scenario:</b></p>"),
            table(RULE_HEADERS, rule_rows(scenario, data, notes)))
    rep.add(7, general(md, text.element(7), "docs/model.md, element 7"))
    # parameters
    rep.parameters.append(Raw(f"<p>Every parameter of Model I ({code('uprising.scenario.Scenario')}): its value in "
                              "this scenario, the unit and reference its field's metadata carries, and the comment that "
                              "stands beside it in the file.</p>"))
    rep.parameters.append(table(PARAM_HEADERS, model_one_parameter_rows(scenario, data, notes), cls="params"))
    refs = text.section("References")
    if refs:
        rep.references = md(refs)


# ---------------------------------------------------------------------- validation
def _rule_view(s: Scenario, rule_fields: tuple[str, ...]) -> dict[str, Any]:
    """The rules a scenario runs under, as the validation suite compares them (cop movement resolved)."""
    view = {k: getattr(s, k) for k in rule_fields}
    view["movement"] = s.movement
    view["cop_movement"] = s.movement if s.cop_movement is None else s.cop_movement
    return view


def variant_scenario(key: str, suite: dict[str, Any], paper: Scenario) -> Scenario | None:
    """The scenario the validation suite ran under ``key``: the paper's scenario with the changes the suite
    recorded for that variant (``changes`` of docs/data/validation.json); None when the record has none for
    it or they do not make a valid scenario."""
    changes = (suite.get("changes") or {}).get(key)
    if changes is None:
        return None
    try:
        return paper.replace(**changes)
    except (ScenarioError, ValueError, TypeError):
        return None


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _n(x: Any, digits: int = 0) -> str:
    v = _num(x)
    return "-" if not math.isfinite(v) else f"{v:,.{digits}f}"


def model_one_validation(path: Path, scenario: Scenario, record: CheckoutRecord | None, md: Markdown) -> list[Raw]:
    """The verdicts of the validation suite (docs/data/validation.json in ``record``) that concern a Model I
    scenario: the rows of the rule combinations it runs under, and every combination measured."""
    run = paper_run(path, scenario)
    parts: list[Raw] = []
    if record is None or record.suite is None:
        return [Raw("<p>No validation data here (docs/data/validation.json is written by <code>uprising validate</code> "
                    "in the checkout).</p>")]
    data = record.suite
    budget = data.get("budget", {})
    parts.append(Raw(f"<p>From {code('docs/data/validation.json')}, written by <code>uprising validate</code> "
                     f"({esc(budget.get('name', '?'))} ensembles; see {code('docs/validation.md')}). Each named result of "
                     "Epstein (2002) is measured under every combination of the contested rules.</p>"))
    if record.validation_page:
        _, secs = split_sections(record.validation_page, 3)
        summary = next((body for title, body in secs if title.lower() == "summary"), None)
        if summary:
            parts.append(Raw("<h3>Summary of the suite</h3>"))
            parts.append(md(summary))
    if run is None:
        parts.append(Raw(f"<p>No verdict concerns this scenario directly: the suite runs Epstein's Runs 1 to 4 "
                         f"({code('scenarios/epstein-2002/run1..4.toml')}), and this scenario ({esc(scenario.name)}) "
                         "is none of them.</p>"))
        return parts
    section = {1: "run1", 2: "run2", 3: "run34", 4: "run34"}.get(run)
    if section is None:
        parts.append(Raw(f"<p>This is Epstein's Run {run}; the suite measures Runs 1 to 4 only, so no verdict "
                         "concerns it.</p>"))
        return parts
    paper_path = record.scenarios / "epstein-2002" / f"run{run if run != 4 else 3}.toml"
    paper = Scenario.load(paper_path) if paper_path.is_file() else scenario
    mine = _rule_view(scenario, RULE_FIELDS)
    labels = data.get("labels", {})
    keys = list(data.get(section, {}))
    matching = [k for k in keys if (s := variant_scenario(k, data, paper)) is not None
                and _rule_view(s, RULE_FIELDS) == mine]

    def label(k: str) -> str:
        return labels.get(k, k.replace("-", ", ").replace("+", "; "))

    if section == "run2":
        headers = ("rules", "outbursts per 1000 steps", "wait: mean (95% CI)", "wait verdict",
                   "total activation: mean (95% CI)", "size verdict", "tension verdict")
        name = "Run 2 (punctuated equilibrium; paper: waits 60, total activation 708)"

        def row(k):
            st = data["run2"][k]
            w, s = _num(st.get("wait_mean")), _num(st.get("size_mean"))
            wci = tuple(_num(x) for x in st.get("wait_ci", [None, None]))
            sci = tuple(_num(x) for x in st.get("size_ci", [None, None]))
            return [label(k), _n(st.get("episodes_per_1000_steps"), 1), f"{_n(w)} ({_n(wci[0])}-{_n(wci[1])})",
                    number_verdict(PAPER["run2_wait_mean"], w, wci), f"{_n(s)} ({_n(sci[0])}-{_n(sci[1])})",
                    number_verdict(PAPER["run2_size_mean"], s, sci),
                    data.get("verdicts", {}).get("tension", {}).get(k, "-")]
    elif section == "run1":
        headers = ("rules", "r (cops in vision vs. active)", "r, cops shuffled", "verdict")
        name = "Run 1 (deception)"

        def row(k):
            st = data["run1"][k]
            return [label(k), _n(st.get("r_obs_mean"), 3), _n(st.get("null_mean"), 3),
                    data.get("verdicts", {}).get("run1", {}).get(k, "-")]
    else:
        headers = ("rules", "Run 3 (gradual): seeds that explode", "Run 4 (sudden): seeds that explode", "verdict")
        name = "Runs 3 and 4 (gradual against sudden loss of legitimacy)"

        def row(k):
            st = data["run34"][k]
            return [label(k), f"{_num(st['run3']['fraction']):.0%}", f"{_num(st['run4']['fraction']):.0%}",
                    st.get("verdict", "-")]

    parts.append(Raw(f"<h3>{esc(name)}: this scenario's rules</h3>"))
    if matching:
        parts.append(table(headers, [row(k) for k in matching], cls="verdicts", row_classes=["this"] * len(matching)))
    else:
        parts.append(Raw("<p>The suite did not measure this exact combination of rules; every combination it "
                         "measured is listed below.</p>"))
    others = [k for k in keys if k not in matching]
    parts.append(Raw(f"<details><summary>All {len(keys)} rule combinations measured for {esc(name)}</summary>"))
    parts.append(table(headers, [row(k) for k in matching + others], cls="verdicts",
                       row_classes=["this"] * len(matching) + [""] * len(others)))
    parts.append(Raw("</details>"))
    return parts
