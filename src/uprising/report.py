"""One self-contained HTML report of a scenario or an experiment (``uprising report``).

A driver: it reads the file, runs a fresh small ensemble, draws the figures and writes one HTML file
with everything inside it (CSS inline, figures as base64 PNG, no external URL in any ``src`` or
``href``). The report holds:

* the model in the ODD protocol's seven elements (Grimm et al. 2020): the scenario-specific parts are
  generated from the scenario (its cities, clock and scale, the mechanisms switched on and their values,
  its dated events, the activation switch and the other Model I switches with their values), and the
  general text is taken from ``docs/model.md`` and ``docs/country-model.md`` (rendered with markdown-it-py);
* the parameter table: value, unit, default, reference (the fields' metadata) and source, the end-of-line
  comment that marks the value in the scenario file (``# source: ...``, ``# assumption: ...``, ``# fit``);
* figures of the ensemble (median and 5-95% bands), and a few frames of one lattice;
* the validation status: for a country scenario with a targets file, the ensemble's score per target
  and a pointer to the committed fit (``docs/kazakhstan.md``); for a Model I scenario, the verdicts of
  ``docs/data/validation.json`` that concern it; for an experiment file, its base scenario's report and
  the experiment's design.

Bad input raises :class:`uprising.scenario.ScenarioError` (one line) before anything runs or is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .scenario import Scenario, ScenarioError, Schedule, read_toml

DEFAULT_REPLICATES = 4
DEFAULT_SCALE = 0.005  # the Kazakhstan scenario's ensemble then takes about ten seconds on two cores
ODD_TITLES = ("Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
              "Design concepts", "Initialisation", "Input data", "Submodels")

Progress = Callable[[str, int, int], None]
Log = Callable[[str], None]


# ====================================================================== the scenario file's comments
@dataclass
class FileNotes:
    """What a TOML file says in its comments, by dotted key.

    ``values``: the end-of-line comment of each key (``rules.legitimacy``, ``price.elasticity``,
    ``cities[0].population``, ``events[3].at``); ``tables``: the comment on a table's header line
    (``rules``, ``cities[0]``); ``blocks``: comment lines standing before a table header or key
    (``(preamble)`` for the head of the file)."""

    values: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)


def _scan(text: str, state: dict[str, Any]) -> tuple[str, str | None, int]:
    """Split one line into code and comment, tracking open strings (``state['string']``: the open
    triple quote, if any); returns (code, comment, change of bracket depth)."""
    code, comment, depth = [], None, 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        open_string = state.get("string")
        if open_string:
            if text.startswith(open_string, i):
                state["string"] = None
                code.append(open_string)
                i += len(open_string)
                continue
            if open_string == '"""' and ch == "\\":
                code.append(text[i:i + 2])
                i += 2
                continue
            code.append(ch)
            i += 1
            continue
        if text.startswith('"""', i) or text.startswith("'''", i):
            state["string"] = text[i:i + 3]
            code.append(text[i:i + 3])
            i += 3
            continue
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if (ch == '"' and text[j] == "\\") else 1
            code.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == "#":
            comment = text[i + 1:].strip()
            break
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        code.append(ch)
        i += 1
    return "".join(code), comment, depth


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*$")
_KEY = re.compile(r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+))*)\s*=')


def _key_parts(text: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', text)
    return [a or b or c for a, b, c in parts]


def _block_text(lines: list[str]) -> str:
    out = []
    for line in lines:
        line = re.sub(r"-{5,}", "", line).strip()
        out.append(line)
    return "\n".join(out).strip()


def read_notes(path: str | Path) -> FileNotes:
    """The comments of a TOML file, by the dotted key they stand beside (see :class:`FileNotes`)."""
    notes = FileNotes()
    text = Path(path).read_text(encoding="utf-8")
    state: dict[str, Any] = {}
    table = ""
    arrays: dict[str, int] = {}
    pending: list[str] = []
    seen_any = False
    depth = 0
    current_key: str | None = None
    for raw in text.splitlines():
        if depth > 0 or state.get("string"):  # inside a value that spans lines
            _, comment, d = _scan(raw, state)
            depth += d
            if comment and current_key:
                notes.values[current_key] = (notes.values.get(current_key, "") + " " + comment).strip()
            continue
        stripped = raw.strip()
        if stripped.startswith("#"):
            pending.append(stripped[1:].strip())
            continue
        if not stripped:
            if pending:
                pending.append("")
            continue
        code, comment, d = _scan(raw, state)
        header = _HEADER.match(code)
        if header and not _KEY.match(code):
            name = ".".join(_key_parts(header.group(2)))
            if header.group(1) == "[[":
                index = arrays.get(name, -1) + 1
                arrays[name] = index
                table = f"{name}[{index}]"
            else:
                table = name
            where = table
            if comment:
                notes.tables[table] = comment
        else:
            key = _KEY.match(code)
            if key is None:
                continue
            name = ".".join(_key_parts(key.group(1)))
            current_key = f"{table}.{name}" if table else name
            where = current_key
            depth = max(0, d)
            if comment:
                notes.values[current_key] = comment
        if pending:
            block = _block_text(pending)
            if block:
                notes.blocks["(preamble)" if not seen_any and "(preamble)" not in notes.blocks else where] = block
            pending = []
        seen_any = True
    return notes


# ====================================================================== HTML helpers
class Raw(str):
    """Text that is already HTML (not escaped again)."""


def esc(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value), quote=True)


