"""Detention sweeps after the peak, and release.

Most of the ~10,000 detentions of January 2022 came after the violence had
peaked (3,811 on 7 January, 7,939 on 10 January; targets.csv): the police
picked up people identified as participants. uprising marks a citizen the first
time it turns active (:data:`uprising.kernels.codes.MARK_BIT`); a ``sweep`` event
detains each marked quiet citizen of the cities it names with probability
``rate_per_day`` per day (converted to the tick), jail capacity permitting, with
a term drawn as for an arrest. A ``release`` event releases each prisoner with
probability ``rate_per_day`` per day, on top of the end of their terms.

The form is uprising's design. Switched off, events of both kinds are ignored
and nobody is marked (Model I).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Context, Observation, Params, TickInputs, meta


class DetentionParams(Params):
    """Switch of the sweep and release events (their rates, dates and cities are events)."""

    enabled: bool = Field(True, description="sweep and release events act (and citizens who turn active are marked)",
                          json_schema_extra=meta("switch", "uprising; targets.csv detained_cumulative"))


class Detention:
    """Runtime of :class:`DetentionParams`."""

    name = "detention"
    switches_kernel = True  # marks (codes.IP_MARK) while enabled

    def __init__(self, params: DetentionParams, ctx: Context):
        self.params = params
        self.ctx = ctx
        self.sweeps = [(e, ctx.clock.per_tick(e.spec.rate_per_day)) for e in ctx.events_of("sweep")]
        self.releases = [(e, ctx.clock.per_tick(e.spec.rate_per_day)) for e in ctx.events_of("release")]

    def init(self) -> None:
        return None

    def apply(self, state: None, step: int, obs: Observation, inputs: TickInputs) -> None:
        if not self.params.enabled:
            return None
        for column, events in ((codes.FP_SWEEP, self.sweeps), (codes.FP_RELEASE, self.releases)):
            p = np.zeros(self.ctx.n)
            for e, per_tick in events:
                if e.on(step):
                    p = np.where(e.cities, np.maximum(p, per_tick), p)
            inputs.set(column, p)
        inputs.report["sweep"] = inputs.fp[:, codes.FP_SWEEP].copy()
        return None
