"""The country model's parameter tables, generated from the scenario classes (embedded in docs/country-model.md).

One row per field of every mechanism's parameter class (``[price]``, ``[legitimacy]``, ...; the
registry :data:`uprising.mechanisms.MECHANISMS`, in run order), with the unit and reference its metadata
carries, then the fields of each event kind, of a city and of the clock. The style follows
:func:`uprising.scenario.parameter_table_markdown` (Model I's table in docs/model.md);
``tests/test_docs.py`` keeps the page's copy current. Regenerate with::

    python -c "from uprising.country.params_doc import mechanism_parameter_table_markdown as p; print(p())"
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ..mechanisms.base import Event
from ..scenario import allowed_values
from .scenario import City, ClockSpec, CountryScenario, Reporting

#: fields every event kind has (described once, under the events table)
COMMON_EVENT_FIELDS = tuple(name for name in Event.model_fields)
#: what an event's times mean (their fields carry no description of their own)
EVENT_TIMES = {"at": "when: it acts from the first step that starts at or after this time",
               "start": "from when: it acts from the first step that starts at or after this time",
               "end": "until when (left out: the end of the run): it stops at the first step that starts at or "
                      "after this time"}


def _optional(ann: Any) -> bool:
    return get_origin(ann) in (Union, types.UnionType) and type(None) in get_args(ann)


def _base(ann: Any) -> Any:
    """The annotation without ``| None``."""
    if _optional(ann):
        rest = [a for a in get_args(ann) if a is not type(None)]
        return rest[0] if len(rest) == 1 else ann
    return ann


def _allowed(info: Any) -> str:
    """What a field accepts (:func:`uprising.scenario.allowed_values`), or for a field it says nothing about,
    its shape: ``city = count`` for a table, ``list`` for a list, else ``any``."""
    text = allowed_values(info)
    if text:
        return text
    base = _base(info.annotation)
    if get_origin(base) is dict:
        return "city = count"
    if get_origin(base) is list:
        return "list"
    return "any"


def _default(info: Any) -> str:
    if info.default_factory is not None:
        return f"`{info.default_factory()!r}`"
    if info.default is PydanticUndefined:
        return "required"
    return f"`{info.default!r}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def mechanism_parameter_table() -> list[dict[str, str]]:
    """One row per mechanism parameter: dotted name (as in ``--set``), unit, default, allowed range,
    reference and meaning, in the order of the scenario's mechanism tables."""
    rows = []
    for mechanism in CountryScenario.mechanisms:
        table = mechanism.name
        for name, info in mechanism.parameters.model_fields.items():
            extra = info.json_schema_extra or {}
            rows.append({"name": f"{table}.{name}", "unit": extra.get("unit", ""), "default": _default(info),
                         "allowed": _allowed(info), "reference": extra.get("reference", ""),
                         "meaning": info.description or ""})
    return rows


def _field_rows(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        lines.append(f"| `{prefix}{name}` | {_default(info)} | {_cell(_allowed(info))} | "
                     f"{_cell(info.description or '')} |")
    return lines


def mechanism_parameter_table_markdown() -> str:
    """The country model's parameter tables as Markdown (docs/country-model.md; a test keeps it current)."""
    lines = ["| parameter | unit | default | allowed | reference | meaning |", "|---|---|---|---|---|---|"]
    for row in mechanism_parameter_table():
        cells = [f"`{row['name']}`", row["unit"], row["default"], row["allowed"], row["reference"], row["meaning"]]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")

    lines += ["", "Events (`[[events]]`; each kind's own fields):", "",
              "| kind | field | default | allowed | meaning |", "|---|---|---|---|---|"]
    for kind, cls in CountryScenario.event_kinds.items():
        for name, info in cls.model_fields.items():
            if name in COMMON_EVENT_FIELDS or name == "kind":
                continue
            meaning = info.description or EVENT_TIMES.get(name, "")
            lines.append(f"| `{kind}` | `{name}` | {_default(info)} | {_cell(_allowed(info))} | {_cell(meaning)} |")
    lines += ["", "Fields of every event:", "", "| field | default | allowed | meaning |", "|---|---|---|---|"]
    lines += _field_rows(Event, "")

    lines += ["", "Cities (`[[cities]]`):", "", "| field | default | allowed | meaning |", "|---|---|---|---|"]
    lines += _field_rows(City, "")
    lines += ["", "The run (`scale`, `[clock]`):", "", "| key | default | allowed | meaning |", "|---|---|---|---|"]
    lines += _field_rows(CountryScenario, "", skip=tuple(n for n in CountryScenario.model_fields if n != "scale"))
    lines += _field_rows(ClockSpec, "clock.")
    lines += ["", "What a target reads (`[reporting]`; observation only, no run changes):", "",
              "| key | default | allowed | meaning |", "|---|---|---|---|"]
    lines += _field_rows(Reporting, "reporting.")
    return "\n".join(lines)
