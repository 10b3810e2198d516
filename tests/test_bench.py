"""Timing helpers behind ``uprising bench`` (the Mesa comparison itself lives in benchmarks/)."""

from __future__ import annotations

from conftest import SCENARIOS
from uprising.bench import MESA_RULES, default_steps, measure
from uprising.scenario import Scenario


def test_bench_scenario_is_mesa_default():
    # the timed model is Mesa's example as shipped (same rules and inputs; only the step count differs)
    mesa = Scenario.load(SCENARIOS / "mesa-default.toml")
    assert MESA_RULES.replace(steps=mesa.steps).hash() == mesa.hash()


def test_default_steps():
    # about 3e7 agent-steps per measurement, capped at 2000 steps and floored at 5
    assert default_steps(40) == default_steps(100) == 2000
    assert default_steps(400) == int(3e7 / (0.774 * 400 * 400)) == 242
    assert default_steps(10_000) == 5
    assert all(default_steps(a) >= default_steps(b) for a, b in ((40, 100), (100, 400), (400, 1000)))


def test_measure():
    m = measure(20, "tiled", steps=3, repeats=2, seed=1)
    assert m["edge"] == 20 and m["activation"] == "tiled" and m["steps"] == 3 and len(m["rates"]) == 2
    assert m["rate"] > 0 and 200 < m["agents"] < 400  # binomial placement of 0.774 * 400 agents
    assert 0 < m["bytes_per_agent"] < 200
