"""Hardship from a price path (relative deprivation; Kim & Hanneman 2011, JASSS 14(3):1).

Each city has a retail price of the good (LPG, tenge a litre) that starts at
``before`` and is set by ``price`` events of the timeline (the rise of 1 January,
the caps of 4 and 6 January). The price's relative change from ``before`` adds
hardship in proportion to the city's dependence on the good:

    target_i(t) = elasticity * lpg_dependence_i * (price_i(t) / before - 1)

and the hardship actually felt follows the target with a time constant
(people meet the new price at the pump over a day or so):

    shift_i(t) = shift_i(t-1) + (target_i(t) - shift_i(t-1)) * (1 - exp(-tick / adjustment_hours))

The shift is added to every citizen's hardship in rule A, ``G = (H + shift)(1 - L)``
(:data:`uprising.kernels.codes.FP_HARDSHIP_SHIFT`), so it raises the grievance of
the already hard-pressed most in absolute terms. It is not clipped at 1: relative
deprivation can exceed the baseline scale. A cap below ``before`` gives a negative
shift (relief) unless ``relief`` is off. Switched off, the shift is 0 (Model I).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Context, Observation, Params, TickInputs, meta

KIM = "Kim & Hanneman (2011) JASSS 14(3):1 (relative deprivation)"


class PriceParams(Params):
    """Parameters of the price-shock hardship mechanism."""

    enabled: bool = Field(True, description="hardship follows the price path",
                          json_schema_extra=meta("switch", KIM))
    before: float = Field(60.0, gt=0.0, le=1e6, description="price before the shock, in every city",
                          json_schema_extra=meta("currency per unit", "timeline.csv 2022-01-01"))
    elasticity: float = Field(0.3, ge=0.0, le=10.0,
                              description="hardship added per unit of relative price rise at full dependence",
                              json_schema_extra=meta("hardship per relative change", "uprising (calibrated)"))
    adjustment_hours: float = Field(24.0, ge=0.0, le=10_000.0,
                                    description="time constant with which felt hardship follows the price (0: at once)",
                                    json_schema_extra=meta("hours", "uprising (assumption)"))
    relief: bool = Field(True, description="a price below `before` lowers hardship below its baseline",
                         json_schema_extra=meta("switch", "uprising"))


class PriceShock:
    """Runtime of :class:`PriceParams` over a compiled scenario."""

    name = "price"

    def __init__(self, params: PriceParams, ctx: Context):
        self.params = params
        self.ctx = ctx
        self.events = sorted(ctx.events_of("price"), key=lambda e: e.first)
        tau = params.adjustment_hours
        self.follow = 1.0 if tau == 0 else 1.0 - math.exp(-ctx.clock.tick_hours / tau)

    def init(self) -> dict[str, np.ndarray]:
        n = self.ctx.n
        return {"price": np.full(n, self.params.before), "shift": np.zeros(n)}

    def apply(self, state: dict[str, np.ndarray], step: int, obs: Observation, inputs: TickInputs) -> dict:
        p = self.params
        price = state["price"]
        for e in self.events:
            if e.first == step:
                price = np.where(e.cities, e.spec.price, price)
        rel = price / p.before - 1.0
        if not p.relief:
            rel = np.maximum(rel, 0.0)
        target = p.elasticity * self.ctx.lpg_dependence * rel
        shift = state["shift"] + (target - state["shift"]) * self.follow
        inputs.report["price"] = price
        if p.enabled:
            inputs.set(codes.FP_HARDSHIP_SHIFT, shift)
            inputs.report["hardship_shift"] = shift
        return {"price": price, "shift": shift}
