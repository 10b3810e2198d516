"""The comments of a TOML file, by the dotted key they stand beside: the sources of a scenario's values.

A scenario file marks where each value comes from in an end-of-line comment (``# source: ...``,
``# assumption: ...``, ``# fit``); :func:`read_notes` collects them, and :func:`source_cell` says what the
report's parameter tables show in their "source" column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    """The parts of a dotted TOML key, quotes removed."""
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', text)
    return [a or b or c for a, b, c in parts]


def _block_text(lines: list[str]) -> str:
    """Comment lines as one text, rules of dashes removed."""
    out = []
    for line in lines:
        line = re.sub(r"-{5,}", "", line).strip()
        out.append(line)
    return "\n".join(out).strip()


def merge_notes(under: FileNotes, over: FileNotes) -> FileNotes:
    """The notes of two files read as one (a behaviour file ``under`` a country file ``over``): each key's note from
    the file that sets it, ``over``'s where both do; the preamble is ``over``'s."""
    blocks = {k: v for k, v in under.blocks.items() if k != "(preamble)"}
    return FileNotes({**under.values, **over.values}, {**under.tables, **over.tables}, {**blocks, **over.blocks})


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


def source_cell(notes: FileNotes, key: str, set_in_file: bool) -> str:
    """The source of the value at dotted ``key``: its end-of-line comment, else the comment standing on the
    lines above it, else whether the file sets it at all."""
    comment = notes.values.get(key)
    if comment:
        return comment
    above = notes.blocks.get(key)
    if above:  # a comment standing on the lines above the key
        return above.replace("\n", " ")
    return "set in the file (no comment)" if set_in_file else "default (not set in the file)"
