"""Escalation from peaceful activity to violence: attacks on police and on government sites.

The model-notes (§4) name a violent subset distinct from peaceful protesters (the
attackers of akimats, police and Almaty's airport). uprising makes violence a
further step of Epstein's rule A: an active citizen whose net grievance clears the
threshold by more than ``violence_margin`` is violent,

    violent  iff  G - R*P*(1 + penalty) + E > T + T_shift + violence_margin

so the violent are the most aggrieved and least deterred, and a citizen moves
between quiet, active and violent as its circumstances change. Violent citizens
count as active for everyone's A and can be arrested. In its activation a violent
citizen attacks a cop within its vision with probability ``attack_per_hour``
(per hour, converted to the tick; the cop is killed with probability
``attack_kill``, otherwise injured, and either way leaves duty for the rest of the
run and is not replaced), and attacks a government site with probability
``site_attack_per_hour`` (a count; guarded sites repel attacks,
:mod:`uprising.mechanisms.intervention`; :mod:`uprising.mechanisms.sites` counts buildings instead).
Confrontations injure both sides: with casualties counted in people, each use of force on a violent citizen
(an arrest or a killing) injures Binomial(people of the agent, ``resist``) security personnel, so the police's
injuries follow their confrontations with the violent through the whole episode, clearing operations included
(the lattice draws nothing for it, so its trajectory does not depend on ``resist``).

Backlash (the elaborated social identity model of crowds, Reicher 1996; Stott & Reicher 1998; Drury &
Reicher 2000): force used against a crowd that sees itself as legitimate turns the crowd against the police
and makes violence acceptable to people who came in peace. With ``backlash > 0`` the margin of a city falls
with the force its police have used there lately,

    f_c(t) = f_c(t-1) * d + (1 - d) * (people arrested or killed in c in step t) * 1000 / (residents_c * tick)
    margin_c(t) = violence_margin * exp(-backlash * f_c(t)),     d = exp(-tick / backlash_memory_hours)

(``f`` in people per 1,000 residents per hour, smoothed over the memory), so a city whose police disperse
and arrest grows a violent wing, and one whose police hold back (:mod:`uprising.mechanisms.policing`,
``restraint``) keeps its protest peaceful whatever its grievance. ``backlash = 0`` keeps the margin constant.

An organised core (Moro 2016's armed revolutionary organisation beside the population of citizens; Lemos,
Coelho & Lopes 2013 review such actor types): where an ``organised`` event of the timeline is on (a dated
input, with its source, naming the cities where organised violent groups were reported), a share
``core_share`` of the citizens, those least averse to risk (``R < core_share``, so the core is the citizens
the shock and the news reach first, :mod:`uprising.mechanisms.exposure`), is violent whenever it is active:

    violent  iff  active and (G - R*P*(1 + penalty) + E > T + T_shift + margin  or  R < core_share)

The core does not rise on its own: its members turn out under rule A like everyone else, and attack once
they are out (followers and leaders: the core is a fixed share of a city's people, not of its crowd).
``core_share = 0``, or no ``organised`` event, keeps violence to the margin alone.

The core among a crowd's people (``core_in = "people"``; casualties counted in people only): an agent stands
for ``n = 1/scale`` people (Scheffer et al. 1995), and a core of a few agents of ``n`` people each makes the
violence, and the toll, a matter of a handful of draws at a small scale (docs/kazakhstan.md, "Scale
invariance"). With ``core_in = "people"`` the core is a share of every crowd's people instead: in each
activation of a peaceful active citizen in an event's city, ``V ~ Binomial(n, core_share)`` of its people are
violent for that hour (they attack police in vision as a violent citizen's people do), and each use of force
on it meets its ``V`` as the violent (``kill_violent``, ``resist``) and its other ``n - V`` as the peaceful
(``kill_active``). The lattice draws nothing for it (its trajectory does not depend on the core), so the
core's violence and toll come from as many confrontations as the crowd has, at any scale. The organised
members walk with the crowd: they are out when their crowd is, a share of the people out rather than of the
residents (so a core share in people is not comparable with one in agents).

With ``core_undeterred`` (and ``core_in = "people"``) the core is not deterred: in each activation of a quiet
citizen in an event's city whose grievance clears the threshold (``G + E > T``) but whom the risk of arrest keeps
at home, ``V ~ Binomial(n, core_share)`` of its people are out and violent for that hour and attack police in
view (drawing their fire, :mod:`uprising.mechanisms.lethal_force`); no cop uses force on them (they are not on
the lattice). The organised groups of the record fought the returning forces after the crowds had gone home
(city_events.csv, Almaty 6-7 January: firefights on Republic Square, a police building stormed).

This form is uprising's design (documented and switchable): Epstein's Model II and
Moro (2016, *PLoS ONE* 11(4):e0154175) give rebels a probability of killing, which
is the form of ``attack_kill``. Switched off, the mechanism is absent from the run and the
kernel's escalation switch stays off: nobody turns violent (Model I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import math

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

MORO = "Moro (2016) PLoS ONE 11(4):e0154175; Epstein (2002) Model II"
CORE = "Moro (2016) PLoS ONE 11(4):e0154175 (an armed revolutionary organisation); Lemos, Coelho & Lopes (2013) EUMAS, CEUR 1113 (actor types)"
ESIM = "Reicher (1996) Br J Soc Psychol 35:115; Stott & Reicher (1998) Sociology 32:353 (ESIM)"


class EscalationParams(Params):
    """Parameters of the escalation mechanism."""

    enabled: bool = Field(True, description="active citizens beyond the margin turn violent",
                          json_schema_extra=meta("switch", "uprising; model-notes §4"))
    violence_margin: float = Field(0.1, ge=0.0, le=10.0,
                                   description="how far above the threshold net grievance must be for violence",
                                   json_schema_extra=meta("net grievance", "uprising (calibrated)"))
    attack_per_hour: float = Field(0.0, ge=0.0, le=1.0,
                                   description="probability per hour that a violent citizen attacks a cop in vision",
                                   json_schema_extra=meta("per hour", MORO))
    attack_kill: float = Field(0.0, ge=0.0, le=1.0, description="probability that an attack kills the cop",
                               json_schema_extra=meta("probability", MORO))
    site_attack_per_hour: float = Field(0.0, ge=0.0, le=1.0,
                                        description="probability per hour that a violent citizen attacks a site",
                                        json_schema_extra=meta("per hour", "uprising"))
    resist: float = Field(0.0, ge=0.0, le=1.0,
                          description="probability that each person of a violent citizen that the police use force "
                          "on injures one of them (counted in people only)",
                          json_schema_extra=meta("security injured per violent person confronted",
                                                 "uprising; data/kz2022/targets.csv security_injured_cumulative"))
    backlash: float = Field(0.0, ge=0.0, le=1e6,
                            description="how fast recent force against a city's crowds lowers its violence margin",
                            json_schema_extra=meta("per (people per 1,000 residents per hour)", ESIM))
    backlash_memory_hours: float = Field(24.0, gt=0.0, le=10_000.0,
                                         description="time constant over which force is remembered",
                                         json_schema_extra=meta("hours", ESIM))
    core_share: float = Field(0.0, ge=0.0, le=1.0,
                              description="share of citizens (the least risk-averse) who are violent whenever "
                              "active, where an `organised` event is on",
                              json_schema_extra=meta("share of citizens", CORE))
    core_undeterred: bool = Field(
        False, description="with core_in = \"people\": the core among the people whom only the risk of arrest keeps "
        "at home (grievance above the threshold) is out and violent too",
        json_schema_extra=meta("switch", CORE + "; data/kz2022/city_events.csv security_shooting (Almaty, 6-7 January)"))
    core_in: Literal["agents", "people"] = Field(
        "agents", description="the organised core as whole agents (R < core_share) or as a share of every active "
        "citizen's people (needs repression.casualties = \"people\")",
        json_schema_extra=meta("choice", CORE + "; Scheffer et al. (1995) super-individuals"))


class OrganisedEvent(Event):
    """Organised violent groups act in the named cities from ``start`` to ``end`` (a dated input with its
    source): there, the ``core_share`` of citizens least averse to risk is violent whenever active."""

    kind: Literal["organised"]
    start: Time
    end: Time | None = None


@dataclass(frozen=True)
class BacklashState:
    force_seen: np.ndarray  # obs.force at the last step (agents)
    recent: np.ndarray  # f_c: recent force, people per 1,000 residents per hour


class Escalation(Mechanism):
    """The violence margin and the attack probabilities per tick (the module's docstring)."""

    name = "escalation"
    parameters = EscalationParams
    events = (OrganisedEvent,)
    kernel_switches = (codes.IP_ESCALATION,)

    def init(self, params: EscalationParams, ctx: Context) -> BacklashState | None:
        if params.backlash == 0.0:
            return None
        return BacklashState(np.zeros(ctx.n, dtype=np.int64), np.zeros(ctx.n))

    def step(self, params: EscalationParams, ctx: Context, state: BacklashState | None, step: int,
             obs: Observation, now: InputsView) -> tuple[BacklashState | None, Changes]:
        site = ctx.per_tick(params.site_attack_per_hour)
        guarded = now.report.get("site_protection")  # where the intervention's troops guard sites
        margin: float | np.ndarray = params.violence_margin
        report = {}
        if state is not None:
            tick = ctx.clock.tick_hours
            used = (obs.force - state.force_seen) / ctx.scale * 1000.0 / ctx.residents / tick
            keep = math.exp(-tick / params.backlash_memory_hours)
            recent = state.recent * keep + (1.0 - keep) * used
            state = BacklashState(obs.force.copy(), recent)
            margin = params.violence_margin * np.exp(-params.backlash * recent)
            report = {"violence_margin": margin}
        fp = {}
        if params.core_share > 0.0:
            organised = ctx.cities_under("organised", step)
            if organised.any():
                column = codes.FP_CORE_PEOPLE if params.core_in == "people" else codes.FP_CORE
                fp[column] = np.where(organised, params.core_share, 0.0)
                if params.core_in == "people" and params.core_undeterred:
                    fp[codes.FP_CORE_UNDETERRED] = 1.0
        return state, Changes(report=report, fp={**fp, codes.FP_VIOLENCE_MARGIN: margin,
                                 codes.FP_ATTACK: ctx.per_tick(params.attack_per_hour),
                                 codes.FP_ATTACK_KILL: params.attack_kill,
                                 codes.FP_RESIST: params.resist,
                                 codes.FP_SITE_ATTACK: site if guarded is None else site * (1.0 - guarded)})


MECHANISM = Escalation()
