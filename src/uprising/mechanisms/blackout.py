"""Communication blackout: cuts the information channel between cities, in part or whole.

``blackout`` events set a level ``b`` in [0, 1] for the cities they name, from
``start`` to ``end``: the messengers' outage of 4 January 2022 (partial), the
near-total internet shutdown from 5 January (NetBlocks measured connectivity at
about 5% of normal on 7 January: level 0.95). Where events overlap, the highest
level holds. The level multiplies the push of :mod:`uprising.mechanisms.contagion`
by ``1 - b`` in the city receiving it (Makowsky & Rubin 2013 on networks'
reach: a shutdown shrinks how far revealed dissent is seen). It does not touch
the lattice: neighbours still see each other.

Switched off, events of this kind are ignored (no blackout).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Context, Observation, Params, TickInputs, meta

MAKOWSKY = "Makowsky & Rubin (2013) PLoS ONE 8(11):e80380"


class BlackoutParams(Params):
    """Parameters of the blackout mechanism (its levels and dates are events)."""

    enabled: bool = Field(True, description="blackout events cut the information channel",
                          json_schema_extra=meta("switch", MAKOWSKY))


class Blackout:
    """Runtime of :class:`BlackoutParams`."""

    name = "blackout"

    def __init__(self, params: BlackoutParams, ctx: Context):
        self.params = params
        self.ctx = ctx
        self.events = ctx.events_of("blackout")

    def init(self) -> None:
        return None

    def apply(self, state: None, step: int, obs: Observation, inputs: TickInputs) -> None:
        if not self.params.enabled:
            return None
        level = np.zeros(self.ctx.n)
        for e in self.events:
            if e.on(step):
                level = np.where(e.cities, np.maximum(level, e.spec.level), level)
        inputs.report["blackout"] = level
        return None
