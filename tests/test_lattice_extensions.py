"""The kernel's extensions (codes.FP_*, escalation, marks, jail capacity) against the plain twin, and scenes.

The twin draws every random number in the kernel's order, so with any mix of the
extensions switched on both must still agree bit for bit. Hand-made scenes then
check what each extension does, one at a time, with its probability at 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TwinRun, fresh_fields, paths, recount, recount_violent, small
from uprising import model as M
from uprising.kernels import codes

CIT_KINDS = (codes.QUIET, codes.ACTIVE, codes.VIOLENT, codes.JAILED)


def _fp(n: int, **values: float) -> np.ndarray:
    fp = np.zeros((n, codes.FP_SIZE))
    for name, value in values.items():
        fp[:, getattr(codes, "FP_" + name.upper())] = value
    return fp


def _ip(model: M.Model, escalation: bool = False, mark: bool = False, capacity: int = -1) -> np.ndarray:
    ip = model.ip.copy()
    ip[codes.IP_ESCALATION] = int(escalation)
    ip[codes.IP_MARK] = int(mark)
    ip[codes.IP_JAIL_CAPACITY] = capacity
    return ip


def check_extended_twin(run: TwinRun) -> None:
    f, s = run.fast, run.slow
    assert np.array_equal(run.out_all, run.out_slow_all), np.argwhere(run.out_all != run.out_slow_all)[:5]
    assert np.array_equal(f.occupant, s.occupant)
    assert [int(x) for x in f.rng] == run.rng_slow
    assert np.array_equal(f.counters, s.counters)
    cit = np.isin(f.kinds(), CIT_KINDS)
    assert np.array_equal(f.hardship[cit], s.hardship[cit]) and np.array_equal(f.jail[cit], s.jail[cit])
    assert run.pool_fast() == run.pool_slow()
    cop, act = fresh_fields(run.model, f)
    assert np.array_equal(cop, f.cop_seen) and np.array_equal(act, f.active_seen)
    assert recount(f) == f.counts() and recount_violent(f) == f.counters[codes.CT_VIOLENT]
    # conservation: every citizen is free, jailed or dead
    out = run.out_all
    dead = out[:, codes.OUT_KILLED_PROTESTERS].sum() + out[:, codes.OUT_KILLED_BYSTANDERS].sum()
    last = out[-1]
    free = last[codes.OUT_QUIET] + last[codes.OUT_ACTIVE] + last[codes.OUT_VIOLENT]
    assert free + last[codes.OUT_JAILED] + dead == f.citizens
    lost = out[:, codes.OUT_KILLED_SECURITY].sum() + out[:, codes.OUT_INJURED_SECURITY].sum()
    assert lost == f.counters[codes.CT_COPS_LOST]


probability = st.sampled_from([0.0, 0.0, 0.05, 0.3, 1.0])


@settings(max_examples=40)
@given(st.fixed_dictionaries(dict(
    hardship_shift=st.sampled_from([0.0, 0.1, 0.5]), external=st.sampled_from([0.0, 0.03, -0.02]),
    threshold_shift=st.sampled_from([0.0, 0.05]), stay=probability, violence_margin=st.sampled_from([0.0, 0.1]),
    kill_violent=probability, kill_active=probability, injure=probability, bystander=probability,
    attack=probability, attack_kill=probability, site_attack=probability, sweep=probability,
    release=probability, penalty=st.sampled_from([0.0, 0.5, 3.0]), cop_idle=probability,
    exposure=st.sampled_from([0.0, 0.0, 0.3, 0.7]), exposure_max=st.sampled_from([0.0, 0.0, 2.0]),
    core=st.sampled_from([0.0, 0.0, 0.3]), away=probability)),
    st.booleans(), st.booleans(), st.sampled_from([-1, 0, 3, 40]), st.integers(0, 2),
    st.sampled_from(["random_sequential", "tiled"]), st.integers(0, 500))
def test_kernel_equals_twin_with_extensions(values, escalation, mark, capacity, jail_mode, activation, seed):
    modes = [dict(jailed_hold_cell=True, jail_countdown="own_activation"),
             dict(jailed_hold_cell=True, jail_countdown="end_of_step"),
             dict(jailed_hold_cell=False, jail_countdown="end_of_step")]
    s = small(legitimacy=0.6, activation=activation, tile_size=5, max_jail_term=6, **modes[jail_mode])
    m, _ = M.init(s, seed)
    run = TwinRun(s, seed, 25, fp=_fp(25, **values), ip=_ip(m, escalation, mark, capacity))
    check_extended_twin(run)


def test_all_zero_inputs_are_model_one():
    # the extended call with fp = 0 and the switches off is Model I's call, bit for bit
    s = small(legitimacy=0.65)
    m, a = M.init(s, 4)
    _, b = M.init(s, 4)
    one = M.step(m, a, *paths(s, a, 0, 30))
    ext = M.step_extended(m, b, *paths(s, b, 0, 30), _fp(30))
    assert np.array_equal(one, ext[:, :codes.OUT_SIZE])
    assert not ext[:, codes.OUT_SIZE:].any()
    assert np.array_equal(a.occupant, b.occupant) and np.array_equal(a.rng, b.rng)


def _scene(cells: dict[tuple[int, int], int | tuple[int, float]], **kw):
    """A 15 x 12 lattice holding only ``cells``: (y, x) -> kind, or (kind, hardship) (default hardship 1,
    risk aversion 0); no movement, vision 3, legitimacy 0.6 (G = 0.4 at hardship 1). Returns the scenario and a state set-up for TwinRun."""
    s = small(movement=False, cop_density=0.0, citizen_density=0.0, legitimacy=0.6, **kw)

    def setup(model, state):
        from uprising.kernels.lattice import build_fields

        state.occupant[:] = 0
        kinds = []
        for (y, x), spec in cells.items():
            kind, hardship = spec if isinstance(spec, tuple) else (spec, 1.0)
            c = y * s.width + x
            state.occupant[c] = kind | codes.ACTED_BIT
            state.hardship[c] = hardship
            state.risk_aversion[c] = 0.0
            kinds.append(kind)
        state.counters[:] = 0
        for kind, ct in ((codes.QUIET, codes.CT_QUIET), (codes.ACTIVE, codes.CT_ACTIVE),
                         (codes.VIOLENT, codes.CT_VIOLENT), (codes.COP, codes.CT_COPS)):
            state.counters[ct] = kinds.count(kind)
        state.citizens = len(kinds) - kinds.count(codes.COP)
        build_fields(state.occupant, state.cop_seen, state.active_seen, model.rows_dy, model.rows_half,
                     s.width, s.height)
        n = state.citizens
        state.pool_hardship = np.zeros(n, np.float32)
        state.pool_risk = np.zeros(n, np.float32)
        state.pool_term = np.zeros(n, np.int16)
        state.pool_origin = np.zeros(n, np.int32)

    return s, setup


def _scene_run(cells, steps, ip_kw=None, scenario_kw=None, legitimacy=None, **fp):
    """Run a scene in the kernel and the twin (checked equal); the cop target is the scene's own cops."""
    s, setup = _scene(cells, **(scenario_kw or {}))
    if legitimacy is not None:
        s = s.replace(legitimacy=legitimacy)
    m, _ = M.init(s, 0)
    cops = sum(1 for spec in cells.values() if spec == codes.COP)
    run = TwinRun(s, 0, steps, fp=_fp(steps, **fp), ip=_ip(m, **(ip_kw or {})), state=setup,
                  cop_target=np.full(steps, cops, dtype=np.int64))
    check_extended_twin(run)
    return run


