"""Lethal force: security forces kill as well as arrest, more so once an order says so.

Epstein's Model II and Moro (2016, *PLoS ONE* 11(4):e0154175) give the
authorities a probability of killing rebels. In uprising a cop that has picked an
active citizen within its vision (rule C) kills it instead of arresting it with
probability ``kill_violent`` if it is violent, ``kill_active`` if it is peaceful;
each killing also kills a quiet bystander within the cop's vision with
probability ``bystander`` (crossfire). These are the values before any order.

A ``shoot_order`` event (7 January 2022: "fire without warning") switches the
cities it names to the ``order_*`` values from its time on (until its ``end``, if
given), and adds ``order_penalty`` to the cost of being caught in every citizen's
net risk, ``N = R * P * (1 + penalty)`` (:data:`uprising.kernels.codes.FP_PENALTY`):
the fear of being shot deters as well as kills.

Return fire (``return_fire``; casualties counted in people only): the police fire back at those who attack
them. Each attack by a violent person on a cop in vision (:mod:`uprising.mechanisms.escalation`: a violent
citizen's people, or an organised core among an active one's; each attack kills or injures one of the police)
kills its attacker with probability ``return_fire``: ``Binomial(attacks, return_fire)`` protesters killed, drawn
from the people stream (the lattice draws nothing for it). The record: in Almaty on 5 January police fired back
from the roof of the Auezov district police station at a group storming it, and on the morning of 6 January
troops encircling about 200 people on Republic Square met "an intense exchange of fire"; Human Rights Watch
counted at least four occasions of security forces shooting at protesters and rioters in Almaty on 4-6 January
(data/kz2022/city_events.csv, kind ``security_shooting``). The deaths then come from as many confrontations as
there are attacks, not from a few uses of force on whole agents.

Switched off, the mechanism is absent from the run: nobody is killed by the security forces
(Model I arrests only), and ``shoot_order`` events are ignored.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

MORO = "Moro (2016) PLoS ONE 11(4):e0154175; Epstein (2002) Model II"


class LethalForceParams(Params):
    """Parameters of the lethal-force regime."""

    enabled: bool = Field(True, description="security forces may kill", json_schema_extra=meta("switch", MORO))
    kill_violent: float = Field(0.0, ge=0.0, le=1.0, description="probability of killing a violent target, before an order",
                                json_schema_extra=meta("probability per use of force", MORO))
    kill_active: float = Field(0.0, ge=0.0, le=1.0, description="the same for a peaceful target",
                               json_schema_extra=meta("probability per use of force", MORO))
    order_kill_violent: float = Field(0.0, ge=0.0, le=1.0, description="probability of killing a violent target under the order",
                                      json_schema_extra=meta("probability per use of force", MORO))
    order_kill_active: float = Field(0.0, ge=0.0, le=1.0, description="the same for a peaceful target",
                                     json_schema_extra=meta("probability per use of force", MORO))
    order_penalty: float = Field(0.0, ge=0.0, le=100.0, description="extra cost of being caught under the order",
                                 json_schema_extra=meta("multiple of R*P", "uprising (assumption)"))
    return_fire: float = Field(0.0, ge=0.0, le=1.0,
                               description="probability that a person attacking the police is killed by their fire "
                               "(counted in people only)",
                               json_schema_extra=meta("probability per attack",
                                                      "uprising; data/kz2022/city_events.csv security_shooting "
                                                      "(Almaty 5-6 January; HRW 2022)"))
    bystander: float = Field(0.0, ge=0.0, le=1.0, description="probability that a killing also kills a bystander",
                             json_schema_extra=meta("probability per killing", "uprising; targets.csv bystanders"))


class ShootOrderEvent(Event):
    """An order to use lethal force (lethal_force.order_* values) from ``at`` on."""

    kind: Literal["shoot_order"]
    at: Time
    end: Time | None = None


class LethalForce(Mechanism):
    """The kill probabilities and the order's fear term in each city (the module's docstring)."""

    name = "lethal_force"
    parameters = LethalForceParams
    events = (ShootOrderEvent,)
    recorded = ("shoot_order",)

    def step(self, params: LethalForceParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        p = params
        order = ctx.cities_under("shoot_order", step)
        return None, Changes(fp={codes.FP_KILL_VIOLENT: np.where(order, p.order_kill_violent, p.kill_violent),
                                 codes.FP_KILL_ACTIVE: np.where(order, p.order_kill_active, p.kill_active),
                                 codes.FP_PENALTY: np.where(order, p.order_penalty, 0.0),
                                 codes.FP_BYSTANDER: p.bystander, codes.FP_RETURN_FIRE: p.return_fire},
                             report={"shoot_order": order.astype(np.float64)})


MECHANISM = LethalForce()
