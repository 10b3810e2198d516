"""Epstein (2002) Model I on one torus lattice: the numba kernel.

State is cell-major: every array has one entry per lattice cell and an agent's
attributes travel with it when it moves. This keeps the tiled activation cache
friendly and costs no per-agent id array.

Counts within vision are never recomputed by scanning. Two *count fields* hold,
for every cell ``x``, the number of cops (``cop_seen``) and of active citizens
(``active_seen``) within citizen vision of ``x``, the cell itself included. They
are updated whenever a cop moves or a citizen becomes active, stops being active
or moves while active, so a decision reads ``C`` and ``A`` in O(1) and still sees
every earlier update of the step (Epstein's asynchronous activation). The plain
twin in :mod:`uprising.kernels.reference` scans the neighbourhood instead; the
tests require both to agree bit for bit.

Random numbers come from :mod:`uprising.kernels.rng`; the order in which they are
drawn is part of the contract with the twin.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .codes import (
    ACT_TILED,
    ACTED_BIT,
    ACTIVE,
    COP,
    CT_ACTIVE,
    CT_COPS,
    CT_COPS_LOST,
    CT_JAILED,
    CT_LOG,
    CT_POOL,
    CT_QUIET,
    CT_STEP,
    CT_VIOLENT,
    EMPTY,
    FP_ATTACK,
    FP_ATTACK_KILL,
    FP_BYSTANDER,
    FP_COP_IDLE,
    FP_EXPOSURE,
    FP_EXPOSURE_MAX,
    FP_EXTERNAL,
    FP_HARDSHIP_SHIFT,
    FP_INJURE,
    FP_KILL_ACTIVE,
    FP_KILL_VIOLENT,
    FP_PENALTY,
    FP_RESIST,
    FP_CORE,
    FP_CORE_PEOPLE,
    FP_AWAY,
    FP_CORE_UNDETERRED,
    FP_RETURN_FIRE,
    FP_RELEASE,
    FP_SITE_ATTACK,
    FP_STAY,
    FP_SWEEP,
    FP_THRESHOLD_SHIFT,
    FP_VIOLENCE_MARGIN,
    IP_ACTIVATION,
    IP_COP_MOVEMENT,
    IP_COP_TO_ARRESTEE,
    IP_COUNTDOWN_OWN,
    IP_ESCALATION,
    IP_HEIGHT,
    IP_HOLD_CELL,
    IP_JAIL_CAPACITY,
    IP_JAIL_TERM,
    IP_MARK,
    IP_MAX_JAIL,
    IP_MOVE_FIRST,
    IP_MOVEMENT,
    IP_OWN_CELL,
    IP_SAME_SHAPE,
    IP_TILE,
    IP_WIDTH,
    JAIL_FIXED,
    JAIL_UNIFORM_INCLUSIVE,
    JAILED,
    KIND_MASK,
    MARK_BIT,
    MOVE_TRIES,
    OUT_ACTIVE,
    OUT_ARRESTS,
    OUT_COPS,
    OUT_INJURED_PROTESTERS,
    OUT_INJURED_SECURITY,
    OUT_JAILED,
    OUT_KILLED_BYSTANDERS,
    OUT_KILLED_PROTESTERS,
    OUT_KILLED_SECURITY,
    OUT_QUIET,
    OUT_REFUSED,
    OUT_RELEASES,
    OUT_SITE_ATTACKS,
    OUT_SWEPT,
    OUT_VIOLENT,
    PEOPLE_ARRESTS,
    PEOPLE_INJURED_PROTESTERS,
    PEOPLE_INJURED_SECURITY,
    PEOPLE_KILLED_BYSTANDERS,
    PEOPLE_KILLED_PROTESTERS,
    PEOPLE_KILLED_SECURITY,
    PEOPLE_PARTICIPANTS,
    PEOPLE_VIOLENT,
    PEOPLE_SWEPT,
    QUIET,
    VIOLENT,
)
from .prefetch import prefetch
from .rng import binomial, bounded, people_in, uniform

PREFETCH_AHEAD = 16  # activations ahead whose own cells are prefetched
PREFETCH_MIN_CELLS = 1 << 16  # smaller lattices stay in cache: no prefetching


@njit(cache=True, inline="always")
def _wrap(y, x, dy, dx, width, height):
    yy = y + dy
    if yy < 0:
        yy += height
    elif yy >= height:
        yy -= height
    xx = x + dx
    if xx < 0:
        xx += width
    elif xx >= width:
        xx -= width
    return yy * width + xx


@njit(cache=True, inline="always")
def _span_add(field, lo, hi, delta):
    for xx in range(lo, hi):
        field[xx] += delta


def _field_add_impl(field, cell, delta, rows_dy, rows_half, width, height):
    """Add ``delta`` to ``field`` over the neighbourhood (centre included) of ``cell``.

    Each row of the neighbourhood is one or two contiguous runs of cells (two
    when it wraps around the torus), so the inner loops carry no wrap tests.
    """
    y = cell // width
    x = cell - y * width
    n_rows = rows_dy.shape[0]
    r = rows_dy[n_rows - 1]
    if r <= y < height - r and r <= x < width - r:
        # interior cell: no row or column wraps around the torus
        for i in range(n_rows):
            half = rows_half[i]
            lo = cell + rows_dy[i] * width - half
            _span_add(field, lo, lo + 2 * half + 1, delta)
        return
    for i in range(n_rows):
        yy = y + rows_dy[i]
        if yy < 0:
            yy += height
        elif yy >= height:
            yy -= height
        base = yy * width
        half = rows_half[i]
        x0 = x - half
        x1 = x + half + 1
        if x0 < 0:
            _span_add(field, base + x0 + width, base + width, delta)
            _span_add(field, base, base + x1, delta)
        elif x1 > width:
            _span_add(field, base + x0, base + width, delta)
            _span_add(field, base, base + x1 - width, delta)
        else:
            _span_add(field, base + x0, base + x1, delta)


field_add = njit(cache=True)(_field_add_impl)
# the same function inlined at the few hot call sites (numba does not inline across dispatchers)
_field_add_hot = njit(cache=True, inline="always")(_field_add_impl)


@njit(cache=True)
def build_fields(occupant, cop_seen, active_seen, rows_dy, rows_half, width, height):
    """Fill both count fields from scratch (used at initialisation and in checks)."""
    cop_seen[:] = 0
    active_seen[:] = 0
    for c in range(occupant.shape[0]):
        kind = occupant[c] & KIND_MASK
        if kind == COP:
            field_add(cop_seen, c, 1, rows_dy, rows_half, width, height)
        elif kind == ACTIVE or kind == VIOLENT:
            field_add(active_seen, c, 1, rows_dy, rows_half, width, height)


@njit(cache=True, inline="always")
def _move(c, mdy, mdx, occupant, hardship, risk, cop_seen, active_seen, rows_dy, rows_half,
          width, height, rng, buf, day_mark):
    """Rule M: move the agent on ``c`` to a uniformly random empty cell within vision.

    Rejection sampling first (``MOVE_TRIES`` uniform draws over the neighbourhood),
    then an exact enumeration; the mixture is exactly uniform over the empty
    cells. Returns the agent's new cell (``c`` when nothing is free).
    """
    n = mdy.shape[0]
    y = c // width
    x = c - y * width
    target = -1
    r = mdy[n - 1]
    if r <= y < height - r and r <= x < width - r:
        # interior cell: offsets need no wrapping
        for _ in range(MOVE_TRIES):
            k = bounded(rng, n)
            t = c + mdy[k] * width + mdx[k]
            if occupant[t] & KIND_MASK == EMPTY:
                target = t
                break
    else:
        for _ in range(MOVE_TRIES):
            k = bounded(rng, n)
            t = _wrap(y, x, mdy[k], mdx[k], width, height)
            if occupant[t] & KIND_MASK == EMPTY:
                target = t
                break
    if target < 0:
        m = 0
        for k in range(n):
            t = _wrap(y, x, mdy[k], mdx[k], width, height)
            if occupant[t] & KIND_MASK == EMPTY:
                buf[m] = t
                m += 1
        if m == 0:
            return c
        target = buf[bounded(rng, m)]
    v = occupant[c]
    occupant[target] = v
    occupant[c] = EMPTY
    kind = v & KIND_MASK
    if kind != COP:
        hardship[target] = hardship[c]
        risk[target] = risk[c]
        if day_mark.shape[0] > 0:
            day_mark[target] = day_mark[c]
    if kind == COP or kind == ACTIVE or kind == VIOLENT:
        field = cop_seen if kind == COP else active_seen
        _field_add_hot(field, c, -1, rows_dy, rows_half, width, height)
        _field_add_hot(field, target, 1, rows_dy, rows_half, width, height)
    return target


@njit(cache=True)
def _random_cell_of(occupant, kind, tries, rng):
    """A uniformly random cell holding ``kind`` (-1 if there is none).

    ``tries`` uniform draws over the lattice first, then an exact enumeration.
    """
    n = occupant.shape[0]
    for _ in range(tries):
        t = bounded(rng, n)
        if occupant[t] & KIND_MASK == kind:
            return t
    m = 0
    for t in range(n):
        if occupant[t] & KIND_MASK == kind:
            m += 1
    if m == 0:
        return -1
    pick = bounded(rng, m)
    for t in range(n):
        if occupant[t] & KIND_MASK == kind:
            if pick == 0:
                return t
            pick -= 1
    return -1


@njit(cache=True)
def _draw_term(jail_rule, max_jail, rng):
    """Jail term in steps (Epstein: U(0, J_max)); -1 means a life term (J_max infinite)."""
    if max_jail < 0:
        return -1
    if jail_rule == JAIL_FIXED:
        return max_jail
    if jail_rule == JAIL_UNIFORM_INCLUSIVE:
        return bounded(rng, max_jail + 1)
    return bounded(rng, max_jail) if max_jail > 0 else 0


@njit(cache=True)
def _fill_order(order, tile_order, activation, tile, width, height, rng):
    """The activation order of this step, over cells.

    ``random_sequential``: a fresh uniform shuffle of all cells (Fisher-Yates on the
    previous order). ``tiled``: a fresh shuffle of the tiles, then each tile's cells
    in a fresh uniform order.
    """
    if activation == ACT_TILED:
        nt = tile_order.shape[0]
        for i in range(nt - 1, 0, -1):
            j = bounded(rng, i + 1)
            tmp = tile_order[i]
            tile_order[i] = tile_order[j]
            tile_order[j] = tmp
        ntx = (width + tile - 1) // tile
        pos = 0
        for i in range(nt):
            ty = tile_order[i] // ntx
            tx = tile_order[i] - ty * ntx
            start = pos
            for y in range(ty * tile, min((ty + 1) * tile, height)):
                for x in range(tx * tile, min((tx + 1) * tile, width)):
                    order[pos] = y * width + x
                    pos += 1
            for k in range(pos - 1, start, -1):
                j = start + bounded(rng, k - start + 1)
                tmp = order[k]
                order[k] = order[j]
                order[j] = tmp
    else:
        n = order.shape[0]
        for i in range(n - 1, 0, -1):
            j = bounded(rng, i + 1)
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp


@njit(cache=True)
def _place_released(origin, h, r, occupant, hardship, risk, jail, flag, rng, day_mark, day):
    """Put a released prisoner back: on its cell of arrest if free, else on a random empty cell."""
    cell = origin
    if occupant[cell] & KIND_MASK != EMPTY:
        cell = _random_cell_of(occupant, EMPTY, 64, rng)
    occupant[cell] = QUIET | flag
    hardship[cell] = h
    risk[cell] = r
    jail[cell] = 0
    if day_mark.shape[0] > 0:
        day_mark[cell] = day


@njit(cache=True, inline="always")
def exposure_weight(risk, tail):
    """A citizen's exposure ``w = (1 - a) R^(-a)`` to the price shift and the news from elsewhere, from its risk
    aversion ``R`` and the tail index ``a`` in (0, 1) (:mod:`uprising.mechanisms.exposure`): mean 1 over
    R ~ U(0, 1), Pareto tail of index 1/a. ``R = 0`` is read as the smallest positive float32."""
    if risk < 1.1754943508222875e-38:
        risk = 1.1754943508222875e-38
    return (1.0 - tail) * risk ** (-tail)


@njit(cache=True, inline="always")
def _is_active(kind):
    """Active in Epstein's sense: peaceful active or violent (both count in A and can be arrested)."""
    return kind == ACTIVE or kind == VIOLENT


