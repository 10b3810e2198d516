"""The general text of the model in the ODD protocol's seven elements, shipped with the package.

``docs/model.md`` (Model I) and ``docs/country-model.md`` (the country model) describe the model in the
ODD protocol (Grimm et al. 2020), one ``## N. Title`` section per element. The report places each
element's general text after the part it generates from the scenario. The two pages are package data:
``uprising/report/odd/`` holds symbolic links to them in the checkout, which the wheel build copies as
files, so an installed ``uprising report`` reads the same text (one copy, kept in ``docs/``). A missing
text is an error (:class:`OddTextMissing`), never a silently shorter report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from .html import Markdown, Raw, code, esc

#: the ODD pages shipped in ``uprising/report/odd/``, by the scenario kind they describe
MODEL_ONE_TEXT = "model.md"
COUNTRY_TEXT = "country-model.md"


class OddTextMissing(RuntimeError):
    """The package has no copy of an ODD page (a broken install or a wheel built without its package data)."""


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


@dataclass(frozen=True)
class OddText:
    """One ODD page: its text and where it lives in the checkout (``docs/NAME``)."""

    name: str
    text: str

    @property
    def source(self) -> str:
        return f"docs/{self.name}"

    @cached_property
    def elements(self) -> dict[int, str]:
        """The body of each ODD element, by its number (1 to 7)."""
        return odd_sections(self.text)

    def element(self, number: int) -> str | None:
        return self.elements.get(number)

    def section(self, title: str) -> str | None:
        """The body of the ``## title`` section (e.g. ``References``), if the page has one."""
        return dict(split_sections(self.text)[1]).get(title)


def odd_folder():
    """The package's folder of ODD pages (``uprising/report/odd/``), as an importlib resource."""
    return resources.files(__package__).joinpath("odd")


def load_odd_text(name: str) -> OddText:
    """The ODD page ``name`` (:data:`MODEL_ONE_TEXT` or :data:`COUNTRY_TEXT`) from the package's data.

    Raises :class:`OddTextMissing` when the package has no copy (the report would lack its general text)."""
    resource = odd_folder().joinpath(name)
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, OSError) as exc:
        raise OddTextMissing(f"the ODD text {name} is not installed with uprising (uprising/report/odd/{name}, "
                             f"a copy of docs/{name}): reinstall the package ({exc})") from None
    if not odd_sections(text):
        raise OddTextMissing(f"uprising/report/odd/{name} has no '## N. Title' ODD sections")
    return OddText(name, text)


def general(md: Markdown, body: str | None, source: str) -> Raw:
    """The general text of an ODD element, from the docs, marked as such."""
    if not body:
        return Raw(f'<p class="note">({esc(source)} has no text for this element.)</p>')
    return Raw(f'<div class="general"><p class="from">General description, from {code(source)}:</p>'
               f"{md(body)}</div>")


def switch_places(model_text: OddText) -> dict[str, str]:
    """Where each Model I switch acts in the step, read from the table of docs/model.md's element 3."""
    out: dict[str, str] = {}
    for line in (model_text.element(3) or "").splitlines():
        m = re.match(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$", line)
        if not m or "`" not in m.group(1):
            continue
        for name in re.findall(r"`([^`]+)`", m.group(1)):
            out[name] = m.group(2)
    return out
