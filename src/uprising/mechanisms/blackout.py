"""Communication blackout: cuts the information channel between cities, in part or whole.

``blackout`` events set a level ``b`` in [0, 1] for the cities they name, from
``start`` to ``end``: the messengers' outage of 4 January 2022 (partial), the
near-total internet shutdown from 5 January (NetBlocks measured connectivity at
about 5% of normal on 7 January: level 0.95). Where events overlap, the highest
level holds. The level multiplies the push of :mod:`uprising.mechanisms.contagion`
by ``1 - b`` in the city receiving it (Makowsky & Rubin 2013 on networks'
reach: a shutdown shrinks how far revealed dissent is seen). It does not touch
the lattice: neighbours still see each other.

Switched off, the mechanism is absent from the run: events of this kind are ignored (no blackout).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

MAKOWSKY = "Makowsky & Rubin (2013) PLoS ONE 8(11):e80380"


class BlackoutParams(Params):
    """Parameters of the blackout mechanism (its levels and dates are events)."""

    enabled: bool = Field(True, description="blackout events cut the information channel",
                          json_schema_extra=meta("switch", MAKOWSKY))


class BlackoutEvent(Event):
    """A communication blackout of ``level`` (1 cuts the information channel)."""

    kind: Literal["blackout"]
    start: Time
    end: Time | None = None
    level: float = Field(ge=0.0, le=1.0, description="share of the information channel cut")


class Blackout(Mechanism):
    """The blackout level of each city (read by :mod:`uprising.mechanisms.contagion`)."""

    name = "blackout"
    parameters = BlackoutParams
    events = (BlackoutEvent,)
    recorded = ("blackout",)

    def step(self, params: BlackoutParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        level = np.zeros(ctx.n)
        for e in ctx.events_of("blackout"):
            if e.on(step):
                level = np.where(e.cities, np.maximum(level, e.spec.level), level)
        return None, Changes(report={"blackout": level})


MECHANISM = Blackout()
