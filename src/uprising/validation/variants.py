"""The rule combinations the validation suite measures: each a :class:`Variant` that carries its changes.

A variant is a key (a stable name for tables and JSON), a label for people and
the scenario changes that make it, so that a reader of the suite's record
rebuilds the scenario from the changes and never parses the key. The grid
crosses the arrest rule with the vision shape; the implementations are the
complete rule sets of Mesa's example and NetLogo's Rebellion; the search and
the sensitivity analysis change one switch of :data:`SEARCH_SWITCHES` at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario import Scenario

ARREST_RULES = ("ratio", "floor", "round_half_even")
RULE_LABEL = {"ratio": "ratio", "floor": "floor", "round_half_even": "round"}
#: the fields that make up a "rule set" (everything a published implementation decides, not the inputs)
RULE_FIELDS = ("arrest_rule", "vision_shape", "own_cell_in_vision", "order", "cop_moves_to_arrestee",
               "jail_term", "jail_countdown", "jailed_hold_cell", "placement")
#: the implementations' rule sets: key, label, scenario file
IMPLEMENTATIONS = (("mesa-rules", "Mesa's rules (all switches)", "mesa-default.toml"),
                   ("netlogo-rules", "NetLogo's rules (all switches)", "netlogo-rebellion.toml"))

#: the switches the search may change, with every value each can take (the inputs stay the paper's)
SEARCH_SWITCHES: dict[str, tuple] = {
    "arrest_rule": ARREST_RULES,
    "vision_shape": ("euclidean", "von_neumann", "moore"),
    "order": ("move_then_act", "act_then_move"),
    "own_cell_in_vision": (False, True),
    "cop_moves_to_arrestee": (False, True),
    "jail_term": ("uniform_inclusive", "uniform_exclusive", "fixed"),
    "placement": ("exact", "binomial"),
    "jailed_hold_cell": (False, True),
    "cop_movement": (True, False),
}


@dataclass(frozen=True)
class Variant:
    """One combination of rules: a key, a label and the scenario changes that make it."""

    key: str
    label: str
    changes: tuple[tuple[str, object], ...]

    def changes_dict(self) -> dict[str, Any]:
        """The scenario changes as a mapping (what :meth:`Scenario.replace` takes)."""
        return dict(self.changes)

    def apply(self, scenario: Scenario) -> Scenario:
        """The scenario under this variant's rules."""
        return scenario.replace(**dict(self.changes)) if self.changes else scenario


def rule_set(path: Path) -> dict[str, object]:
    """The rule fields of a scenario file (e.g. Mesa's or NetLogo's rules), without its inputs."""
    s = Scenario.load(path)
    return {k: getattr(s, k) for k in RULE_FIELDS}


def grid_variants(shapes: tuple[str, ...]) -> list[Variant]:
    """Arrest rule x vision shape, every other rule as in the paper's scenario files."""
    return [Variant(f"{r}-{s}", f"{RULE_LABEL[r]}, {s.replace('_', ' ')}", (("arrest_rule", r), ("vision_shape", s)))
            for r in ARREST_RULES for s in shapes]


def implementation_variants(root: Path) -> list[Variant]:
    """The complete rule sets of Mesa's example and of NetLogo's Rebellion, on the paper's inputs."""
    return [Variant(key, label, tuple(rule_set(root / "scenarios" / fname).items()))
            for key, label, fname in IMPLEMENTATIONS]


def movement_variants() -> list[Variant]:
    """Run 1's two movement cases beside the grid: floor, euclidean with citizens moving too, and with nobody
    moving."""
    return [Variant("floor-euclidean-all-move", "floor, euclidean; citizens move too",
                    (("arrest_rule", "floor"), ("vision_shape", "euclidean"), ("movement", True))),
            Variant("floor-euclidean-none-move", "floor, euclidean; nobody moves",
                    (("arrest_rule", "floor"), ("vision_shape", "euclidean"), ("cop_movement", False)))]


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def variant_of(changes: dict[str, object], file_scenario: Scenario) -> Variant:
    """A variant named by its arrest rule and vision shape, then every other switch that differs from the file."""
    rule = changes.get("arrest_rule", file_scenario.arrest_rule)
    shape = changes.get("vision_shape", file_scenario.vision_shape)
    label = f"{RULE_LABEL[rule]}, {shape.replace('_', ' ')}"
    extras = []
    for key in SEARCH_SWITCHES:
        if key in ("arrest_rule", "vision_shape") or key not in changes:
            continue
        current = getattr(file_scenario, key)
        if key == "cop_movement" and current is None:
            current = file_scenario.movement
        if changes[key] != current:
            extras.append(f"{key} = {_show(changes[key])}")
    label += "".join(f"; {e}" for e in extras)
    key = f"{rule}-{shape}" + "".join(f"+{e.replace(' ', '')}" for e in extras)
    items = dict(changes)
    if items.get("jailed_hold_cell"):
        items["jail_countdown"] = "own_activation"  # Mesa's pairing: a prisoner on its cell counts down itself
    return Variant(key, label, tuple(sorted(items.items(), key=lambda kv: kv[0])))


def sensitivity_variants(base: Variant, file_scenario: Scenario) -> list[Variant]:
    """Every switch of SEARCH_SWITCHES changed to each of its other values, one at a time, from ``base``."""
    b = {k: v for k, v in base.changes if k in SEARCH_SWITCHES}
    current = {k: b.get(k, getattr(file_scenario, k)) for k in SEARCH_SWITCHES}
    if current["cop_movement"] is None:
        current["cop_movement"] = file_scenario.movement
    out = []
    for key, values in SEARCH_SWITCHES.items():
        for value in values:
            if value == current[key]:
                continue
            if key == "cop_moves_to_arrestee" and value and current["jailed_hold_cell"]:
                continue  # a cop cannot step onto a prisoner that keeps its cell
            if key == "jailed_hold_cell" and value and current["cop_moves_to_arrestee"]:
                continue
            out.append(variant_of(dict(b, **{key: value}), file_scenario))
    return out
