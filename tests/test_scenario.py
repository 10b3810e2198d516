"""The scenario schema: shipped files, immutability, TOML round trip, canonical hash, one-line errors."""

from __future__ import annotations

import math
import tomllib
import typing

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import SCENARIOS, scenarios
from uprising.country.scenario import is_country_file
from uprising.scenario import Scenario, ScenarioError, Schedule, parameter_table, seed_sequence

# Model I scenarios (country scenarios, with [[cities]], are tested in test_country_scenario.py; the behaviour files
# that country files name, in scenarios/behaviour/, are not scenarios: tests/test_inputs.py)
SHIPPED = sorted(p for p in SCENARIOS.rglob("*.toml")
                 if not is_country_file(p) and p.relative_to(SCENARIOS).parts[0] != "behaviour")


def test_scenarios_are_shipped():
    names = {p.relative_to(SCENARIOS).as_posix() for p in SHIPPED}
    assert {"mesa-default.toml", "netlogo-rebellion.toml", "epstein-2002/run2.toml"} <= names
    assert len(SHIPPED) >= 7


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_shipped_scenario_loads_and_round_trips(path, tmp_path):
    s = Scenario.load(path)
    assert s.name == path.stem or s.name.endswith(path.stem)
    again = tmp_path / "again.toml"
    again.write_text(s.to_toml(), encoding="utf-8")
    t = Scenario.load(again)
    assert t == s and t.hash() == s.hash()


def test_shipped_rule_sets():
    # the three named rule sets of model-notes §2 are what the files say they are
    mesa = Scenario.load(SCENARIOS / "mesa-default.toml")
    assert (mesa.arrest_rule, mesa.vision_shape, mesa.order, mesa.placement, mesa.jailed_hold_cell,
            mesa.jail_countdown, mesa.max_jail_term, mesa.legitimacy, mesa.cop_density) == (
        "round_half_even", "von_neumann", "act_then_move", "binomial", True, "own_activation", 1000, 0.8, 0.074)
    netlogo = Scenario.load(SCENARIOS / "netlogo-rebellion.toml")
    assert (netlogo.arrest_rule, netlogo.own_cell_in_vision, netlogo.cop_moves_to_arrestee, netlogo.jail_term,
            netlogo.jailed_hold_cell) == ("floor", True, True, "uniform_exclusive", False)
    run3 = Scenario.load(SCENARIOS / "epstein-2002" / "run3.toml")
    assert math.isinf(run3.max_jail_term) and run3.legitimacy_schedule.kind == "linear"


# ------------------------------------------------------------------- immutability and replace


def test_replace_returns_a_new_validated_object():
    s = Scenario(name="a")
    t = s.replace(legitimacy=0.5, arrest_rule="floor", **{"cop_schedule.kind": "step", "cop_schedule.value": 0.02})
    assert t is not s and isinstance(t, Scenario)
    assert (t.legitimacy, t.arrest_rule, t.cop_schedule.kind, t.cop_schedule.value) == (0.5, "floor", "step", 0.02)
    assert (s.legitimacy, s.arrest_rule, s.cop_schedule.kind) == (0.82, "ratio", "constant")  # unchanged
    assert s == Scenario(name="a")


def test_scenario_is_frozen():
    s = Scenario()
    with pytest.raises(ValidationError):
        s.legitimacy = 0.1
    with pytest.raises(ValidationError):
        s.cop_schedule.start = 3
    assert s.legitimacy == 0.82 and s.cop_schedule.start == 0


@pytest.mark.parametrize(("changes", "field"), [
    (dict(legitimacy=1.5), "legitimacy"),
    (dict(arrest_rule="nope"), "arrest_rule"),
    (dict(cop_moves_to_arrestee=True), "cop_moves_to_arrestee"),  # needs jailed_hold_cell = false
    (dict(jailed_hold_cell=False), "jail_countdown"),  # off-lattice prisoners have no activation
    (dict(width=10), "width/height"),  # vision 7 needs at least 15 cells
    (dict(max_jail_term=2.5), "max_jail_term"),
    (dict(jail_term="uniform_exclusive", max_jail_term=0), "max_jail_term"),
    ({"cop_schedule.kind": "step"}, "cop_schedule.value"),
    ({"cop_schedule.kind": "linear"}, "cop_schedule.rate"),
    ({"width.x": 3}, "width.x"),
    (dict(colour="red"), "colour"),
])
def test_replace_validates(changes, field):
    s = Scenario()
    with pytest.raises(ScenarioError) as info:
        s.replace(**changes)
    assert info.value.field == field
    assert info.value.source == "<replace>"
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------- TOML round trip and hash