@njit(cache=True, inline="always")
def _counter_of(kind):
    """The running counter of a free citizen's kind."""
    if kind == ACTIVE:
        return CT_ACTIVE
    if kind == VIOLENT:
        return CT_VIOLENT
    return CT_QUIET


@njit(cache=True)
def _attacks_in_people(people_rng, n, attack, attack_kill, return_fire):
    """What ``n`` violent people near police do in one activation, in people: each attacks with ``attack`` and an
    attack kills (``attack_kill``) or injures one of the police (a multinomial: Binomial(n, a*k) killed, then
    Binomial(n - killed, a(1-k)/(1-a*k)) injured); each attack draws fire that kills its attacker with
    ``return_fire``. Returns (security killed, security injured, attackers killed)."""
    p_die = attack * attack_kill
    died = binomial(people_rng, n, p_die)
    hurt = 0
    if p_die < 1.0:
        hurt = binomial(people_rng, n - died, attack * (1.0 - attack_kill) / (1.0 - p_die))
    return died, hurt, binomial(people_rng, died + hurt, return_fire)


@njit(cache=True, inline="always")
def _remove_agent(c, occupant, cop_seen, active_seen, rows_dy, rows_half, width, height, counters):
    """Take the agent on ``c`` off the lattice for good (killed, or a cop out of action)."""
    kind = occupant[c] & KIND_MASK
    if kind == COP:
        _field_add_hot(cop_seen, c, -1, rows_dy, rows_half, width, height)
        counters[CT_COPS] -= 1
        counters[CT_COPS_LOST] += 1
    else:
        if _is_active(kind):
            _field_add_hot(active_seen, c, -1, rows_dy, rows_half, width, height)
        counters[_counter_of(kind)] -= 1
    occupant[c] = EMPTY


