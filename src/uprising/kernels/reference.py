"""Plain-Python reference twin of :func:`uprising.kernels.lattice.run_steps`.

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
    CT_JAILED,
    CT_LOG,
    CT_POOL,
    CT_QUIET,
    CT_STEP,
    EMPTY,
    IP_ACTIVATION,
    IP_COP_MOVEMENT,
    IP_COP_TO_ARRESTEE,
    IP_COUNTDOWN_OWN,
    IP_HEIGHT,
    IP_HOLD_CELL,
    IP_JAIL_TERM,
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
    MOVE_TRIES,
    QUIET,
)
from .rng import bounded_py


class _Lattice:
    def __init__(self, width, height, occupant, hardship, risk, jail):
        self.w = width
        self.h = height
        self.occ = occupant
        self.hard = hardship
        self.risk = risk
        self.jail = jail

    def at(self, c, dy, dx):
        y, x = divmod(c, self.w)
        return ((y + dy) % self.h) * self.w + (x + dx) % self.w

    def kind(self, c):
        return self.occ[c] & KIND_MASK


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


def run_steps_reference(occupant, hardship, risk, jail, cit_offsets, cop_offsets, vision_offsets,
                        ptable, order, tile_order, pool, ip, threshold, legitimacy, cop_target,
                        counters, rng, out, arrest_log):
    """Twin of ``run_steps``; arrays are mutated in place, ``pool`` is a list of
    ``[hardship, risk, term, origin]`` and ``rng`` a list of four ints.

    ``vision_offsets`` is the citizen neighbourhood *with* its centre, used to count
    ``C`` and ``A`` directly; ``cit_offsets``/``cop_offsets`` exclude the centre.
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
    max_a = ptable.shape[1] - 1
    s = rng

    for t in range(len(legitimacy)):
        step = int(counters[CT_STEP])
        flag = ACTED_BIT if step % 2 == 1 else 0
        not_acted = ACTED_BIT - flag
        one_minus_l = 1.0 - float(legitimacy[t])
        arrests = releases = 0

        while counters[CT_COPS] > cop_target[t]:
            c = _random_cell_of(lat, COP, 256, s)
            occupant[c] = EMPTY
            counters[CT_COPS] -= 1
        while counters[CT_COPS] < cop_target[t]:
            on_lattice = counters[CT_QUIET] + counters[CT_ACTIVE] + counters[CT_JAILED] - len(pool)
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
                actives = [lat.at(c, dy, dx) for dy, dx in cop_offsets
                           if lat.kind(lat.at(c, dy, dx)) == ACTIVE]
                if actives:
                    a = actives[bounded_py(s, len(actives))]
                    term = _draw_term(jail_rule, max_jail, s)
                    counters[CT_ACTIVE] -= 1
                    counters[CT_JAILED] += 1
                    arrests += 1
                    if counters[CT_LOG] < arrest_log.shape[0]:
                        arrest_log[counters[CT_LOG]] = (step, c, a, term)
                        counters[CT_LOG] += 1
                    if hold_cell:
                        occupant[a] = JAILED | (int(occupant[a]) & ACTED_BIT)
                        jail[a] = term
                    else:
                        pool.append([hardship[a], risk[a], term, a])
                        occupant[a] = EMPTY
                        if cop_to_arrestee:
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
                if term != 0:
                    if term > 0:
                        jail[c] = term - 1
                    occupant[c] = JAILED | flag
                    continue
                kind = QUIET
                counters[CT_JAILED] -= 1
                counters[CT_QUIET] += 1
                releases += 1
            occupant[c] = kind | flag
            if movement and move_first:
                c = _move(lat, c, cit_offsets, s)
            g = float(hardship[c]) * one_minus_l
            new_kind = QUIET
            if g > threshold:
                cops = actives = 0
                for dy, dx in vision_offsets:
                    k2 = lat.kind(lat.at(c, dy, dx))
                    if k2 == COP:
                        cops += 1
                    elif k2 == ACTIVE and (dy, dx) != (0, 0):
                        actives += 1
                self_active = 1 if kind == ACTIVE else 0
                n_a = min(1 + actives + own_cell * self_active, max_a)
                if g - float(risk[c]) * float(ptable[cops, n_a]) > threshold:
                    new_kind = ACTIVE
            if new_kind != kind:
                occupant[c] = new_kind | flag
                if new_kind == ACTIVE:
                    counters[CT_QUIET] -= 1
                    counters[CT_ACTIVE] += 1
                else:
                    counters[CT_ACTIVE] -= 1
                    counters[CT_QUIET] += 1
            if movement and not move_first:
                _move(lat, c, cit_offsets, s)

        if not countdown_own:
            if hold_cell:
                for c in range(len(occupant)):
                    if lat.kind(c) == JAILED:
                        term = int(jail[c])
                        if term < 0:
                            continue
                        term -= 1
                        if term <= 0:
                            occupant[c] = QUIET | (int(occupant[c]) & ACTED_BIT)
                            jail[c] = 0
                            counters[CT_JAILED] -= 1
                            counters[CT_QUIET] += 1
                            releases += 1
                        else:
                            jail[c] = term
            else:
                p = 0
                while p < len(pool):
                    entry = pool[p]
                    if entry[2] < 0:
                        p += 1
                        continue
                    entry[2] -= 1
                    if entry[2] > 0:
                        p += 1
                        continue
                    hh, rr, _, origin = entry
                    cell = origin
                    if lat.kind(cell) != EMPTY:
                        cell = _random_cell_of(lat, EMPTY, 64, s)
                    occupant[cell] = QUIET | flag
                    hardship[cell] = hh
                    risk[cell] = rr
                    jail[cell] = 0
                    pool[p] = pool[-1]
                    pool.pop()
                    counters[CT_JAILED] -= 1
                    counters[CT_QUIET] += 1
                    releases += 1
            counters[CT_POOL] = len(pool)

        out[t] = (counters[CT_QUIET], counters[CT_ACTIVE], counters[CT_JAILED], counters[CT_COPS],
                  arrests, releases)
        counters[CT_STEP] = step + 1
    counters[CT_POOL] = len(pool)
