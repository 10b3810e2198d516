"""State of emergency and curfew: less movement and less gathering.

``emergency`` events declare a state of emergency in the cities they name from
``start`` to ``end`` (Almaty and Mangystau from 5 January 2022, Nur-Sultan the
same afternoon, the whole country on 6 January; lifted region by region until
19 January), optionally with a nightly curfew (``curfew = [23, 7]``: from 23:00
to 07:00 local time). While one holds in a city:

* a citizen skips rule M in an activation with probability ``stay``
  (:data:`uprising.kernels.codes.FP_STAY`), or the larger of ``stay`` and
  ``curfew_stay`` during curfew hours: movement limits;
* the activation threshold rises by ``gathering_penalty``, or the larger of
  ``gathering_penalty`` and ``curfew_penalty`` during curfew hours
  (:data:`uprising.kernels.codes.FP_THRESHOLD_SHIFT`): the ban on gatherings makes
  turning out costlier for everyone, deterred or not.

The form is uprising's design; Epstein's model has neither. Switched off, events
of this kind are ignored.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Context, Observation, Params, TickInputs, meta


class EmergencyParams(Params):
    """Parameters of the state of emergency (its dates, cities and curfew hours are events)."""

    enabled: bool = Field(True, description="emergency events restrict movement and gathering",
                          json_schema_extra=meta("switch", "uprising; timeline.csv 2022-01-05"))
    stay: float = Field(0.0, ge=0.0, le=1.0, description="probability that a citizen does not move, under emergency",
                        json_schema_extra=meta("probability per activation", "uprising (assumption)"))
    curfew_stay: float = Field(0.0, ge=0.0, le=1.0, description="the same during curfew hours",
                               json_schema_extra=meta("probability per activation", "uprising (assumption)"))
    gathering_penalty: float = Field(0.0, ge=0.0, le=1.0, description="threshold raised by the ban on gatherings",
                                     json_schema_extra=meta("threshold units", "uprising (assumption)"))
    curfew_penalty: float = Field(0.0, ge=0.0, le=1.0, description="threshold raised during curfew hours",
                                  json_schema_extra=meta("threshold units", "uprising (assumption)"))


def in_window(hour: float, start: float, end: float) -> bool:
    """Whether ``hour`` lies in the daily window [start, end), which may wrap past midnight."""
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


class Emergency:
    """Runtime of :class:`EmergencyParams`."""

    name = "emergency"

    def __init__(self, params: EmergencyParams, ctx: Context):
        self.params = params
        self.ctx = ctx
        self.events = ctx.events_of("emergency")

    def init(self) -> None:
        return None

    def apply(self, state: None, step: int, obs: Observation, inputs: TickInputs) -> None:
        p = self.params
        if not p.enabled:
            return None
        under = np.zeros(self.ctx.n, dtype=bool)
        curfew = np.zeros(self.ctx.n, dtype=bool)
        hour = self.ctx.hour_of_day[step]
        for e in self.events:
            if e.on(step):
                under |= e.cities
                window = e.spec.curfew
                if window is not None and in_window(hour, window[0], window[1]):
                    curfew |= e.cities
        stay = np.where(curfew, max(p.stay, p.curfew_stay), np.where(under, p.stay, 0.0))
        penalty = np.where(curfew, max(p.gathering_penalty, p.curfew_penalty),
                           np.where(under, p.gathering_penalty, 0.0))
        inputs.set(codes.FP_STAY, stay)
        inputs.set(codes.FP_THRESHOLD_SHIFT, penalty)
        inputs.report["emergency"] = under.astype(np.float64)
        inputs.report["curfew"] = curfew.astype(np.float64)
        return None
