"""The two kinds of scenario that experiments, sensitivity analyses and calibrations run.

* **Model I** (:class:`uprising.scenario.Scenario`): one lattice, Epstein's rules; parameters are its
  fields (``legitimacy``, ``legitimacy_schedule.value``); a run is :func:`uprising.simulate.simulate`.
* **A country** (:class:`uprising.country.scenario.CountryScenario`, a file with ``[[cities]]``): many
  cities and the mechanisms; parameters are dotted keys (``legitimacy.max_loss``,
  ``cities.*.police_per_1000``, ``events.cap.at``); a run is
  :func:`uprising.country.simulate.simulate_country`.

Everything that differs between the two is here, so that the runner, the store and the drivers above them
run many simulations one way for every kind: how a scenario is read and written as text (TOML for Model I,
JSON for a country: what a work item carries to a worker and what the store keeps with each run), how a
varied parameter is checked, set and read back, and which named outcomes apply. The kinds themselves, and
how a run of each is made, belong to :mod:`uprising.execution` (re-exported here).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from ..execution import COUNTRY, KINDS, MODEL_ONE
from ..execution import scenario_kind as kind_of
from ..execution import simulate_scenario
from ..scenario import Scenario, ScenarioError

__all__ = ["COUNTRY", "KINDS", "MODEL_ONE", "kind_of", "simulate_any"]


def load_scenario(path: str | Path) -> Any:
    """The scenario in a TOML file, of either kind (a file that declares ``[[cities]]`` is a country)."""
    from ..country.scenario import CountryScenario, is_country_file

    return CountryScenario.load(path) if is_country_file(path) else Scenario.load(path)


def scenario_text(scenario: Any) -> str:
    """The scenario as text that :func:`scenario_from_text` reads back to an equal scenario (same hash):
    TOML for Model I, JSON for a country (a country's events and cities do not fit TOML's tables well)."""
    if kind_of(scenario) == COUNTRY:
        return json.dumps(scenario.to_dict(), sort_keys=True)
    return scenario.to_toml()


def scenario_from_text(text: str, source: str = "<scenario>") -> Any:
    """The scenario that :func:`scenario_text` wrote (JSON: a country; otherwise Model I's TOML)."""
    if text.lstrip().startswith("{"):
        from ..country.scenario import CountryScenario

        return CountryScenario.from_dict(json.loads(text), source=source)
    return Scenario.from_dict(tomllib.loads(text), source=source)


def simulate_any(scenario: Any, seed: int, replicate: int | None) -> Any:
    """One run of either kind, as a task runs it (:func:`uprising.execution.simulate_scenario`)."""
    return simulate_scenario(scenario, seed, replicate)


def citizens_of(result: Any) -> int:
    """Citizens (agents) of a run: Model I's count, or the sum over a country's cities."""
    value = result.citizens
    return int(value.sum()) if hasattr(value, "sum") else int(value)


def replicate_of(result: Any) -> int:
    """A run's replicate (-1 for a Model I run made without one)."""
    return -1 if result.replicate is None else int(result.replicate)


# ------------------------------------------------------------------ country parameters
def country_keys(scenario: Any, name: str) -> list[str]:
    """The single dotted keys a country parameter name stands for (``cities.*.x`` -> one per city)."""
    from ..country.scenario import expand_key

    return expand_key(scenario.to_dict(), name, "<parameter>")


def country_value(scenario: Any, name: str) -> Any:
    """The value a country scenario holds at a dotted parameter name (the first city's or event's for a
    pattern such as ``cities.*.police_per_1000``); raises KeyError where there is none."""
    data: Any = scenario.to_dict()
    key = country_keys(scenario, name)[0]
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if isinstance(data, list):
            label = "id" if parts[depth - 1] == "events" else "name"
            match = [item for item in data if item.get(label) == part]
            if not match:
                raise KeyError(key)
            data = match[0]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(key)
    return data


def country_numeric_kind(scenario: Any, name: str) -> type | None:
    """int or float where the country scenario holds a number at ``name`` (bool is not a number here);
    None for text, booleans, tables or an unset optional value; KeyError where the key does not exist."""
    value = country_value(scenario, name)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int
    if isinstance(value, float):
        return float
    return None


def check_country_parameter(scenario: Any, name: str, source: str, where: str) -> None:
    """A one-line :class:`ScenarioError` unless ``name`` is a dotted key the country scenario has."""
    try:
        country_value(scenario, name)
    except (KeyError, ScenarioError):
        tables = ", ".join(k for k, v in scenario.to_dict().items() if isinstance(v, (dict, list)))
        raise ScenarioError(source, where, f"not a key of this country scenario; use a dotted key such as "
                            f"legitimacy.max_loss, cities.*.police_per_1000 or events.ID.at (tables: {tables})") \
            from None

