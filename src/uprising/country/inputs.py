"""Behaviour is shared; circumstances are not: which keys of a country scenario are **country inputs** and which are
**behavioural parameters** (issue 16; docs/episodes.md defends the split).

* **Country inputs** (what a country file may set): the clock, the cities (populations, coordinates, police per
  capita, how much the price bites, their hardship covariates, legitimacy offsets), the timeline of events (the
  price path, concessions, emergencies, blackouts, force, foreign troops, each with its source), the variants
  (counterfactuals of those events), how the record counts (``[reporting]``), the starting legitimacy
  (``rules.legitimacy``, L0: legitimacy before the shock) and the figures a mechanism declares as a country's
  (its parameters class's ``country_inputs``: the price before the shock, the buildings a city has, the police a
  foreign soldier frees, the length of an administrative detention).
* **Behavioural parameters** (the same for every country, in a behaviour file): every other rule of the lattice
  (the threshold, hardship's and risk aversion's distributions, vision, the arrest rule), every other parameter of
  every mechanism (its switch included: which mechanisms run is a property of the model, not of a country) and a
  city's own hardship spread.

A country file that names a behaviour file (``behaviour = "behaviour/NAME.toml"``, relative to the country file)
may set country inputs and nothing else; :func:`with_behaviour` refuses a behavioural key there (and a country
input in the behaviour file), naming the file and the key, before any work, then merges the two. The merged
scenario is an ordinary :class:`~uprising.country.scenario.CountryScenario`: a country file that sets everything
itself (as ``scenarios/kazakhstan-2022-v2.toml`` does) still loads, and its hash does not depend on how its keys
were split between files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..mechanisms.base import Mechanism
from ..scenario import ScenarioError, read_toml

#: the key that names a country file's behaviour file
BEHAVIOUR_KEY = "behaviour"

#: top-level keys of a country file that are country inputs as a whole
COUNTRY_TABLES = ("clock", "cities", "events", "variants", "reporting")

#: top-level keys either file may hold (the run's settings and the reader's text)
EITHER = ("name", "description", "timezone", "scale")

#: the Model I rules that are a country's: the legitimacy before the shock (L0)
COUNTRY_RULES = ("legitimacy",)

#: fields of a city that are behavioural (a city's own spread of hardship is the distribution's shape)
BEHAVIOURAL_CITY_FIELDS = ("hardship_spread",)


def mechanism_inputs(mechanisms: Iterable[Mechanism]) -> dict[str, frozenset[str]]:
    """Each mechanism's table name -> the fields its parameters class declares as country inputs."""
    return {m.name: frozenset(getattr(m.parameters, "country_inputs", frozenset())) for m in mechanisms}


def is_country_key(dotted: str, inputs: dict[str, frozenset[str]]) -> bool:
    """Whether a dotted key (``cities.*.police_per_1000``, ``events.cap.at``, ``price.before``) is a country input:
    the one rule every check and :func:`split` apply."""
    head, _, rest = dotted.partition(".")
    if head in EITHER or head in COUNTRY_TABLES or head == BEHAVIOUR_KEY:
        return head != "cities" or rest.rpartition(".")[2] not in BEHAVIOURAL_CITY_FIELDS
    if head == "rules":
        return rest in COUNTRY_RULES
    return head in inputs and rest in inputs[head]


def _keys(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(the key as a message names it, the dotted key :func:`is_country_key` classifies) for every key of a file's
    mapping that a check looks at: each field of a table, each field of a city, each key a variant sets."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        if key in EITHER:
            continue
        if key == "cities" and isinstance(value, list):
            out.append((key, key))
            out += [(f"cities.{city.get('name', i)}.{k}",) * 2 for i, city in enumerate(value)
                    if isinstance(city, dict) for k in city]
        elif key == "variants" and isinstance(value, dict):
            out.append((key, key))
            out += [(f"variants.{name}.set.{k}", k) for name, variant in value.items() if isinstance(variant, dict)
                    for k in variant.get("set", {})]
        elif isinstance(value, dict):
            out += [(f"{key}.{k}",) * 2 for k in value]
        else:
            out.append((key, key))
    return out


def behavioural_keys(data: dict[str, Any], mechanisms: Iterable[Mechanism]) -> list[str]:
    """The keys of a country file's mapping that are behavioural parameters (in file order)."""
    inputs = mechanism_inputs(mechanisms)
    return [shown for shown, key in _keys(data) if not is_country_key(key, inputs)]


def country_keys(data: dict[str, Any], mechanisms: Iterable[Mechanism]) -> list[str]:
    """The keys of a behaviour file's mapping that are country inputs (a behaviour file may hold none)."""
    inputs = mechanism_inputs(mechanisms)
    return [shown for shown, key in _keys(data) if is_country_key(key, inputs)]


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def behaviour_file(data: dict[str, Any], path: str | Path) -> Path:
    """The behaviour file a country file's mapping names (relative to the country file)."""
    name = data.get(BEHAVIOUR_KEY)
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(str(path), BEHAVIOUR_KEY, "the path of a behaviour file (TOML), relative to this file")
    return Path(path).parent / name


def with_behaviour(data: dict[str, Any], path: str | Path, mechanisms: Iterable[Mechanism]) -> dict[str, Any]:
    """A country file's mapping merged with the behaviour file it names: the behaviour's tables, with the country's
    inputs over them. :class:`ScenarioError` (file, key, what is allowed) for a behavioural key in the country file,
    a country input in the behaviour file, or a behaviour file that is missing or not a TOML table."""
    mechanisms = tuple(mechanisms)
    source = str(path)
    name = data.get(BEHAVIOUR_KEY)
    behaviour_path = behaviour_file(data, path)
    bad = behavioural_keys(data, mechanisms)
    if bad:
        raise ScenarioError(source, bad[0], f"a behavioural parameter: set it in the behaviour file {name} (a "
                            "country file that names one sets only country inputs: clock, cities, events, variants, "
                            "reporting, rules.legitimacy and the mechanisms' country inputs; docs/episodes.md)")
    behaviour = read_toml(behaviour_path, "behaviour")
    misplaced = country_keys(behaviour, mechanisms)
    if misplaced:
        raise ScenarioError(str(behaviour_path), misplaced[0], "a country input: set it in the country file (a "
                            "behaviour file holds only behavioural parameters; docs/episodes.md)")
    country = {k: v for k, v in data.items() if k != BEHAVIOUR_KEY}
    return _merge(behaviour, country)


def split(data: dict[str, Any], mechanisms: Iterable[Mechanism]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A complete country scenario's mapping split into (behaviour, country inputs): what a scenario that sets
    everything itself would put in each file. Merging them back (:func:`with_behaviour`) gives the same mapping."""
    inputs = mechanism_inputs(mechanisms)
    behaviour: dict[str, Any] = {}
    country: dict[str, Any] = {}
    if any(not is_country_key(key, inputs) for shown, key in _keys(data) if shown.startswith("cities.")):
        raise ValueError("a city sets its own hardship spread: no behaviour file can hold it per city")
    for key, value in data.items():
        if isinstance(value, dict) and key not in COUNTRY_TABLES:
            for k, v in value.items():
                (country if is_country_key(f"{key}.{k}", inputs) else behaviour).setdefault(key, {})[k] = v
        else:
            (country if is_country_key(key, inputs) else behaviour)[key] = value
    return behaviour, country