@njit(cache=True, inline="always")
def _imprison(a, term, hold_cell, occupant, hardship, risk, jail, active_seen, rows_dy, rows_half, width, height,
              pool_hardship, pool_risk, pool_term, pool_origin, counters, day_mark, pool_day):
    """Jail the free citizen on ``a`` for ``term`` steps (rule C's arrest, or a detention sweep)."""
    kind = occupant[a] & KIND_MASK
    if _is_active(kind):
        _field_add_hot(active_seen, a, -1, rows_dy, rows_half, width, height)
    counters[_counter_of(kind)] -= 1
    counters[CT_JAILED] += 1
    if hold_cell:
        occupant[a] = JAILED | (occupant[a] & ACTED_BIT)
        jail[a] = term
    else:
        p = counters[CT_POOL]
        pool_hardship[p] = hardship[a]
        pool_risk[p] = risk[a]
        pool_term[p] = term
        pool_origin[p] = a
        if day_mark.shape[0] > 0:
            pool_day[p] = day_mark[a]
        counters[CT_POOL] = p + 1
        occupant[a] = EMPTY


@njit(cache=True, inline="always")
def _scan_kind(c, dy, dx, width, height, occupant, want, buf):
    """Cells within the offsets ``dy, dx`` of ``c`` holding kind ``want`` (or any active kind when
    ``want`` is ACTIVE), written to ``buf`` in offset order; returns how many."""
    y = c // width
    x = c - y * width
    m = 0
    for k in range(dy.shape[0]):
        tc = _wrap(y, x, dy[k], dx[k], width, height)
        kind = occupant[tc] & KIND_MASK
        if kind == want or (want == ACTIVE and kind == VIOLENT):
            buf[m] = tc
            m += 1
    return m


