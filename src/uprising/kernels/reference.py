"""Plain-Python reference twin of :func:`uprising.kernels.lattice.run_steps`, extensions included.

Written for clarity, not speed: it keeps no count fields and instead counts cops
and actives by scanning each agent's neighbourhood when it decides, exactly as
the rules are stated (Epstein 2002). It draws random numbers in the same order
as the kernel, so on the same inputs both must produce identical states; the
tests hold them to that on small lattices under every switch.
"""

from __future__ import annotations

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
    FP_CORE,
    FP_CORE_PEOPLE,
    FP_AWAY,
    FP_CORE_UNDETERRED,
    FP_RETURN_FIRE,
    FP_EXPOSURE,
    FP_EXPOSURE_MAX,
    FP_EXTERNAL,
    FP_HARDSHIP_SHIFT,
    FP_INJURE,
    FP_KILL_ACTIVE,
    FP_KILL_VIOLENT,
    FP_PENALTY,
    FP_RESIST,
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
    IP_TILE,
    IP_WIDTH,
    JAIL_FIXED,
    JAIL_UNIFORM_INCLUSIVE,
    JAILED,
    KIND_MASK,
    MARK_BIT,
    MOVE_TRIES,
    OUT_ALL_NAMES,
    PEOPLE_NAMES,
    QUIET,
    VIOLENT,
)
from .rng import binomial_py, bounded_py, people_in_py, uniform_py


class _Lattice:
    def __init__(self, width, height, occupant, hardship, risk, jail):
        self.w = width
        self.h = height
        self.occ = occupant
        self.hard = hardship
        self.risk = risk
        self.jail = jail
        self.day = None  # the participants' day marks (a per-cell array), when they are counted

    def at(self, c, dy, dx):
        y, x = divmod(c, self.w)
        return ((y + dy) % self.h) * self.w + (x + dx) % self.w

    def kind(self, c):
        return self.occ[c] & KIND_MASK

    def around(self, c, offsets, kinds):
        """Cells within ``offsets`` of ``c`` whose kind is in ``kinds``, in offset order."""
        return [self.at(c, dy, dx) for dy, dx in offsets if self.kind(self.at(c, dy, dx)) in kinds]


def exposure_weight_py(risk: float, tail: float) -> float:
    """Twin of :func:`uprising.kernels.lattice.exposure_weight`: ``w = (1 - a) R^(-a)``, ``R`` floored at the
    smallest positive float32."""
    if risk < 1.1754943508222875e-38:
        risk = 1.1754943508222875e-38
    return (1.0 - tail) * risk ** (-tail)


def _move(lat, c, offsets, s):
    n = len(offsets)
    target = -1
    for _ in range(MOVE_TRIES):
        dy, dx = offsets[bounded_py(s, n)]
        t = lat.at(c, dy, dx)
        if lat.kind(t) == EMPTY:
            target = t
            break
    if target < 0:
        empties = [lat.at(c, dy, dx) for dy, dx in offsets if lat.kind(lat.at(c, dy, dx)) == EMPTY]
        if not empties:
            return c
        target = empties[bounded_py(s, len(empties))]
    lat.occ[target] = lat.occ[c]
    lat.occ[c] = EMPTY
    if lat.kind(target) != COP:
        lat.hard[target] = lat.hard[c]
        lat.risk[target] = lat.risk[c]
        if lat.day is not None:
            lat.day[target] = lat.day[c]
    return target


def _random_cell_of(lat, kind, tries, s):
    n = len(lat.occ)
    for _ in range(tries):
        t = bounded_py(s, n)
        if lat.kind(t) == kind:
            return t
    cells = [t for t in range(n) if lat.kind(t) == kind]
    if not cells:
        return -1
    return cells[bounded_py(s, len(cells))]


def _draw_term(rule, max_jail, s):
    if max_jail < 0:
        return -1
    if rule == JAIL_FIXED:
        return max_jail
    if rule == JAIL_UNIFORM_INCLUSIVE:
        return bounded_py(s, max_jail + 1)
    return bounded_py(s, max_jail) if max_jail > 0 else 0