def code(text: Any) -> Raw:
    return Raw(f"<code>{esc(text)}</code>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", row_classes: Sequence[str] | None = None,
          caption: str | None = None) -> Raw:
    out = [f'<div class="scroll"><table class="{esc(cls)}">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead><tbody>")
    for i, row in enumerate(rows):
        rc = row_classes[i] if row_classes and i < len(row_classes) and row_classes[i] else ""
        out.append(f'<tr class="{esc(rc)}">' if rc else "<tr>")
        out.append("".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table></div>")
    return Raw("".join(out))


def fmt(value: Any) -> str:
    """A parameter's value as the reader writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "unset"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dict):
        return ", ".join(f"{k} = {fmt(v)}" for k, v in value.items()) or "{}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) or "[]"
    if hasattr(value, "model_dump"):
        return fmt(value.model_dump())
    return str(value)


class Markdown:
    """markdown-it-py (CommonMark and tables) for the docs' text, made safe for a self-contained page:
    headings one level down, links shown as text with their target in brackets (no ``href``), local
    images embedded as data URIs (others left out, their alt text kept), raw HTML escaped."""

    def __init__(self, base: Path | None = None, shift: int = 1):
        from markdown_it import MarkdownIt

        self.base = base
        self.shift = shift
        md = MarkdownIt("commonmark", {"html": False}).enable("table")
        this = self
        # markdown-it binds a rule to its renderer: each rule takes the renderer first
        md.add_render_rule("link_open", lambda r, tokens, idx, options, env: this._link_open(tokens, idx, env))
        md.add_render_rule("link_close", lambda r, tokens, idx, options, env: this._link_close(tokens, idx, env))
        md.add_render_rule("image", lambda r, tokens, idx, options, env: this._image(tokens, idx, env))
        md.add_render_rule("heading_open", lambda r, tokens, idx, options, env: this._heading(tokens, idx, ""))
        md.add_render_rule("heading_close", lambda r, tokens, idx, options, env: this._heading(tokens, idx, "/"))
        self.md = md

    def _link_open(self, tokens, idx, env):
        env.setdefault("links", []).append(tokens[idx].attrGet("href") or "")
        return '<span class="link">'

    def _link_close(self, tokens, idx, env):
        href = env["links"].pop() if env.get("links") else ""
        if not href or href.startswith("#"):
            return "</span>"
        return f'</span> <span class="target">({esc(href)})</span>'

    def _image(self, tokens, idx, env):
        token = tokens[idx]
        src = token.attrGet("src") or ""
        alt = "".join(t.content for t in (token.children or [])) or token.content
        if self.base is not None and not re.match(r"^[a-z]+:", src):
            path = (self.base / src).resolve()
            if path.is_file() and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif"):
                mime = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif"}[path.suffix.lower()[1:]]
                data = base64.b64encode(path.read_bytes()).decode()
                return f'<img class="figure" alt="{esc(alt)}" src="data:image/{mime};base64,{data}">'
        return f'<span class="missing">[figure: {esc(alt)}]</span>'

    def _heading(self, tokens, idx, slash: str):
        level = min(6, int(tokens[idx].tag[1]) + self.shift)
        return f"<{slash}h{level}>" + ("\n" if slash else "")

    def __call__(self, text: str) -> Raw:
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        return Raw(self.md.render(text, {}))

    def inline(self, text: str) -> Raw:
        return Raw(self.md.renderInline(text, {}))


def split_sections(text: str, level: int = 2) -> tuple[str, list[tuple[str, str]]]:
    """A Markdown text as (what comes before the first heading of ``level``, [(heading, body)])."""
    mark = "#" * level + " "
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith(mark):
            sections.append((line[len(mark):].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return "\n".join(head), [(title, "\n".join(body).strip()) for title, body in sections]


def odd_sections(text: str) -> dict[int, str]:
    """The bodies of a docs page's ``## N. Title`` sections, by N."""
    _, sections = split_sections(text)
    out = {}
    for title, body in sections:
        m = re.match(r"^(\d)\.\s", title)
        if m:
            out[int(m.group(1))] = body
    return out


def docs_dir() -> Path:
    from .validate import repo_root

    return repo_root() / "docs"


def _doc(name: str) -> str | None:
    path = docs_dir() / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


# ====================================================================== figures
def png(fig, dpi: int = 110) -> Raw:
    """A figure as an ``<img>`` with a base64 PNG (the figure is closed)."""
    import matplotlib.pyplot as plt

    from .viz.style import RC

    buf = io.BytesIO()
    with plt.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return Raw(f'<img class="figure" alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">')


@dataclass
class Figure:
    title: str
    image: Raw
    caption: str


# ====================================================================== the report's parts
@dataclass
class Report:
    title: str
    subtitle: str
    meta: list[tuple[str, Any]] = field(default_factory=list)
    odd: dict[int, list[Raw]] = field(default_factory=dict)
    parameters: list[Raw] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    validation: list[Raw] = field(default_factory=list)
    extra: list[tuple[str, str, list[Raw]]] = field(default_factory=list)  # (anchor, title, parts)
    references: Raw | None = None

    def add(self, element: int, *parts: Any) -> None:
        self.odd.setdefault(element, []).extend(Raw(p) if isinstance(p, Raw) else Raw(f"<p>{esc(p)}</p>")
                                                 for p in parts)


def general(md: Markdown, body: str | None, source: str) -> Raw:
    """The general text of an ODD element, from the docs, marked as such."""
    if not body:
        return Raw(f'<p class="note">({esc(source)} is not available here: install from the checkout to include '
                   "the general description.)</p>")
    return Raw(f'<div class="general"><p class="from">General description, from {code(source)}:</p>'
               f"{md(body)}</div>")


def _source_cell(notes: FileNotes, key: str, set_in_file: bool) -> str:
    comment = notes.values.get(key)
    if comment:
        return comment
    above = notes.blocks.get(key)
    if above:  # a comment standing on the lines above the key
        return above.replace("\n", " ")
    return "set in the file (no comment)" if set_in_file else "default (not set in the file)"


def _meta_of(info) -> tuple[str, str]:
    extra = info.json_schema_extra or {}
    return extra.get("unit", ""), extra.get("reference", "")


def _default_of(info) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        return fmt(info.default_factory())
    if info.default is PydanticUndefined:
        return "required"
    return fmt(info.default)


#: where each Model I switch acts (read from docs/model.md's element 3 table when it is there)
def switch_places(model_doc: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not model_doc:
        return out
    body = odd_sections(model_doc).get(3, "")
    for line in body.splitlines():
        m = re.match(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$", line)
        if not m or "`" not in m.group(1):
            continue
        for name in re.findall(r"`([^`]+)`", m.group(1)):
            out[name] = m.group(2)
    return out


def switch_rows(rules: Scenario, set_keys: set[str], notes: FileNotes, prefix: str, md: Markdown,
                model_doc: str | None) -> tuple[list[list[Any]], list[str]]:
    """One row per Model I switch ("switch" or "choice" fields): its value here and where it acts."""
    places = switch_places(model_doc)
    rows, classes = [], []
    for name, info in Scenario.model_fields.items():
        unit, _ = _meta_of(info)
        if unit not in ("switch", "choice"):
            continue
        value = getattr(rules, name)
        if name == "cop_movement" and value is None:
            value_text = f"unset (follows movement: {fmt(rules.movement)})"
        else:
            value_text = fmt(value)
        key = f"{prefix}{name}"
        rows.append([code(name), Raw(f"<b>{esc(value_text)}</b>") if name == "activation" else value_text,
                     md.inline(places.get(name, "")), info.description or "",
                     _source_cell(notes, key, name in set_keys)])
        classes.append("this" if name in ("activation", "tile_size") else "")
    if rules.activation == "tiled":
        rows.append([code("tile_size"), fmt(rules.tile_size), md.inline(places.get("tile_size", "")),
                     Scenario.model_fields["tile_size"].description or "",
                     _source_cell(notes, f"{prefix}tile_size", "tile_size" in set_keys)])
        classes.append("this")
    return rows, classes


SWITCH_HEADERS = ("switch", "value here", "where it acts in the step (docs/model.md)", "meaning", "source (the file)")


def activation_sentence(rules: Scenario) -> Raw:
    if rules.activation == "tiled":
        what = (f"<b>tiled</b>: the lattice is cut into {rules.tile_size} x {rules.tile_size}-cell tiles, visited in a "
                "fresh random order each step, and the cells of each tile in a fresh random order (the fast "
                "activation; its drift from random sequential activation is measured in tests/test_activation.py)")
    else:
        what = ("<b>random_sequential</b>: every agent is activated once per step in a fresh uniformly random order "
                "(Epstein's random asynchronous activation; the faithful one)")
    return Raw(f"<p><b>The activation switch</b> (<code>activation</code>) is {what}.</p>")


# ---------------------------------------------------------------------- parameter tables
PARAM_HEADERS = ("parameter", "value", "unit", "default", "reference", "source (the file's comment)")


def model_one_parameter_rows(scenario: Scenario, data: dict[str, Any], notes: FileNotes, prefix: str = "",
                             skip: Iterable[str] = ()) -> list[list[Any]]:
    rows = []
    skip = set(skip)
    for name, info in Scenario.model_fields.items():
        if name in skip or name in ("name", "description"):
            continue
        unit, ref = _meta_of(info)
        value = getattr(scenario, name)
        if isinstance(value, Schedule):
            given = data.get(name) if isinstance(data.get(name), dict) else {}
            for sub, sinfo in Schedule.model_fields.items():
                sunit, sref = _meta_of(sinfo)
                key = f"{prefix}{name}.{sub}"
                rows.append([code(key), fmt(getattr(value, sub)), sunit, _default_of(sinfo), sref or ref,
                             _source_cell(notes, key, sub in given)])
            continue
        key = f"{prefix}{name}"
        rows.append([code(key), fmt(value), unit, _default_of(info), ref, _source_cell(notes, key, name in data)])
    return rows


CITY_UNITS = {"population": "residents", "lat": "degrees north", "lon": "degrees east",
              "lpg_dependence": "weight (1: fully dependent)", "police_per_1000": "per 1,000 residents",
              "legitimacy_offset": "added to legitimacy", "jail_capacity_per_1000": "per 1,000 residents",
              "region": "text", "name": "text"}


# ====================================================================== Model I
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


def _rule_view(s: Scenario) -> dict[str, Any]:
    from .validate import RULE_FIELDS

    view = {k: getattr(s, k) for k in RULE_FIELDS}
    view["movement"] = s.movement
    view["cop_movement"] = s.movement if s.cop_movement is None else s.cop_movement
    return view


def _key_scenario(key: str, paper: Scenario, root: Path) -> Scenario | None:
    """The scenario the validation suite ran under ``key`` (a rule combination), from the paper's file."""
    from . import validate as V
    from .scenario import parse_value as _parse_value

    try:
        if key in ("mesa-rules", "netlogo-rules"):
            fname = "mesa-default.toml" if key == "mesa-rules" else "netlogo-rebellion.toml"
            return paper.replace(**V.rule_set(root / "scenarios" / fname))
        changes: dict[str, Any] = {}
        base = key
        if key.endswith("-all-move"):
            base, changes["movement"] = key[: -len("-all-move")], True
        elif key.endswith("-none-move"):
            base, changes["cop_movement"] = key[: -len("-none-move")], False
        first, *extras = base.split("+")
        rule, shape = first.split("-", 1)
        changes.update(arrest_rule=rule, vision_shape=shape)
        for extra in extras:
            k, _, v = extra.partition("=")
            changes[k] = _parse_value(v)
        if changes.get("jailed_hold_cell") is True:
            changes["jail_countdown"] = "own_activation"
        return paper.replace(**changes)
    except (ScenarioError, ValueError, KeyError):
        return None


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _n(x: Any, digits: int = 0) -> str:
    v = _num(x)
    return "-" if not math.isfinite(v) else f"{v:,.{digits}f}"


def model_one_validation(run: int | None, scenario: Scenario, md: Markdown) -> list[Raw]:
    """The verdicts of docs/data/validation.json that concern a Model I scenario."""
    from . import validate as V

    parts: list[Raw] = []
    root = V.repo_root()
    data_path = root / "docs" / "data" / "validation.json"
    if not data_path.is_file():
        return [Raw("<p>No validation data here (docs/data/validation.json is written by <code>uprising validate</code> "
                    "in the checkout).</p>")]
    data = json.loads(data_path.read_text(encoding="utf-8"))
    budget = data.get("budget", {})
    parts.append(Raw(f"<p>From {code('docs/data/validation.json')}, written by <code>uprising validate</code> "
                     f"({esc(budget.get('name', '?'))} ensembles; see {code('docs/validation.md')}). Each named result of "
                     "Epstein (2002) is measured under every combination of the contested rules.</p>"))
    doc = _doc("validation.md")
    if doc:
        _, secs = split_sections(doc, 3)
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
    paper_path = root / "scenarios" / "epstein-2002" / f"run{run if run != 4 else 3}.toml"
    paper = Scenario.load(paper_path) if paper_path.is_file() else scenario
    mine = _rule_view(scenario)
    labels = data.get("labels", {})
    keys = list(data.get(section, {}))
    matching = [k for k in keys if (s := _key_scenario(k, paper, root)) is not None and _rule_view(s) == mine]

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
                    V.number_verdict(V.PAPER["run2_wait_mean"], w, wci), f"{_n(s)} ({_n(sci[0])}-{_n(sci[1])})",
                    V.number_verdict(V.PAPER["run2_size_mean"], s, sci),
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


def model_one_runs(scenario: Scenario, replicates: int, seed: int, progress: Progress | None):
    from .simulate import simulate

    every = max(1, scenario.steps // 20)
    results = []
    for r in range(replicates):
        results.append(simulate(scenario, scenario.steps, seed, replicate=r, snapshot_every=every if r == 0 else None,
                                chunk=max(1, min(250, scenario.steps))))
        if progress:
            progress(f"{scenario.name}: runs", r + 1, replicates)
    return results


def model_one_report(path: Path, scenario: Scenario, data: dict[str, Any], notes: FileNotes, rep: Report,
                     md: Markdown, replicates: int, seed: int, progress: Progress | None, log: Log | None,
                     experiment=None) -> None:
    """Fill ``rep`` for a Model I scenario (the base of ``experiment`` when one is given)."""
    from .viz import animate as A
    from .viz import publication as P

    model_doc = _doc("model.md")
    docs = odd_sections(model_doc) if model_doc else {}
    run = paper_run(path, scenario)
    cells = scenario.width * scenario.height
    citizens = int(round(scenario.citizen_density * cells))
    cops = int(round(scenario.cop_density * cells))
    what = f"Epstein's (2002) Run {run}" if run else "a Model I scenario"
    # 1
    rep.add(1, Raw(f"<p><b>This scenario.</b> {code(scenario.name)} ({esc(what)}), from {code(path)}: "
                   f"{esc(scenario.description or '(no description)')}</p>"))
    rep.add(1, general(md, docs.get(1), "docs/model.md, element 1"))
    # 2
    rows = [["lattice", f"{scenario.width} x {scenario.height} cells, a torus", "cells"],
            ["citizens", f"{citizens:,} ({scenario.citizen_density:g} of the cells; placement {scenario.placement})",
             "agents"],
            ["cops", f"{cops:,} ({scenario.cop_density:g} of the cells)", "agents"],
            ["vision", f"citizens {scenario.citizen_vision:g}, cops {scenario.cop_vision:g} ({scenario.vision_shape})",
             "cells"],
            ["steps of a run", f"{scenario.steps:,}", "steps (no calendar meaning)"]]
    rep.add(2, Raw("<p><b>This scenario's entities and scales.</b></p>"), table(("entity", "here", "unit"), rows))
    rep.add(2, general(md, docs.get(2), "docs/model.md, element 2"))
    # 3
    rows, classes = switch_rows(scenario, set(data), notes, "", md, model_doc)
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
    rep.add(3, general(md, docs.get(3), "docs/model.md, element 3"))
    # 4
    rep.add(4, Raw(f"<p><b>Observation in this report.</b> {replicates} run{'s' if replicates != 1 else ''} of "
                   f"{scenario.steps:,} steps (root seed {seed}, replicates 0 to {replicates - 1}); an outburst is a "
                   f"spell of more than {P.OUTBURST} actives.</p>"))
    rep.add(4, general(md, docs.get(4), "docs/model.md, element 4"))
    # 5
    rep.add(5, Raw(f"<p><b>This scenario.</b> Placement <code>{esc(scenario.placement)}</code>: {citizens:,} citizens "
                   f"and {cops:,} cops on {cells:,} cells; legitimacy L = {scenario.legitimacy:g}, threshold "
                   f"T = {scenario.threshold:g}. Replicate r of root seed {seed} draws from "
                   f"<code>SeedSequence({seed}, spawn_key=(r,))</code>.</p>"))
    rep.add(5, general(md, docs.get(5), "docs/model.md, element 5"))
    # 6
    pre = notes.blocks.get("(preamble)")
    if pre:
        rep.add(6, Raw(f"<p><b>The scenario file says</b> ({code(path)}):</p><pre class=\"file\">{esc(pre)}</pre>"))
    rep.add(6, general(md, docs.get(6), "docs/model.md, element 6"))
    # 7
    keys = ("legitimacy", "threshold", "arrest_prob_constant", "arrest_rule", "citizen_vision", "cop_vision",
            "vision_shape", "own_cell_in_vision", "max_jail_term", "jail_term", "jail_countdown", "jailed_hold_cell",
            "cop_moves_to_arrestee", "movement", "cop_movement", "order")
    rows = []
    for k in keys:
        info = Scenario.model_fields[k]
        unit, _ = _meta_of(info)
        rows.append([code(k), fmt(getattr(scenario, k)), unit, info.description or "", _source_cell(notes, k, k in data)])
    rep.add(7, Raw("<p><b>The rules' values in this scenario:</b></p>"),
            table(("parameter", "value", "unit", "meaning", "source (the file)"), rows))
    rep.add(7, general(md, docs.get(7), "docs/model.md, element 7"))
    # parameters
    rep.parameters.append(Raw(f"<p>Every parameter of Model I ({code('uprising.scenario.Scenario')}): its value in "
                              "this scenario, the unit and reference its field's metadata carries, and the comment that "
                              "stands beside it in the file.</p>"))
    rep.parameters.append(table(PARAM_HEADERS, model_one_parameter_rows(scenario, data, notes), cls="params"))
    # figures
    if log:
        log(f"{scenario.name}: {replicates} run{'s' if replicates != 1 else ''} of {scenario.steps} steps")
    results = model_one_runs(scenario, replicates, seed, progress)
    rep.figures.append(Figure("Citizens by state", png(P.model_one_timeline_figure(results)),
                              f"Quiet, active and jailed citizens (agents) over the steps; {_runs(replicates)}."))
    rep.figures.append(Figure("Arrests, releases and legitimacy", png(P.model_one_arrests_figure(results)),
                              "Arrests and releases per step (agents), and the legitimacy L the citizens see."))
    snaps = results[0].snapshots
    if snaps:
        steps = np.array(sorted(snaps))
        kinds = np.stack([snaps[k] for k in steps])
        frames = A.Frames(kinds, steps, [f"step {k}" for k in steps], scenario.name, None,
                          tuple(range(5)))
        active = (kinds == 2).sum(axis=(1, 2))
        picks = _picks_around(int(np.argmax(active)), len(steps))
        rep.figures.append(Figure("The lattice", png(A.strip_figure(frames, picks)),
                                  "Replicate 0's lattice at four steps around its largest number of actives: "
                                  "each cell coloured by what holds it."))
    rep.validation.extend(model_one_validation(run, scenario, md))
    if doc := _doc("model.md"):
        refs = dict(split_sections(doc)[1]).get("References")
        if refs:
            rep.references = md(refs)


def _picks_around(peak: int, n: int) -> list[int]:
    picks = sorted({max(0, min(n - 1, peak + d)) for d in (-2, -1, 0, 2)} | {0})
    return picks[-4:] if len(picks) > 4 else picks


def _runs(n: int) -> str:
    return "1 run" if n == 1 else f"{n} runs, median and 5-95% band"


# ====================================================================== country
def country_report(path: Path, scenario, data: dict[str, Any], notes: FileNotes, rep: Report, md: Markdown,
                   replicates: int, scale: float, seed: int, workers: int | None, targets_path: Path | None,
                   progress: Progress | None, log: Log | None) -> None:
    from .country import ensemble as E
    from .country import fit as F
    from .country.model import MECHANISM_ORDER
    from .country.params_doc import _allowed as _allowed_text
    from .country.scenario import COUNTRY_OWNED, MECHANISMS, City, ClockSpec, CountryScenario
    from .viz import animate as A
    from .viz import country_plots as CP

    country_doc = _doc("country-model.md")
    model_doc = _doc("model.md")
    docs = odd_sections(country_doc) if country_doc else {}
    clock = scenario.clock.clock()
    run_scenario = scenario if scale == scenario.scale else scenario.replace({"scale": scale}, source=f"{path} --scale")
    sizes = run_scenario.lattice_sizes()
    targets = F.load_targets(targets_path, scenario) if targets_path else None
    rules = scenario.base_rules()
    rules_given = data.get("rules") or {}

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
    rep.add(1, general(md, docs.get(1), "docs/country-model.md, element 1"))

    # 2. entities, state variables and scales
    ticks = clock.ticks
    rep.add(2, Raw("<p><b>Clock and scale.</b></p>"), table(("", "value", "source (the file)"), [
        ["start (step 0)", fmt(scenario.clock.start), _source_cell(notes, "clock.start", True)],
        ["end (exclusive)", fmt(scenario.clock.end), _source_cell(notes, "clock.end", True)],
        ["one step", f"{scenario.clock.tick_hours:g} h ({ticks:,} steps)",
         _source_cell(notes, "clock.tick_hours", "tick_hours" in (data.get("clock") or {}))],
        ["local time", scenario.timezone or "(not given)", _source_cell(notes, "timezone", "timezone" in data)],
        ["scale of the file", f"{scenario.scale:g} agents per resident (1 agent per {1 / scenario.scale:,.0f} residents)",
         _source_cell(notes, "scale", "scale" in data)],
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
    rep.add(2, general(md, docs.get(2), "docs/country-model.md, element 2"))

    # 3. process overview and scheduling
    mech_rows, mech_classes = [], []
    for name, _cls in MECHANISM_ORDER:
        params = getattr(scenario, name)
        on = getattr(params, "enabled", None)
        state = "on" if on else "off" if on is not None else "always on (no switch)"
        values = ", ".join(f"{k} = {fmt(v)}" for k, v in params.model_dump().items() if k != "enabled")
        mech_rows.append([code(name), state, values or "-"])
        mech_classes.append("" if on is not False else "off")
    rep.add(3, Raw("<p><b>The mechanisms of this scenario</b>, in the order they write each step's inputs:</p>"),
            table(("mechanism", "switched", "values"), mech_rows, row_classes=mech_classes))
    rep.add(3, activation_sentence(rules))
    rows, classes = switch_rows(rules, set(rules_given), notes, "rules.", md, model_doc)
    rep.add(3, Raw("<p><b>Model I's switches</b> on every city's lattice (<code>[rules]</code>):</p>"),
            table(SWITCH_HEADERS, rows, row_classes=classes))
    ev_rows = []
    for idx, ev in sorted(enumerate(scenario.events), key=lambda ie: (ie[1].span()[0], ie[0])):
        start, end = ev.span()
        comments = [f"{k[len(f'events[{idx}].'):]}: {v}" for k, v in notes.values.items()
                    if k.startswith(f"events[{idx}].") and not k.endswith(".source")]
        ev_rows.append([code(ev.id), ev.kind, fmt(start), fmt(end) if end else "end of run",
                        str(clock.step_at(start)), ", ".join(ev.cities) or "all", _event_what(ev),
                        "; ".join(x for x in (ev.source, *comments) if x) or "-"])
    rep.add(3, Raw(f"<p><b>The timeline</b>: {len(scenario.events)} dated events, in time order (times are local; "
                   "an event acts from the first step that starts at or after its time):</p>"),
            table(("event", "kind", "from", "until", "first step", "cities", "what", "source"), ev_rows, cls="events"))
    rep.add(3, general(md, docs.get(3), "docs/country-model.md, element 3"))

    # 4. design concepts
    rep.add(4, Raw(f"<p><b>Observation in this report.</b> {replicates} run{'s' if replicates != 1 else ''} at scale "
                   f"{scale:g} (root seed {seed}, replicates 0 to {replicates - 1}); counts of agents are divided by "
                   "the scale to read as people.</p>"))
    rep.add(4, general(md, docs.get(4), "docs/country-model.md, element 4"))

    # 5. initialisation
    rep.add(5, Raw(f"<p><b>This scenario.</b> {sum(s[1] for s in sizes):,} citizens and {sum(s[2] for s in sizes):,} "
                   f"cops in {len(sizes)} lattices at scale {scale:g} (table under element 2); legitimacy before the "
                   f"shock {rules.legitimacy:g}; jail terms up to {scenario.repression.jail_term_days:g} days "
                   f"({run_scenario.base_rules().max_jail_term:g} steps). Each city draws from its own stream, from "
                   f"the root seed, the replicate and its name.</p>"))
    rep.add(5, general(md, docs.get(5), "docs/country-model.md, element 5"))

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
    rep.add(6, general(md, docs.get(6), "docs/country-model.md, element 6"))

    # 7. submodels
    body7 = docs.get(7)
    intro7, subs = split_sections(body7 or "", 3)
    if body7:
        rep.add(7, general(md, intro7, "docs/country-model.md, element 7"))
    for title, body in subs:
        m = re.search(r"`uprising\.mechanisms\.(\w+)`", title)
        name = m.group(1) if m else None
        params = getattr(scenario, name, None) if name in MECHANISMS else None
        parts = [Raw(f"<h3>{md.inline(title)}</h3>")]
        if params is not None:
            on = getattr(params, "enabled", None)
            state = "switched on" if on else "switched off" if on is not None else "always on (no switch)"
            given = data.get(name) or {}
            rows = []
            for k, info in type(params).model_fields.items():
                unit, ref = _meta_of(info)
                rows.append([code(f"{name}.{k}"), fmt(getattr(params, k)), unit, _default_of(info),
                             _source_cell(notes, f"{name}.{k}", k in given)])
            parts.append(Raw(f'<p class="{"on" if on is not False else "off"}"><b>In this scenario: {esc(state)}.</b></p>'))
            parts.append(table(("parameter", "value", "unit", "default", "source (the file)"), rows))
        parts.append(Raw(f'<div class="general">{md(body)}</div>'))
        rep.add(7, *parts)
    if model_doc:
        rep.add(7, Raw("<details><summary>Model I's submodels, which every city's lattice runs "
                       "(docs/model.md, element 7)</summary>" + md(odd_sections(model_doc).get(7, "")) + "</details>"))

    # parameters
    rows = []
    for key, info, value, given in (("scale", CountryScenario.model_fields["scale"], scenario.scale, "scale" in data),
                                    *((f"clock.{k}", ClockSpec.model_fields[k], getattr(scenario.clock, k),
                                       k in (data.get("clock") or {})) for k in ClockSpec.model_fields)):
        unit = {"scale": "agents per resident", "clock.start": "local time", "clock.end": "local time",
                "clock.tick_hours": "hours"}.get(key, "")
        rows.append([code(key), fmt(value), unit, _default_of(info), info.description or "",
                     _source_cell(notes, key, given)])
    owned = set(COUNTRY_OWNED)
    rows += model_one_parameter_rows(rules, rules_given, notes, prefix="rules.", skip=owned)
    for name, params in ((n, getattr(scenario, n)) for n in MECHANISMS):
        given = data.get(name) or {}
        for k, info in type(params).model_fields.items():
            unit, ref = _meta_of(info)
            rows.append([code(f"{name}.{k}"), fmt(getattr(params, k)), unit, _default_of(info), ref,
                         _source_cell(notes, f"{name}.{k}", k in given)])
    rep.parameters.append(Raw(f"<p>Every parameter of the scenario: the run (<code>scale</code>, <code>[clock]</code>), "
                              "Model I's rules of every lattice (<code>[rules]</code>) and each mechanism's table; its value "
                              "in this scenario, the unit and reference the field's metadata carries (for the run, its "
                              "meaning), and the comment beside it in the file, which marks it as a source, a fit or an "
                              "assumption. The cities' values and sources are under element 2, the events' under "
                              "element 3.</p>"))
    rep.parameters.append(table(PARAM_HEADERS, rows, cls="params"))
    city_fields = [[code(k), CITY_UNITS.get(k, ""), _default_of(info), _allowed_text(info), info.description or ""]
                   for k, info in City.model_fields.items()]
    rep.parameters.append(Raw("<details><summary>The fields of a city</summary>" +
                              table(("field", "unit", "default", "allowed", "meaning"), city_fields) + "</details>"))

    # the ensemble
    every = max(1, ticks // 20)
    if log:
        agents = sum(s[1] for s in sizes)
        log(f"{scenario.name}: {replicates} run{'s' if replicates != 1 else ''} at scale {scale:g} ({agents:,} citizens, "
            f"{ticks} steps of {scenario.clock.tick_hours:g} h)")
    tasks = E.tasks(run_scenario, replicates, seed, snapshot_every=every)
    label = f"{scenario.name}: runs"
    prog = (lambda done, total: progress(label, done, total)) if progress else None
    if replicates == 1:
        results = E.run_many(tasks, None, prog)
    else:
        with E.executor_for(workers or min(replicates, os.cpu_count() or 1)) as ex:
            results = E.run_many(tasks, ex, prog)
    if log:
        log("figures")
    rep.figures.append(Figure("Unrest by city", png(CP.cities_figure(results)),
                              f"Active and violent citizens per 1,000 residents in each city; {_runs(replicates)}."))
    rep.figures.append(Figure("The whole country", png(CP.national_figure(results)),
                              "Quiet citizens, active, violent and jailed at once, and killed and injured so far, in "
                              f"people (agents divided by the scale); {_runs(replicates)}."))
    if targets is not None:
        rep.figures.append(Figure("Against the record", png(CP.record_figure(results, targets.targets)),
                                  f"Cumulative detained and deaths against the official figures of {targets_path} "
                                  f"(ranges as bars), and national unrest; {_runs(replicates)}."))
    rep.figures.append(Figure("Map", png(CP.map_figure(results)),
                              "The cities on the country's outline (Natural Earth 1:110m), sized by population and "
                              "coloured by their peak of active and violent citizens per 1,000 residents."))
    snaps = results[0].snapshots
    if snaps:
        names = results[0].names
        share = [results[0].unrest()[i].max() * 1000.0 / max(results[0].citizens[i], 1) for i in range(len(names))]
        city = names[int(np.argmax(share))]
        frames_by_step = snaps.get(city) or {}
        if frames_by_step:
            steps = np.array(sorted(frames_by_step))
            kinds = np.stack([frames_by_step[k] for k in steps])
            frames = A.Frames(kinds, steps, [clock.time_of(int(k)).strftime("%d %b, %H:%M") for k in steps],
                              scenario.name, city, tuple(range(6)))
            unrest = ((kinds == 2) | (kinds == 5)).sum(axis=(1, 2))
            picks = _picks_around(int(np.argmax(unrest)), len(steps))
            rep.figures.append(Figure(f"The lattice of {city}", png(A.strip_figure(frames, picks)),
                                      f"Replicate 0's lattice of {city}, the city with the highest peak of unrest per "
                                      "resident in that run, at four times around its peak (local time)."))

    # validation
    rep.validation.extend(country_validation(scenario, targets, targets_path, results, scale, md))
    if country_doc:
        refs = dict(split_sections(country_doc)[1]).get("References")
        if refs:
            rep.references = md(refs)


def _event_what(ev) -> str:
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


def country_validation(scenario, targets, targets_path, results, scale: float, md: Markdown) -> list[Raw]:
    from .country import fit as F

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
    doc = _doc(doc_name)
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


# ====================================================================== experiments
def experiment_parts(exp, path: Path, notes: FileNotes, md: Markdown) -> list[Raw]:
    from .experiment.outcomes import OUTCOMES

    parts: list[Raw] = []
    points = exp.points()
    runs = len(points) * exp.replicates
    rows = [["file", code(path)], ["name", exp.name], ["description", exp.description or "-"],
            ["base scenario", code(exp.base)], ["steps per run", fmt(exp.steps or exp.base_scenario.steps)],
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
                     _source_cell(notes, f"parameters.{name}", True)])
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


def design_figure(exp):
    import matplotlib.pyplot as plt

    from .viz.style import RC

    pts = exp.points()
    names = list(exp.parameters)
    try:
        [float(p[n]) for p in pts for n in names[:2]]
    except (TypeError, ValueError, KeyError):
        return None  # a design over choices: no scatter
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6.5, 4.8))
        xs = [float(p[names[0]]) for p in pts]
        ys = [float(p[names[1]]) for p in pts] if len(names) > 1 else [0.0] * len(pts)
        ax.scatter(xs, ys, s=28, color="#1f78b4", edgecolor="k", linewidths=0.5)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else "")
        if len(names) == 1:
            ax.set_yticks([])
        ax.set_title(f"{exp.name}: {len(pts)} design points ({exp.design.kind})")
        fig.tight_layout()
    return fig


# ====================================================================== HTML
CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --accent: #7f0000; --soft: #f6f6f8; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 28px 80px; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 18px; padding-bottom: 8px; }
h1 { font-size: 1.9em; margin: 0 0 4px; }
h2 { font-size: 1.45em; margin: 2.2em 0 0.6em; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.15em; margin: 1.6em 0 0.4em; }
h4, h5, h6 { font-size: 1em; margin: 1.2em 0 0.3em; }
p.sub { color: var(--muted); margin: 0; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
code { background: var(--soft); padding: 0 3px; border-radius: 3px; }
pre { background: var(--soft); padding: 10px 12px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; }
pre.file { border-left: 3px solid #b9b9c3; }
.scroll { overflow-x: auto; margin: 0.6em 0 1em; }
table { border-collapse: collapse; font-size: 0.86em; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 7px; text-align: left; vertical-align: top; }
th { background: #ececf1; }
tbody tr:nth-child(even) { background: #fafafb; }
tr.this td { background: #fff4d6; }
tr.off td { color: var(--muted); }
tr.hit td:nth-child(6) { color: #1b7a3d; font-weight: 600; }
tr.miss td:nth-child(6) { color: #b00020; font-weight: 600; }
table.scores td:last-child, table.events td:last-child, table.params td:last-child { color: var(--muted); }
div.general { border-left: 3px solid var(--line); padding-left: 14px; margin: 1em 0; }
p.from { color: var(--muted); font-size: 0.88em; margin-bottom: 0.2em; }
p.note, span.missing { color: var(--muted); }
span.target { color: var(--muted); font-size: 0.9em; }
p.on b { color: #1b7a3d; } p.off b { color: var(--muted); }
figure { margin: 1.2em 0 2em; }
img.figure { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 4px; }
nav.toc { background: var(--soft); padding: 10px 16px; border-radius: 4px; font-size: 0.92em; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc ol { margin: 4px 0; padding-left: 20px; columns: 2; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; font-size: 0.9em; margin: 10px 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
details { margin: 0.8em 0; } summary { cursor: pointer; color: var(--accent); }
p.verdict { font-size: 1.02em; }
footer { color: var(--muted); font-size: 0.85em; border-top: 1px solid var(--line); margin-top: 3em; padding-top: 8px; }
@media print { details { display: block; } details > summary { display: none; } main { max-width: none; } }
"""


def render_html(rep: Report) -> str:
    toc = [("odd", "The model (ODD protocol)")]
    toc += [(f"odd-{i}", f"{i}. {t}") for i, t in enumerate(ODD_TITLES, start=1)]
    toc += [("parameters", "Parameters"), *[(a, t) for a, t, _ in rep.extra], ("figures", "Figures"),
            ("validation", "Validation status")]
    if rep.references is not None:
        toc.append(("references", "References"))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{esc(rep.title)}</title>", f"<style>{CSS}</style></head><body><main>",
           f'<header class="top"><h1>{esc(rep.title)}</h1><p class="sub">{esc(rep.subtitle)}</p></header>']
    out.append('<dl class="meta">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rep.meta) + "</dl>")
    out.append('<nav class="toc"><b>Contents</b><ol>' +
               "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in toc) + "</ol></nav>")
    out.append('<h2 id="odd">The model in the ODD protocol</h2>')
    out.append("<p>The model described in the seven elements of the ODD protocol (Overview, Design concepts, "
               "Details; Grimm et al. 2020, <i>JASSS</i> 23(2):7). In each element the part generated from this "
               "scenario comes first, then the general description of the model from the documentation.</p>")
    for i, title in enumerate(ODD_TITLES, start=1):
        out.append(f'<h2 id="odd-{i}">{i}. {esc(title)}</h2>')
        out.extend(rep.odd.get(i, []))
    out.append('<h2 id="parameters">Parameters</h2>')
    out.extend(rep.parameters)
    for anchor, title, parts in rep.extra:
        out.append(f'<h2 id="{esc(anchor)}">{esc(title)}</h2>')
        out.extend(parts)
    out.append('<h2 id="figures">Figures</h2>')
    for f in rep.figures:
        out.append(f"<figure><h3>{esc(f.title)}</h3>{f.image}<figcaption>{esc(f.caption)}</figcaption></figure>")
    out.append('<h2 id="validation">Validation status</h2>')
    out.extend(rep.validation)
    if rep.references is not None:
        out.append('<h2 id="references">References</h2>')
        out.append(rep.references)
    out.append(f"<footer>Written by <code>uprising report</code>. Self-contained: no part of this page is "
               f"fetched from elsewhere.</footer></main></body></html>")
    return "\n".join(out)


# ====================================================================== the driver
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("uprising")
    except Exception:  # noqa: BLE001
        return "?"


def _commit() -> str:
    import subprocess

    from .validate import repo_root

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def file_kind(data: dict[str, Any]) -> str:
    if "cities" in data:
        return "country"
    if "base" in data and ("parameters" in data or "design" in data or "replicates" in data):
        return "experiment"
    return "model1"


def build_report(path: str | Path, out: str | Path | None = None, *, replicates: int | None = None,
                 scale: float | None = None, seed: int = 0, steps: int | None = None, workers: int | None = None,
                 targets_path: str | Path | None = None, progress: Progress | None = None,
                 log: Log | None = None) -> Path:
    """Write the HTML report of the scenario or experiment in ``path``; returns the file written.

    Defaults: ``replicates`` 4, ``scale`` 0.005 (country scenarios), the scenario's steps (Model I; an
    experiment's own steps), ``out`` ``results/NAME-report.html``. Everything is read and checked before the
    ensemble runs; the file is written at the end, whole (under a temporary name, then renamed)."""
    path = Path(path)
    source = str(path)
    data = read_toml(path, "scenario or experiment")
    kind = file_kind(data)
    replicates = DEFAULT_REPLICATES if replicates is None else int(replicates)
    if replicates < 1:
        raise ScenarioError(source, "--replicates", f"{replicates}: at least 1")
    if kind != "country":
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
    md = Markdown(base=docs_dir())
    notes = read_notes(path)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = f"uprising report {path}"
    if kind == "country":
        from .country.scenario import CountryScenario
        from .country.fit import find_targets

        scenario = CountryScenario.load(path)
        scale = DEFAULT_SCALE if scale is None else float(scale)
        if not (0.0 < scale <= 1.0) or not math.isfinite(scale):
            raise ScenarioError(source, "--scale", f"{scale:g}: agents per resident must lie in (0, 1]")
        run_scenario = (scenario if scale == scenario.scale
                        else scenario.replace({"scale": scale}, source=f"{source} --scale"))
        run_scenario.lattice_sizes()
        tpath = Path(targets_path) if targets_path is not None else find_targets(path)
        if tpath is not None:
            from .country import fit as F

            F.load_targets(tpath, scenario)  # a bad targets file is reported before anything runs
        name = scenario.name
        rep = Report(f"{name}: the model, its parameters, figures and validation",
                     scenario.description or "a country scenario")
        rep.meta = [("scenario", str(path)), ("kind", f"country: {len(scenario.cities)} cities, Model I on each"),
                    ("hash", scenario.hash()), ("ensemble", f"{replicates} runs at scale {scale:g}, root seed {seed}")]
        country_report(path, scenario, data, notes, rep, md, replicates, scale, seed, workers, tpath, progress, log)
        command += f" --replicates {replicates} --scale {scale:g} --seed {seed}"
    else:
        exp = None
        if kind == "experiment":
            from .experiment.spec import Experiment

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
        title = (f"{name}: an experiment on {scenario.name}" if exp is not None else
                 f"{name}: the model, its parameters, figures and validation")
        rep = Report(title, (exp.description if exp is not None else scenario.description) or "a Model I scenario")
        rep.meta = [("file", str(path))]
        if exp is not None:
            rep.meta.append(("base scenario", str(base_path)))
        rep.meta += [("kind", "Model I (Epstein 2002)" + (", an experiment" if exp is not None else "")),
                     ("hash", scenario.hash()),
                     ("ensemble", f"{replicates} runs of {scenario.steps:,} steps, root seed {seed}")]
        if exp is not None:
            rep.extra.append(("experiment", "The experiment's design", experiment_parts(exp, path, notes, md)))
        model_one_report(base_path, scenario, base_data, base_notes, rep, md, replicates, seed, progress, log, exp)
        if exp is not None and exp.parameters and (fig := design_figure(exp)) is not None:
            rep.figures.append(Figure("The design", png(fig), f"The experiment's {len(exp.points())} design points "
                                      "(its parameters' values at each)."))
        command += f" --replicates {replicates} --seed {seed}" + (f" --steps {steps}" if steps else "")
    commit = _commit()
    rep.meta += [("written", f"{when} by uprising {_version()}" + (f" at commit {commit}" if commit else "")),
                 ("command", command), ("time", f"{time.perf_counter() - started:.1f} s")]
    text = render_html(rep)
    out = Path("results") / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}-report.html" if out is None else out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
