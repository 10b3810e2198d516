"""Legitimacy: scripted shocks plus endogenous feedback from unrest and repression.

Lemos, Lopes & Coelho (2016), *Int. J. Intelligent Systems* 31(2):106-127, let
legitimacy fall as arrests, violence and jail grow, and find that after a large
rebellion it may never return to its initial level. uprising takes that idea in
the form of a weighted sum of sub-indicators (the first of their four
aggregators) with the "system support" memory of the third, for each city ``i``:

    L_i(t) = clip(L0_i + S_i(t) - F_i(t), 0, 1)
    S_i(t) = sum over shocks k to i at times t_k <= t of delta_k * exp(-(t - t_k) / shock_memory_hours)
    F_i(t) = max_loss * (1 - exp(-X_i(t) / max_loss))
    X_i(t) = per_active * a_i(t) + per_jailed * j_i(t) + per_killed * k_i(t)

where, per 1,000 residents (so the weights do not depend on the scale):
``a`` is the number of active and violent citizens, smoothed exponentially over
``memory_hours`` (support lost to visible protest comes back slowly once it
ends); ``j`` the number in jail now; ``k`` the number killed so far, which never
decays (the lasting loss Lemos et al. report). With ``scope = "national"`` the
indicators are the country's (one government, seen alike everywhere); with
``"city"`` each city's own, which keeps cities independent of one another.
The loss ``F`` is ``X`` while small and saturates at ``max_loss``: the sub-indicators
of Lemos et al. are bounded, and without a bound a feedback strong enough to tip
the country would take legitimacy to 0 and every citizen into the streets
(unset: no bound, ``F = X``).

Shocks are ``legitimacy`` events: a signed change from a date on, for all cities or
some (the cabinet's fall, the elite purge, foreign endorsement or condemnation).
Their dates are inputs; their sizes are parameters of the scenario. A shock's effect
fades with the time constant ``shock_memory_hours`` (the news of an event is
overtaken by later news; unset: shocks are permanent). Only the killings leave a
lasting mark, through ``per_killed``. The fading is uprising's design.

Switched off (``enabled = false``) the mechanism is absent from the run and legitimacy is L0
throughout (Model I);
``feedback = false`` keeps the shocks and drops F.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

LEMOS = "Lemos, Lopes & Coelho (2016) Int J Intell Syst 31(2):106"


class LegitimacyParams(Params):
    """Parameters of the legitimacy mechanism."""

    enabled: bool = Field(True, description="legitimacy follows shocks and feedback (off: constant L0)",
                          json_schema_extra=meta("switch", LEMOS))
    feedback: bool = Field(True, description="endogenous feedback F from unrest and repression",
                           json_schema_extra=meta("switch", LEMOS))
    scope: Literal["national", "city"] = Field(
        "national", description="whose indicators feed F: the country's (couples the cities) or each city's own",
        json_schema_extra=meta("choice", LEMOS + " (homogeneous perceived legitimacy)"))
    per_active: float = Field(0.0, ge=0.0, le=10.0,
                              description="legitimacy lost per active or violent citizen per 1,000 residents",
                              json_schema_extra=meta("per (per 1,000)", LEMOS))
    per_jailed: float = Field(0.0, ge=0.0, le=10.0, description="legitimacy lost per prisoner per 1,000 residents",
                              json_schema_extra=meta("per (per 1,000)", LEMOS))
    per_killed: float = Field(0.0, ge=0.0, le=100.0,
                              description="legitimacy lost per person killed per 1,000 residents (never recovers)",
                              json_schema_extra=meta("per (per 1,000)", LEMOS))
    max_loss: float | None = Field(None, gt=0.0, le=1.0, description="the most legitimacy feedback can take away",
                                   json_schema_extra=meta("legitimacy", LEMOS + " (bounded sub-indicators)"))
    shock_memory_hours: float | None = Field(None, gt=0.0, le=100_000.0,
                                             description="time constant with which a shock's effect fades (unset: never)",
                                             json_schema_extra=meta("hours", "uprising (assumption)"))
    memory_hours: float = Field(24.0, ge=0.0, le=100_000.0,
                                description="time constant of the smoothed activity indicator (0: none)",
                                json_schema_extra=meta("hours", LEMOS + " (system support)"))


class LegitimacyEvent(Event):
    """A scripted legitimacy shock from ``at`` on."""

    instant = True
    kind: Literal["legitimacy"]
    at: Time
    delta: float = Field(ge=-1.0, le=1.0, description="signed change of legitimacy")


@dataclass(frozen=True)
class LegitimacyState:
    activity: np.ndarray  # the smoothed active and violent citizens per 1,000 residents
    shock: np.ndarray  # the shocks' sum, faded


class Legitimacy(Mechanism):
    """Legitimacy from shocks and feedback (the equations of the module's docstring)."""

    name = "legitimacy"
    parameters = LegitimacyParams
    events = (LegitimacyEvent,)
    recorded = ("legitimacy_loss",)  # the driver records the legitimacy itself, with or without this mechanism

    def init(self, params: LegitimacyParams, ctx: Context) -> LegitimacyState:
        return LegitimacyState(np.zeros(ctx.n), np.zeros(ctx.n))

    @staticmethod
    def per_1000(params: LegitimacyParams, ctx: Context, count: np.ndarray) -> np.ndarray:
        """``count`` (agents) per 1,000 residents: the country's, in every city, or each city's own."""
        if params.scope == "national":
            return np.full(ctx.n, count.sum() * (1000.0 / float(ctx.agents.sum())))
        return count * (1000.0 / (ctx.agents.astype(np.float64)))

    def step(self, params: LegitimacyParams, ctx: Context, state: LegitimacyState, step: int, obs: Observation,
             now: InputsView) -> tuple[LegitimacyState, Changes]:
        p = params
        tau = p.memory_hours
        follow = 1.0 if tau == 0 else 1.0 - math.exp(-ctx.clock.tick_hours / tau)
        keep = 1.0 if p.shock_memory_hours is None else math.exp(-ctx.clock.tick_hours / p.shock_memory_hours)
        shock = state.shock * keep if keep != 1.0 else state.shock
        for e in ctx.events_of("legitimacy"):
            if e.first == step:
                shock = shock + np.where(e.cities, e.spec.delta, 0.0)
        activity = state.activity + (self.per_1000(p, ctx, obs.active + obs.violent) - state.activity) * follow
        loss = np.zeros(ctx.n)
        if p.feedback:
            loss = (p.per_active * activity + p.per_jailed * self.per_1000(p, ctx, obs.jailed)
                    + p.per_killed * self.per_1000(p, ctx, obs.killed))
            if p.max_loss is not None:
                loss = p.max_loss * -np.expm1(-loss / p.max_loss)
        legitimacy = np.clip(ctx.base_legitimacy + shock - loss, 0.0, 1.0)
        return LegitimacyState(activity, shock), Changes(legitimacy=legitimacy, report={"legitimacy_loss": loss})


MECHANISM = Legitimacy()