def test_violent_citizen_kills_a_cop_who_is_not_replaced():
    # hardship 1, legitimacy 0.6: G = 0.4, above T + margin; the cop two cells away is attacked and killed
    run = _scene_run({(5, 5): codes.QUIET, (5, 7): codes.COP}, 3, ip_kw=dict(escalation=True),
                     violence_margin=0.1, attack=1.0, attack_kill=1.0)
    out = run.out_all
    assert out[:, codes.OUT_KILLED_SECURITY].sum() == 1 and out[-1, codes.OUT_COPS] == 0
    assert out[-1, codes.OUT_VIOLENT] == 1 and out[-1, codes.OUT_ACTIVE] == 0
    assert run.fast.counters[codes.CT_COPS_LOST] == 1  # the schedule's target of 1 is not refilled


def test_target_below_the_cops_lost_leaves_no_cop_and_keeps_the_fields():
    # two cops (who make no arrests) are killed, then the schedule asks for one (troops leaving): one wanted minus two lost is
    # below zero, so no cop is left, and nothing is removed from an empty lattice (an earlier kernel tried,
    # writing outside the lattice and corrupting the count fields)
    s, setup = _scene({(5, 5): codes.QUIET, (5, 7): codes.COP, (7, 5): codes.COP})
    m, _ = M.init(s, 0)
    target = np.array([2, 2, 2, 1, 1, 0], dtype=np.int64)
    run = TwinRun(s, 0, 6, fp=_fp(6, violence_margin=0.1, attack=1.0, attack_kill=1.0, cop_idle=1.0),
                  ip=_ip(m, escalation=True), state=setup, cop_target=target)
    check_extended_twin(run)  # the count fields are rebuilt and compared there
    assert run.fast.counters[codes.CT_COPS_LOST] == 2 and run.out_all[-1, codes.OUT_COPS] == 0
    assert run.out_all[:, codes.OUT_COPS].min() == 0