BMP_TEXT = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=30)


@given(scenarios(), BMP_TEXT, BMP_TEXT)
def test_to_toml_round_trips(case, name, description):
    s = case[0].replace(name=name, description=description)
    t = Scenario.from_dict(tomllib.loads(s.to_toml()))
    assert t == s
    assert t.hash() == s.hash()
    assert t.model_dump() == s.model_dump()


def test_to_toml_round_trips_astral_characters(tmp_path):
    s = Scenario(name="riot 🔥", description="Almaty 😀")
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml(), encoding="utf-8")
    assert Scenario.load(path) == s


def test_hash_ignores_name_and_description():
    s = Scenario(name="a", description="one")
    t = Scenario(name="b", description="two")
    assert s != t and s.hash() == t.hash()
    assert len(s.hash()) == 16 and int(s.hash(), 16) >= 0


def test_hash_is_canonical():
    # the same parameters given in another order, or as equal values of another type, hash alike
    a = Scenario.from_dict({"legitimacy": 0.7, "width": 50, "max_jail_term": 30})
    b = Scenario.from_dict({"max_jail_term": 30.0, "width": 50, "legitimacy": 0.7})
    assert a.hash() == b.hash()


def _switches():
    fields = Scenario.model_fields
    for name, info in fields.items():
        ann = info.annotation
        if typing.get_origin(ann) is typing.Literal:
            yield from ((name, v) for v in typing.get_args(ann))
        elif ann is bool:
            yield from ((name, v) for v in (False, True))


BASES = [Scenario(), Scenario(jail_countdown="end_of_step"),
         Scenario(jailed_hold_cell=False, jail_countdown="end_of_step", placement="binomial", activation="tiled",
                  order="act_then_move", vision_shape="moore", arrest_rule="floor", jail_term="fixed"),
         Scenario(jailed_hold_cell=False, jail_countdown="end_of_step", cop_moves_to_arrestee=True,
                  vision_shape="von_neumann", arrest_rule="round_half_even", jail_term="uniform_exclusive",
                  movement=False, own_cell_in_vision=True),
         Scenario(hardship_distribution="beta", hardship_spread=0.2)]


@pytest.mark.parametrize(("field", "value"), list(_switches()))
def test_hash_changes_with_every_rule_switch(field, value):
    changed = 0
    for base in BASES:
        if getattr(base, field) == value:
            continue
        try:
            other = base.replace(**{field: value})
        except ScenarioError:
            continue  # this base does not admit the value; another one will
        assert other.hash() != base.hash()
        changed += 1
    assert changed >= 1


@pytest.mark.parametrize("changes", [dict(legitimacy=0.8200001), dict(width=41), dict(steps=501),
                                     dict(max_jail_term=math.inf), {"cop_schedule.start": 1},
                                     {"legitimacy_schedule.kind": "step", "legitimacy_schedule.value": 0.82},
                                     dict(tile_size=32), dict(threshold=0.1000001), dict(arrest_prob_constant=2.31)])
def test_hash_changes_with_parameters(changes):
    s = Scenario()
    assert s.replace(**changes).hash() != s.hash()


# ------------------------------------------------------------------- bad input: one line, file, field, allowed

