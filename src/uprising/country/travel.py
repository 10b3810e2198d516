"""Moving citizens between the cities' lattices: the trips of :mod:`uprising.mechanisms.travel`.

Agents have no identity in the kernel: a cell holds an agent and the agent's hardship and risk aversion, which
move with it (rule M, jail and release). A traveller is known by the pair (hardship, risk aversion), both drawn
from continuous distributions and kept as float32, so the pair names one citizen of a run (a collision of two
citizens' pairs has a chance of order n^2 / 2^48; one would send a look-alike home instead, which changes
nothing the model counts). The moves act between steps, on the states the kernel left:

* :func:`take` lifts chosen active or violent citizens off a lattice (counters and the active field follow);
* :func:`place` sets citizens on random empty cells as quiet, not yet acted in the coming step, keeping one
  empty cell for every prisoner off the lattice (as the cop schedule does), grows the prisoners' pool so it can hold
  every citizen the lattice now has, and returns how many found room;
* :func:`find` locates travellers on a lattice by their pairs.

:class:`Journeys` keeps every event's parties (on the road, arrived, going home) and applies a step's trips.
Every choice draws from the generator it is given (the model's ``ctx.stream("travel-moves", step)``), so a run
is the same bit for bit in any process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels import codes
from ..kernels.lattice import field_add
from ..mechanisms.base import Trip
from ..model import Model, State

CITIZENS = (codes.QUIET, codes.ACTIVE, codes.VIOLENT)
_COUNTER = {codes.QUIET: codes.CT_QUIET, codes.ACTIVE: codes.CT_ACTIVE, codes.VIOLENT: codes.CT_VIOLENT}


def keys(hardship: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """One uint64 per citizen from its float32 hardship and risk aversion (their bits side by side)."""
    h = np.ascontiguousarray(hardship, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = np.ascontiguousarray(risk, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return (h << np.uint64(32)) | r


@dataclass
class Party:
    """Citizens of one origin on one event's trip (their hardship, risk aversion and day marks)."""

    event: str
    origin: int
    to: int
    hardship: np.ndarray
    risk: np.ndarray
    day: np.ndarray
    arrive: int
    where: str = "road"  # "road", then "there"; "home" when every one is back


def _remove(model: Model, state: State, cells: np.ndarray) -> None:
    s = model.scenario
    for c in cells:
        kind = int(state.occupant[c]) & codes.KIND_MASK
        state.counters[_COUNTER[kind]] -= 1
        if kind in (codes.ACTIVE, codes.VIOLENT):
            field_add(state.active_seen, int(c), -1, model.rows_dy, model.rows_half, s.width, s.height)
        state.occupant[c] = codes.EMPTY


