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
shift (relief) unless ``relief`` is off. Switched off, the mechanism is absent from the run:
the shift is 0 (Model I), and neither the price nor the shift is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

KIM = "Kim & Hanneman (2011) JASSS 14(3):1 (relative deprivation)"


class PriceParams(Params):
    """Parameters of the price-shock hardship mechanism."""

    country_inputs: ClassVar[frozenset[str]] = frozenset({"before"})  # the price before the shock

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


class PriceEvent(Event):
    """The price in the named cities from ``at`` on."""

    instant = True
    kind: Literal["price"]
    at: Time
    price: float = Field(ge=0.0, le=1e6, description="new retail price")


@dataclass(frozen=True)
class PriceState:
    price: np.ndarray  # the price in each city
    shift: np.ndarray  # the hardship felt in each city


class PriceShock(Mechanism):
    """Hardship from the price path (the equations of the module's docstring)."""

    name = "price"
    parameters = PriceParams
    events = (PriceEvent,)
    recorded = ("price", "hardship_shift")

    def init(self, params: PriceParams, ctx: Context) -> PriceState:
        return PriceState(np.full(ctx.n, params.before), np.zeros(ctx.n))

    def step(self, params: PriceParams, ctx: Context, state: PriceState, step: int, obs: Observation,
             now: InputsView) -> tuple[PriceState, Changes]:
        tau = params.adjustment_hours
        follow = 1.0 if tau == 0 else 1.0 - math.exp(-ctx.clock.tick_hours / tau)
        price = state.price
        for e in sorted(ctx.events_of("price"), key=lambda e: e.first):
            if e.first == step:
                price = np.where(e.cities, e.spec.price, price)
        rel = price / params.before - 1.0
        if not params.relief:
            rel = np.maximum(rel, 0.0)
        target = params.elasticity * ctx.lpg_dependence * rel
        shift = state.shift + (target - state.shift) * follow
        return PriceState(price, shift), Changes(fp={codes.FP_HARDSHIP_SHIFT: shift},
                                                 report={"price": price, "hardship_shift": shift})


MECHANISM = PriceShock()