def test_below_the_violence_margin_stays_peaceful():
    run = _scene_run({(5, 5): codes.QUIET, (5, 7): codes.COP}, 3, ip_kw=dict(escalation=True),
                     violence_margin=0.5, attack=1.0, attack_kill=1.0)
    assert run.out_all[:, codes.OUT_VIOLENT].max() == 0 and run.out_all[:, codes.OUT_KILLED_SECURITY].sum() == 0


def test_lethal_force_kills_instead_of_arresting():
    cells = {(5, 5): codes.QUIET, (5, 6): codes.COP}
    arrest = _scene_run(cells, 2)
    assert arrest.out_all[:, codes.OUT_ARRESTS].sum() == 1
    killed = _scene_run(cells, 2, kill_active=1.0)
    assert killed.out_all[:, codes.OUT_ARRESTS].sum() == 0
    assert killed.out_all[:, codes.OUT_KILLED_PROTESTERS].sum() == 1


def test_bystander_is_a_quiet_citizen_in_view():
    # the active citizen (hardship 1) is killed; the content one beside it (hardship 0) is the bystander
    cells = {(5, 5): codes.QUIET, (5, 6): codes.COP, (6, 6): (codes.QUIET, 0.0)}
    run = _scene_run(cells, 2, kill_active=1.0, bystander=1.0)
    assert run.out_all[:, codes.OUT_KILLED_PROTESTERS].sum() == 1
    assert run.out_all[:, codes.OUT_KILLED_BYSTANDERS].sum() == 1 and run.out_all[-1, codes.OUT_QUIET] == 0
    run = _scene_run(cells, 2, kill_active=1.0, bystander=0.0)
    assert run.out_all[:, codes.OUT_KILLED_BYSTANDERS].sum() == 0 and run.out_all[-1, codes.OUT_QUIET] == 1


def test_idle_cops_make_no_arrests():
    cells = {(5, 5): codes.QUIET, (5, 6): codes.COP}
    assert _scene_run(cells, 4, cop_idle=1.0).out_all[:, codes.OUT_ARRESTS].sum() == 0
    assert _scene_run(cells, 4, cop_idle=0.0).out_all[:, codes.OUT_ARRESTS].sum() >= 1


def test_full_jail_refuses_arrests():
    cells = {(5, 5): codes.QUIET, (5, 6): codes.COP}
    run = _scene_run(cells, 3, ip_kw=dict(capacity=0))
    # the citizen is active from its first activation on; the cop finds it in every step after the first
    assert run.out_all[:, codes.OUT_ARRESTS].sum() == 0 and run.out_all[1:, codes.OUT_REFUSED].tolist() == [1, 1]
    assert run.out_all[-1, codes.OUT_ACTIVE] == 1
    free = _scene_run(cells, 3, ip_kw=dict(capacity=1))
    assert free.out_all[:, codes.OUT_ARRESTS].sum() == 1 and free.out_all[:, codes.OUT_REFUSED].sum() == 0


def test_sweep_detains_only_marked_citizens():
    # legitimacy 0.6 in step 1: the aggrieved citizen turns active (no cop anywhere) and is marked; then
    # legitimacy 1: it is quiet again, and the sweep takes it, not the citizen who was never active
    cells = {(5, 5): codes.QUIET, (9, 12): (codes.QUIET, 0.0)}
    for mark, swept in ((True, 1), (False, 0)):
        s, setup = _scene(cells)
        m, st_ = M.init(s, 0)
        setup(m, st_)
        out = M.step_extended(m, st_, np.array([0.6, 1.0, 1.0]), np.zeros(3, np.int64), _fp(3, sweep=1.0),
                              _ip(m, mark=mark))
        assert out[0, codes.OUT_ACTIVE] == 1
        assert out[:, codes.OUT_SWEPT].sum() == swept
        assert out[-1, codes.OUT_JAILED] == swept and out[-1, codes.OUT_QUIET] == 2 - swept


@pytest.mark.parametrize("jail", [dict(jailed_hold_cell=True, jail_countdown="own_activation"),
                                  dict(jailed_hold_cell=True, jail_countdown="end_of_step"),
                                  dict(jailed_hold_cell=False, jail_countdown="end_of_step")])
