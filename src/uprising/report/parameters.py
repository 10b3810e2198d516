"""The report's parameter tables, derived from the scenario schema (the fields of the pydantic classes and
their metadata: unit, reference, description, default).

Nothing here names a Model I switch: the switch table lists every field whose unit is ``switch`` or
``choice``, and the rules of element 7 are every field of :class:`uprising.scenario.Scenario` that is not
shown under another element (:data:`NOT_RULES`). A new switch in the schema appears in the report as it is.
"""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ..scenario import Scenario, Schedule
from .html import Markdown, Raw, code, esc, fmt
from .notes import FileNotes, source_cell
from .odd import OddText, switch_places

#: the columns of the full parameter table
PARAM_HEADERS = ("parameter", "value", "unit", "default", "reference", "source (the file's comment)")
#: the columns of the switch table (element 3)
SWITCH_HEADERS = ("switch", "value here", "where it acts in the step (docs/model.md)", "meaning", "source (the file)")
#: the columns of a table of rules' values (element 7)
RULE_HEADERS = ("parameter", "value", "unit", "meaning", "source (the file)")
#: units that mark a field as a switch of Model I (one per place where the published implementations disagree)
SWITCH_UNITS = ("switch", "choice")
#: Scenario fields that are not rules of the step: the text and length of a run and the lattice and its
#: population (elements 2 and 5), the activation scheme and the schedules (element 3). Every other field is a
#: rule of the step (rules A, C, M and jail) and is listed under element 7.
NOT_RULES = frozenset({"name", "description", "steps", "width", "height", "citizen_density", "cop_density",
                       "placement", "activation", "tile_size"})


def unit_and_reference(info) -> tuple[str, str]:
    """The unit and the reference a field's metadata carries."""
    extra = info.json_schema_extra or {}
    return extra.get("unit", ""), extra.get("reference", "")


def default_text(info) -> str:
    """A field's default as the reader writes it (``required`` when it has none)."""
    if info.default_factory is not None:
        return fmt(info.default_factory())
    if info.default is PydanticUndefined:
        return "required"
    return fmt(info.default)


def field_rows(params: BaseModel, given: Iterable[str], notes: FileNotes, prefix: str,
               reference: bool = True) -> list[list[Any]]:
    """One row per field of ``params`` (a pydantic model): dotted key, value, unit, default, reference (when
    ``reference``) and source; ``given`` names the fields the file sets."""
    given = set(given)
    rows = []
    for name, info in type(params).model_fields.items():
        unit, ref = unit_and_reference(info)
        key = f"{prefix}{name}"
        row = [code(key), fmt(getattr(params, name)), unit, default_text(info)]
        if reference:
            row.append(ref)
        row.append(source_cell(notes, key, name in given))
        rows.append(row)
    return rows


def model_one_parameter_rows(scenario: Scenario, data: dict[str, Any], notes: FileNotes, prefix: str = "",
                             skip: Iterable[str] = ()) -> list[list[Any]]:
    """Every parameter of Model I (the fields of Scenario; a schedule's fields one by one): value, unit,
    default, reference and source. ``data`` is the scenario's table as the file gives it."""
    rows = []
    skip = set(skip)
    for name, info in type(scenario).model_fields.items():
        if name in skip or name in ("name", "description"):
            continue
        unit, ref = unit_and_reference(info)
        value = getattr(scenario, name)
        if isinstance(value, Schedule):
            given = data.get(name) if isinstance(data.get(name), dict) else {}
            for row in field_rows(value, given, notes, f"{prefix}{name}."):
                row[4] = row[4] or ref  # a schedule's field without its own reference takes the schedule's
                rows.append(row)
            continue
        key = f"{prefix}{name}"
        rows.append([code(key), fmt(value), unit, default_text(info), ref, source_cell(notes, key, name in data)])
    return rows


def rule_names(schema: type[Scenario] = Scenario) -> list[str]:
    """The fields of the Model I schema that are rules of the step (all but :data:`NOT_RULES` and the
    schedules), in the schema's order."""
    return [name for name, info in schema.model_fields.items()
            if name not in NOT_RULES and info.annotation is not Schedule]


def rule_rows(scenario: Scenario, data: dict[str, Any], notes: FileNotes) -> list[list[Any]]:
    """One row per rule of the step (:func:`rule_names`): value, unit, meaning and source."""
    rows = []
    fields = type(scenario).model_fields
    for name in rule_names(type(scenario)):
        info = fields[name]
        unit, _ = unit_and_reference(info)
        rows.append([code(name), fmt(getattr(scenario, name)), unit, info.description or "",
                     source_cell(notes, name, name in data)])
    return rows


def switch_rows(rules: Scenario, set_keys: set[str], notes: FileNotes, prefix: str, md: Markdown,
                model_text: OddText) -> tuple[list[list[Any]], list[str]]:
    """One row per Model I switch (a field whose unit is in :data:`SWITCH_UNITS`): its value here, where it
    acts (docs/model.md's element 3), its meaning and its source; the tile size follows when tiled."""
    places = switch_places(model_text)
    fields = type(rules).model_fields
    rows, classes = [], []
    for name, info in fields.items():
        unit, _ = unit_and_reference(info)
        if unit not in SWITCH_UNITS:
            continue
        value = getattr(rules, name)
        if name == "cop_movement" and value is None:
            value_text = f"unset (follows movement: {fmt(rules.movement)})"
        else:
            value_text = fmt(value)
        key = f"{prefix}{name}"
        rows.append([code(name), Raw(f"<b>{esc(value_text)}</b>") if name == "activation" else value_text,
                     md.inline(places.get(name, "")), info.description or "",
                     source_cell(notes, key, name in set_keys)])
        classes.append("this" if name in ("activation", "tile_size") else "")
    if rules.activation == "tiled":
        rows.append([code("tile_size"), fmt(rules.tile_size), md.inline(places.get("tile_size", "")),
                     fields["tile_size"].description or "",
                     source_cell(notes, f"{prefix}tile_size", "tile_size" in set_keys)])
        classes.append("this")
    return rows, classes


def activation_sentence(rules: Scenario) -> Raw:
    """What the activation switch does in this scenario, in one sentence (ODD element 3)."""
    if rules.activation == "tiled":
        what = (f"<b>tiled</b>: the lattice is cut into {rules.tile_size} x {rules.tile_size}-cell tiles, visited in a "
                "fresh random order each step, and the cells of each tile in a fresh random order (the fast "
                "activation; its drift from random sequential activation is measured in tests/test_activation.py)")
    else:
        what = ("<b>random_sequential</b>: every agent is activated once per step in a fresh uniformly random order "
                "(Epstein's random asynchronous activation; the faithful one)")
    return Raw(f"<p><b>The activation switch</b> (<code>activation</code>) is {what}.</p>")