@njit(cache=True, nogil=True)
def run_steps(occupant, hardship, risk, jail, cop_seen, active_seen,
              rows_dy, rows_half, cit_dy, cit_dx, cop_dy, cop_dx, ptable,
              order, tile_order, pool_hardship, pool_risk, pool_term, pool_origin,
              ip, threshold, legitimacy, cop_target, fp, counters, rng, out, arrest_log, buf,
              people_per_agent, people_rng, people_out, day_mark, pool_day, step_day):
    """Advance one lattice ``legitimacy.shape[0]`` steps of Epstein's Model I and its extensions.

    Implements, per activated agent (Epstein 2002, p. 7244):

    * rule A: a free citizen is active iff ``G - R*P > T`` with ``G = H(1-L)`` (extended: ``G = (H + w s)(1-L)``
      plus a push ``w E``, ``w`` the exposure of :func:`exposure_weight`, 1 when ``FP_EXPOSURE`` is 0) and
      ``P = ptable[C, A]`` (see :mod:`uprising.kernels.arrest`);
    * rule C: a cop arrests one active citizen within its vision, chosen uniformly;
    * rule M: an agent moves to a uniformly random empty cell within its vision.

    ``out[t]`` receives the counts after step ``t`` (the columns ``codes.OUT_ALL_NAMES``:
    quiet, active, jailed, cops, arrests and releases during the step, then the
    extensions' counts). ``cop_target[t]`` is the number of cops wanted at the
    start of step ``t`` (a schedule), less the cops lost so far; cops are
    removed at random or added on random empty cells to meet it.

    The extensions (model docs, element 7) read ``fp[t, FP_*]`` and three switches
    of ``ip``; with ``fp`` all zeros and the switches off (``IP_ESCALATION = 0``,
    ``IP_MARK = 0``, ``IP_JAIL_CAPACITY = -1``) no extension draws a random number
    or changes a state, and the kernel is Model I exactly:

    * rule A becomes ``(H + shift)(1-L) - R*P*(1 + penalty) + external > T + T_shift``; with
      escalation on, a citizen above ``T + T_shift + margin`` is violent, and so is an active citizen of risk
      aversion ``R < FP_CORE`` (an organised violent core);
    * a citizen skips rule M with probability ``FP_STAY``;
    * a citizen is away for the step with probability ``FP_AWAY`` (at work, at home, asleep): quiet, whatever
      rule A says (one draw per citizen's rule A, only when ``FP_AWAY > 0``);
    * a violent citizen attacks a cop within its vision (probability ``FP_ATTACK``;
      killed with ``FP_ATTACK_KILL``, else injured; either way off duty) and a
      government site (``FP_SITE_ATTACK``);
    * a cop that sees active citizens leaves them be with probability ``FP_COP_IDLE``;
    * rule C's force kills its target with ``FP_KILL_VIOLENT`` or ``FP_KILL_ACTIVE``
      (and a quiet bystander within the cop's vision with ``FP_BYSTANDER``), else
      arrests it if the jail has room (injured with ``FP_INJURE``);
    * a marked quiet citizen is detained by a sweep with ``FP_SWEEP``, and any
      prisoner is released early with ``FP_RELEASE``.

    Casualties in people (super-individuals, Scheffer et al. 1995): with ``people_per_agent = m > 0`` every
    agent stands for ``m`` people, and ``people_out[t]`` (columns ``codes.PEOPLE_NAMES``) receives counts of
    people drawn from the separate stream ``people_rng`` (so the lattice's trajectory, drawn from ``rng``,
    is the same with ``m = 0``, when nothing is drawn and ``people_out`` stays zero). With ``n`` the people
    of one agent (:func:`uprising.kernels.rng.people_in`: ``floor(m)``, one more with probability
    ``m - floor(m)``):

    * each use of force (a cop picks a target) kills Binomial(n, p_kill) protesters, and, when a quiet
      citizen is within the cop's vision, Binomial(n, p_kill * FP_BYSTANDER) bystanders;
    * each arrest detains ``n`` people, of whom Binomial(n, FP_INJURE) are injured; a sweep detains ``n``;
    * each activation of a violent citizen with a cop in vision kills Binomial(n, a*k) security personnel
      and injures Binomial(n - killed, a*(1-k) / (1 - a*k)) (a multinomial), ``a = FP_ATTACK``,
      ``k = FP_ATTACK_KILL``;
    * each use of force on a violent citizen injures Binomial(n, FP_RESIST) security personnel (in people only:
      the lattice draws nothing for it);
    * an organised core among the crowd's people (``c = FP_CORE_PEOPLE > 0``; in people only, the lattice
      draws nothing for it): in each activation of a peaceful active citizen ``V ~ Binomial(n, c)`` of its
      people are violent, and attack as a violent citizen's people do (Binomial(V, a*k) security killed,
      ...); each use of force on a peaceful active citizen draws its core ``V ~ Binomial(n, c)`` and kills
      Binomial(V, FP_KILL_VIOLENT) + Binomial(n - V, FP_KILL_ACTIVE), injures Binomial(V, FP_RESIST) of the
      police, and kills Binomial(n', (c*kv + (1-c)*ka) * FP_BYSTANDER) bystanders when a quiet citizen is
      within the cop's vision;
    * each attack by a person (of a violent agent or of a core) draws fire: Binomial(attacks,
      FP_RETURN_FIRE) attackers are killed (the people killed and injured by the attacks are the attacks);
    * with ``FP_CORE_UNDETERRED`` on, the core is drawn and attacks the same way in each activation of a quiet
      citizen whose grievance clears the threshold (``G + E > T``) but whom the risk of arrest keeps quiet: the
      organised are not deterred (they are not on the lattice, so no cop uses force on them);
    * ``people_out[t, PEOPLE_VIOLENT]`` counts the people violent in their activation of step ``t``: ``n`` of
      a violent citizen, ``V`` of a peaceful active one.

    Each has the expectation of the agent count times ``m``. Whether an agent leaves the lattice keeps the
    rules above (drawn from ``rng``).

    Participants (with the counts in people on and ``day_mark`` one entry per cell, ``pool_day`` one per pool
    slot): ``day_mark`` holds, for each citizen (it travels with it, into and out of jail), ``1 +`` the last
    day on which its activation left it active or violent (0: never); ``step_day[s]`` is the day of global
    step ``s``. A citizen whose activation leaves it active or violent on a day it is not yet marked for is
    marked, and ``n`` people are added to ``people_out[t, PEOPLE_PARTICIPANTS]``: summed over a day's steps,
    the people active or violent at some hour of that day.

    Notes
    -----
    Every agent on the lattice at the start of a step is activated exactly once:
    the order runs over cells, and the high bit of ``occupant`` marks an agent
    that has acted (its meaning alternates between steps, so it never needs
    clearing). An agent can only move during its own activation, so the order
    of activation over agents is the order of their starting cells.
    """
    width = ip[IP_WIDTH]
    height = ip[IP_HEIGHT]
    movement = ip[IP_MOVEMENT] == 1
    cop_movement = ip[IP_COP_MOVEMENT] == 1
    move_first = ip[IP_MOVE_FIRST] == 1
    own_cell = ip[IP_OWN_CELL]
    cop_to_arrestee = ip[IP_COP_TO_ARRESTEE] == 1
    hold_cell = ip[IP_HOLD_CELL] == 1
    countdown_own = ip[IP_COUNTDOWN_OWN] == 1
    jail_rule = ip[IP_JAIL_TERM]
    max_jail = ip[IP_MAX_JAIL]
    activation = ip[IP_ACTIVATION]
    tile = ip[IP_TILE]
    same_shape = ip[IP_SAME_SHAPE] == 1
    escalation = ip[IP_ESCALATION] == 1
    mark = MARK_BIT if ip[IP_MARK] == 1 else 0
    jail_cap = ip[IP_JAIL_CAPACITY]
    n_cells = occupant.shape[0]
    log_cap = arrest_log.shape[0]
    max_a = ptable.shape[1] - 1
    use_prefetch = n_cells >= PREFETCH_MIN_CELLS
    people = people_per_agent > 0.0
    track = people and day_mark.shape[0] > 0

    for t in range(legitimacy.shape[0]):
        step = counters[CT_STEP]
        flag = ACTED_BIT if (step & 1) == 1 else 0
        not_acted = ACTED_BIT - flag
        one_minus_l = 1.0 - legitimacy[t]
        h_shift = fp[t, FP_HARDSHIP_SHIFT]
        external = fp[t, FP_EXTERNAL]
        t_eff = threshold + fp[t, FP_THRESHOLD_SHIFT]
        stay = fp[t, FP_STAY]
        violent_above = t_eff + fp[t, FP_VIOLENCE_MARGIN]
        kill_violent = fp[t, FP_KILL_VIOLENT]
        kill_active = fp[t, FP_KILL_ACTIVE]
        injure = fp[t, FP_INJURE]
        bystander = fp[t, FP_BYSTANDER]
        attack = fp[t, FP_ATTACK]
        attack_kill = fp[t, FP_ATTACK_KILL]
        site_attack = fp[t, FP_SITE_ATTACK]
        sweep = fp[t, FP_SWEEP]
        release = fp[t, FP_RELEASE]
        risk_factor = 1.0 + fp[t, FP_PENALTY]
        idle = fp[t, FP_COP_IDLE]
        exposure_tail = fp[t, FP_EXPOSURE]
        exposure_max = fp[t, FP_EXPOSURE_MAX]
        resist = fp[t, FP_RESIST]
        core = fp[t, FP_CORE]
        core_people = fp[t, FP_CORE_PEOPLE] if people else 0.0
        return_fire = fp[t, FP_RETURN_FIRE] if people else 0.0
        undeterred = core_people > 0.0 and fp[t, FP_CORE_UNDETERRED] > 0.0
        away = fp[t, FP_AWAY]
        arrests = 0
        releases = 0
        killed_protesters = 0
        killed_bystanders = 0
        killed_security = 0
        injured_security = 0
        injured_protesters = 0
        site_attacks = 0
        swept = 0
        refused = 0
        p_killed_protesters = 0
        p_killed_bystanders = 0
        p_killed_security = 0
        p_injured_security = 0
        p_injured_protesters = 0
        p_arrests = 0
        p_swept = 0
        p_participants = 0
        p_violent = 0
        today = step_day[step] + 1 if track else 0

        # cop schedule (Epstein Run 5): remove at random or add on random empty cells; lost cops are not replaced
        target = max(cop_target[t] - counters[CT_COPS_LOST], 0)  # more lost than wanted: none left
        while counters[CT_COPS] > target:
            c = _random_cell_of(occupant, COP, 256, rng)
            field_add(cop_seen, c, -1, rows_dy, rows_half, width, height)
            occupant[c] = EMPTY
            counters[CT_COPS] -= 1
        while counters[CT_COPS] < target:
            # keep one empty cell for every prisoner off the lattice, so each can come back
            on_lattice = (counters[CT_QUIET] + counters[CT_ACTIVE] + counters[CT_VIOLENT] + counters[CT_JAILED]
                          - counters[CT_POOL])
            if n_cells - on_lattice - counters[CT_COPS] <= counters[CT_POOL]:
                break
            c = _random_cell_of(occupant, EMPTY, 64, rng)
            if c < 0:
                break
            occupant[c] = COP | not_acted
            field_add(cop_seen, c, 1, rows_dy, rows_half, width, height)
            counters[CT_COPS] += 1

        _fill_order(order, tile_order, activation, tile, width, height, rng)

        for i in range(n_cells):
            if use_prefetch and i + PREFETCH_AHEAD < n_cells:
                ahead = order[i + PREFETCH_AHEAD]
                prefetch(occupant, ahead)
                prefetch(hardship, ahead)
                prefetch(risk, ahead)
                prefetch(cop_seen, ahead)
                prefetch(active_seen, ahead)
            c = order[i]
            v = occupant[c]
            kind = v & KIND_MASK
            if kind == EMPTY or (v & ACTED_BIT) == flag:
                continue

            if kind == JAILED:
                if not countdown_own:
                    occupant[c] = JAILED | flag
                    continue
                term = jail[c]
                if term != 0 and not (release > 0.0 and uniform(rng) < release):
                    if term > 0:
                        jail[c] = term - 1
                    occupant[c] = JAILED | flag
                    continue
                # term served (or released early): released, and acts in this same activation (Mesa)
                kind = QUIET
                counters[CT_JAILED] -= 1
                counters[CT_QUIET] += 1
                releases += 1
            elif kind == QUIET and sweep > 0.0 and (v & MARK_BIT) != 0 and uniform(rng) < sweep:
                # detention sweep: a citizen who has been active is picked up, if the jail has room
                if jail_cap >= 0 and counters[CT_JAILED] >= jail_cap:
                    refused += 1
                else:
                    term = _draw_term(jail_rule, max_jail, rng)
                    _imprison(c, term, hold_cell, occupant, hardship, risk, jail, active_seen, rows_dy, rows_half,
                              width, height, pool_hardship, pool_risk, pool_term, pool_origin, counters, day_mark,
                              pool_day)
                    if hold_cell:
                        occupant[c] = JAILED | flag
                    swept += 1
                    if people:
                        p_swept += people_in(people_rng, people_per_agent)
                    continue
            occupant[c] = kind | flag | (v & MARK_BIT)
            is_cop = kind == COP
            # three slots: rule M (if move first), rule C or A, rule M (if act first)
            for slot in range(3):
                if slot != 1:
                    if (cop_movement if is_cop else movement) and (slot == 0) == move_first:
                        if is_cop or stay <= 0.0 or uniform(rng) >= stay:
                            c = _move(c, cop_dy if is_cop else cit_dy, cop_dx if is_cop else cit_dx, occupant,
                                      hardship, risk, cop_seen, active_seen, rows_dy, rows_half, width, height,
                                      rng, buf, day_mark)
                    continue
                if is_cop:
                    # rule C
                    if same_shape and active_seen[c] == 0:
                        continue
                    m = _scan_kind(c, cop_dy, cop_dx, width, height, occupant, ACTIVE, buf)
                    if m == 0 or (idle > 0.0 and uniform(rng) < idle):
                        continue
                    a = buf[bounded(rng, m)]
                    kill = kill_violent if occupant[a] & KIND_MASK == VIOLENT else kill_active
                    if core_people > 0.0 and occupant[a] & KIND_MASK == ACTIVE:
                        # force on a crowd with an organised core among its people: the core resists and is
                        # met as the violent are, the rest as the peaceful
                        n_people = people_in(people_rng, people_per_agent)
                        n_core = binomial(people_rng, n_people, core_people)
                        if resist > 0.0:
                            p_injured_security += binomial(people_rng, n_core, resist)
                        p_killed_protesters += binomial(people_rng, n_core, kill_violent)
                        p_killed_protesters += binomial(people_rng, n_people - n_core, kill_active)
                        kill_mixed = core_people * kill_violent + (1.0 - core_people) * kill_active
                        if bystander > 0.0 and kill_mixed > 0.0 and _scan_kind(c, cop_dy, cop_dx, width, height,
                                                                             occupant, QUIET, buf) > 0:
                            p_killed_bystanders += binomial(people_rng, people_in(people_rng, people_per_agent),
                                                            kill_mixed * bystander)
                    else:
                        if people and resist > 0.0 and occupant[a] & KIND_MASK == VIOLENT:
                            # the violent resist: security personnel injured in this confrontation
                            p_injured_security += binomial(people_rng, people_in(people_rng, people_per_agent),
                                                           resist)
                        if people and kill > 0.0:
                            # people killed by this use of force, whatever happens to the agent
                            p_killed_protesters += binomial(people_rng, people_in(people_rng, people_per_agent),
                                                            kill)
                            if bystander > 0.0 and _scan_kind(c, cop_dy, cop_dx, width, height, occupant, QUIET,
                                                              buf) > 0:
                                p_killed_bystanders += binomial(people_rng,
                                                                people_in(people_rng, people_per_agent),
                                                                kill * bystander)
                    if kill > 0.0 and uniform(rng) < kill:
                        # lethal force
                        _remove_agent(a, occupant, cop_seen, active_seen, rows_dy, rows_half, width, height,
                                      counters)
                        killed_protesters += 1
                        if bystander > 0.0 and uniform(rng) < bystander:
                            m = _scan_kind(c, cop_dy, cop_dx, width, height, occupant, QUIET, buf)
                            if m > 0:
                                _remove_agent(buf[bounded(rng, m)], occupant, cop_seen, active_seen, rows_dy,
                                              rows_half, width, height, counters)
                                killed_bystanders += 1
                        continue
                    if jail_cap >= 0 and counters[CT_JAILED] >= jail_cap:
                        refused += 1
                        continue
                    if injure > 0.0 and uniform(rng) < injure:
                        injured_protesters += 1
                    if people:
                        n_people = people_in(people_rng, people_per_agent)
                        p_arrests += n_people
                        p_injured_protesters += binomial(people_rng, n_people, injure)
                    term = _draw_term(jail_rule, max_jail, rng)
                    arrests += 1
                    if counters[CT_LOG] < log_cap:
                        row = counters[CT_LOG]
                        arrest_log[row, 0] = step
                        arrest_log[row, 1] = c
                        arrest_log[row, 2] = a
                        arrest_log[row, 3] = term
                        counters[CT_LOG] += 1
                    _imprison(a, term, hold_cell, occupant, hardship, risk, jail, active_seen, rows_dy, rows_half,
                              width, height, pool_hardship, pool_risk, pool_term, pool_origin, counters, day_mark,
                              pool_day)
                    if not hold_cell and cop_to_arrestee:
                        occupant[a] = occupant[c]
                        occupant[c] = EMPTY
                        field_add(cop_seen, c, -1, rows_dy, rows_half, width, height)
                        field_add(cop_seen, a, 1, rows_dy, rows_half, width, height)
                        c = a
                    continue
                # rule A
                if exposure_tail > 0.0:
                    w = exposure_weight(np.float64(risk[c]), exposure_tail)
                    if exposure_max > 0.0 and w > exposure_max:
                        w = exposure_max
                    g = (np.float64(hardship[c]) + h_shift * w) * one_minus_l
                    ext_c = external * w
                else:
                    g = (np.float64(hardship[c]) + h_shift) * one_minus_l
                    ext_c = external
                new_kind = QUIET
                # away for this hour (FP_AWAY): quiet, and rule A is not weighed
                aggrieved = not (away > 0.0 and uniform(rng) < away) and g + ext_c > t_eff
                if aggrieved:
                    self_active = 1 if _is_active(kind) else 0
                    n_a = 1 + active_seen[c] - self_active + own_cell * self_active
                    if n_a > max_a:
                        n_a = max_a
                    p_arrest = ptable[cop_seen[c], n_a]
                    net = g - np.float64(risk[c]) * p_arrest * risk_factor + ext_c
                    if net > t_eff:
                        new_kind = ACTIVE
                        if escalation and (net > violent_above or np.float64(risk[c]) < core):
                            new_kind = VIOLENT
                if new_kind != kind:
                    was = _is_active(kind)
                    now = new_kind != QUIET
                    occupant[c] = new_kind | flag | (occupant[c] & MARK_BIT) | (mark if now else 0)
                    if was != now:
                        _field_add_hot(active_seen, c, 1 if now else -1, rows_dy, rows_half, width, height)
                    counters[_counter_of(kind)] -= 1
                    counters[_counter_of(new_kind)] += 1
                    kind = new_kind
                if track and kind != QUIET and day_mark[c] != today:
                    # a participant of today (Prosecutor General's count: people out at some hour of the day)
                    day_mark[c] = today
                    p_participants += people_in(people_rng, people_per_agent)
                if core_people > 0.0 and (kind == ACTIVE or (undeterred and kind == QUIET and aggrieved)):
                    # the organised core among this crowd's people (or, undeterred, among the people whom only the
                    # risk of arrest keeps at home): violent for this hour, and attacking
                    n_core = binomial(people_rng, people_in(people_rng, people_per_agent), core_people)
                    p_violent += n_core
                    if attack > 0.0 and n_core > 0 and cop_seen[c] > 0:
                        died, hurt, fired = _attacks_in_people(people_rng, n_core, attack, attack_kill, return_fire)
                        p_killed_security += died
                        p_injured_security += hurt
                        p_killed_protesters += fired
                if kind == VIOLENT:
                    if people:
                        n_people = people_in(people_rng, people_per_agent)
                        p_violent += n_people
                        if attack > 0.0 and cop_seen[c] > 0:
                            # this violent citizen's people attack the police in view, and draw their fire
                            died, hurt, fired = _attacks_in_people(people_rng, n_people, attack, attack_kill,
                                                                   return_fire)
                            p_killed_security += died
                            p_injured_security += hurt
                            p_killed_protesters += fired
                    # escalation: attack a cop within vision, and a government site
                    if attack > 0.0 and cop_seen[c] > 0 and uniform(rng) < attack:
                        m = _scan_kind(c, cit_dy, cit_dx, width, height, occupant, COP, buf)
                        if m > 0:
                            victim = buf[bounded(rng, m)]
                            if attack_kill > 0.0 and uniform(rng) < attack_kill:
                                killed_security += 1
                            else:
                                injured_security += 1
                            _remove_agent(victim, occupant, cop_seen, active_seen, rows_dy, rows_half, width,
                                          height, counters)
                    if site_attack > 0.0 and uniform(rng) < site_attack:
                        site_attacks += 1

        # jail countdown at the end of the step (NetLogo), and early releases
        if not countdown_own:
            if hold_cell:
                for c in range(n_cells):
                    if occupant[c] & KIND_MASK == JAILED:
                        term = jail[c]
                        if not (release > 0.0 and uniform(rng) < release):
                            if term < 0:
                                continue
                            term -= 1
                            if term > 0:
                                jail[c] = term
                                continue
                        occupant[c] = QUIET | (occupant[c] & ACTED_BIT)
                        jail[c] = 0
                        counters[CT_JAILED] -= 1
                        counters[CT_QUIET] += 1
                        releases += 1
            else:
                p = 0
                while p < counters[CT_POOL]:
                    if not (release > 0.0 and uniform(rng) < release):
                        term = pool_term[p]
                        if term < 0:
                            p += 1
                            continue
                        term -= 1
                        if term > 0:
                            pool_term[p] = term
                            p += 1
                            continue
                    _place_released(pool_origin[p], pool_hardship[p], pool_risk[p],
                                    occupant, hardship, risk, jail, flag, rng, day_mark,
                                    pool_day[p] if track else 0)
                    last = counters[CT_POOL] - 1
                    pool_hardship[p] = pool_hardship[last]
                    pool_risk[p] = pool_risk[last]
                    pool_term[p] = pool_term[last]
                    pool_origin[p] = pool_origin[last]
                    if track:
                        pool_day[p] = pool_day[last]
                    counters[CT_POOL] = last
                    counters[CT_JAILED] -= 1
                    counters[CT_QUIET] += 1
                    releases += 1

        out[t, OUT_QUIET] = counters[CT_QUIET]
        out[t, OUT_ACTIVE] = counters[CT_ACTIVE]
        out[t, OUT_JAILED] = counters[CT_JAILED]
        out[t, OUT_COPS] = counters[CT_COPS]
        out[t, OUT_ARRESTS] = arrests
        out[t, OUT_RELEASES] = releases
        out[t, OUT_VIOLENT] = counters[CT_VIOLENT]
        out[t, OUT_KILLED_PROTESTERS] = killed_protesters
        out[t, OUT_KILLED_BYSTANDERS] = killed_bystanders
        out[t, OUT_KILLED_SECURITY] = killed_security
        out[t, OUT_INJURED_SECURITY] = injured_security
        out[t, OUT_INJURED_PROTESTERS] = injured_protesters
        out[t, OUT_SITE_ATTACKS] = site_attacks
        out[t, OUT_SWEPT] = swept
        out[t, OUT_REFUSED] = refused
        people_out[t, PEOPLE_KILLED_PROTESTERS] = p_killed_protesters
        people_out[t, PEOPLE_KILLED_BYSTANDERS] = p_killed_bystanders
        people_out[t, PEOPLE_KILLED_SECURITY] = p_killed_security
        people_out[t, PEOPLE_INJURED_SECURITY] = p_injured_security
        people_out[t, PEOPLE_INJURED_PROTESTERS] = p_injured_protesters
        people_out[t, PEOPLE_ARRESTS] = p_arrests
        people_out[t, PEOPLE_SWEPT] = p_swept
        people_out[t, PEOPLE_PARTICIPANTS] = p_participants
        people_out[t, PEOPLE_VIOLENT] = p_violent
        counters[CT_STEP] = step + 1
