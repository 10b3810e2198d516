"""The report's sections for a country scenario: the seven ODD elements generated from the scenario (its
cities, clock and scale, mechanisms, dated events and Model I's switches on every lattice), its parameter
table, and the validation status of the ensemble handed to it (its score per target).

Built from what it is handed (the scenario, its file's comments, the ensemble's results, the targets);
it runs nothing and draws nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from ..country import fit as F
from ..country.scenario import COUNTRY_OWNED, City, ClockSpec, CountryScenario
from ..scenario import allowed_values
from .html import Markdown, Raw, Report, code, esc, fmt, table
from .notes import FileNotes, source_cell
from .odd import OddText, general, split_sections
from .parameters import (PARAM_HEADERS, SWITCH_HEADERS, activation_sentence, default_text, field_rows,
                         model_one_parameter_rows, switch_rows)
from .record import CheckoutRecord

#: the unit of each field of a city (its metadata carries none)
CITY_UNITS = {"population": "residents", "lat": "degrees north", "lon": "degrees east",
              "lpg_dependence": "weight (1: fully dependent)", "police_per_1000": "per 1,000 residents",
              "legitimacy_offset": "added to legitimacy", "jail_capacity_per_1000": "per 1,000 residents",
              "region": "text", "name": "text", "hardship_mean": "dimensionless (mean of H)",
              "hardship_spread": "dimensionless (standard deviation of H)"}
#: the unit of each field of the run (scale and clock)
RUN_UNITS = {"scale": "agents per resident", "clock.start": "local time", "clock.end": "local time",
             "clock.tick_hours": "hours"}


def mechanism_names(scenario: CountryScenario) -> list[str]:
    """The scenario's mechanisms (its tables: ``[price]``, ``[legitimacy]``, ...), in the order a step runs
    them: those of the registry its class was built from (:data:`uprising.mechanisms.MECHANISMS`)."""
    return [mechanism.name for mechanism in type(scenario).mechanisms]


def event_what(ev) -> str:
    """What a dated event does, in a few words."""
    k = ev.kind
    if k == "price":
        return f"price {ev.price:g}"
    if k == "legitimacy":
        return f"legitimacy {ev.delta:+g}"
    if k == "emergency":
        cur = f", curfew {ev.curfew[0]:02.0f}:00-{ev.curfew[1]:02.0f}:00" if ev.curfew else ""
        return f"state of emergency{cur}"
    if k == "blackout":
        return f"blackout of level {ev.level:g}"
    if k == "shoot_order":
        return "order to use lethal force"
    if k == "intervention":
        return f"{', '.join(f'{c} {n:,}' for c, n in ev.troops.items())} troops ({ev.role})"
    if k in ("sweep", "release"):
        return f"{k}s, {ev.rate_per_day:g} per day"
    return k


def _switched(params) -> str:
    on = getattr(params, "enabled", None)
    return "on" if on else "off" if on is not None else "always on (no switch)"


def country_sections(rep: Report, md: Markdown, text: OddText, model_text: OddText, path: Path,
                     scenario: CountryScenario, data: dict[str, Any], notes: FileNotes, replicates: int,
                     scale: float, seed: int, targets: F.TargetsFile | None, targets_path: Path | None) -> None:
    """Fill the seven ODD elements and the parameter table of ``rep`` for a country scenario.

    ``text`` is docs/country-model.md and ``model_text`` docs/model.md (Model I on every lattice); ``data``
    is the file's table and ``notes`` its comments; ``replicates``, ``scale`` and ``seed`` describe the
    ensemble whose figures the report shows; ``targets`` the record it is scored against, if any."""
    clock = scenario.clock.clock()
    run_scenario = scenario if scale == scenario.scale else scenario.replace({"scale": scale}, source=f"{path} --scale")
    sizes = run_scenario.lattice_sizes()
    rules = scenario.base_rules()
    rules_given = data.get("rules") or {}
    mechanisms = mechanism_names(scenario)

    # 1. purpose and patterns
    rep.add(1, Raw(f"<p><b>This scenario.</b> {code(scenario.name)}, from {code(path)}: "
                   f"{esc(scenario.description or '(no description)')}</p>"))
    if targets is not None:
        rep.add(1, Raw(f"<p><b>Patterns it is scored against:</b> {len(targets.targets)} targets of {code(targets_path)} "
                       f"({len(targets.skipped)} further rows are not scored: inputs, or figures the model does not "
                       "produce). Their scores for this report's ensemble are under Validation.</p>"))
    if scenario.variants:
        rows = [[code(name), v.description, ", ".join(v.drop) or "-", fmt(v.set) if v.set else "-"]
                for name, v in scenario.variants.items()]
        rep.add(1, Raw("<p><b>Counterfactuals</b> (<code>[variants.NAME]</code>; <code>uprising compare</code> runs "
                       "each against the baseline on paired seeds):</p>"),
                table(("variant", "what", "events dropped", "keys set"), rows))
    rep.add(1, general(md, text.element(1), "docs/country-model.md, element 1"))

    # 2. entities, state variables and scales
    ticks = clock.ticks
    rep.add(2, Raw("<p><b>Clock and scale.</b></p>"), table(("", "value", "source (the file)"), [
        ["start (step 0)", fmt(scenario.clock.start), source_cell(notes, "clock.start", True)],
        ["end (exclusive)", fmt(scenario.clock.end), source_cell(notes, "clock.end", True)],
        ["one step", f"{scenario.clock.tick_hours:g} h ({ticks:,} steps)",
         source_cell(notes, "clock.tick_hours", "tick_hours" in (data.get("clock") or {}))],
        ["local time", scenario.timezone or "(not given)", source_cell(notes, "timezone", "timezone" in data)],
        ["scale of the file", f"{scenario.scale:g} agents per resident (1 agent per {1 / scenario.scale:,.0f} residents)",
         source_cell(notes, "scale", "scale" in data)],
        ["scale of this report's runs", f"{scale:g} agents per resident (1 agent per {1 / scale:,.0f} residents; "
                                        "--scale)", "uprising report"],
    ]))
    city_rows = []
    for i, (c, (side, citizens, cops)) in enumerate(zip(scenario.cities, sizes)):
        raw = (data.get("cities") or [{}])[i] if i < len(data.get("cities") or []) else {}
        srcs = [f"{k}: {notes.values[f'cities[{i}].{k}']}" for k in raw if f"cities[{i}].{k}" in notes.values]
        l0 = min(1.0, max(0.0, rules.legitimacy + c.legitimacy_offset))
        city_rows.append([c.name, c.region, f"{c.population:,}", f"{c.lat:.2f}, {c.lon:.2f}", fmt(c.lpg_dependence),
                          fmt(c.police_per_1000), f"{l0:g}", f"{side} x {side}", f"{citizens:,}", f"{cops:,}",
                          "; ".join(srcs) or "-"])
    rep.add(2, Raw(f"<p><b>The {len(scenario.cities)} cities</b> (lattice, citizens and cops at this report's scale, "
                   f"{scale:g}; <i>L0</i> is the rules' legitimacy plus the city's offset):</p>"),
            table(("city", "region", "population (residents)", "lat, lon (degrees)", "lpg_dependence",
                   "police per 1,000", "L0", "lattice (cells)", "citizens (agents)", "cops (agents)",
                   "source (the file)"), city_rows))
    block = notes.blocks.get("cities[0]")
    if block:
        rep.add(2, Raw(f"<p>The file on its cities:</p><pre class=\"file\">{esc(block)}</pre>"))
    rep.add(2, general(md, text.element(2), "docs/country-model.md, element 2"))

    # 3. process overview and scheduling
    mech_rows, mech_classes = [], []
    for name in mechanisms:
        params = getattr(scenario, name)
        values = ", ".join(f"{k} = {fmt(v)}" for k, v in params.model_dump().items() if k != "enabled")
        mech_rows.append([code(name), _switched(params), values or "-"])
        mech_classes.append("" if getattr(params, "enabled", None) is not False else "off")
    rep.add(3, Raw("<p><b>The mechanisms of this scenario</b>, in the order they write each step's inputs:</p>"),
            table(("mechanism", "switched", "values"), mech_rows, row_classes=mech_classes))
    rep.add(3, activation_sentence(rules))
    rows, classes = switch_rows(rules, set(rules_given), notes, "rules.", md, model_text)
    rep.add(3, Raw("<p><b>Model I's switches</b> on every city's lattice (<code>[rules]</code>):</p>"),
            table(SWITCH_HEADERS, rows, row_classes=classes))
    ev_rows = []
    for idx, ev in sorted(enumerate(scenario.events), key=lambda ie: (ie[1].span()[0], ie[0])):
        start, end = ev.span()
        comments = [f"{k[len(f'events[{idx}].'):]}: {v}" for k, v in notes.values.items()
                    if k.startswith(f"events[{idx}].") and not k.endswith(".source")]
        ev_rows.append([code(ev.id), ev.kind, fmt(start), fmt(end) if end else "end of run",
                        str(clock.step_at(start)), ", ".join(ev.cities) or "all", event_what(ev),
                        "; ".join(x for x in (ev.source, *comments) if x) or "-"])
    rep.add(3, Raw(f"<p><b>The timeline</b>: {len(scenario.events)} dated events, in time order (times are local; "
                   "an event acts from the first step that starts at or after its time):</p>"),
            table(("event", "kind", "from", "until", "first step", "cities", "what", "source"), ev_rows, cls="events"))
    rep.add(3, general(md, text.element(3), "docs/country-model.md, element 3"))

    # 4. design concepts
    rep.add(4, Raw(f"<p><b>Observation in this report.</b> {replicates} run{'s' if replicates != 1 else ''} at scale "
                   f"{scale:g} (root seed {seed}, replicates 0 to {replicates - 1}); counts of agents are divided by "
                   "the scale to read as people.</p>"))
    rep.add(4, general(md, text.element(4), "docs/country-model.md, element 4"))

    # 5. initialisation
    rep.add(5, Raw(f"<p><b>This scenario.</b> {sum(s[1] for s in sizes):,} citizens and {sum(s[2] for s in sizes):,} "
                   f"cops in {len(sizes)} lattices at scale {scale:g} (table under element 2); legitimacy before the "
                   f"shock {rules.legitimacy:g}; jail terms up to {scenario.repression.jail_term_days:g} days "
                   f"({run_scenario.base_rules().max_jail_term:g} steps). Each city draws from its own stream, from "
                   f"the root seed, the replicate and its name.</p>"))
    rep.add(5, general(md, text.element(5), "docs/country-model.md, element 5"))

    # 6. input data
    pre = notes.blocks.get("(preamble)")
    if pre:
        rep.add(6, Raw(f"<p><b>The scenario file says</b> ({code(path)}):</p><pre class=\"file\">{esc(pre)}</pre>"))
    kinds: dict[str, int] = {}
    for ev in scenario.events:
        kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
    rep.add(6, Raw("<p><b>The timeline as input:</b> " + esc(", ".join(f"{n} {k} event{'s' if n != 1 else ''}"
                                                                         for k, n in kinds.items())) +
                   " (table under element 3, each with its source).</p>"))
    if targets is not None:
        rep.add(6, Raw(f"<p><b>Targets:</b> {code(targets_path)}.</p>"))
    rep.add(6, general(md, text.element(6), "docs/country-model.md, element 6"))

    # 7. submodels
    body7 = text.element(7)
    intro7, subs = split_sections(body7 or "", 3)
    if body7:
        rep.add(7, general(md, intro7, "docs/country-model.md, element 7"))
    for title, body in subs:
        m = re.search(r"`uprising\.mechanisms\.(\w+)`", title)
        name = m.group(1) if m else None
        params = getattr(scenario, name, None) if name in mechanisms else None
        parts = [Raw(f"<h3>{md.inline(title)}</h3>")]
        if params is not None:
            on = getattr(params, "enabled", None)
            state = "switched on" if on else "switched off" if on is not None else "always on (no switch)"
            rows = field_rows(params, data.get(name) or {}, notes, f"{name}.", reference=False)
            parts.append(Raw(f'<p class="{"on" if on is not False else "off"}"><b>In this scenario: {esc(state)}.</b></p>'))
            parts.append(table(("parameter", "value", "unit", "default", "source (the file)"), rows))
        parts.append(Raw(f'<div class="general">{md(body)}</div>'))
        rep.add(7, *parts)
    rep.add(7, Raw("<details><summary>Model I's submodels, which every city's lattice runs "
                   "(docs/model.md, element 7)</summary>" + md(model_text.element(7) or "") + "</details>"))

    # parameters
    rows = []
    for key, info, value, given in (("scale", CountryScenario.model_fields["scale"], scenario.scale, "scale" in data),
                                    *((f"clock.{k}", ClockSpec.model_fields[k], getattr(scenario.clock, k),
                                       k in (data.get("clock") or {})) for k in ClockSpec.model_fields)):
        rows.append([code(key), fmt(value), RUN_UNITS.get(key, ""), default_text(info), info.description or "",
                     source_cell(notes, key, given)])
    rows += model_one_parameter_rows(rules, rules_given, notes, prefix="rules.", skip=set(COUNTRY_OWNED))
    for name in mechanisms:
        rows += field_rows(getattr(scenario, name), data.get(name) or {}, notes, f"{name}.")
    rep.parameters.append(Raw(f"<p>Every parameter of the scenario: the run (<code>scale</code>, <code>[clock]</code>), "
                              "Model I's rules of every lattice (<code>[rules]</code>) and each mechanism's table; its value "
                              "in this scenario, the unit and reference the field's metadata carries (for the run, its "
                              "meaning), and the comment beside it in the file, which marks it as a source, a fit or an "
                              "assumption. The cities' values and sources are under element 2, the events' under "
                              "element 3.</p>"))
    rep.parameters.append(table(PARAM_HEADERS, rows, cls="params"))
    city_fields = [[code(k), CITY_UNITS.get(k, ""), default_text(info), allowed_values(info) or "any",
                    info.description or ""]
                   for k, info in City.model_fields.items()]
    rep.parameters.append(Raw("<details><summary>The fields of a city</summary>" +
                              table(("field", "unit", "default", "allowed", "meaning"), city_fields) + "</details>"))
    refs = text.section("References")
    if refs:
        rep.references = md(refs)


def country_validation(scenario: CountryScenario, targets: F.TargetsFile | None, targets_path: Path | None,
                       results: Sequence, scale: float, record: CheckoutRecord | None, md: Markdown) -> list[Raw]:
    """The validation status of a country ensemble: its score per target of the record (``targets``), and a
    pointer to the committed fit (docs/kazakhstan.md, from ``record`` when it is handed one)."""
    parts: list[Raw] = []
    if targets is None:
        parts.append(Raw(f"<p><b>Not validated against a record:</b> no targets file "
                         f"{code(scenario.name + '-targets.csv')} was found beside the scenario (give one with "
                         "<code>--targets</code>).</p>"))
        return parts
    scores = F.score(targets.targets, results)
    start = scenario.clock.start.date()
    hits = sum(s.hit for s in scores)
    parts.append(Raw(f'<p class="verdict"><b>{hits} of {len(scores)} targets hit</b> by this report\'s ensemble '
                     f"({len(results)} run{'s' if len(results) != 1 else ''} at scale {scale:g}); loss "
                     f"{F.loss(scores):.2f}. Targets: {code(targets_path)}. \"Model\" is the mean of the runs for counts "
                     "and their median for days; a target is hit when that lies in the record's range. A small "
                     "ensemble at a small scale is coarse (an agent killed is 1/scale deaths): the committed fit is "
                     "scored with more runs at a larger scale (below).</p>"))
    rows, classes = [], []
    for row in F.as_rows(scores, start):
        rows.append([row["target"], row["record"], row["model"], row["model_90"], f"{row['error']:.2g}",
                     row["verdict"], row["source"]])
        classes.append("hit" if row["verdict"] == "hit" else "miss")
    parts.append(table(("target", "record", "model", "model 5-95%", "error", "verdict", "source"), rows, cls="scores",
                       row_classes=classes))
    if targets.skipped:
        parts.append(Raw("<details><summary>Rows of the targets file that are not scored</summary>" +
                         table(("quantity", "why"), targets.skipped) + "</details>"))
    doc_name = "kazakhstan.md"
    doc = record.fit_page if record is not None else None
    if doc and scenario.name.split(":")[0] in doc:
        _, secs = split_sections(doc)
        committed = dict(secs).get("Score per target")
        parts.append(Raw(f"<p><b>The committed fit:</b> {code('docs/' + doc_name)}, section <i>Score per target</i>, "
                         "scores the scenario as committed on fresh seeds; its procedure is in <i>How the parameters "
                         "were fitted</i>.</p>"))
        if committed:
            parts.append(Raw("<details><summary>The committed score per target (docs/kazakhstan.md)</summary>" +
                             md(committed) + "</details>"))
    else:
        parts.append(Raw("<p>The committed fit of the Kazakhstan scenario is described in "
                         f"{code('docs/kazakhstan.md')} (section <i>Score per target</i>).</p>"))
    return parts