def take(model: Model, state: State, count: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Lift ``count`` of the lattice's active or violent citizens, chosen at random (fewer if it has fewer), off
    it; returns their hardship, risk aversion and day marks (empty when participants are not counted)."""
    kind = state.occupant & codes.KIND_MASK
    out = np.flatnonzero((kind == codes.ACTIVE) | (kind == codes.VIOLENT))
    count = min(int(count), out.size)
    cells = np.sort(rng.choice(out, size=count, replace=False)) if count else out[:0]
    picked = (state.hardship[cells].copy(), state.risk_aversion[cells].copy(),
              state.day_mark[cells].copy() if state.day_mark.size else np.zeros(0, dtype=np.int32))
    _remove(model, state, cells)
    return picked


def room(model: Model, state: State) -> int:
    """Newcomers a lattice may take: empty cells but one for each prisoner off the lattice (who must find one), and
    no more citizens than its prisoners' pool can hold (its size is the citizens it started with)."""
    c = state.counters
    on_lattice = c[codes.CT_QUIET] + c[codes.CT_ACTIVE] + c[codes.CT_VIOLENT] + c[codes.CT_JAILED] - c[codes.CT_POOL]
    return int(max(model.n_cells - on_lattice - c[codes.CT_COPS] - c[codes.CT_POOL], 0))


def _grow_pool(state: State, citizens: int) -> None:
    """Make the prisoners' pool hold ``citizens`` (every citizen the lattice may have at once could be jailed): the
    kernel writes prisoners at ``pool[CT_POOL]`` without a bound check, and its pool was sized to the citizens the
    lattice started with. Growing it changes no result."""
    if len(state.pool_hardship) == 0 or len(state.pool_hardship) >= citizens:
        return
    for name in ("pool_hardship", "pool_risk", "pool_term", "pool_origin", "pool_day"):
        old = getattr(state, name)
        if name == "pool_day" and len(old) == 0:
            continue
        new = np.zeros(citizens, dtype=old.dtype)
        new[:len(old)] = old
        setattr(state, name, new)


def place(model: Model, state: State, hardship: np.ndarray, risk: np.ndarray, day: np.ndarray,
          rng: np.random.Generator) -> int:
    """Set the first citizens of the arrays on random empty cells, quiet and not yet acted in the coming step,
    as many as there is :func:`room` for; returns how many were placed."""
    n = min(len(hardship), room(model, state))
    if n <= 0:
        return 0
    c = state.counters
    _grow_pool(state, int(c[codes.CT_QUIET] + c[codes.CT_ACTIVE] + c[codes.CT_VIOLENT] + c[codes.CT_JAILED]) + n)
    empty = np.flatnonzero((state.occupant & codes.KIND_MASK) == codes.EMPTY)
    cells = rng.choice(empty, size=n, replace=False)
    flag = codes.ACTED_BIT if (int(state.counters[codes.CT_STEP]) & 1) == 1 else 0
    state.occupant[cells] = codes.QUIET | (codes.ACTED_BIT - flag)
    state.hardship[cells] = hardship[:n]
    state.risk_aversion[cells] = risk[:n]
    if state.day_mark.size:
        state.day_mark[cells] = day[:n] if len(day) else 0
    state.counters[codes.CT_QUIET] += n
    return n


def find(state: State, hardship: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """The cells (ascending) of the lattice's free citizens whose (hardship, risk aversion) pairs are given."""
    kind = state.occupant & codes.KIND_MASK
    citizens = np.flatnonzero((kind == codes.QUIET) | (kind == codes.ACTIVE) | (kind == codes.VIOLENT))
    hit = np.isin(keys(state.hardship[citizens], state.risk_aversion[citizens]), keys(hardship, risk))
    return citizens[hit]


@dataclass
class Journeys:
    """Every march's parties in one run, and the moves of each step."""

    parties: list[Party] = field(default_factory=list)

    def apply(self, trips: list[Trip], models: list[Model], states: list[State], step: int,
              rng: np.random.Generator) -> None:
        """Set off the step's leavers, send home the parties of events that end, then land every party due (on
        the road and arrived by now) and bring home those still away after their event ended."""
        for trip in trips:
            if trip.home:
                for party in self.parties:
                    if party.event == trip.event and party.where != "home":
                        party.where = "going" if party.where == "there" else "turned"
                continue
            for origin in np.flatnonzero(trip.leaving):
                h, r, d = take(models[origin], states[origin], int(trip.leaving[origin]), rng)
                if len(h):
                    self.parties.append(Party(trip.event, int(origin), trip.to, h, r, d, trip.arrive))
        for party in self.parties:
            if party.where == "road" and party.arrive <= step:
                n = place(models[party.to], states[party.to], party.hardship, party.risk, party.day, rng)
                if n == len(party.hardship):
                    party.where = "there"
                else:  # no room for the rest yet: they wait on the road
                    self._split(party, n)
            elif party.where == "turned":
                self._home(party, models, states, rng)
            elif party.where == "going":
                cells = find(states[party.to], party.hardship, party.risk)
                if cells.size:
                    st = states[party.to]
                    h, r = st.hardship[cells].copy(), st.risk_aversion[cells].copy()
                    d = st.day_mark[cells].copy() if st.day_mark.size else np.zeros(0, dtype=np.int32)
                    _remove(models[party.to], st, cells)
                    back = Party(party.event, party.origin, party.to, h, r, d, step, "turned")
                    self._home(back, models, states, rng)
                    if back.where != "home":
                        self.parties.append(back)
                    party.hardship, party.risk = _without(party.hardship, party.risk, h, r)
                    party.day = np.zeros(0, dtype=np.int32)
                # the rest are in the destination's jail (they go home when released) or dead: stop looking for those
                st = states[party.to]
                pool = int(st.counters[codes.CT_POOL])
                jailed = np.isin(keys(party.hardship, party.risk), keys(st.pool_hardship[:pool], st.pool_risk[:pool]))
                party.hardship, party.risk = party.hardship[jailed], party.risk[jailed]
                if len(party.hardship) == 0:
                    party.where = "home"
        self.parties = [p for p in self.parties if p.where != "home"]

    def _split(self, party: Party, n: int) -> None:
        """The first ``n`` of a party on the road have landed: keep the rest on the road as a party of its own."""
        landed = Party(party.event, party.origin, party.to, party.hardship[:n], party.risk[:n], party.day[:n],
                       party.arrive, "there")
        party.hardship, party.risk = party.hardship[n:], party.risk[n:]
        party.day = party.day[n:] if len(party.day) else party.day
        if n:
            self.parties.append(landed)

    @staticmethod
    def _home(party: Party, models: list[Model], states: list[State], rng: np.random.Generator) -> None:
        n = place(models[party.origin], states[party.origin], party.hardship, party.risk, party.day, rng)
        party.hardship, party.risk = party.hardship[n:], party.risk[n:]
        party.day = party.day[n:] if len(party.day) else party.day
        if len(party.hardship) == 0:
            party.where = "home"

    def away(self, n: int) -> np.ndarray:
        """Agents of each city away from home (on the road, in another city or in its jail, or going back)."""
        out = np.zeros(n, dtype=np.int64)
        for party in self.parties:
            out[party.origin] += len(party.hardship)
        return out

    def on_road(self, n: int) -> np.ndarray:
        """Agents of each origin on the road (either way) now."""
        out = np.zeros(n, dtype=np.int64)
        for party in self.parties:
            if party.where in ("road", "turned"):
                out[party.origin] += len(party.hardship)
        return out


def _without(hardship: np.ndarray, risk: np.ndarray, gone_h: np.ndarray, gone_r: np.ndarray) -> tuple[np.ndarray, ...]:
    keep = ~np.isin(keys(hardship, risk), keys(gone_h, gone_r))
    return hardship[keep], risk[keep]