BAD = {
    "unknown_key": ("width = 40\ncolour = 'red'\n", "colour", "allowed keys: name, description"),
    "nested_unknown_key": ("[cop_schedule]\nkind = 'step'\nbar = 1\n", "cop_schedule.bar", "allowed keys: kind, start"),
    "out_of_range": ("legitimacy = 1.5\n", "legitimacy", "[0.0, 1.0]"),
    "negative_width": ("width = -4\n", "width", "[3, 100000]"),
    "densities": ("citizen_density = 0.9\ncop_density = 0.2\n", "citizen_density + cop_density",
                  "must not exceed 1"),
    "schedule_densities": ("citizen_density = 0.9\ncop_density = 0.05\n[cop_schedule]\nkind = 'step'\nvalue = 0.2\n",
                           "citizen_density + cop_density", "must not exceed 1"),
    "malformed": ("width = = 40\n", "(syntax)", "malformed TOML"),
    "bad_literal": ("arrest_rule = \"nope\"\n", "arrest_rule", "ratio | floor | round_half_even"),
    "bad_bool": ("movement = 'sometimes'\n", "movement", "true | false"),
    "bad_type": ("width = 'wide'\n", "width", "[3, 100000]"),
    "not_utf8": (b"name = '\xff\xfe'\n", "(file)", "UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_gives_one_line_error(case, tmp_path):
    text, field, allowed = BAD[case]
    path = tmp_path / f"{case}.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg
    assert msg.startswith(f"{path}: {field}: ")
    assert info.value.source == str(path) and info.value.field == field
    assert allowed in msg


def test_missing_file_gives_one_line_error(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: (file): ") and "no such file" in msg
    with pytest.raises(ScenarioError, match="no such file"):
        Scenario.load(tmp_path)  # a folder is not a scenario either


def test_error_is_a_value_error():
    with pytest.raises(ValueError):
        Scenario.from_dict({"legitimacy": -1})


@given(st.sampled_from(sorted(Scenario.model_fields)), st.one_of(st.text(max_size=8), st.floats(), st.integers(),
                                                                  st.lists(st.integers(), max_size=2)))
def test_any_bad_value_gives_one_line_naming_the_field(field, value):
    try:
        Scenario.from_dict({field: value}, source="x.toml")
    except ScenarioError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith("x.toml: ")
        assert field in exc.field or exc.field in ("citizen_density + cop_density", "width/height", "max_jail_term",
                                                   "cop_moves_to_arrestee", "jail_countdown")


# ------------------------------------------------------------------- schedules


def test_step_schedule():
    v = Schedule(kind="step", start=5, value=0.7).values(0.9, 8)
    assert v.tolist() == [0.9, 0.9, 0.9, 0.9, 0.7, 0.7, 0.7, 0.7]  # steps 1..8; 0.7 from step 5 on


def test_linear_schedule_run3():
    # Run 3: L = 0.9 until step 76, then 0.01 less per step from step 77, down to 0.6
    s = Scenario.load(SCENARIOS / "epstein-2002" / "run3.toml")
    v = s.legitimacy_schedule.values(s.legitimacy, 200)
    assert (v[:76] == 0.9).all()
    assert v[76] == pytest.approx(0.89) and v[77] == pytest.approx(0.88)
    assert (np.diff(v) <= 1e-12).all() and v.min() == pytest.approx(0.6) and v[-1] == pytest.approx(0.6)


def test_linear_schedule_rising_stops():
    v = Schedule(kind="linear", start=1, rate=0.1, stop=0.5).values(0.2, 6)
    assert v == pytest.approx([0.3, 0.4, 0.5, 0.5, 0.5, 0.5])


def test_falling_ramp_never_rises():
    v = Schedule(kind="linear", start=3, rate=-0.01, stop=0.8).values(0.5, 6)
    assert (v <= 0.5).all()


def test_cop_schedule_cannot_overfill_the_lattice():
    try:
        s = Scenario(citizen_density=0.9, cop_density=0.1,
                     cop_schedule=dict(kind="linear", start=2, rate=-0.01, stop=0.5))
    except (ScenarioError, ValidationError):
        return  # refused: fine
    # accepted: then its cops must still fit next to the citizens
    assert s.citizen_density + s.cop_schedule.values(s.cop_density, 10).max() <= 1.0 + 1e-12


# ------------------------------------------------------------------- metadata and seeds


def test_parameter_table_covers_every_field():
    rows = parameter_table()
    assert [r["name"] for r in rows] == list(Scenario.model_fields)
    by = {r["name"]: r for r in rows}
    assert by["legitimacy"]["allowed"] == "[0.0, 1.0]"
    assert by["arrest_rule"]["allowed"] == "ratio | floor | round_half_even"
    assert all(r["reference"] for r in rows if r["name"] not in ("name", "description"))


def test_seed_sequences():
    a = seed_sequence(1).generate_state(4)
    assert np.array_equal(a, seed_sequence(1).generate_state(4))
    reps = [tuple(seed_sequence(1, r).generate_state(4)) for r in range(5)]
    assert len(set(reps + [tuple(a)])) == 6  # each replicate its own stream, none equal to the root


@pytest.mark.parametrize("value", [None, True, False])
def test_cop_movement_round_trips_through_toml(value, tmp_path):
    s = Scenario(movement=False, cop_movement=value)
    assert ("cop_movement" in s.to_toml()) == (value is not None)  # TOML has no null: unset is left out
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml())
    assert Scenario.load(path) == s and Scenario.load(path).hash() == s.hash()


def test_scenario_error_survives_pickling():
    # a worker process hands its error back to the driver by pickling it; an error that cannot be rebuilt
    # from its pickle breaks the whole pool instead of reporting one line
    import pickle

    err = ScenarioError("a.toml", "events[3].at", "outside the run")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ScenarioError and str(back) == str(err)
    assert (back.source, back.field, back.message) == ("a.toml", "events[3].at", "outside the run")
