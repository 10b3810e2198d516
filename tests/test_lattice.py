"""The numba kernel ``run_steps`` against its plain reference twin, count fields, and hand-made scenes.

The twin scans neighbourhoods where the kernel reads incremental count fields; both
draw their random numbers in the same order, so from the same state they must agree
bit for bit: lattice, attributes, counters, per-step counts, arrest log, prisoner
pool and the random stream itself.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import assume, given, settings

from conftest import TwinRun, fresh_fields, paths, recount, scenarios, small
from uprising import model as M
from uprising.kernels import codes
from uprising.kernels.lattice import _draw_term, _fill_order
from uprising.scenario import Scenario

STEPS = 40
CITIZEN = (codes.QUIET, codes.ACTIVE, codes.JAILED)


def check_twin(run: TwinRun, *, expect_arrests: bool = True) -> None:
    f, s = run.fast, run.slow
    assert np.array_equal(run.out_fast, run.out_slow), np.argwhere(run.out_fast != run.out_slow)[:5]
    assert np.array_equal(f.occupant, s.occupant)
    assert [int(x) for x in f.rng] == run.rng_slow
    assert np.array_equal(f.counters, s.counters)
    assert np.array_equal(f.arrest_log, s.arrest_log)
    assert np.array_equal(f.order, s.order) and np.array_equal(f.tile_order, s.tile_order)
    cit = np.isin(f.kinds(), CITIZEN)
    assert np.array_equal(f.hardship[cit], s.hardship[cit])
    assert np.array_equal(f.risk_aversion[cit], s.risk_aversion[cit])
    assert np.array_equal(f.jail[cit], s.jail[cit])
    assert run.pool_fast() == run.pool_slow()
    # the incremental count fields equal a rebuild from scratch
    cop, act = fresh_fields(run.model, f)
    assert np.array_equal(cop, f.cop_seen) and np.array_equal(act, f.active_seen)
    # and the counters equal a recount of the arrays
    assert recount(f) == f.counts()
    if expect_arrests:  # the run exercised rule C, so the comparison covered arrests and jail
        assert run.out_fast[:, codes.OUT_ARRESTS].sum() > 0
        assert run.out_fast[:, codes.OUT_ACTIVE].max() > 0


JAIL_MODES = [dict(jailed_hold_cell=True, jail_countdown="own_activation"),
              dict(jailed_hold_cell=True, jail_countdown="end_of_step"),
              dict(jailed_hold_cell=False, jail_countdown="end_of_step")]


def _grid():
    """arrest_rule x vision_shape x order x activation, each with pseudo-randomly chosen other switches."""
    for i, (rule, shape, order, act) in enumerate(itertools.product(
            ("ratio", "floor", "round_half_even"), ("von_neumann", "moore", "euclidean"),
            ("move_then_act", "act_then_move"), ("random_sequential", "tiled"))):
        r = random.Random(i)
        kw = dict(arrest_rule=rule, vision_shape=shape, order=order, activation=act,
                  tile_size=r.choice([4, 5, 8]), citizen_vision=r.choice([2.0, 2.5, 3.0]),
                  cop_vision=r.choice([2.0, 3.0]), legitimacy=r.choice([0.6, 0.7, 0.82]),
                  placement=r.choice(["exact", "binomial"]), max_jail_term=r.choice([3, 10, 30]),
                  jail_term=r.choice(["uniform_inclusive", "uniform_exclusive", "fixed"]),
                  **r.choice(JAIL_MODES))
        yield pytest.param(kw, i, id=f"{rule}-{shape}-{order}-{act}-{i}")


@pytest.mark.parametrize(("kw", "seed"), list(_grid()))
def test_kernel_equals_twin_grid(kw, seed):
    check_twin(TwinRun(small(**kw), seed, STEPS))


NETLOGO = dict(own_cell_in_vision=True, jailed_hold_cell=False, cop_moves_to_arrestee=True,
               jail_countdown="end_of_step", jail_term="uniform_exclusive")
MESA = dict(arrest_rule="round_half_even", vision_shape="von_neumann", order="act_then_move",
            placement="binomial", jailed_hold_cell=True, jail_countdown="own_activation", cop_density=0.074,
            legitimacy=0.7)

SPECIAL = {
    "own-cell": dict(own_cell_in_vision=True),
    "own-cell-ratio": dict(own_cell_in_vision=True, arrest_rule="ratio", legitimacy=0.7),
    "netlogo": NETLOGO,
    "netlogo-act-then-move-moore": dict(NETLOGO, order="act_then_move", vision_shape="moore", citizen_vision=2,
                                        cop_vision=3),
    "netlogo-tiled": dict(NETLOGO, activation="tiled", tile_size=4),
    "mesa": MESA,
    "mesa-tiled": dict(MESA, activation="tiled", tile_size=6),
    "hold-cell-end-of-step": dict(jailed_hold_cell=True, jail_countdown="end_of_step"),
    "fixed-3": dict(jail_term="fixed", max_jail_term=3),
    "fixed-0": dict(jail_term="fixed", max_jail_term=0),
    "inclusive-0": dict(jail_term="uniform_inclusive", max_jail_term=0),
    "exclusive-1": dict(jail_term="uniform_exclusive", max_jail_term=1),
    "fixed-0-own-activation": dict(jail_term="fixed", max_jail_term=0, jailed_hold_cell=True,
                                   jail_countdown="own_activation"),
    "fixed-2-own-activation": dict(jail_term="fixed", max_jail_term=2, jailed_hold_cell=True,
                                   jail_countdown="own_activation"),
    "infinite-off-lattice": dict(max_jail_term=float("inf")),
    "infinite-hold-own": dict(max_jail_term=float("inf"), jailed_hold_cell=True, jail_countdown="own_activation"),
    "infinite-hold-end": dict(max_jail_term=float("inf"), jailed_hold_cell=True, jail_countdown="end_of_step"),
    "binomial": dict(placement="binomial", citizen_density=0.6, cop_density=0.08),
    "legitimacy-linear-down": dict(legitimacy=0.9, legitimacy_schedule=dict(kind="linear", start=5, rate=-0.02,
                                                                            stop=0.5)),
    "legitimacy-step-down": dict(legitimacy=0.9, legitimacy_schedule=dict(kind="step", start=10, value=0.6)),
    "legitimacy-linear-up": dict(legitimacy=0.6, legitimacy_schedule=dict(kind="linear", start=10, rate=0.02,
                                                                          stop=0.95)),
    "cops-step-down": dict(cop_density=0.1, cop_schedule=dict(kind="step", start=8, value=0.02)),
    "cops-linear-down": dict(cop_density=0.1, cop_schedule=dict(kind="linear", start=3, rate=-0.005, stop=0.03)),
    "cops-step-up": dict(cop_density=0.02, cop_schedule=dict(kind="step", start=8, value=0.15)),
    "cops-linear-up-hold": dict(cop_density=0.02, jailed_hold_cell=True, jail_countdown="own_activation",
                                cop_schedule=dict(kind="linear", start=3, rate=0.005, stop=0.12)),
    "cops-from-zero": dict(cop_density=0.0, cop_schedule=dict(kind="step", start=5, value=0.05)),
    "no-movement": dict(movement=False),
    "no-movement-hold": dict(movement=False, jailed_hold_cell=True, jail_countdown="own_activation"),
    "only-cops-move": dict(movement=False, cop_movement=True, legitimacy=0.7),
    "only-citizens-move": dict(movement=True, cop_movement=False, legitimacy=0.7),
    "only-cops-move-act-first": dict(movement=False, cop_movement=True, order="act_then_move",
                                     cop_moves_to_arrestee=True),
    "vision-1.7": dict(citizen_vision=1.7, cop_vision=1.7, legitimacy=0.7),
    "moore-1": dict(vision_shape="moore", citizen_vision=1, cop_vision=1, legitimacy=0.7),
    "cop-sees-further": dict(citizen_vision=2, cop_vision=3),
    "cop-sees-less": dict(citizen_vision=3, cop_vision=1.5, legitimacy=0.7),
    "tiled-4": dict(activation="tiled", tile_size=4),
    "tiled-one-tile": dict(activation="tiled", tile_size=64),
    "crowded": dict(citizen_density=0.88, cop_density=0.1),  # the move falls back to enumeration
    "full": dict(citizen_density=0.9, cop_density=0.1, jailed_hold_cell=True, jail_countdown="own_activation"),
    "no-cops": dict(cop_density=0.0),
    "no-legitimacy": dict(legitimacy=0.0, arrest_rule="ratio"),
}
QUIET_RUNS = {"no-cops"}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_kernel_equals_twin_special(name):
    check_twin(TwinRun(small(**SPECIAL[name]), 11, STEPS), expect_arrests=name not in QUIET_RUNS)


@settings(max_examples=15)
@given(scenarios())
def test_kernel_equals_twin_random_scenarios(case):
    # any valid small scenario, schedules included (quiet ones too, so no arrest requirement)
    s, seed = case
    _, probe = M.init(s, seed % 1000)
    # a full lattice triggers the known release bug (test_invariants.py::test_cop_target_overflow_...)
    assume(probe.citizens + int(M.cop_targets(s, probe.initial_cops, 0, 20).max()) <= s.width * s.height)
    check_twin(TwinRun(s, seed % 1000, 20), expect_arrests=False)


def test_no_cops_no_arrests_yet_actives():
    run = TwinRun(small(cop_density=0.0, legitimacy=0.5), 3, 20)
    check_twin(run, expect_arrests=False)
    assert run.out_fast[:, codes.OUT_ARRESTS].sum() == 0
    assert run.out_fast[-1, codes.OUT_ACTIVE] > 0


def test_twin_comparison_is_sensitive():
    # the harness can tell runs apart: another seed gives another history
    a = TwinRun(small(), 1, 10)
    b = TwinRun(small(), 2, 10)
    assert not np.array_equal(a.fast.occupant, b.fast.occupant)
    assert [int(x) for x in a.fast.rng] != [int(x) for x in b.fast.rng]


@pytest.mark.parametrize("kw", [dict(), dict(activation="tiled", tile_size=8), MESA, NETLOGO])
def test_chunked_calls_equal_one_call(kw):
    # the state carries everything between kernel calls (order, parity, pool, stream)
    s = small(**kw).replace(width=20, height=20)
    m, one = M.init(s, 5)
    m2, many = M.init(s, 5)
    out_one = M.step(m, one, *paths(s, one, 0, 30))
    outs = [M.step(m2, many, *paths(s, many, t, n)) for t, n in ((0, 1), (1, 9), (10, 7), (17, 13))]
    assert np.array_equal(out_one, np.concatenate(outs))
    assert np.array_equal(one.occupant, many.occupant) and np.array_equal(one.rng, many.rng)


@pytest.mark.parametrize("name", ["run2", "run1", "run5"])
def test_fields_stay_consistent_on_paper_lattice(name):
    # the 40x40 paper lattice with v = 7 (or 1.7), fields checked against a rebuild every 25 steps
    s = Scenario.load(f"scenarios/epstein-2002/{name}.toml")
    m, st = M.init(s, 0)
    arrests = 0
    for t in range(0, 150, 25):
        out = M.step(m, st, *paths(s, st, t, 25))
        arrests += out[:, codes.OUT_ARRESTS].sum()
        cop, act = fresh_fields(m, st)
        assert np.array_equal(cop, st.cop_seen) and np.array_equal(act, st.active_seen), t
        assert recount(st) == st.counts()
    assert arrests > 0


# ------------------------------------------------------------------- activation order


def _order(width, height, activation, tile, seed, rounds=1):
    order = np.arange(width * height, dtype=np.int32)
    tiles = -(-width // tile) * -(-height // tile)
    tile_order = np.arange(tiles, dtype=np.int32)
    rng = M.kernel_rng_state(np.random.SeedSequence(seed))
    for _ in range(rounds):
        _fill_order(order, tile_order, activation, tile, width, height, rng)
    return order


@pytest.mark.parametrize(("w", "h", "tile"), [(15, 12, 4), (16, 16, 8), (20, 9, 5), (10, 10, 64)])
def test_tiled_order_is_a_permutation_of_whole_tiles(w, h, tile):
    order = _order(w, h, codes.ACT_TILED, tile, 3, rounds=2)
    assert sorted(order.tolist()) == list(range(w * h))
    tile_of = [(c // w) // tile * 10_000 + (c % w) // tile for c in order.tolist()]
    runs = [k for k, _ in itertools.groupby(tile_of)]
    assert len(runs) == len(set(runs)) == -(-w // tile) * -(-h // tile)  # each tile is one contiguous block


def test_random_sequential_order_is_a_fresh_permutation():
    a = _order(15, 12, codes.ACT_RANDOM_SEQUENTIAL, 4, 3, rounds=1)
    b = _order(15, 12, codes.ACT_RANDOM_SEQUENTIAL, 4, 3, rounds=2)
    assert sorted(a.tolist()) == sorted(b.tolist()) == list(range(180))
    assert not np.array_equal(a, b)


def test_orders_are_uniform_over_cells():
    # Position of cell 0 over 3000 shuffles of 16 cells: uniform if Fisher-Yates is right. Chi-square on
    # 16 bins, fixed seed, fail below p = 1e-4 (a classic off-by-one shuffle bias gives p ~ 0 here).
    from scipy import stats

    counts = np.zeros((2, 16), dtype=np.int64)
    for k, (act, tile) in enumerate(((codes.ACT_RANDOM_SEQUENTIAL, 4), (codes.ACT_TILED, 4))):
        order = np.arange(16, dtype=np.int32)
        tile_order = np.arange(1, dtype=np.int32)
        rng = M.kernel_rng_state(np.random.SeedSequence(17))
        for _ in range(3000):
            if act == codes.ACT_TILED:
                order[:] = np.arange(16)
            _fill_order(order, tile_order, act, tile, 4, 4, rng)
            counts[k, int(np.flatnonzero(order == 0)[0])] += 1
        assert stats.chisquare(counts[k]).pvalue > 1e-4, counts[k]


@pytest.mark.parametrize(("rule", "jmax", "lo", "hi"), [
    (codes.JAIL_UNIFORM_INCLUSIVE, 5, 0, 5), (codes.JAIL_UNIFORM_EXCLUSIVE, 5, 0, 4),
    (codes.JAIL_FIXED, 5, 5, 5), (codes.JAIL_UNIFORM_EXCLUSIVE, 0, 0, 0), (codes.JAIL_UNIFORM_INCLUSIVE, 0, 0, 0),
    (codes.JAIL_FIXED, -1, -1, -1), (codes.JAIL_UNIFORM_INCLUSIVE, -1, -1, -1)])
def test_draw_term_range(rule, jmax, lo, hi):
    rng = M.kernel_rng_state(np.random.SeedSequence(0))
    terms = {int(_draw_term(rule, jmax, rng)) for _ in range(400)}
    assert min(terms) == lo and max(terms) == hi
    if hi > lo:
        assert terms == set(range(lo, hi + 1))  # every term in the range occurs in 400 draws


# ------------------------------------------------------------------- hand-made scenes


def scene(scenario: Scenario, agents: dict[tuple[int, int], tuple], seed: int = 0, log: int = 100):
    """A lattice holding exactly ``agents``: {(y, x): ("cop",) or ("citizen", hardship, risk)}."""
    s = scenario.replace(citizen_density=0.0, cop_density=0.0)
    m, st = M.init(s, seed, arrest_log=log)
    n_cit = n_cop = 0
    for (y, x), spec in agents.items():
        c = y * s.width + x
        if spec[0] == "cop":
            st.occupant[c] = codes.COP | codes.ACTED_BIT
            n_cop += 1
        else:
            st.occupant[c] = codes.QUIET | codes.ACTED_BIT
            st.hardship[c], st.risk_aversion[c] = spec[1], spec[2]
            n_cit += 1
    st.counters[codes.CT_QUIET] = n_cit
    st.counters[codes.CT_COPS] = n_cop
    st.initial_cops, st.citizens = n_cop, n_cit
    for name, dtype in (("pool_hardship", np.float32), ("pool_risk", np.float32), ("pool_term", np.int16),
                        ("pool_origin", np.int32)):
        setattr(st, name, np.zeros(max(n_cit, 1), dtype=dtype))
    cop, act = fresh_fields(m, st)
    st.cop_seen[:], st.active_seen[:] = cop, act
    return m, st


def run_scene(m, st, n, legitimacy=None):
    s = m.scenario
    leg = np.full(n, s.legitimacy if legitimacy is None else legitimacy)
    return M.step(m, st, leg, np.full(n, st.initial_cops))


BASE = Scenario(width=7, height=7, citizen_vision=1, cop_vision=1, vision_shape="moore", movement=False,
                legitimacy=0.0, jail_term="fixed", max_jail_term=5, jailed_hold_cell=True,
                jail_countdown="end_of_step", arrest_rule="floor")


@pytest.mark.parametrize("seed", range(6))
def test_cop_arrests_adjacent_active(seed):
    # H = 1, R = 0, L = 0: G = 1 > T whatever the risk, so the citizen is active from its first
    # activation; the adjacent cop arrests it in step 0 (if it acts after the citizen) or step 1
    m, st = scene(BASE, {(3, 3): ("citizen", 1.0, 0.0), (3, 4): ("cop",)}, seed)
    out = run_scene(m, st, 2)
    assert out[:, codes.OUT_ARRESTS].sum() == 1
    assert out[-1, codes.OUT_JAILED] == 1 and out[-1, codes.OUT_ACTIVE] == 0
    row = st.arrest_log[0]
    assert row[0] in (0, 1) and row[1] == 3 * 7 + 4 and row[2] == 3 * 7 + 3 and row[3] == 5
    assert st.kinds()[3 * 7 + 3] == codes.JAILED and st.jail[3 * 7 + 3] > 0


def test_cop_does_not_arrest_out_of_vision():
    m, st = scene(BASE, {(3, 3): ("citizen", 1.0, 0.0), (3, 5): ("cop",)})  # two cells away, cop vision 1
    out = run_scene(m, st, 10)
    assert out[:, codes.OUT_ARRESTS].sum() == 0
    assert (out[:, codes.OUT_ACTIVE] == 1).all()


def test_deterrence_rule_a():
    # G = H(1-L) = 0.5; with one cop in view C = A = 1 and P = 1 - exp(-2.3) = 0.90, so
    # G - R P = 0.5 - 0.90 < T: quiet. Without the cop P = 0 and G - 0 > T: active.
    m, st = scene(BASE.replace(citizen_vision=2, cop_vision=1), {(3, 3): ("citizen", 1.0, 1.0), (3, 5): ("cop",)})
    out = run_scene(m, st, 10, legitimacy=0.5)
    assert (out[:, codes.OUT_ACTIVE] == 0).all()
    m, st = scene(BASE.replace(citizen_vision=2, cop_vision=1), {(3, 3): ("citizen", 1.0, 1.0)})
    out = run_scene(m, st, 3, legitimacy=0.5)
    assert (out[:, codes.OUT_ACTIVE] == 1).all()


def test_no_grievance_no_activity():
    # G = H (1 - L) <= T for every citizen: nobody turns active, so nobody is arrested
    s = small(legitimacy=0.9, cop_density=0.1)  # G <= 0.1 = T
    m, st = M.init(s, 0)
    out = M.step(m, st, *paths(s, st, 0, 30))
    assert out[:, codes.OUT_ACTIVE].max() == 0 and out[:, codes.OUT_ARRESTS].sum() == 0


@pytest.mark.parametrize(("rule", "active"), [("floor", 1), ("ratio", 0), ("round_half_even", 1)])
def test_arrest_rule_decides(rule, active):
    # X at (3,3): H = R = 1, G = 0.5 at L = 0.5. One cop two cells away (in X's vision 2, out of
    # the cop's vision 1, so no arrests), and Y, always active (R = 0), two cells the other way.
    # C = 1, A = 2: floor(1/2) = 0 and round(1/2) = 0 (half to even) give P = 0, so X turns
    # active; the paper's ratio gives P = 1 - exp(-1.15) = 0.68 and G - R P < T: X stays quiet.
    m, st = scene(BASE.replace(citizen_vision=2, cop_vision=1, arrest_rule=rule),
                  {(3, 3): ("citizen", 1.0, 1.0), (3, 5): ("cop",), (3, 1): ("citizen", 1.0, 0.0)})
    out = run_scene(m, st, 4, legitimacy=0.5)
    # after step 1, Y has been active since step 0, so X has seen A = 2 in its step-1 activation
    assert out[-1, codes.OUT_ACTIVE] == 1 + active
    assert st.kinds()[3 * 7 + 3] == (codes.ACTIVE if active else codes.QUIET)


def test_own_cell_in_vision_counts_active_twice():
    # Ratio rule. X (H = R = 1) is active, one cop in its view, Y (always active) nearby.
    # At L = 0.3, G = 0.7. Own cell excluded: A = 2, P = 1 - exp(-1.15) = 0.683, G - P = 0.017 < T:
    # X turns quiet. Own cell included (NetLogo), an active X counts twice: A = 3,
    # P = 1 - exp(-0.767) = 0.535, G - P = 0.165 > T: X stays active.
    results = {}
    for own in (False, True):
        m, st = scene(BASE.replace(citizen_vision=2, cop_vision=1, arrest_rule="ratio", own_cell_in_vision=own),
                      {(3, 3): ("citizen", 1.0, 1.0), (3, 5): ("cop",), (3, 1): ("citizen", 1.0, 0.0)})
        run_scene(m, st, 1, legitimacy=0.0)  # L = 0: X (G = 1) and Y both turn active in step 0
        assert st.counts()["active"] == 2
        run_scene(m, st, 3, legitimacy=0.3)
        results[own] = st.kinds()[3 * 7 + 3]
    assert results == {False: codes.QUIET, True: codes.ACTIVE}


def test_cop_moves_to_arrestee_and_prisoner_leaves_lattice():
    s = BASE.replace(jailed_hold_cell=False, cop_moves_to_arrestee=True, jail_countdown="end_of_step")
    m, st = scene(s, {(3, 3): ("citizen", 1.0, 0.0), (3, 4): ("cop",)})
    run_scene(m, st, 2)
    k = st.kinds()
    assert k[3 * 7 + 3] == codes.COP and k[3 * 7 + 4] == codes.EMPTY
    assert st.counters[codes.CT_POOL] == 1 and st.counts()["jailed"] == 1
    cop, act = fresh_fields(m, st)
    assert np.array_equal(cop, st.cop_seen) and np.array_equal(act, st.active_seen)


def test_released_prisoner_returns_with_same_attributes():
    # off the lattice, fixed term 3, end-of-step countdown, nothing moves: the prisoner comes back
    # to its cell of arrest (it is free) with the hardship and risk aversion it had
    s = BASE.replace(jailed_hold_cell=False, jail_countdown="end_of_step", max_jail_term=3)
    m, st = scene(s, {(3, 3): ("citizen", 0.75, 0.0), (3, 4): ("cop",)})
    out = run_scene(m, st, 1)
    if out[0, codes.OUT_ARRESTS] == 0:  # the cop acted first; the arrest comes in the next step
        out = run_scene(m, st, 1)
    assert st.kinds()[3 * 7 + 3] == codes.EMPTY and st.counters[codes.CT_POOL] == 1
    assert st.pool_hardship[0] == np.float32(0.75) and st.pool_origin[0] == 3 * 7 + 3
    out = run_scene(m, st, 2)
    assert out[:, codes.OUT_RELEASES].tolist() == [0, 1]  # term 3: released at the end of its third step
    # released as quiet; it then acts again (L = 0 keeps it aggrieved) in later steps
    assert st.kinds()[3 * 7 + 3] == codes.QUIET
    assert st.hardship[3 * 7 + 3] == np.float32(0.75) and st.risk_aversion[3 * 7 + 3] == 0.0


def test_jailed_holds_and_blocks_its_cell():
    s = BASE.replace(max_jail_term=1000)
    m, st = scene(s, {(3, 3): ("citizen", 1.0, 0.0), (3, 4): ("cop",)})
    run_scene(m, st, 2)  # no movement: the adjacent cop surely arrests within two steps
    assert st.kinds()[3 * 7 + 3] == codes.JAILED
    moving = M.Model.compile(s.replace(movement=True))
    for _ in range(20):  # now the cop walks around, but never onto the prisoner's cell
        run_scene(moving, st, 1)
        assert st.kinds()[3 * 7 + 3] == codes.JAILED
        assert st.counts()["cops"] == 1 and (st.kinds() == codes.COP).sum() == 1


@pytest.mark.parametrize("movement, cop_movement, citizens_move, cops_move", [
    (False, True, False, True),   # Run 1 here: citizens stay, cops patrol
    (True, False, True, False),
    (True, None, True, True),     # unset follows `movement`
    (False, None, False, False),
])
def test_cop_movement_switch(movement, cop_movement, citizens_move, cops_move):
    # L = 1: no grievance, so nobody turns active, nobody is arrested and only rule M changes the lattice
    s = small(width=20, height=20, legitimacy=1.0, cop_density=0.08, movement=movement, cop_movement=cop_movement)
    m, st = M.init(s, 3)
    before = st.kinds().copy()
    M.step(m, st, np.ones(10), np.full(10, st.initial_cops))
    after = st.kinds()
    assert ((before == codes.QUIET) != (after == codes.QUIET)).any() == citizens_move
    assert ((before == codes.COP) != (after == codes.COP)).any() == cops_move
