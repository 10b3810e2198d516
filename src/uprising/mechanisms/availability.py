"""Availability: nobody is in the streets every hour of the day, so more people take part in a day than are out
at once.

In Epstein's rule A a citizen whose net grievance clears its threshold is active in every activation, hour after
hour: the people who take part in a day are the people out at its busiest hour (the fourth Kazakhstan candidate:
4 January's participants were 1.02-1.11 times the most out at once that day, docs/kazakhstan.md). People have
jobs, families and sleep; whether one can take part at a given time is its "biographical availability"
(McAdam 1986), and a day's rallies are joined and left over hours, so that a day's participants outnumber the
largest crowd at once (a density count measures the crowd present at once, not the people who come and go over
the day: Jacobs 1967).

Rule, in every city and hour while the mechanism is on: each citizen is **away** in its activation with
probability ``away`` (:data:`uprising.kernels.codes.FP_AWAY`, one draw per citizen's rule A): it is quiet for the
hour whatever its grievance, and rule A is not weighed. A citizen whose net grievance clears the threshold in
every hour is then out in a share ``1 - away`` of the hours, at hours drawn independently (an assumption of
form: no habit or shift pattern), so over a day of 24 activations it is out at some hour with probability
``1 - away^24``: with ``away = 0.5`` a day's participants are close to twice the crowd at once. The share of
the people the police can see, arrest or shoot at once falls with it, so the crowd's size at once is what the
fit sets, and ``away`` how many different people make it up over a day (docs/country-model.md, "Availability").

Switched off (the default), the mechanism is absent from the run and the kernel draws nothing for it.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, InputsView, Mechanism, Observation, Params, meta

MCADAM = "McAdam (1986) Am J Sociol 92:64 (biographical availability); Jacobs (1967) Columbia J Rev 6:37 (turnover)"


class AvailabilityParams(Params):
    """Parameters of the availability mechanism."""

    enabled: bool = Field(False, description="citizens are away (quiet) in a share of their hours",
                          json_schema_extra=meta("switch", MCADAM))
    away: float = Field(0.0, ge=0.0, le=0.95,
                        description="probability that a citizen is away (at work, at home, asleep) in an hour",
                        json_schema_extra=meta("probability per activation", MCADAM))


class Availability(Mechanism):
    """The probability that a citizen is away in each city and hour (the module's docstring)."""

    name = "availability"
    parameters = AvailabilityParams

    def step(self, params: AvailabilityParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        return None, Changes(fp={codes.FP_AWAY: np.full(ctx.n, params.away)})


MECHANISM = Availability()
