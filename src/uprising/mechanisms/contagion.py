"""The information channel between cities (Bonnasse-Gahot et al. 2018, *Sci. Rep.* 8:107).

In Bonnasse-Gahot et al.'s model of the 2005 French riots, unrest in one
municipality raises the rate of rioting in others through a kernel that decays
with distance, plus a national (media) term that does not. uprising puts the
same two terms into each citizen's activation, rule A, as an external push
``E_i`` added to the net grievance (``G - R*P + E_i > T``,
:data:`uprising.kernels.codes.FP_EXTERNAL`):

    S_i(t) = distance_weight * sum_{j != i} exp(-d_ij / distance_km) * a_j(t-1) + media_weight * a_{-i}(t-1)
             + local_weight * a_i(t-1)
    E_i(t) = (1 - b_i(t)) * max_push * (1 - exp(-S_i(t) / max_push))

``a_j`` is the share of city ``j``'s citizens who are active or violent after the
previous step, smoothed exponentially over ``memory_hours`` (news of unrest
travels and fades over a news cycle, not within the hour), ``a_{-i}`` the same
share over all the other cities together,
``d_ij`` the great-circle distance between the cities' coordinates, and ``b_i`` the
blackout level in city ``i`` (:mod:`uprising.mechanisms.blackout`; 1 cuts the
channel). Unrest within a city spreads through the lattice itself (the actives
within vision lower P); with ``local_weight > 0`` the city's own unrest, smoothed the same way, also enters
``E``: word of a city's protest reaches its citizens beyond their vision, and each day's turnout tells the
undecided how safe and how worthwhile it is to join the next (the informational cascades of Leipzig's Monday
demonstrations, Lohmann 1994, *World Politics* 47:42; Granovetter 1978). ``local_weight = 0`` (the default)
leaves only unrest elsewhere in ``E``. The own term shares ``max_push`` with the rest, unless ``local_max_push``
is set: then it saturates at that bound of its own, ``local_max_push * (1 - exp(-local_weight a_i /
local_max_push))``, added after the rest has saturated (news from elsewhere and a crowd in one's own streets
are different channels).

The push is ``S`` while small and saturates at ``max_push`` (unset: ``E = (1 - b) S``,
the linear form of Bonnasse-Gahot et al.). Their model bounds contagion by depleting
the susceptible population; in rule A the push acts on everyone at once, and a linear
push strong enough to carry news of a few thousand protesters in Mangystau across the
country would, once every city is out, push far more than the whole population over
its threshold. Saturation says that news of unrest elsewhere matters, and more news
matters less and less: uprising's design, switchable by leaving ``max_push`` unset.

Switched off, the mechanism is absent from the run: ``E = 0`` and the cities evolve independently (unless legitimacy
feedback is national, which couples them through the government).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, InputsView, Mechanism, Observation, Params, meta

BONNASSE = "Bonnasse-Gahot et al. (2018) Sci Rep 8:107"


class ContagionParams(Params):
    """Parameters of the information channel."""

    enabled: bool = Field(True, description="unrest elsewhere pushes citizens towards activity",
                          json_schema_extra=meta("switch", BONNASSE))
    distance_weight: float = Field(0.0, ge=0.0, le=100.0,
                                   description="push per unit active share of a city at distance 0",
                                   json_schema_extra=meta("net grievance per share", BONNASSE))
    distance_km: float = Field(200.0, gt=0.0, le=100_000.0, description="decay length of the distance kernel",
                               json_schema_extra=meta("km", BONNASSE))
    media_weight: float = Field(0.0, ge=0.0, le=100.0,
                                description="push per unit active share of the rest of the country (national media)",
                                json_schema_extra=meta("net grievance per share", BONNASSE))
    max_push: float | None = Field(None, gt=0.0, le=10.0,
                                   description="the most the push can add to net grievance (unset: no bound)",
                                   json_schema_extra=meta("net grievance", "uprising (saturating form)"))
    local_weight: float = Field(0.0, ge=0.0, le=100.0,
                                description="push per unit active share of the citizen's own city (word of mouth)",
                                json_schema_extra=meta("net grievance per share",
                                                       "Lohmann (1994) World Politics 47:42; Granovetter (1978)"))
    local_max_push: float | None = Field(None, gt=0.0, le=10.0,
                                         description="a bound of the city's own push of its own, added after the "
                                         "bound of the rest (unset: the own push shares max_push)",
                                         json_schema_extra=meta("net grievance", "uprising (saturating form)"))
    memory_hours: float = Field(0.0, ge=0.0, le=100_000.0,
                                description="time constant of the news of unrest elsewhere (0: the last step's)",
                                json_schema_extra=meta("hours", "uprising (assumption)"))


class Contagion(Mechanism):
    """The push of unrest elsewhere (the equations of the module's docstring)."""

    name = "contagion"
    parameters = ContagionParams
    recorded = ("information",)

    def init(self, params: ContagionParams, ctx: Context) -> np.ndarray:
        return np.zeros(ctx.n)  # the smoothed unrest per city (agents)

    def step(self, params: ContagionParams, ctx: Context, state: np.ndarray, step: int, obs: Observation,
             now: InputsView) -> tuple[np.ndarray, Changes]:
        p = params
        kernel = np.exp(-ctx.distance_km / p.distance_km)
        np.fill_diagonal(kernel, 0.0)
        tau = p.memory_hours
        follow = 1.0 if tau == 0 else 1.0 - math.exp(-ctx.clock.tick_hours / tau)
        agents = ctx.agents.astype(np.float64)
        unrest = state + ((obs.active + obs.violent) - state) * follow
        share = unrest / agents
        others = (unrest.sum() - unrest) / np.maximum(agents.sum() - agents, 1.0)
        push = p.distance_weight * (kernel @ share) + p.media_weight * others
        local = p.local_weight * share if p.local_weight > 0.0 else None
        if local is not None and p.local_max_push is None:
            push, local = push + local, None  # one bound for both
        if p.max_push is not None:
            push = p.max_push * -np.expm1(-push / p.max_push)
        if local is not None:  # the city's own push, with its own bound
            push = push + p.local_max_push * -np.expm1(-local / p.local_max_push)
        blackout = now.report.get("blackout")
        if blackout is not None:
            push = push * (1.0 - blackout)
        return unrest, Changes(fp={codes.FP_EXTERNAL: push}, report={"information": push})


MECHANISM = Contagion()