def test_early_release_empties_the_jail(jail):
    s = small(legitimacy=0.3, max_jail_term=float("inf"), **jail)
    m, st_ = M.init(s, 2)
    leg, cops = paths(s, st_, 0, 20)
    out = M.step_extended(m, st_, leg, cops, _fp(20))
    assert out[-1, codes.OUT_JAILED] > 0
    jailed = out[-1, codes.OUT_JAILED]
    leg2, cops2 = paths(s, st_, 20, 1)
    out2 = M.step_extended(m, st_, np.ones(1), cops2, _fp(1, release=1.0))
    assert out2[0, codes.OUT_RELEASES] == jailed and out2[0, codes.OUT_JAILED] == 0


def test_stay_keeps_citizens_in_place():
    s = small(legitimacy=0.95, cop_density=0.0)
    m, st_ = M.init(s, 1)
    before = st_.kinds().copy()
    M.step_extended(m, st_, *paths(s, st_, 0, 5), _fp(5, stay=1.0))
    assert np.array_equal(before, st_.kinds())
    M.step_extended(m, st_, *paths(s, st_, 5, 1), _fp(1))
    assert not np.array_equal(before, st_.kinds())


def test_hardship_shift_and_external_term_raise_activity():
    s = small(legitimacy=0.9, cop_density=0.05, arrest_rule="ratio")
    counts = {}
    for name, fp in (("none", {}), ("hardship", dict(hardship_shift=0.5)), ("external", dict(external=0.05)),
                     ("gathering ban", dict(hardship_shift=0.5, threshold_shift=1.0)),
                     ("penalty", dict(hardship_shift=0.5, penalty=1.0))):
        m, st_ = M.init(s, 3)
        counts[name] = M.step_extended(m, st_, *paths(s, st_, 0, 10), _fp(10, **fp))[:, codes.OUT_ACTIVE].sum()
    assert counts["none"] == 0  # L = 0.9: G <= 0.1 = T for everyone
    assert counts["hardship"] > 0 and counts["external"] > 0
    assert counts["gathering ban"] == 0
    assert 0 < counts["penalty"] < counts["hardship"]  # a harsher cost of arrest deters some, not those unseen


@pytest.mark.parametrize("jail_mode", [0, 1, 2])
def test_twin_with_every_extension_exercised(jail_mode):
    # one run in which every extension's count is non-zero, so the comparison above covered them all
    modes = [dict(jailed_hold_cell=True, jail_countdown="own_activation"),
             dict(jailed_hold_cell=True, jail_countdown="end_of_step"),
             dict(jailed_hold_cell=False, jail_countdown="end_of_step")]
    s = small(legitimacy=0.5, cop_density=0.1, max_jail_term=8, width=20, height=20, **modes[jail_mode])
    m, _ = M.init(s, 9)
    fp = _fp(40, violence_margin=0.15, kill_violent=0.2, kill_active=0.1, injure=0.3, bystander=0.9, attack=0.2,
             attack_kill=0.3, site_attack=0.3, sweep=0.05, release=0.05, stay=0.3, external=0.01, penalty=0.2, cop_idle=0.2,
             away=0.1)
    fp[20:, codes.FP_HARDSHIP_SHIFT] = -0.3  # calmer in the second half, so that marked citizens are quiet
    run = TwinRun(s, 9, 40, fp=fp, ip=_ip(m, escalation=True, mark=True, capacity=25))
    check_extended_twin(run)
    totals = dict(zip(codes.OUT_ALL_NAMES, run.out_all.sum(axis=0).tolist()))
    for name in ("arrests", "releases", "violent", "killed_protesters", "killed_bystanders", "killed_security",
                 "injured_security", "injured_protesters", "site_attacks", "swept", "refused"):
        assert totals[name] > 0, (name, totals)


def test_exposure_weight_has_mean_one_and_a_pareto_tail_and_its_twin_agrees():
    # w = (1 - a) R^-a over R ~ U(0, 1): mean 1 (the average citizen feels the shift as before) and
    # P(w > x) = ((1 - a)/x)^(1/a); the twin is the same float operations. Fails if the weight's form, its mean or
    # its twin changes. R on a fine midpoint grid stands for U(0, 1): the mean is within 1% of 1 there (the grid
    # misses the integrable spike at R = 0, which holds the last part of the mass).
    from uprising.kernels.lattice import exposure_weight
    from uprising.kernels.reference import exposure_weight_py

    r = (np.arange(200_000) + 0.5) / 200_000
    for a in (0.3, 0.5, 0.7):
        w = np.array([exposure_weight(float(x), a) for x in r[::97]])
        assert np.array_equal(w, [exposure_weight_py(float(x), a) for x in r[::97]])
        w = (1.0 - a) * r ** (-a)
        assert abs(w.mean() - 1.0) < 0.01 * (1 + 10 * (a > 0.6)), (a, w.mean())
        for x in (2.0, 5.0):
            assert (w > x).mean() == pytest.approx(((1.0 - a) / x) ** (1.0 / a), rel=1e-3)
    assert np.isfinite(exposure_weight(0.0, 0.5))  # R = 0 is floored, never infinite


