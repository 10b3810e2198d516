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
:mod:`uprising.mechanisms.intervention`).

This form is uprising's design (documented and switchable): Epstein's Model II and
Moro (2016, *PLoS ONE* 11(4):e0154175) give rebels a probability of killing, which
is the form of ``attack_kill``. Switched off, the mechanism is absent from the run and the
kernel's escalation switch stays off: nobody turns violent (Model I).
"""

from __future__ import annotations

from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, InputsView, Mechanism, Observation, Params, meta

MORO = "Moro (2016) PLoS ONE 11(4):e0154175; Epstein (2002) Model II"


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


class Escalation(Mechanism):
    """The violence margin and the attack probabilities per tick (the module's docstring)."""

    name = "escalation"
    parameters = EscalationParams
    kernel_switches = (codes.IP_ESCALATION,)

    def step(self, params: EscalationParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        site = ctx.per_tick(params.site_attack_per_hour)
        guarded = now.report.get("site_protection")  # where the intervention's troops guard sites
        return None, Changes(fp={codes.FP_VIOLENCE_MARGIN: params.violence_margin,
                                 codes.FP_ATTACK: ctx.per_tick(params.attack_per_hour),
                                 codes.FP_ATTACK_KILL: params.attack_kill,
                                 codes.FP_SITE_ATTACK: site if guarded is None else site * (1.0 - guarded)})


MECHANISM = Escalation()
