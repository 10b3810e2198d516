"""Detention sweeps after the peak, and release.

Most of the ~10,000 detentions of January 2022 came after the violence had
peaked (3,811 on 7 January, 7,939 on 10 January; targets.csv): the police
picked up people identified as participants. uprising marks a citizen the first
time it turns active (:data:`uprising.kernels.codes.MARK_BIT`); a ``sweep`` event
detains each marked quiet citizen of the cities it names with probability
``rate_per_day`` per day (converted to the tick), jail capacity permitting, with
a term drawn as for an arrest. A ``release`` event releases each prisoner with
probability ``rate_per_day`` per day, on top of the end of their terms.

The form is uprising's design. Switched off, the mechanism is absent from the run:
events of both kinds are ignored and nobody is marked (the kernel's mark switch stays off; Model I).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta


class DetentionParams(Params):
    """Switch of the sweep and release events (their rates, dates and cities are events)."""

    enabled: bool = Field(True, description="sweep and release events act (and citizens who turn active are marked)",
                          json_schema_extra=meta("switch", "uprising; targets.csv detained_cumulative"))


class SweepEvent(Event):
    """Detention sweeps of once-active citizens."""

    kind: Literal["sweep"]
    start: Time
    end: Time | None = None
    rate_per_day: float = Field(ge=0.0, le=1.0, description="probability per day that a marked citizen is detained")


class ReleaseEvent(Event):
    """Early release of prisoners."""

    kind: Literal["release"]
    start: Time
    end: Time | None = None
    rate_per_day: float = Field(ge=0.0, le=1.0, description="probability per day that a prisoner is released")


class Detention(Mechanism):
    """The sweep and release probabilities per tick in each city (the module's docstring)."""

    name = "detention"
    parameters = DetentionParams
    events = (SweepEvent, ReleaseEvent)
    recorded = ("sweep",)
    kernel_switches = (codes.IP_MARK,)

    def step(self, params: DetentionParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        fp = {}
        for column, kind in ((codes.FP_SWEEP, "sweep"), (codes.FP_RELEASE, "release")):
            p = np.zeros(ctx.n)
            for e in ctx.events_of(kind):
                if e.on(step):
                    p = np.where(e.cities, np.maximum(p, ctx.clock.per_tick(e.spec.rate_per_day)), p)
            fp[column] = p
        return None, Changes(fp=fp, report={"sweep": fp[codes.FP_SWEEP]})


MECHANISM = Detention()
