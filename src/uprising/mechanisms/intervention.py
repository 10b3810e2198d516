"""An outside intervention force: troops that arrive in named cities on a date and leave on another.

Epstein's Model II adds peacekeepers (cops) at a time t; the CSTO's force in
January 2022 (about 2,030-2,500 troops from 6 January, leaving 13-19 January)
mostly guarded 14 strategic sites, which freed about 1,600 Kazakh security
personnel (targets.csv). An ``intervention`` event gives the troops per city, the
dates and a role:

* ``guard``: the troops guard sites, so ``freed_police_per_troop`` local police per
  troop join the city's cops, and attacks on sites in the city are repelled with
  probability ``site_protection``;
* ``arrest``: the troops act as cops themselves, one cop per troop.

Cops (at the run's scale) are added on random empty cells when the force
arrives and removed at random when it leaves (the cop schedule of Epstein's Run
5). Switched off, events of this kind are ignored.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Context, Observation, Params, TickInputs, meta

EPSTEIN2 = "Epstein (2002) Model II (peacekeepers added at time t)"


class InterventionParams(Params):
    """Parameters of the outside force (its size, cities, dates and role are events)."""

    enabled: bool = Field(True, description="intervention events bring troops",
                          json_schema_extra=meta("switch", EPSTEIN2))
    freed_police_per_troop: float = Field(0.8, ge=0.0, le=10.0,
                                          description="local police freed for the streets per guarding troop",
                                          json_schema_extra=meta("police per troop",
                                                                 "targets.csv: 1,600 freed / ~2,000 troops"))
    site_protection: float = Field(1.0, ge=0.0, le=1.0,
                                   description="share of attacks on sites repelled where troops guard",
                                   json_schema_extra=meta("probability", "uprising (assumption)"))


class Intervention:
    """Runtime of :class:`InterventionParams`."""

    name = "intervention"

    def __init__(self, params: InterventionParams, ctx: Context):
        self.params = params
        self.ctx = ctx
        self.events = ctx.events_of("intervention")
        index = {name: i for i, name in enumerate(ctx.names)}
        self.troops = []
        for e in self.events:
            per_city = np.zeros(ctx.n)
            for city, count in e.spec.troops.items():
                per_city[index[city]] = count
            self.troops.append(per_city)

    def init(self) -> None:
        return None

    def apply(self, state: None, step: int, obs: Observation, inputs: TickInputs) -> None:
        p = self.params
        if not p.enabled:
            return None
        troops = np.zeros(self.ctx.n)
        extra = np.zeros(self.ctx.n)
        guarded = np.zeros(self.ctx.n, dtype=bool)
        for e, per_city in zip(self.events, self.troops):
            if e.on(step):
                troops += per_city
                if e.spec.role == "guard":
                    extra += per_city * p.freed_police_per_troop
                    guarded |= per_city > 0
                else:
                    extra += per_city
        inputs.cop_target = inputs.cop_target + np.rint(extra * self.ctx.scale).astype(np.int64)
        inputs.report["troops"] = troops
        inputs.report["site_protection"] = np.where(guarded, p.site_protection, 0.0)
        return None