def test_exposure_carries_the_least_risk_averse_over_and_changes_nothing_before_a_shock():
    # two quiet citizens with hardship 0.2 under L = 0.6 (G = 0.08 < T = 0.1), no cops (P = 0): a shift of 0.02
    # reaches neither with w = 1 (G = 0.088); with exposure a = 0.5 the citizen with R = 0.01 has w = 5
    # (G = (0.2 + 0.1) 0.4 = 0.12) and turns active, the one with R = 0.81 has w = 0.56 and stays quiet; with no
    # shift and no push exposure changes nothing. Fails if exposure does not scale the shift per citizen.
    cells = {(3, 3): (codes.QUIET, 0.2), (8, 9): (codes.QUIET, 0.2)}

    def active_after(**fp):
        s, setup = _scene(cells)

        def with_risk(model, state):
            setup(model, state)
            state.risk_aversion[3 * s.width + 3] = 0.01
            state.risk_aversion[8 * s.width + 9] = 0.81

        m, _ = M.init(s, 0)
        run = TwinRun(s, 0, 3, fp=_fp(3, **fp), ip=_ip(m), state=with_risk, cop_target=np.zeros(3, dtype=np.int64))
        check_extended_twin(run)
        kinds = run.fast.kinds()
        return int(kinds[3 * s.width + 3] == codes.ACTIVE), int(kinds[8 * s.width + 9] == codes.ACTIVE)

    assert active_after(hardship_shift=0.02) == (0, 0)
    assert active_after(hardship_shift=0.02, exposure=0.5) == (1, 0)
    assert active_after(exposure=0.5) == (0, 0)
    assert active_after(external=0.006, exposure=0.5) == (1, 0)  # w E = 0.03 > 0.02 for the exposed one only
    # capped at w = 2, the exposed citizen's G = (0.2 + 0.04) 0.4 = 0.096 < T: quiet again
    assert active_after(hardship_shift=0.02, exposure=0.5, exposure_max=2.0) == (0, 0)


def test_an_organised_core_is_violent_whenever_active():
    # two citizens with hardship 0.9 under L = 0.6 (G = 0.36), no cops (P = 0): both clear T = 0.1 and are active,
    # and neither clears T + margin = 1.1, so neither is violent by grievance. With FP_CORE = 0.05 the citizen of
    # R = 0.01 < 0.05 is of the organised core and turns violent; the one of R = 0.81 stays peaceful. A quiet core
    # member (hardship 0.1: G = 0.04 < T) is not violent: the core acts only once its member is out. Without the
    # escalation switch nobody is violent. Fails if the core's test reads another trait or ignores activity.
    cells = {(3, 3): (codes.QUIET, 0.9), (8, 9): (codes.QUIET, 0.9), (10, 13): (codes.QUIET, 0.1)}

    def kinds_after(escalation=True, **fp):
        s, setup = _scene(cells)

        def with_risk(model, state):
            setup(model, state)
            state.risk_aversion[3 * s.width + 3] = 0.01
            state.risk_aversion[8 * s.width + 9] = 0.81
            state.risk_aversion[10 * s.width + 13] = 0.01

        m, _ = M.init(s, 0)
        run = TwinRun(s, 0, 3, fp=_fp(3, violence_margin=1.0, **fp), ip=_ip(m, escalation=escalation),
                      state=with_risk, cop_target=np.zeros(3, dtype=np.int64))
        check_extended_twin(run)
        k = run.fast.kinds()
        return tuple(int(k[y * s.width + x]) for y, x in ((3, 3), (8, 9), (10, 13)))

    A, V, Q = codes.ACTIVE, codes.VIOLENT, codes.QUIET
    assert kinds_after() == (A, A, Q)
    assert kinds_after(core=0.05) == (V, A, Q)
    assert kinds_after(core=0.9) == (V, V, Q)
    assert kinds_after(escalation=False, core=0.9) == (A, A, Q)