def _shuffle(seq, lo, hi, s):
    """Fisher-Yates on ``seq[lo:hi]`` in place, from the top down."""
    for k in range(hi - 1, lo, -1):
        j = lo + bounded_py(s, k - lo + 1)
        seq[k], seq[j] = seq[j], seq[k]


_ACTIVE_KINDS = (ACTIVE, VIOLENT)
_COUNTER = {QUIET: CT_QUIET, ACTIVE: CT_ACTIVE, VIOLENT: CT_VIOLENT}


def run_steps_reference(occupant, hardship, risk, jail, cit_offsets, cop_offsets, vision_offsets,
                        ptable, order, tile_order, pool, ip, threshold, legitimacy, cop_target, fp,
                        counters, rng, out, arrest_log, people_per_agent=0.0, people_rng=None, people_out=None,
                        day_mark=None, step_day=None):
    """Twin of ``run_steps``; arrays are mutated in place, ``pool`` is a list of
    ``[hardship, risk, term, origin]`` and ``rng`` a list of four ints.

    ``vision_offsets`` is the citizen neighbourhood *with* its centre, used to count
    ``C`` and ``A`` directly; ``cit_offsets``/``cop_offsets`` exclude the centre.
    ``fp`` holds the extensions' per-step inputs, ``out`` gets ``codes.OUT_ALL_NAMES``.
    With ``people_per_agent > 0``, ``people_out`` gets ``codes.PEOPLE_NAMES`` in people, drawn from
    ``people_rng`` (a list of four ints) as the kernel does; with ``day_mark`` (one entry per cell) and
    ``step_day`` too, the participants. ``pool`` entries then carry the prisoner's day mark as a fifth item.
    """
    w, h = int(ip[IP_WIDTH]), int(ip[IP_HEIGHT])
    lat = _Lattice(w, h, occupant, hardship, risk, jail)
    movement = ip[IP_MOVEMENT] == 1
    cop_movement = ip[IP_COP_MOVEMENT] == 1
    move_first = ip[IP_MOVE_FIRST] == 1
    own_cell = int(ip[IP_OWN_CELL])
    cop_to_arrestee = ip[IP_COP_TO_ARRESTEE] == 1
    hold_cell = ip[IP_HOLD_CELL] == 1
    countdown_own = ip[IP_COUNTDOWN_OWN] == 1
    jail_rule = int(ip[IP_JAIL_TERM])
    max_jail = int(ip[IP_MAX_JAIL])
    tile = int(ip[IP_TILE])
    escalation = ip[IP_ESCALATION] == 1
    mark = MARK_BIT if ip[IP_MARK] == 1 else 0
    jail_cap = int(ip[IP_JAIL_CAPACITY])
    max_a = ptable.shape[1] - 1
    s = rng
    m_people = float(people_per_agent)
    people = m_people > 0.0
    s2 = people_rng
    track = people and day_mark is not None and len(day_mark) > 0
    if track:
        lat.day = day_mark

    def people_in():
        return people_in_py(s2, m_people)

    def chance(p):
        """A Bernoulli draw that draws nothing when the probability is 0 (as the kernel)."""
        return p > 0.0 and uniform_py(s) < p

    def jail_full():
        return jail_cap >= 0 and counters[CT_JAILED] >= jail_cap

    def remove(c):
        kind = lat.kind(c)
        if kind == COP:
            counters[CT_COPS] -= 1
            counters[CT_COPS_LOST] += 1
        else:
            counters[_COUNTER[kind]] -= 1
        occupant[c] = EMPTY

    def imprison(a, term):
        counters[_COUNTER[lat.kind(a)]] -= 1
        counters[CT_JAILED] += 1
        if hold_cell:
            occupant[a] = JAILED | (int(occupant[a]) & ACTED_BIT)
            jail[a] = term
        else:
            pool.append([hardship[a], risk[a], term, a, int(day_mark[a]) if track else 0])
            occupant[a] = EMPTY

    for t in range(len(legitimacy)):
        step = int(counters[CT_STEP])
        flag = ACTED_BIT if step % 2 == 1 else 0
        not_acted = ACTED_BIT - flag
        one_minus_l = 1.0 - float(legitimacy[t])
        f = [float(x) for x in fp[t]]
        t_eff = threshold + f[FP_THRESHOLD_SHIFT]
        n = dict.fromkeys(OUT_ALL_NAMES, 0)
        np_ = dict.fromkeys(PEOPLE_NAMES, 0)
        core_people = f[FP_CORE_PEOPLE] if people else 0.0
        return_fire = f[FP_RETURN_FIRE] if people else 0.0
        undeterred = core_people > 0.0 and f[FP_CORE_UNDETERRED] > 0.0

        def attacks_in_people(k):
            """Twin of lattice._attacks_in_people: k violent people attack the police in view and draw fire."""
            p_die = f[FP_ATTACK] * f[FP_ATTACK_KILL]
            died = binomial_py(s2, k, p_die)
            hurt = 0
            if p_die < 1.0:
                hurt = binomial_py(s2, k - died, f[FP_ATTACK] * (1.0 - f[FP_ATTACK_KILL]) / (1.0 - p_die))
            np_["killed_security"] += died
            np_["injured_security"] += hurt
            np_["killed_protesters"] += binomial_py(s2, died + hurt, return_fire)  # the police fire back
        today = int(step_day[step]) + 1 if track else 0

        target = max(cop_target[t] - counters[CT_COPS_LOST], 0)
        while counters[CT_COPS] > target:
            c = _random_cell_of(lat, COP, 256, s)
            occupant[c] = EMPTY
            counters[CT_COPS] -= 1
        while counters[CT_COPS] < target:
            on_lattice = (counters[CT_QUIET] + counters[CT_ACTIVE] + counters[CT_VIOLENT] + counters[CT_JAILED]
                          - len(pool))
            if len(occupant) - on_lattice - counters[CT_COPS] <= len(pool):
                break
            c = _random_cell_of(lat, EMPTY, 64, s)
            if c < 0:
                break
            occupant[c] = COP | not_acted
            counters[CT_COPS] += 1

        if ip[IP_ACTIVATION] == ACT_TILED:
            _shuffle(tile_order, 0, len(tile_order), s)
            ntx = -(-w // tile)
            pos = 0
            for tile_id in list(tile_order):
                ty, tx = divmod(int(tile_id), ntx)
                start = pos
                for y in range(ty * tile, min((ty + 1) * tile, h)):
                    for x in range(tx * tile, min((tx + 1) * tile, w)):
                        order[pos] = y * w + x
                        pos += 1
                _shuffle(order, start, pos, s)
        else:
            _shuffle(order, 0, len(order), s)

        for i in range(len(order)):
            c = int(order[i])
            v = int(occupant[c])
            kind = v & KIND_MASK
            if kind == EMPTY or (v & ACTED_BIT) == flag:
                continue
            if kind == COP:
                occupant[c] = COP | flag
                if cop_movement and move_first:
                    c = _move(lat, c, cop_offsets, s)
                actives = lat.around(c, cop_offsets, _ACTIVE_KINDS)
                if actives and not chance(f[FP_COP_IDLE]):
                    a = actives[bounded_py(s, len(actives))]
                    kill = f[FP_KILL_VIOLENT] if lat.kind(a) == VIOLENT else f[FP_KILL_ACTIVE]
                    if core_people > 0.0 and lat.kind(a) == ACTIVE:
                        # the organised core among the crowd's people is met as the violent, the rest as the peaceful
                        n_people = people_in()
                        n_core = binomial_py(s2, n_people, core_people)
                        if f[FP_RESIST] > 0.0:
                            np_["injured_security"] += binomial_py(s2, n_core, f[FP_RESIST])
                        np_["killed_protesters"] += binomial_py(s2, n_core, f[FP_KILL_VIOLENT])
                        np_["killed_protesters"] += binomial_py(s2, n_people - n_core, f[FP_KILL_ACTIVE])
                        kill_mixed = core_people * f[FP_KILL_VIOLENT] + (1.0 - core_people) * f[FP_KILL_ACTIVE]
                        if f[FP_BYSTANDER] > 0.0 and kill_mixed > 0.0 and lat.around(c, cop_offsets, (QUIET,)):
                            np_["killed_bystanders"] += binomial_py(s2, people_in(), kill_mixed * f[FP_BYSTANDER])
                    else:
                        if people and f[FP_RESIST] > 0.0 and lat.kind(a) == VIOLENT:
                            np_["injured_security"] += binomial_py(s2, people_in(), f[FP_RESIST])
                        if people and kill > 0.0:
                            np_["killed_protesters"] += binomial_py(s2, people_in(), kill)
                            if f[FP_BYSTANDER] > 0.0 and lat.around(c, cop_offsets, (QUIET,)):
                                np_["killed_bystanders"] += binomial_py(s2, people_in(), kill * f[FP_BYSTANDER])
                    if chance(kill):
                        remove(a)
                        n["killed_protesters"] += 1
                        if chance(f[FP_BYSTANDER]):
                            quiet = lat.around(c, cop_offsets, (QUIET,))
                            if quiet:
                                remove(quiet[bounded_py(s, len(quiet))])
                                n["killed_bystanders"] += 1
                    elif jail_full():
                        n["refused"] += 1
                    else:
                        if chance(f[FP_INJURE]):
                            n["injured_protesters"] += 1
                        if people:
                            n_people = people_in()
                            np_["arrests"] += n_people
                            np_["injured_protesters"] += binomial_py(s2, n_people, f[FP_INJURE])
                        term = _draw_term(jail_rule, max_jail, s)
                        n["arrests"] += 1
                        if counters[CT_LOG] < arrest_log.shape[0]:
                            arrest_log[counters[CT_LOG]] = (step, c, a, term)
                            counters[CT_LOG] += 1
                        imprison(a, term)
                        if not hold_cell and cop_to_arrestee:
                            occupant[a] = occupant[c]
                            occupant[c] = EMPTY
                            c = a
                if cop_movement and not move_first:
                    _move(lat, c, cop_offsets, s)
                continue

            if kind == JAILED:
                if not countdown_own:
                    occupant[c] = JAILED | flag
                    continue
                term = int(jail[c])
                if term != 0 and not chance(f[FP_RELEASE]):
                    if term > 0:
                        jail[c] = term - 1
                    occupant[c] = JAILED | flag
                    continue
                kind = QUIET
                counters[CT_JAILED] -= 1
                counters[CT_QUIET] += 1
                n["releases"] += 1
            elif kind == QUIET and v & MARK_BIT and chance(f[FP_SWEEP]):
                if jail_full():
                    n["refused"] += 1
                else:
                    imprison(c, _draw_term(jail_rule, max_jail, s))
                    if hold_cell:
                        occupant[c] = JAILED | flag
                    n["swept"] += 1
                    if people:
                        np_["swept"] += people_in()
                    continue
            occupant[c] = kind | flag | (v & MARK_BIT)

            def maybe_move(c):
                if f[FP_STAY] > 0.0 and uniform_py(s) < f[FP_STAY]:
                    return c
                return _move(lat, c, cit_offsets, s)

            if movement and move_first:
                c = maybe_move(c)
            if f[FP_EXPOSURE] > 0.0:
                weight = exposure_weight_py(float(risk[c]), f[FP_EXPOSURE])
                if f[FP_EXPOSURE_MAX] > 0.0 and weight > f[FP_EXPOSURE_MAX]:
                    weight = f[FP_EXPOSURE_MAX]
                g = (float(hardship[c]) + f[FP_HARDSHIP_SHIFT] * weight) * one_minus_l
                ext = f[FP_EXTERNAL] * weight
            else:
                g = (float(hardship[c]) + f[FP_HARDSHIP_SHIFT]) * one_minus_l
                ext = f[FP_EXTERNAL]
            new_kind = QUIET
            away = chance(f[FP_AWAY])  # away for the hour (at work, at home, asleep): rule A not weighed
            aggrieved = not away and g + ext > t_eff
            if aggrieved:
                cops = actives = 0
                for dy, dx in vision_offsets:
                    k2 = lat.kind(lat.at(c, dy, dx))
                    if k2 == COP:
                        cops += 1
                    elif k2 in _ACTIVE_KINDS and (dy, dx) != (0, 0):
                        actives += 1
                self_active = 1 if kind in _ACTIVE_KINDS else 0
                n_a = min(1 + actives + own_cell * self_active, max_a)
                net = g - float(risk[c]) * float(ptable[cops, n_a]) * (1.0 + f[FP_PENALTY]) + ext
                if net > t_eff:
                    violent = net > t_eff + f[FP_VIOLENCE_MARGIN] or float(risk[c]) < f[FP_CORE]
                    new_kind = VIOLENT if escalation and violent else ACTIVE
            if new_kind != kind:
                counters[_COUNTER[kind]] -= 1
                counters[_COUNTER[new_kind]] += 1
                occupant[c] = new_kind | flag | (int(occupant[c]) & MARK_BIT) | (mark if new_kind != QUIET else 0)
                kind = new_kind
            if track and kind != QUIET and day_mark[c] != today:
                day_mark[c] = today
                np_["participants"] += people_in()
            if core_people > 0.0 and (kind == ACTIVE or (undeterred and kind == QUIET and aggrieved)):
                # the organised core among this crowd's people (or, undeterred, among those kept home by the risk)
                n_core = binomial_py(s2, people_in(), core_people)
                np_["violent_people"] += n_core
                if f[FP_ATTACK] > 0.0 and n_core > 0 and lat.around(c, cit_offsets, (COP,)):
                    attacks_in_people(n_core)
            if kind == VIOLENT:
                n_people = people_in() if people else 0
                np_["violent_people"] += n_people
                if f[FP_ATTACK] > 0.0:
                    cops_near = lat.around(c, cit_offsets, (COP,))
                    if people and cops_near:
                        attacks_in_people(n_people)
                    if cops_near and uniform_py(s) < f[FP_ATTACK]:
                        victim = cops_near[bounded_py(s, len(cops_near))]
                        n["killed_security" if chance(f[FP_ATTACK_KILL]) else "injured_security"] += 1
                        remove(victim)
                if chance(f[FP_SITE_ATTACK]):
                    n["site_attacks"] += 1
            if movement and not move_first:
                maybe_move(c)

        if not countdown_own:
            if hold_cell:
                for c in range(len(occupant)):
                    if lat.kind(c) == JAILED:
                        term = int(jail[c])
                        if not chance(f[FP_RELEASE]):
                            if term < 0:
                                continue
                            term -= 1
                            if term > 0:
                                jail[c] = term
                                continue
                        occupant[c] = QUIET | (int(occupant[c]) & ACTED_BIT)
                        jail[c] = 0
                        counters[CT_JAILED] -= 1
                        counters[CT_QUIET] += 1
                        n["releases"] += 1
            else:
                p = 0
                while p < len(pool):
                    entry = pool[p]
                    if not chance(f[FP_RELEASE]):
                        if entry[2] < 0:
                            p += 1
                            continue
                        entry[2] -= 1
                        if entry[2] > 0:
                            p += 1
                            continue
                    hh, rr, _, origin, dd = entry
                    cell = origin
                    if lat.kind(cell) != EMPTY:
                        cell = _random_cell_of(lat, EMPTY, 64, s)
                    occupant[cell] = QUIET | flag
                    hardship[cell] = hh
                    risk[cell] = rr
                    jail[cell] = 0
                    if track:
                        day_mark[cell] = dd
                    pool[p] = pool[-1]
                    pool.pop()
                    counters[CT_JAILED] -= 1
                    counters[CT_QUIET] += 1
                    n["releases"] += 1
            counters[CT_POOL] = len(pool)

        n.update(quiet=counters[CT_QUIET], active=counters[CT_ACTIVE], jailed=counters[CT_JAILED],
                 cops=counters[CT_COPS], violent=counters[CT_VIOLENT])
        out[t] = [n[name] for name in OUT_ALL_NAMES]
        if people_out is not None:
            people_out[t] = [np_[name] for name in PEOPLE_NAMES]
        counters[CT_STEP] = step + 1
    counters[CT_POOL] = len(pool)
