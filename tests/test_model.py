"""Model assembly: compiling a scenario, placing the population, schedules for the kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SCENARIOS, fresh_fields, small
from uprising import model as M
from uprising.kernels import codes
from uprising.kernels.geometry import offsets
from uprising.scenario import Scenario


def test_compile_switches():
    s = small(order="act_then_move", own_cell_in_vision=True, cop_moves_to_arrestee=True, jail_term="fixed",
              max_jail_term=7, activation="tiled", tile_size=5, movement=False, cop_vision=2)
    ip = M.Model.compile(s).ip
    assert ip[codes.IP_WIDTH] == 15 and ip[codes.IP_HEIGHT] == 12
    assert ip[codes.IP_MOVEMENT] == 0 and ip[codes.IP_MOVE_FIRST] == 0 and ip[codes.IP_OWN_CELL] == 1
    assert ip[codes.IP_COP_TO_ARRESTEE] == 1 and ip[codes.IP_HOLD_CELL] == 0 and ip[codes.IP_COUNTDOWN_OWN] == 0
    assert ip[codes.IP_JAIL_TERM] == codes.JAIL_FIXED and ip[codes.IP_MAX_JAIL] == 7
    assert ip[codes.IP_ACTIVATION] == codes.ACT_TILED and ip[codes.IP_TILE] == 5 and ip[codes.IP_SAME_SHAPE] == 0
    assert M.Model.compile(small(max_jail_term=math.inf)).ip[codes.IP_MAX_JAIL] == -1
    assert M.Model.compile(small()).ip[codes.IP_SAME_SHAPE] == 1


def test_compile_geometry_and_table():
    s = Scenario.load(SCENARIOS / "mesa-default.toml")
    m = M.Model.compile(s)
    assert len(m.cit_dy) == len(m.cop_dy) == 112  # von Neumann radius 7
    n_seen = 113
    # the table covers every C (0..112 cops seen) and A (1 + 112 others + 1 own-cell double count)
    assert m.ptable.shape[0] > n_seen - 1 and m.ptable.shape[1] > n_seen + 1
    assert m.ptable[1, 2] == 0.0  # round(1/2) = 0
    assert m.field_dtype == np.uint8
    big = Scenario(citizen_vision=15, cop_vision=15, width=40, height=40)
    assert M.Model.compile(big).field_dtype == np.uint16  # 709 cells in view do not fit a byte


@pytest.mark.parametrize("seed", range(3))
def test_exact_placement(seed):
    s = Scenario.load(SCENARIOS / "epstein-2002" / "run2.toml")
    m, st = M.init(s, seed)
    k = st.kinds()
    assert (k == codes.QUIET).sum() == st.citizens == round(0.7 * 1600)
    assert (k == codes.COP).sum() == st.initial_cops == round(0.04 * 1600)
    assert (k == codes.ACTIVE).sum() == (k == codes.JAILED).sum() == 0
    cit = k == codes.QUIET
    h, r = st.hardship[cit], st.risk_aversion[cit]
    assert h.dtype == np.float32 and 0 <= h.min() and h.max() < 1 and 0 <= r.min() and r.max() < 1
    # U(0,1): mean 0.5, sd 1/sqrt(12)/sqrt(1120) = 0.0086; band 5 sd
    assert abs(h.mean() - 0.5) < 0.043 and abs(r.mean() - 0.5) < 0.043
    assert abs(np.corrcoef(h, r)[0, 1]) < 5 / np.sqrt(len(h))  # independent draws
    assert (st.hardship[~cit] == 0).all()
    assert ((st.occupant[k != codes.EMPTY] & codes.ACTED_BIT) == codes.ACTED_BIT).all()  # none acted yet
    cop, act = fresh_fields(m, st)
    assert np.array_equal(cop, st.cop_seen) and (st.active_seen == 0).all()
    assert st.counts() == {"quiet": st.citizens, "active": 0, "jailed": 0, "cops": st.initial_cops}
    assert st.step_index == 0


def test_binomial_placement_varies_around_the_density():
    s = Scenario.load(SCENARIOS / "mesa-default.toml")
    cits = [M.init(s, seed)[1].citizens for seed in range(20)]
    cops = [M.init(s, seed)[1].initial_cops for seed in range(20)]
    assert len(set(cits)) > 5  # each cell draws independently: counts vary by seed
    # Binomial(1600, 0.7): sd 18.3; the mean of 20 has sd 4.1; band 4 sd around 1120
    assert abs(np.mean(cits) - 1120) < 16.4
    assert abs(np.mean(cops) - 0.074 * 1600) < 4 * np.sqrt(1600 * 0.074 * 0.926 / 20)


def test_init_is_deterministic_and_seed_dependent():
    s = small()
    _, a = M.init(s, 4)
    _, b = M.init(s, 4)
    _, c = M.init(s, 5)
    assert np.array_equal(a.occupant, b.occupant) and np.array_equal(a.rng, b.rng)
    assert np.array_equal(a.hardship, b.hardship)
    assert not np.array_equal(a.occupant, c.occupant)
    _, d = M.init(s, np.random.SeedSequence(4))
    assert np.array_equal(a.occupant, d.occupant)


def test_pool_and_log_capacity():
    _, off = M.init(small(), 0, arrest_log=17)
    assert off.pool_hardship.shape == (off.citizens,) and off.arrest_log.shape == (17, 4)
    _, hold = M.init(small(jailed_hold_cell=True, jail_countdown="own_activation"), 0)
    assert hold.pool_hardship.shape == (0,) and hold.arrest_log.shape == (0, 4)
    assert len(off.buf) > len(offsets(3, "euclidean", False)[0])


def test_full_arrest_log_stops_writing():
    s = small(legitimacy=0.3)
    m, st = M.init(s, 0, arrest_log=5)
    out = M.step(m, st, M.legitimacy_path(s, 0, 20), M.cop_targets(s, st.initial_cops, 0, 20))
    assert out[:, codes.OUT_ARRESTS].sum() > 5
    assert st.counters[codes.CT_LOG] == 5 and (st.arrest_log[:, 2] >= 0).all()


def test_cop_targets():
    s = small(cop_density=0.1, cop_schedule=dict(kind="linear", start=3, rate=-0.02, stop=0.05))
    _, st = M.init(s, 0)
    assert st.initial_cops == 18
    # schedule steps 1..6: 0.1, 0.1, 0.08, 0.06, 0.05, 0.05 of 180 cells
    assert M.cop_targets(s, st.initial_cops, 0, 6).tolist() == [18, 18, 14, 11, 9, 9]
    assert M.cop_targets(s, st.initial_cops, 2, 2).tolist() == [14, 11]  # a window of the same path
    assert M.cop_targets(small(), 18, 0, 3).tolist() == [18, 18, 18]
    zero = small(cop_density=0.0, cop_schedule=dict(kind="step", start=2, value=0.05))
    assert M.cop_targets(zero, 0, 0, 3).tolist() == [0, 9, 9]


def test_legitimacy_path_windows():
    s = small(legitimacy=0.9, legitimacy_schedule=dict(kind="linear", start=2, rate=-0.1, stop=0.5))
    whole = M.legitimacy_path(s, 0, 8)
    assert whole == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5])
    assert np.array_equal(np.concatenate([M.legitimacy_path(s, 0, 3), M.legitimacy_path(s, 3, 5)]), whole)


def test_state_views():
    s = small()
    _, st = M.init(s, 0)
    assert st.kinds().shape == (180,) and st.kinds().max() <= codes.COP
    assert st.nbytes() > 180 * 4
