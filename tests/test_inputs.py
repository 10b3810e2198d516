"""Behaviour is shared; circumstances are not (issue 16, item 1; uprising.country.inputs).

* Kazakhstan v2 split into a behaviour file and a country file loads back to the very same scenario (its hash).
* A behavioural key in a country file that names a behaviour file is refused before any work, in one line naming
  the file and the key, with exit code 2; so is a country input in the behaviour file.
* Every key of the scenario is one or the other, and every country input a mechanism declares is one of its fields.
"""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from conftest import ROOT, cli_cmd
from uprising.country.inputs import (behavioural_keys, country_keys, is_country_key, mechanism_inputs, split,
                                     with_behaviour)
from uprising.country.scenario import CountryScenario
from uprising.scenario import ScenarioError

V2 = ROOT / "scenarios" / "kazakhstan-2022-v2.toml"
BEHAVIOUR = ROOT / "scenarios" / "behaviour" / "v2.toml"


def v2_mapping() -> dict:
    """Kazakhstan v2 as one mapping: its country file merged over the behaviour file it names."""
    return with_behaviour(tomllib.loads(V2.read_text(encoding="utf-8")), V2, CountryScenario.mechanisms)


def _value(v) -> str:
    """A TOML value (inline tables and arrays on one line): enough for a scenario's mapping."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_text(data: dict) -> str:
    top = [f"{json.dumps(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    tables = [f"[{json.dumps(k)}]\n" + "\n".join(f"{json.dumps(a)} = {_value(b)}" for a, b in v.items())
              for k, v in data.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def write_split(tmp_path, change_country=None, change_behaviour=None):
    behaviour, country = split(v2_mapping(), CountryScenario.mechanisms)
    if change_country:
        change_country(country)
    if change_behaviour:
        change_behaviour(behaviour)
    (tmp_path / "behaviour").mkdir(exist_ok=True)
    (tmp_path / "behaviour" / "model.toml").write_text(toml_text(behaviour), encoding="utf-8")
    path = tmp_path / "kz.toml"
    path.write_text(toml_text({"behaviour": "behaviour/model.toml", **country}), encoding="utf-8")
    return path


def test_kazakhstan_split_into_behaviour_and_country_files_is_the_same_scenario(tmp_path):
    path = write_split(tmp_path)
    whole, parts = CountryScenario.load(V2), CountryScenario.load(path)
    assert parts.hash() == whole.hash() and parts.to_dict() == whole.to_dict()
    country = tomllib.loads(path.read_text(encoding="utf-8"))
    # the country file holds the circumstances only: no lattice rule but L0, no behavioural mechanism parameter
    assert country["rules"] == {"legitimacy": whole.rules["legitimacy"]}
    assert set(country) >= {"cities", "events", "clock", "variants"} and "escalation" not in country
    assert country["price"] == {"before": 60.0}


@pytest.mark.parametrize("key, change", [
    ("rules.threshold", lambda c: c["rules"].update(threshold=0.1)),
    ("escalation", lambda c: c.update(escalation={"core_share": 0.5})),
    ("price.elasticity", lambda c: c["price"].update(elasticity=0.5)),
    ("cities.Almaty.hardship_spread", lambda c: next(x for x in c["cities"] if x["name"] == "Almaty").update(
        hardship_spread=0.3)),
    ("variants.no-blackout.set.lethal_force.kill_active", lambda c: c["variants"]["no-blackout"].setdefault(
        "set", {}).update({"lethal_force.kill_active": 0.5})),
])
def test_a_behavioural_key_in_a_country_file_is_refused_before_any_work(tmp_path, key, change):
    path = write_split(tmp_path, change_country=change)
    with pytest.raises(ScenarioError) as err:
        CountryScenario.load(path)
    assert err.value.field.startswith(key) and str(path) in str(err.value)
    out = tmp_path / "out"
    proc = subprocess.run(cli_cmd("run", str(path), "--replicates", "1", "--out", str(out)), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert key.split(".")[0] in proc.stderr and "behavioural" in proc.stderr and not out.exists()


def test_a_country_input_in_the_behaviour_file_is_refused(tmp_path):
    path = write_split(tmp_path, change_behaviour=lambda b: b.update(price={**b["price"], "before": 55.0}))
    with pytest.raises(ScenarioError) as err:
        CountryScenario.load(path)
    assert err.value.field == "price.before" and "model.toml" in err.value.source
    (tmp_path / "gone").mkdir()
    missing = write_split(tmp_path / "gone")
    (missing.parent / "behaviour" / "model.toml").unlink()
    with pytest.raises(ScenarioError) as err:
        CountryScenario.load(missing)
    assert err.value.field == "(file)"


def _flat(data: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in data.items():
        if k in ("cities", "events", "variants") and not prefix:
            keys.append(k)
        elif isinstance(v, dict):
            keys += _flat(v, f"{prefix}{k}.")
        else:
            keys.append(f"{prefix}{k}")
    return keys


def test_the_committed_kazakhstan_files_keep_behaviour_and_circumstances_apart():
    country = tomllib.loads(V2.read_text(encoding="utf-8"))
    behaviour = tomllib.loads(BEHAVIOUR.read_text(encoding="utf-8"))
    assert country["behaviour"] == "behaviour/v2.toml"
    assert not behavioural_keys(country, CountryScenario.mechanisms)
    assert not country_keys(behaviour, CountryScenario.mechanisms)
    # the behaviour file holds the fitted behaviour: the threshold, the lethal force, the violent core
    assert {"threshold", "hardship_spread"} <= set(behaviour["rules"]) and "legitimacy" not in behaviour["rules"]
    assert {"lethal_force", "escalation", "contagion", "legitimacy"} <= set(behaviour)


def test_every_key_is_either_behaviour_or_a_country_input():
    data = v2_mapping()
    inputs = mechanism_inputs(CountryScenario.mechanisms)
    behavioural = set(behavioural_keys(data, CountryScenario.mechanisms))
    for key in _flat(data):
        assert (key in behavioural) != is_country_key(key, inputs), key
    behaviour, country = split(data, CountryScenario.mechanisms)
    assert not behavioural_keys(country, CountryScenario.mechanisms)
    assert not country_keys(behaviour, CountryScenario.mechanisms)
    # what the issue names as behaviour is behaviour; what it names as circumstance is a country's
    for key in ("rules.threshold", "lethal_force.kill_active", "escalation.violence_margin", "contagion.max_push",
                "legitimacy.per_active", "repression.arrest_per_hour"):
        assert key in behavioural
    for key in ("rules.legitimacy", "price.before", "cities.*.police_per_1000", "cities.Almaty.population",
                "events.cabinet-resigns.delta", "reporting.security_injured_delay_hours"):
        assert is_country_key(key, inputs)


def test_every_declared_country_input_is_a_field_of_its_mechanism():
    for mechanism in CountryScenario.mechanisms:
        declared = mechanism.parameters.country_inputs
        assert declared <= set(mechanism.parameters.model_fields), (mechanism.name, declared)


def test_a_report_of_a_split_scenario_reads_both_files_and_their_notes(tmp_path):
    # the report's parameter tables take each value and its provenance note from the file that sets it: a
    # behavioural parameter's from the behaviour file, a country input's from the country file
    from uprising.report import plan_report

    path = write_split(tmp_path)
    behaviour = tmp_path / "behaviour" / "model.toml"
    for file, key, note in ((behaviour, '"core_share" = ', "fit: the behaviour file's note"),
                            (path, '"legitimacy" = ', "fit: the country file's note")):
        lines = [line + f"  # {note}" if line.startswith(key) else line
                 for line in file.read_text(encoding="utf-8").splitlines()]
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plan = plan_report(path, tmp_path / "report.html", replicates=1)
    assert plan.notes.values["escalation.core_share"] == "fit: the behaviour file's note"
    assert plan.notes.values["rules.legitimacy"] == "fit: the country file's note"
    assert plan.data["escalation"]["core_share"] == CountryScenario.load(V2).to_dict()["escalation"]["core_share"]
    assert "behaviour" not in plan.data


def test_running_a_behaviour_file_says_what_it_is_in_one_line():
    proc = subprocess.run(cli_cmd("run", str(BEHAVIOUR)), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "behaviour file" in proc.stderr and "v2.toml" in proc.stderr


def test_the_split_kazakhstan_files_are_the_scenario_the_committed_posterior_was_calibrated_on():
    # the posterior records the hash of its experiment's base scenario; the base now loads from the two files, and
    # must be the same scenario, or every stored run and the posterior would belong to another one
    from uprising.experiment import Experiment
    from uprising.experiment.posterior import read_posterior

    post = read_posterior(ROOT / "docs" / "data" / "kazakhstan-v2-posterior" / "posterior.json")
    exp = Experiment.load(ROOT / "experiments" / "kazakhstan-v2-posterior.toml")
    assert exp.base_path.resolve() == V2.resolve()
    assert exp.base_scenario.hash() == post.meta["base_hash"]
