"""Shared helpers for the engine's tests: small scenarios, the kernel/twin harness, recounts.

Hypothesis runs under the ``uprising`` profile: few examples, no deadline (numba
compiles on first use) and derandomized, so that the suite is reproducible. Set
``HYPOTHESIS_PROFILE=explore`` to search fresh random examples instead.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from uprising import model as M
from uprising.kernels import codes
from uprising.kernels.geometry import offsets
from uprising.kernels.lattice import build_fields
from uprising.kernels.reference import run_steps_reference
from uprising.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

settings.register_profile("uprising", max_examples=25, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("explore", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "uprising"))


def small(**changes) -> Scenario:
    """A small lattice (15 wide, 12 high, vision 3) with the paper's Run 2 rules, then ``changes``."""
    base = Scenario(name="small", width=15, height=12, citizen_vision=3.0, cop_vision=3.0, arrest_rule="floor",
                    jailed_hold_cell=False, jail_countdown="end_of_step", steps=40)
    return base.replace(**changes) if changes else base


@st.composite
def scenarios(draw, **fixed):
    """A random valid small scenario (10..20 a side, vision 1..3, any switches and schedules) and a seed."""
    side = st.integers(10, 20)
    vision = st.sampled_from([1.0, 1.5, 1.7, 2.0, 2.5, 3.0])
    citizen_density = draw(st.floats(0.2, 0.85))
    cop_density = draw(st.floats(0.0, min(0.12, 1.0 - citizen_density)))
    hold, countdown = draw(st.sampled_from([(True, "own_activation"), (True, "end_of_step"), (False, "end_of_step")]))
    jail_term = draw(st.sampled_from(["uniform_inclusive", "uniform_exclusive", "fixed"]))
    jmax = draw(st.one_of(st.integers(0 if jail_term != "uniform_exclusive" else 1, 12), st.just(math.inf)))
    kw = dict(
        width=draw(side), height=draw(side), citizen_density=citizen_density, cop_density=cop_density,
        placement=draw(st.sampled_from(["exact", "binomial"])), legitimacy=draw(st.floats(0.0, 1.0)),
        threshold=draw(st.sampled_from([0.0, 0.05, 0.1, 0.2])), citizen_vision=draw(vision),
        cop_vision=draw(vision), movement=draw(st.booleans()),
        cop_movement=draw(st.sampled_from([None, True, False])),
        arrest_rule=draw(st.sampled_from(["ratio", "floor", "round_half_even"])),
        vision_shape=draw(st.sampled_from(["von_neumann", "moore", "euclidean"])),
        own_cell_in_vision=draw(st.booleans()), order=draw(st.sampled_from(["move_then_act", "act_then_move"])),
        cop_moves_to_arrestee=(not hold) and draw(st.booleans()), jail_term=jail_term, max_jail_term=jmax,
        jail_countdown=countdown, jailed_hold_cell=hold,
        activation=draw(st.sampled_from(["random_sequential", "tiled"])), tile_size=draw(st.integers(4, 9)),
    )
    leg = draw(st.sampled_from(["constant", "step", "linear"]))
    if leg == "step":
        kw["legitimacy_schedule"] = dict(kind="step", start=draw(st.integers(0, 25)), value=draw(st.floats(0, 1)))
    elif leg == "linear":
        rate = draw(st.sampled_from([-0.05, -0.01, 0.01, 0.05]))
        stop = draw(st.floats(0, kw["legitimacy"])) if rate < 0 else draw(st.floats(kw["legitimacy"], 1))
        kw["legitimacy_schedule"] = dict(kind="linear", start=draw(st.integers(0, 25)), rate=rate, stop=stop)
    cops = draw(st.sampled_from(["constant", "step", "linear"]))
    room = 1.0 - citizen_density
    if cops == "step":
        kw["cop_schedule"] = dict(kind="step", start=draw(st.integers(0, 25)), value=draw(st.floats(0, room)))
    elif cops == "linear":
        rate = draw(st.sampled_from([-0.01, -0.002, 0.002, 0.01]))
        stop = draw(st.floats(0, cop_density)) if rate < 0 else draw(st.floats(cop_density, room))
        kw["cop_schedule"] = dict(kind="linear", start=draw(st.integers(0, 25)), rate=rate, stop=stop)
    kw.update(fixed)
    return Scenario(name="hyp", **kw), draw(st.integers(0, 2**32 - 1))


