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

The form is uprising's design; Epstein's model has neither. Switched off, the
mechanism is absent from the run: events of this kind are ignored.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta


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


class EmergencyEvent(Event):
    """A state of emergency, optionally with a nightly curfew ``[from_hour, to_hour]``."""

    kind: Literal["emergency"]
    start: Time
    end: Time | None = None
    curfew: list[float] | None = Field(None, min_length=2, max_length=2,
                                       description="curfew hours [from, to), local, 0-24")

    @model_validator(mode="after")
    def _check(self) -> "EmergencyEvent":
        if self.curfew is not None and not all(0.0 <= h <= 24.0 for h in self.curfew):
            raise ValueError(f"curfew: hours must lie in [0, 24] (got {list(self.curfew)})")
        return self


class Emergency(Mechanism):
    """Movement limits and the ban on gatherings where an emergency holds (the module's docstring)."""

    name = "emergency"
    parameters = EmergencyParams
    events = (EmergencyEvent,)
    recorded = ("emergency", "curfew")

    def step(self, params: EmergencyParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        p = params
        under = np.zeros(ctx.n, dtype=bool)
        curfew = np.zeros(ctx.n, dtype=bool)
        hour = ctx.hour_of_day[step]
        for e in ctx.events_of("emergency"):
            if e.on(step):
                under |= e.cities
                window = e.spec.curfew
                if window is not None and in_window(hour, window[0], window[1]):
                    curfew |= e.cities
        stay = np.where(curfew, max(p.stay, p.curfew_stay), np.where(under, p.stay, 0.0))
        penalty = np.where(curfew, max(p.gathering_penalty, p.curfew_penalty),
                           np.where(under, p.gathering_penalty, 0.0))
        return None, Changes(fp={codes.FP_STAY: stay, codes.FP_THRESHOLD_SHIFT: penalty},
                             report={"emergency": under.astype(np.float64), "curfew": curfew.astype(np.float64)})


MECHANISM = Emergency()
