"""Model I assembled from the kernels: ``init(scenario, seed) -> (Model, State)`` and ``step``.

:class:`Model` holds what a scenario compiles to (integer switches, geometry,
the arrest-probability table) and never changes during a run. :class:`State`
holds the arrays that do. :func:`step` advances a state by as many steps as the
schedule arrays it is given, in one kernel call; the driver in
:mod:`uprising.simulate` owns time, schedules and recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .kernels import codes
from .kernels.arrest import arrest_probability_table
from .kernels.geometry import offsets, row_spans
from .kernels.lattice import build_fields, run_steps
from .scenario import Scenario, draw_hardship

_ACTIVATION = {"random_sequential": codes.ACT_RANDOM_SEQUENTIAL, "tiled": codes.ACT_TILED}
_JAIL = {"uniform_inclusive": codes.JAIL_UNIFORM_INCLUSIVE, "uniform_exclusive": codes.JAIL_UNIFORM_EXCLUSIVE,
         "fixed": codes.JAIL_FIXED}


@dataclass(frozen=True, eq=False)
class Model:
    """A scenario compiled for the kernel."""

    scenario: Scenario
    ip: np.ndarray
    threshold: float
    ptable: np.ndarray
    rows_dy: np.ndarray
    rows_half: np.ndarray
    cit_dy: np.ndarray
    cit_dx: np.ndarray
    cop_dy: np.ndarray
    cop_dx: np.ndarray
    field_dtype: type

    @classmethod
    def compile(cls, scenario: Scenario) -> "Model":
        s = scenario
        rows_dy, rows_half = row_spans(s.citizen_vision, s.vision_shape)
        cit_dy, cit_dx = offsets(s.citizen_vision, s.vision_shape, include_center=False)
        cop_dy, cop_dx = offsets(s.cop_vision, s.vision_shape, include_center=False)
        n_seen = len(cit_dy) + 1
        ip = np.zeros(codes.IP_SIZE, dtype=np.int64)
        ip[codes.IP_WIDTH] = s.width
        ip[codes.IP_HEIGHT] = s.height
        ip[codes.IP_MOVEMENT] = int(s.movement)
        ip[codes.IP_COP_MOVEMENT] = int(s.movement if s.cop_movement is None else s.cop_movement)
        ip[codes.IP_MOVE_FIRST] = int(s.order == "move_then_act")
        ip[codes.IP_OWN_CELL] = int(s.own_cell_in_vision)
        ip[codes.IP_COP_TO_ARRESTEE] = int(s.cop_moves_to_arrestee)
        ip[codes.IP_HOLD_CELL] = int(s.jailed_hold_cell)
        ip[codes.IP_COUNTDOWN_OWN] = int(s.jail_countdown == "own_activation")
        ip[codes.IP_JAIL_TERM] = _JAIL[s.jail_term]
        ip[codes.IP_MAX_JAIL] = -1 if math.isinf(s.max_jail_term) else int(s.max_jail_term)
        ip[codes.IP_ACTIVATION] = _ACTIVATION[s.activation]
        ip[codes.IP_TILE] = s.tile_size
        ip[codes.IP_SAME_SHAPE] = int(s.cop_vision == s.citizen_vision)
        ip[codes.IP_JAIL_CAPACITY] = -1  # Model I: no capacity limit (escalation and marks stay off)
        ptable = arrest_probability_table(n_seen, n_seen + 2, s.arrest_prob_constant, s.arrest_rule)
        dtype = np.uint8 if n_seen + 2 < 255 else np.uint16
        return cls(s, ip, float(s.threshold), ptable, rows_dy, rows_half, cit_dy, cit_dx, cop_dy, cop_dx, dtype)

    @property
    def n_cells(self) -> int:
        return self.scenario.width * self.scenario.height


@dataclass(eq=False)
class State:
    """All that changes during a run (structure of arrays, one entry per cell)."""

    occupant: np.ndarray  # uint8, codes.EMPTY..COP plus the acted bit
    hardship: np.ndarray  # float32, H (U(0,1) by default; Scenario.hardship_distribution)
    risk_aversion: np.ndarray  # float32, R ~ U(0,1)
    jail: np.ndarray  # int16, remaining term of a prisoner holding its cell
    cop_seen: np.ndarray  # cops within citizen vision of each cell
    active_seen: np.ndarray  # actives within citizen vision of each cell
    order: np.ndarray  # int32 activation order over cells
    tile_order: np.ndarray  # int32 order of tiles
    pool_hardship: np.ndarray  # prisoners off the lattice
    pool_risk: np.ndarray
    pool_term: np.ndarray
    pool_origin: np.ndarray
    counters: np.ndarray  # int64, see codes.CT_*
    rng: np.ndarray  # uint64[4], the kernel's random stream
    buf: np.ndarray  # int32 scratch
    arrest_log: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.int32))
    initial_cops: int = 0
    citizens: int = 0
    # casualties in people (kernels.lattice.run_steps; docs/country-model.md): 0 counts agents only; > 0 makes
    # each step write ``people_last`` (steps x codes.PEOPLE_SIZE, in people) from the separate ``people_rng``
    people_per_agent: float = 0.0
    people_rng: np.ndarray = field(default_factory=lambda: np.array([1, 0, 0, 0], dtype=np.uint64))
    people_last: np.ndarray = field(default_factory=lambda: np.zeros((0, codes.PEOPLE_SIZE), dtype=np.int64))
    # participants (count_participants): 1 + the last day each citizen was active or violent (per cell, and per
    # pool slot for prisoners off the lattice), and the day of every global step; empty: not counted
    day_mark: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pool_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    step_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def step_index(self) -> int:
        return int(self.counters[codes.CT_STEP])

    def counts(self) -> dict[str, int]:
        c = self.counters
        return {"quiet": int(c[codes.CT_QUIET]), "active": int(c[codes.CT_ACTIVE]),
                "jailed": int(c[codes.CT_JAILED]), "cops": int(c[codes.CT_COPS])}

    def kinds(self) -> np.ndarray:
        """What is on each cell (codes.EMPTY..COP), flat in row-major order (reshape to height x width)."""
        return self.occupant & codes.KIND_MASK

    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))


def kernel_rng_state(seq: np.random.SeedSequence) -> np.ndarray:
    """Four uint64 words for xoshiro256**, never all zero."""
    words = seq.generate_state(4, dtype=np.uint64)
    if not words.any():
        words[0] = 1
    return words


def init(scenario: Scenario, seed: int | np.random.SeedSequence = 0, *, arrest_log: int = 0) -> tuple[Model, State]:
    """Place the agents of ``scenario`` and return the compiled model and its state.

    Placement ``exact`` puts ``round(density * cells)`` citizens and cops on
    distinct random cells; ``binomial`` lets each cell draw citizen, cop or empty
    independently (Mesa). Risk aversion is U(0,1) (Epstein 2002); hardship follows the scenario's
    ``hardship_distribution`` (default U(0,1), Epstein's; :func:`uprising.scenario.draw_hardship`),
    drawn before risk aversion from the same stream as always.
    ``arrest_log`` reserves rows for an optional record of arrests (for tests).
    """
    model = Model.compile(scenario)
    s = scenario
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    place_seq, kernel_seq = seq.spawn(2)
    gen = np.random.Generator(np.random.PCG64(place_seq))
    n = model.n_cells
    occupant = np.zeros(n, dtype=np.uint8)
    if s.placement == "exact":
        n_cit = int(round(s.citizen_density * n))
        n_cop = int(round(s.cop_density * n))
        cells = gen.permutation(n)
        occupant[cells[:n_cit]] = codes.QUIET
        occupant[cells[n_cit:n_cit + n_cop]] = codes.COP
    else:
        u = gen.random(n)
        occupant[u < s.citizen_density + s.cop_density] = codes.COP
        occupant[u < s.citizen_density] = codes.QUIET
    citizen = occupant == codes.QUIET
    n_cit = int(citizen.sum())
    hardship = np.zeros(n, dtype=np.float32)
    risk = np.zeros(n, dtype=np.float32)
    hardship[citizen] = draw_hardship(gen, n_cit, s.hardship_distribution, s.hardship_mean, s.hardship_spread)
    risk[citizen] = gen.random(n_cit)
    occupant[occupant != codes.EMPTY] |= codes.ACTED_BIT  # "not yet acted" in step 0

    n_seen = len(model.cit_dy) + 1
    cop_seen = np.zeros(n, dtype=model.field_dtype)
    active_seen = np.zeros(n, dtype=model.field_dtype)
    build_fields(occupant, cop_seen, active_seen, model.rows_dy, model.rows_half, s.width, s.height)
    assert n_seen < np.iinfo(model.field_dtype).max

    tiles = -(-s.width // s.tile_size) * -(-s.height // s.tile_size)
    n_cop = int((occupant & codes.KIND_MASK == codes.COP).sum())
    counters = np.zeros(codes.CT_SIZE, dtype=np.int64)
    counters[codes.CT_QUIET] = n_cit
    counters[codes.CT_COPS] = n_cop
    pool_cap = 0 if s.jailed_hold_cell else n_cit
    state = State(
        occupant=occupant, hardship=hardship, risk_aversion=risk, jail=np.zeros(n, dtype=np.int16),
        cop_seen=cop_seen, active_seen=active_seen,
        order=np.arange(n, dtype=np.int32), tile_order=np.arange(tiles, dtype=np.int32),
        pool_hardship=np.zeros(pool_cap, dtype=np.float32), pool_risk=np.zeros(pool_cap, dtype=np.float32),
        pool_term=np.zeros(pool_cap, dtype=np.int16), pool_origin=np.zeros(pool_cap, dtype=np.int32),
        counters=counters, rng=kernel_rng_state(kernel_seq),
        buf=np.zeros(max(len(model.cit_dy), len(model.cop_dy)) + 1, dtype=np.int32),
        arrest_log=np.zeros((arrest_log, 4), dtype=np.int32), initial_cops=n_cop, citizens=n_cit,
    )
    return model, state


def count_people(state: State, people_per_agent: float, seq: np.random.SeedSequence) -> None:
    """Count casualties, injuries and detentions of ``state``'s runs in people: each agent stands for
    ``people_per_agent`` people (super-individuals, Scheffer et al. 1995), and the counts are drawn from a
    stream of their own seeded from ``seq`` (the lattice's own stream is untouched, so its trajectory is the
    same as without counting). See :func:`uprising.kernels.lattice.run_steps`."""
    if not people_per_agent > 0.0:
        raise ValueError(f"people_per_agent must be positive, not {people_per_agent}")
    state.people_per_agent = float(people_per_agent)
    state.people_rng = kernel_rng_state(seq)


def count_participants(state: State, step_day: np.ndarray) -> None:
    """Count the participants of each day in people (with :func:`count_people` on): a citizen is a participant
    of day ``d`` when one of its activations in a step of day ``d`` leaves it active or violent, and each adds
    the people it stands for once per day (``people_last[:, codes.PEOPLE_PARTICIPANTS]``). ``step_day[s]`` is
    the day (0, 1, ...) of global step ``s`` (the step numbered ``s + 1``), for every step the state will run."""
    if not state.people_per_agent > 0.0:
        raise ValueError("participants are counted in people: call count_people first")
    state.day_mark = np.zeros(len(state.occupant), dtype=np.int32)
    state.pool_day = np.zeros(len(state.pool_hardship), dtype=np.int32)
    state.step_day = np.ascontiguousarray(step_day, dtype=np.int64)


def cop_targets(scenario: Scenario, initial_cops: int, first_step: int, n: int) -> np.ndarray:
    """Number of cops wanted in steps ``first_step+1 .. first_step+n`` (Epstein Run 5)."""
    dens = scenario.cop_schedule.values(scenario.cop_density, first_step + n)[first_step:]
    if scenario.cop_schedule.kind == "constant":
        return np.full(n, initial_cops, dtype=np.int64)
    if scenario.placement == "binomial" and scenario.cop_density > 0:
        # the initial count was itself random: scale it
        return np.rint(initial_cops * dens / scenario.cop_density).astype(np.int64)
    return np.rint(dens * scenario.width * scenario.height).astype(np.int64)


def legitimacy_path(scenario: Scenario, first_step: int, n: int) -> np.ndarray:
    """Legitimacy during steps ``first_step+1 .. first_step+n`` (Epstein Runs 3-4)."""
    return scenario.legitimacy_schedule.values(scenario.legitimacy, first_step + n)[first_step:]


def step(model: Model, state: State, legitimacy: np.ndarray, cop_target: np.ndarray) -> np.ndarray:
    """Advance ``state`` by ``len(legitimacy)`` steps of Model I; returns the per-step counts (n x 6 int64)."""
    n = len(legitimacy)
    return step_extended(model, state, legitimacy, cop_target, np.zeros((n, codes.FP_SIZE)))[:, :codes.OUT_SIZE]


def step_extended(model: Model, state: State, legitimacy: np.ndarray, cop_target: np.ndarray,
                  fp: np.ndarray, ip: np.ndarray | None = None) -> np.ndarray:
    """Advance ``state`` by ``len(legitimacy)`` steps with the extensions' per-step inputs ``fp``
    (n x ``codes.FP_SIZE``; all zeros is Model I) and, if given, an ``ip`` that replaces the model's
    (to switch on escalation, marks or a jail capacity). Returns n x ``codes.OUT_ALL_SIZE`` counts; with
    ``state.people_per_agent > 0`` the counts of people of these steps are left in ``state.people_last``."""
    n = len(legitimacy)
    out = np.zeros((n, codes.OUT_ALL_SIZE), dtype=np.int64)
    people_out = np.zeros((n, codes.PEOPLE_SIZE), dtype=np.int64)
    run_steps(state.occupant, state.hardship, state.risk_aversion, state.jail, state.cop_seen, state.active_seen,
              model.rows_dy, model.rows_half, model.cit_dy, model.cit_dx, model.cop_dy, model.cop_dx, model.ptable,
              state.order, state.tile_order, state.pool_hardship, state.pool_risk, state.pool_term,
              state.pool_origin, model.ip if ip is None else ip, model.threshold,
              np.ascontiguousarray(legitimacy, dtype=np.float64), np.ascontiguousarray(cop_target, dtype=np.int64),
              np.ascontiguousarray(fp, dtype=np.float64), state.counters, state.rng, out, state.arrest_log,
              state.buf, float(state.people_per_agent), state.people_rng, people_out, state.day_mark,
              state.pool_day, state.step_day)
    state.people_last = people_out
    return out
