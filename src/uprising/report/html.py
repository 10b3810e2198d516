"""The report's page: HTML helpers, Markdown made safe for a self-contained page, and :func:`render_html`.

Everything here writes text; nothing runs a model or draws a figure. A page is self-contained: CSS inline,
figures embedded as base64 PNG, links shown as text (no ``href`` leaves the page).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

#: the seven elements of the ODD protocol (Grimm et al. 2020), in order
ODD_TITLES = ("Purpose and patterns", "Entities, state variables and scales", "Process overview and scheduling",
              "Design concepts", "Initialisation", "Input data", "Submodels")


class Raw(str):
    """Text that is already HTML (not escaped again)."""


def esc(value: Any) -> str:
    """``value`` as HTML text (escaped unless it is :class:`Raw` already)."""
    return value if isinstance(value, Raw) else html.escape(str(value), quote=True)


def code(text: Any) -> Raw:
    """``text`` in a ``<code>`` element."""
    return Raw(f"<code>{esc(text)}</code>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", row_classes: Sequence[str] | None = None,
          caption: str | None = None) -> Raw:
    """An HTML table (in a horizontally scrolling box); cells are escaped unless :class:`Raw`."""
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


@dataclass(frozen=True)
class Figure:
    """One figure of the report: a title, the PNG image's bytes and a caption."""

    title: str
    png: bytes
    caption: str

    def img(self) -> Raw:
        """The figure as an ``<img>`` with its PNG inline (base64)."""
        data = base64.b64encode(self.png).decode()
        return Raw(f'<img class="figure" alt="figure" src="data:image/png;base64,{data}">')


def runs_phrase(n: int) -> str:
    """How a figure's caption names the ensemble it draws."""
    return "1 run" if n == 1 else f"{n} runs, median and 5-95% band"


@dataclass
class Report:
    """The parts of a report page, filled section by section, then written by :func:`render_html`."""

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
    """The report as one self-contained HTML page: header, contents, the seven ODD elements, the parameters, any
    extra sections, the figures, the validation status and the references."""
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
        out.append(f"<figure><h3>{esc(f.title)}</h3>{f.img()}<figcaption>{esc(f.caption)}</figcaption></figure>")
    out.append('<h2 id="validation">Validation status</h2>')
    out.extend(rep.validation)
    if rep.references is not None:
        out.append('<h2 id="references">References</h2>')
        out.append(rep.references)
    out.append(f"<footer>Written by <code>uprising report</code>. Self-contained: no part of this page is "
               f"fetched from elsewhere.</footer></main></body></html>")
    return "\n".join(out)
