"""Travel: protesters who leave their city for another one (a march on the capital, a caravan, a convoy).

A ``march`` event names the cities people set off from (``cities``), the city they go to (``to``), when the
call to march stands (``start``; nobody sets off after ``depart_until``, by default the event's ``end``), how
long the road takes (``travel_hours``) and when they go home (``end``; none: they stay to the end of the run).
While the call stands, each hour a share ``join_per_hour`` of each origin's protesters (its active and violent
citizens of the step before) set off:

    leaving_c(t) ~ Binomial(active_c(t-1) + violent_c(t-1), 1 - (1 - join_per_hour)^tick_hours)

They leave their city's lattice at once (so they no longer count, act or can be arrested there), spend
``travel_hours`` on the road, and arrive on random empty cells of the destination's lattice as quiet citizens
who keep their own hardship and risk aversion; from then on they follow the destination's rules (its police,
its curfew, its price) like its residents. At ``end`` every one of them goes home: those still on the road turn
back at once, those in the destination leave its lattice and come back to random empty cells of their own
(one who is in the destination's jail then goes home when released). The march on the capital is one of the
"performances" of the repertoire of contention (Tilly 2008, *Contentious Performances*), and the marchers come
from those already mobilised (McAdam 1986, "Recruitment to high-risk activism": prior activism and
availability, not grievance alone, select who travels); the rate at which they set off is behaviour (fit),
the call, its dates and the road's duration are a country's inputs (events, with sources).

The mechanism decides how many set off (from its own random stream, :meth:`Context.stream`); the model moves
them (:mod:`uprising.country.travel`). Without ``march`` events it draws nothing and moves nobody, and its table
is left out of the scenario's hash (:attr:`Mechanism.only_with_events`). Switched off, events of this kind are
ignored.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, Trip, meta

TILLY = "Tilly (2008) Contentious Performances; McAdam (1986) Am. J. Sociol. 92(1):64-90"


class TravelParams(Params):
    """Parameters of travel between cities (the calls to march, their dates and roads are events)."""

    enabled: bool = Field(True, description="march events move protesters between cities",
                          json_schema_extra=meta("switch", TILLY))
    join_per_hour: float = Field(0.02, ge=0.0, le=1.0,
                                 description="share of an origin's protesters (active or violent) who set off each "
                                             "hour while a call to march stands",
                                 json_schema_extra=meta("probability per hour",
                                                        "uprising (assumption; the joint posterior draws it)"))


class MarchEvent(Event):
    """A call to march from ``cities`` to ``to``: people set off from ``start`` to ``depart_until`` (default
    ``end``), travel ``travel_hours`` and go home at ``end`` (none: at the end of the run)."""

    kind: Literal["march"]
    start: Time
    end: Time | None = None
    to: str = Field(description="the city they march to")
    depart_until: Time | None = Field(None, description="nobody sets off after this time (default: end)")
    travel_hours: float = Field(0.0, ge=0.0, le=24.0 * 60, description="hours on the road")

    @model_validator(mode="after")
    def _check(self) -> "MarchEvent":
        if self.to in self.cities:
            raise ValueError(f"to: {self.to!r} is also among the cities they set off from; a march goes elsewhere")
        if self.depart_until is not None and self.depart_until <= self.start:
            raise ValueError("depart_until: must be after start")
        if self.depart_until is not None and self.end is not None and self.depart_until > self.end:
            raise ValueError("depart_until: must not be after end (they go home at end)")
        return self

    def city_problem(self, names: list[str]) -> str | None:
        if self.to not in names:
            return f"to: unknown city {self.to!r}; allowed: {', '.join(names)}"
        return None


class Travel(Mechanism):
    """How many protesters set off from each origin in each step, and when a march's people go home."""

    name = "travel"
    parameters = TravelParams
    events = (MarchEvent,)
    only_with_events = True

    def step(self, params: TravelParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        marches = ctx.events_of("march")
        if not marches:
            return None, Changes()
        trips: list[Trip] = []
        rng = None
        p = ctx.per_tick(params.join_per_hour)
        for e in marches:
            spec: MarchEvent = e.spec
            if step == e.stop and e.stop <= ctx.clock.ticks:
                trips.append(Trip(e.id, home=True))
            until = e.stop if spec.depart_until is None else ctx.clock.step_at(spec.depart_until)
            if not e.first <= step < until or p <= 0.0:
                continue
            dest = ctx.names.index(spec.to)
            origins = e.cities.copy()
            origins[dest] = False
            if rng is None:
                rng = ctx.stream(self.name, step)
            protesters = (obs.active + obs.violent) * origins
            leaving = rng.binomial(protesters, p).astype(np.int64)
            if leaving.any():
                arrive = step + int(round(spec.travel_hours / ctx.clock.tick_hours))
                trips.append(Trip(e.id, leaving=leaving, to=dest, arrive=arrive))
        return None, Changes(trips=tuple(trips))


MECHANISM = Travel()
