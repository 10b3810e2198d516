"""Exposure: citizens differ in how much a price shock and the news of unrest elsewhere reach them.

Epstein's rule A gives every citizen of a city the same hardship shift ``s`` (:mod:`uprising.mechanisms.price`)
and the same push ``E`` (:mod:`uprising.mechanisms.contagion`). People differ in both: who drives on LPG and
who does not, who is in the messenger groups where the news of Zhanaozen travelled and who is not, who is
free to go out (McAdam 1986 on *biographical availability*: the young, unmarried and without a job are the
ones a movement recruits). With ``tail = a`` in (0, 1) each citizen carries an exposure

    w = (1 - a) * R^(-a)

of its risk aversion ``R ~ U(0, 1)`` (so the citizens least afraid of arrest are the ones the shock and the
news reach most: one trait, "availability", behind both), and rule A reads

    G = (H + w s)(1 - L),     active iff  G - R P (1 + penalty) + w E > T + T_shift

(:func:`uprising.kernels.lattice.exposure_weight`, :data:`uprising.kernels.codes.FP_EXPOSURE`). ``w`` has mean 1
over ``R ~ U(0, 1)``, so the average citizen feels the shift and the push as before, and a Pareto upper tail of
index ``1/a``: the share of citizens for whom ``w`` exceeds ``x`` is ``((1 - a)/x)^(1/a)``. A share that falls
as a power of the push is what makes the aggregate response smooth (Granovetter 1978: the distribution of
thresholds, not their mean, decides whether a crowd forms gradually or all at once): doubling the shift or the
push multiplies the citizens it carries over by about ``2^(1/a)`` rather than taking a city from none to all.
Before any shock (``s = 0``, ``E = 0``) exposure changes nothing, so a quiet city stays quiet.

``most`` caps the exposure, ``w = min(w, most)``: nobody is more than so many times as exposed as the average
citizen of the uncapped law (the cap lowers the mean a little: by 0.6% for the Kazakhstan v2 candidate's
a = 0.34, most = 5.3) (a car runs on LPG or it does not; a day has so many hours to spend in the messenger groups), which
bounds the grievance of the most exposed; unset (0), the tail is unbounded.

Coupling exposure to risk aversion is an assumption of form (one trait, not two independent draws); the tail
index is fitted. Switched off, or with ``tail = 0``, ``w = 1`` for everyone: Epstein's rule A with the shift and
push of the first model, bit for bit.
"""

from __future__ import annotations

from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, InputsView, Mechanism, Observation, Params, meta

MCADAM86 = "McAdam (1986) Am J Sociol 92(1):64 (biographical availability); Granovetter (1978) Am J Sociol 83:1420"


class ExposureParams(Params):
    """Parameters of the exposure mechanism."""

    enabled: bool = Field(True, description="citizens differ in how much the price shift and the push reach them",
                          json_schema_extra=meta("switch", MCADAM86))
    tail: float = Field(0.0, ge=0.0, lt=1.0,
                        description="tail index a of the exposure w = (1 - a) R^-a (0: everyone w = 1)",
                        json_schema_extra=meta("index (Pareto tail 1/a)", MCADAM86))
    most: float = Field(0.0, ge=0.0, le=1e6, description="the most exposure any citizen has (0: no cap)",
                        json_schema_extra=meta("multiple of the uncapped mean exposure", "uprising (assumption of form)"))


class Exposure(Mechanism):
    """The exposure tail index of every city (the module's docstring)."""

    name = "exposure"
    parameters = ExposureParams

    def step(self, params: ExposureParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        if params.tail == 0.0:
            return None, Changes()
        return None, Changes(fp={codes.FP_EXPOSURE: params.tail, codes.FP_EXPOSURE_MAX: params.most})


MECHANISM = Exposure()
