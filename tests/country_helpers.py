"""Shared helpers of the country-layer tests: the synthetic scenario, switched-off variants, the CLI runner."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from conftest import ROOT, cli_cmd
from uprising.country.scenario import CountryScenario

DATA = Path(__file__).resolve().parent / "data"
TWO_TOWNS = DATA / "two-towns.toml"
KAZAKHSTAN = ROOT / "scenarios" / "kazakhstan-2022.toml"
TOWNS = ("Oilton", "Portville", "Hilltop")


@functools.lru_cache(maxsize=None)
def two_towns() -> CountryScenario:
    """The synthetic test country (frozen, so sharing one instance is safe)."""
    return CountryScenario.load(TWO_TOWNS)


def organised_in_oilton(changes: dict | None = None) -> CountryScenario:
    """The two towns with ``changes`` and an ``organised`` event in Oilton from the start (the organised core's
    tests)."""
    data = two_towns().replace(changes or {}).to_dict()
    data["events"] = [*data["events"], {"kind": "organised", "id": "core", "start": "2022-01-01T00:00",
                                        "cities": ["Oilton"]}]
    return CountryScenario.from_dict(data)


#: repression at Model I's values: every cop who sees actives arrests, no injuries, no jail capacity
MODEL_ONE_REPRESSION = {"repression.arrest_per_hour": 1.0, "repression.injure": 0.0,
                        "repression.jail_capacity_per_1000": None, "cities.*.jail_capacity_per_1000": None}


def all_off(scenario: CountryScenario | None = None) -> CountryScenario:
    """``scenario`` (default: the two towns) with every mechanism switched off and repression at Model I."""
    scenario = scenario or two_towns()
    changes = {f"{m.name}.enabled": False for m in CountryScenario.mechanisms if "enabled" in m.parameters.model_fields}
    return scenario.replace({**changes, **MODEL_ONE_REPRESSION})


def uprising(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """The command line in a fresh process, run from the repository root."""
    return subprocess.run(cli_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit code 2, exactly one line on stderr (no traceback) that contains every needle; returns the line."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("uprising: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
