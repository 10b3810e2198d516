"""Repression by arrest: jail terms in days, jail capacity, injuries in arrest.

Epstein's rule C jails an arrestee for a term drawn from U(0, J_max) steps. A
country scenario gives the term in days (``jail_term_days``; converted to ticks
with the clock, the rules' ``jail_term`` saying how it is drawn), and the jails a
capacity per 1,000 residents (cities' ``jail_capacity_per_1000`` override it):
when a city's jail is full, cops make no arrest (a count of refused arrests is
kept) and sweeps detain nobody. An arrestee is injured with probability
``injure`` (a count).

Epstein's cop arrests an active citizen in vision in every activation. A
country's ticks are hours, and an arrest takes time: ``arrest_per_hour`` is the
probability per hour that a cop who sees active citizens uses force on one of
them (converted to the tick; :data:`uprising.kernels.codes.FP_COP_IDLE` is its
complement). Citizens still estimate P from the cops they see (rule A).

Arrests themselves are Model I and always on; ``jail_capacity_per_1000`` unset,
``injure = 0`` and ``arrest_per_hour = 1`` are Model I exactly.

``casualties`` says how deaths, injuries and detentions are counted: ``"agents"`` (the default, the first
model's) counts agents and the driver multiplies by ``1/scale``; ``"people"`` treats each agent as a
super-individual of ``1/scale`` people (Scheffer et al. 1995) and draws the people killed, injured and
detained in each confrontation (``Binomial(people, p)``) from a stream of their own, so the record's small
numbers are reachable at any scale and the lattice's trajectory is unchanged
(:func:`uprising.kernels.lattice.run_steps`; docs/country-model.md, "Casualties in people").
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..kernels import codes
from .base import Changes, Context, InputsView, Mechanism, Observation, Params, meta

EPSTEIN = "Epstein (2002) PNAS 99(suppl 3):7243, rule C"


class RepressionParams(Params):
    """Parameters of arrest and jail."""

    country_inputs: ClassVar[frozenset[str]] = frozenset({"jail_term_days"})  # the country's law on detention

    jail_term_days: float = Field(10.0, ge=0.0, le=3650.0, description="J_max, the longest jail term",
                                  json_schema_extra=meta("days", EPSTEIN + "; targets.csv admin_detention"))
    jail_capacity_per_1000: float | None = Field(
        None, ge=0.0, le=1000.0, description="most prisoners at once per 1,000 residents (unset: unlimited)",
        json_schema_extra=meta("prisoners per 1,000 residents", "uprising (assumption)"))
    injure: float = Field(0.0, ge=0.0, le=1.0, description="probability that an arrestee is injured",
                          json_schema_extra=meta("probability per arrest", "uprising"))
    arrest_per_hour: float = Field(1.0, ge=0.0, le=1.0,
                                   description="probability per hour that a cop seeing actives uses force on one",
                                   json_schema_extra=meta("per hour", "uprising (calibrated); 1 is Epstein's rule C"))
    casualties: Literal["agents", "people"] = Field(
        "agents", description="count deaths, injuries and detentions in whole agents (times 1/scale) or in "
        "people drawn per confrontation (super-individuals)",
        json_schema_extra=meta("choice", "Scheffer et al. (1995) Ecol. Model. 80:161 (super-individuals)"))


class Repression(Mechanism):
    """The injury and arrest probabilities (the capacity and term are compiled into the kernel's switches
    by the driver and the scenario). It has no switch: it is always in the run."""

    name = "repression"
    parameters = RepressionParams

    def step(self, params: RepressionParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        fp = {}
        if params.injure > 0:
            fp[codes.FP_INJURE] = params.injure
        idle = 1.0 - ctx.per_tick(params.arrest_per_hour)
        if idle > 0:
            fp[codes.FP_COP_IDLE] = idle
        return None, Changes(fp=fp)


MECHANISM = Repression()