def paths(scenario: Scenario, state: M.State, first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Legitimacy and cop-target arrays for steps ``first+1 .. first+n``."""
    return M.legitimacy_path(scenario, first, n), M.cop_targets(scenario, state.initial_cops, first, n)


class TwinRun:
    """One scenario run by the numba kernel and by the plain reference twin from the same state.

    ``fp`` (n x codes.FP_SIZE) and ``ip`` switch on the extensions; left out, both run Model I.
    """

    def __init__(self, scenario: Scenario, seed: int, n: int, log: int = 20_000, fp: np.ndarray | None = None,
                 ip: np.ndarray | None = None, state=None, cop_target: np.ndarray | None = None,
                 people: float = 0.0):
        self.scenario = scenario
        self.model, self.fast = M.init(scenario, seed, arrest_log=log)
        _, self.slow = M.init(scenario, seed, arrest_log=log)
        if state is not None:  # a hand-made start: ``state(model, fast)`` and ``state(model, slow)`` set it up
            state(self.model, self.fast)
            state(self.model, self.slow)
        if people > 0:  # casualties in people: both from the same separate stream
            M.count_people(self.fast, people, np.random.SeedSequence([seed, 99]))
            M.count_people(self.slow, people, np.random.SeedSequence([seed, 99]))
            for state in (self.fast, self.slow):  # participants too, on days of 5 steps
                M.count_participants(state, np.arange(n) // 5)
        m = self.model
        extended = fp is not None
        ip = m.ip if ip is None else ip
        fp = np.zeros((n, codes.FP_SIZE)) if fp is None else fp
        leg, cops = paths(scenario, self.fast, 0, n)
        cops = cops if cop_target is None else cop_target
        self.out_all = M.step_extended(m, self.fast, leg, cops, fp, ip)
        self.out_fast = self.out_all if extended else self.out_all[:, :codes.OUT_SIZE]
        vdy, vdx = offsets(scenario.citizen_vision, scenario.vision_shape, include_center=True)
        self.out_slow_all = np.zeros_like(self.out_all)
        self.pool: list = []
        self.rng_slow = [int(x) for x in self.slow.rng]
        self.people_rng_slow = [int(x) for x in self.slow.people_rng]
        self.people_fast = self.fast.people_last
        self.people_slow = np.zeros_like(self.people_fast)
        run_steps_reference(
            self.slow.occupant, self.slow.hardship, self.slow.risk_aversion, self.slow.jail,
            list(zip(m.cit_dy.tolist(), m.cit_dx.tolist())), list(zip(m.cop_dy.tolist(), m.cop_dx.tolist())),
            list(zip(vdy.tolist(), vdx.tolist())), m.ptable, self.slow.order, self.slow.tile_order, self.pool,
            ip, m.threshold, leg, cops, fp, self.slow.counters, self.rng_slow, self.out_slow_all,
            self.slow.arrest_log, self.slow.people_per_agent, self.people_rng_slow, self.people_slow,
            self.slow.day_mark, self.slow.step_day)
        self.out_slow = self.out_slow_all[:, :self.out_fast.shape[1]]

    def pool_fast(self) -> list[tuple]:
        st = self.fast
        p = int(st.counters[codes.CT_POOL])
        return [(float(st.pool_hardship[i]), float(st.pool_risk[i]), int(st.pool_term[i]), int(st.pool_origin[i]))
                for i in range(p)]

    def pool_slow(self) -> list[tuple]:
        return [(float(h), float(r), int(t), int(o)) for h, r, t, o, *_ in self.pool]


def recount(state: M.State) -> dict[str, int]:
    """Count quiet, active, jailed and cops from the state arrays (not from the counters)."""
    k = state.kinds()
    pool = int(state.counters[codes.CT_POOL])
    return {"quiet": int((k == codes.QUIET).sum()), "active": int((k == codes.ACTIVE).sum()),
            "jailed": int((k == codes.JAILED).sum()) + pool, "cops": int((k == codes.COP).sum())}


def recount_violent(state: M.State) -> int:
    """Violent citizens on the lattice, from the occupant array."""
    return int((state.kinds() == codes.VIOLENT).sum())


def fresh_fields(model: M.Model, state: M.State) -> tuple[np.ndarray, np.ndarray]:
    """Both count fields rebuilt from scratch from the occupant array."""
    cop = np.zeros_like(state.cop_seen)
    act = np.zeros_like(state.active_seen)
    s = model.scenario
    build_fields(state.occupant, cop, act, model.rows_dy, model.rows_half, s.width, s.height)
    return cop, act


def python_cmd(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from uprising.cli import main; main()", *args]


# ---------------------------------------------------------------- measured figures in the terminal summary
_REPORT: list[str] = []


@pytest.fixture
def report(record_property):
    """Record a measured figure: kept as a junit property and printed in the terminal summary."""

    def add(key: str, text: str) -> None:
        record_property(key, text)
        _REPORT.append(f"{key}: {text}")
        print(f"{key}: {text}")

    return add


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("uprising measured figures")
        for line in _REPORT:
            terminalreporter.write_line(line)


# ---------------------------------------------------------------------- the fast selection
#: Heavy test modules, marked ``slow`` here in one place (``./test -m "not slow"`` skips them for development;
#: CI runs everything). Each reason is why the module is slow.
SLOW_MODULES = {
    "test_app_browser": "drives Debian's chromium with Playwright against a live server",
    "test_dask": "starts Dask clusters and kills their workers",
    "test_calibrate": "ABC-SMC generations with pyabc",
    "test_validation": "ensembles of Epstein's named runs",
    "test_mesa_validation": "Mesa's own model on one core",
    "test_mesa_equivalence": "Mesa's own model, about a minute",
    "test_bench_kazakhstan": "the full-scale benchmark script at a small scale",
    "test_bench_ensemble": "the ensemble benchmark script",
    "test_kazakhstan_response": "36 Kazakhstan runs: the reduced cliff check of the v2 candidate and the first model",
    "test_posterior": "country calibrations of 400 runs (known answer, shifted targets, a kill -9 and a resume)",
}
#: Heavy single tests in otherwise fast modules: kill signals and interrupted sweeps.
SLOW_TESTS = {
    "test_ctrl_c_stops_cleanly_and_the_same_command_resumes": "a SIGINT mid-sweep, then a resume",
    "test_a_local_worker_killed_mid_sweep_is_replaced_and_nothing_is_lost": "kills a worker mid-sweep",
    "test_kill_9_of_the_sweep_leaves_no_orphan_workers_and_resumes": "SIGKILL of a sweep, then a resume",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
        if module in SLOW_MODULES or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
