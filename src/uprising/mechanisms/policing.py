"""How the police on the streets act: dated withdrawals from the streets, and restraint (no force used).

Two kinds of dated events, each an input with its source, change what the police of the named cities do
from ``start`` to ``end``:

* ``withdrawal``: a share ``share`` of the city's cops leave the streets (and the shops they guard; with
  ``sites.hold_withdrawn`` they hold the government and police buildings, :mod:`uprising.mechanisms.sites`). The cop
  target of the city (:data:`uprising.mechanisms.base.TickInputs.cop_target`, as the mechanisms before this
  one left it: the intervention's freed police included) is multiplied by ``1 - share``; the kernel's cop
  schedule takes cops off the lattice at random, and puts them back when the event ends (Epstein's Run 5
  schedule). The bans the police enforce lapse with them: the threshold shift of a state of emergency
  (:data:`uprising.kernels.codes.FP_THRESHOLD_SHIFT`, :mod:`uprising.mechanisms.emergency`) is multiplied by
  ``1 - share`` (a ban on gatherings that nobody enforces deters nobody), and so is the violence margin of
  :mod:`uprising.mechanisms.escalation` (:data:`uprising.kernels.codes.FP_VIOLENCE_MARGIN`): with nobody to
  stop them, the active who would not have attacked a guarded building do (the storming of Almaty's akimat came
  as its police left; riots that grow where the police withdraw are the pattern of Los Angeles 1992 and
  London 2011, Reicher & Stott 2011 "Mad Mobs and Englishmen?"). Citizens estimate their risk of arrest from the cops they see (rule A), so the withdrawal
  lowers everyone's net risk at once: the "political opportunity" of a state that has let go of the
  streets (McAdam 1982; Tarrow 1998). Almaty, 5 January 2022: police barriers gave way "almost without
  resistance", patrol cars left the akimat, "the police fled", the airport's guards left their posts
  (data/kz2022/city_events.csv, rows of kind ``security_withdrawal``).
* ``restraint``: the police do not disperse or arrest (a cop that sees active citizens leaves them be:
  :data:`uprising.kernels.codes.FP_COP_IDLE` = 1), and so use no force at all: attacked, they do not fire
  back (:data:`uprising.kernels.codes.FP_RETURN_FIRE` = 0, :mod:`uprising.mechanisms.lethal_force`).
  Zhanaozen and Aktau, 2-7 January 2022: the official chronology records roads blocked and a tent camp with
  no force used, and the government's commission negotiating in Aktau (city_events.csv). Police who hold back
  and talk do more than not provoke: crowds policed by dialogue and a low profile see the police as legitimate and
  police their own violent fringe (the elaborated social identity model's "liaison" policing: Reicher et al.
  2004; Stott et al. 2008 measured far less disorder where it was used at Euro 2004). So the violence margin
  of :mod:`uprising.mechanisms.escalation` is multiplied by ``restraint_margin`` (at least 1) where
  restraint holds: only those whose net grievance clears the threshold by ``restraint_margin`` times the
  usual margin turn violent. ``restraint_margin = 1`` keeps restraint to its first meaning (no force used).
  An event with ``dialogue = false`` keeps that first meaning whatever ``restraint_margin`` is: police who
  only hold back, with no talks reported (Taraz, 5-6 January 2022: "for two days we did not use force against
  criminals; because of that they burned several administrative buildings", its akim on 7 January).

Where a withdrawal and restraint overlap, both hold. Where several withdrawals overlap, the largest share
holds. Switched off, the mechanism is absent from the run and events of these kinds are ignored; with no
such events it changes nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

STOTT = ("Stott, Adang, Livingstone & Schreiber (2008) Psychol Public Policy Law 14:115; Reicher, Stott, Cronin & "
         "Adang (2004) Policing 27:558 (dialogue and low-profile policing)")
MCADAM = "McAdam (1982) Political Process and the Development of Black Insurgency; Tarrow (1998) Power in Movement"


class PolicingParams(Params):
    """Parameters of the policing mechanism (the withdrawals and restraints themselves are dated events)."""

    enabled: bool = Field(True, description="withdrawal and restraint events change what the police do",
                          json_schema_extra=meta("switch", MCADAM))
    restraint_margin: float = Field(1.0, ge=1.0, le=1e6,
                                    description="factor on the violence margin where the police hold back and talk "
                                    "(1: restraint only stops the use of force)",
                                    json_schema_extra=meta("factor", STOTT))


class WithdrawalEvent(Event):
    """A share of the police leave the streets of the named cities from ``start`` to ``end``."""

    kind: Literal["withdrawal"]
    start: Time
    end: Time | None = None
    share: float = Field(ge=0.0, le=1.0, description="share of the city's cops that leave the streets")


class RestraintEvent(Event):
    """The police of the named cities use no force (no dispersal, no arrest) from ``start`` to ``end``."""

    kind: Literal["restraint"]
    start: Time
    end: Time | None = None
    dialogue: bool = Field(True, description="the police also talk with the crowd (dialogue policing: the violence "
                           "margin widens by restraint_margin); false: they only hold back")


class Policing(Mechanism):
    """The cop target and the idle probability of each city under withdrawals and restraint."""

    name = "policing"
    parameters = PolicingParams
    events = (WithdrawalEvent, RestraintEvent)
    recorded = ("withdrawn", "restraint")

    def step(self, params: PolicingParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        withdrawn = np.zeros(ctx.n)
        for e in ctx.events_of("withdrawal"):
            if e.on(step):
                withdrawn = np.where(e.cities, np.maximum(withdrawn, e.spec.share), withdrawn)
        restraint = ctx.cities_under("restraint", step)
        dialogue = ctx.cities_under("restraint", step, where=lambda spec: spec.dialogue)
        report = {"withdrawn": withdrawn, "restraint": restraint.astype(np.float64)}
        if not withdrawn.any() and not restraint.any():
            return None, Changes(report=report)
        fp = {}
        if restraint.any():
            fp[codes.FP_COP_IDLE] = np.where(restraint, 1.0, now.fp[:, codes.FP_COP_IDLE])
            # no force at all: the police who are attacked do not fire back either (lethal_force.return_fire)
            fp[codes.FP_RETURN_FIRE] = np.where(restraint, 0.0, now.fp[:, codes.FP_RETURN_FIRE])
            if params.restraint_margin != 1.0:
                fp[codes.FP_VIOLENCE_MARGIN] = np.where(dialogue, params.restraint_margin, 1.0) * \
                    now.fp[:, codes.FP_VIOLENCE_MARGIN]
        if withdrawn.any():
            fp[codes.FP_THRESHOLD_SHIFT] = now.fp[:, codes.FP_THRESHOLD_SHIFT] * (1.0 - withdrawn)
            margin = fp.get(codes.FP_VIOLENCE_MARGIN, now.fp[:, codes.FP_VIOLENCE_MARGIN])
            fp[codes.FP_VIOLENCE_MARGIN] = margin * (1.0 - withdrawn)
        target = np.rint(now.cop_target * (1.0 - withdrawn)).astype(np.int64)
        # the cops off the streets, in agents: read by the sites mechanism (sites.hold_withdrawn), not recorded
        report["police_withdrawn"] = (np.asarray(now.cop_target) - target).astype(np.float64)
        return None, Changes(fp=fp, cop_target=target, report=report)


MECHANISM = Policing()
