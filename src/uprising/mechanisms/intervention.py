"""An outside intervention force: troops that arrive in named cities on a date and leave on another.

Epstein's Model II adds peacekeepers (cops) at a time t; the CSTO's force in
January 2022 (about 2,030-2,500 troops from 6 January, leaving 13-19 January)
mostly guarded 14 strategic sites, which freed about 1,600 Kazakh security
personnel (targets.csv). An ``intervention`` event gives the troops per city, the
dates and a role:

* ``guard``: the troops guard sites, so ``freed_police_per_troop`` local police per
  troop join the city's cops, and attacks on sites in the city are repelled with
  probability ``site_protection``;
* ``arrest``: the troops act as cops themselves, one cop per troop.

Cops (at the run's scale) are added on random empty cells when the force
arrives and removed at random when it leaves (the cop schedule of Epstein's Run
5). Switched off, the mechanism is absent from the run: events of this kind are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Changes, Cities, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

EPSTEIN2 = "Epstein (2002) Model II (peacekeepers added at time t)"


class InterventionParams(Params):
    """Parameters of the outside force (its size, cities, dates and role are events)."""

    country_inputs: ClassVar[frozenset[str]] = frozenset({"freed_police_per_troop"})  # a figure of the episode

    enabled: bool = Field(True, description="intervention events bring troops",
                          json_schema_extra=meta("switch", EPSTEIN2))
    freed_police_per_troop: float = Field(0.8, ge=0.0, le=10.0,
                                          description="local police freed for the streets per guarding troop",
                                          json_schema_extra=meta("police per troop",
                                                                 "targets.csv: 1,600 freed / ~2,000 troops"))
    site_protection: float = Field(1.0, ge=0.0, le=1.0,
                                   description="share of attacks on sites repelled where troops guard",
                                   json_schema_extra=meta("probability", "uprising (assumption)"))


class InterventionEvent(Event):
    """An outside force: troops per city, from ``start`` to ``end``, guarding sites or making arrests."""

    kind: Literal["intervention"]
    start: Time
    end: Time | None = None
    troops: dict[str, Annotated[int, Field(ge=0, le=10_000_000)]] = Field(description="troops per city")
    role: Literal["guard", "arrest"] = Field("guard", description="guard sites (frees police) or arrest")

    cities: Cities = Field(default_factory=list, exclude=True, description="the keys of troops (not written)")

    @model_validator(mode="before")
    @classmethod
    def _cities_are_the_troops(cls, data: Any) -> Any:
        """An intervention acts where its troops are: its cities are the keys of ``troops``."""
        if isinstance(data, dict) and isinstance(data.get("troops"), dict):
            named = list(data["troops"])
            given = data.get("cities")
            if given is not None and (not isinstance(given, list) or sorted(given) != sorted(named)):
                raise ValueError(f"cities: an intervention acts where its troops are ({', '.join(named)}); "
                                 "leave cities out, or list exactly those")
            data = {**data, "cities": named}
        return data

    def city_problem(self, names: list[str]) -> str | None:
        for city in self.troops:
            if city not in names:
                return f"troops: unknown city {city!r}; allowed: {', '.join(names)}"
        return None


class Intervention(Mechanism):
    """The cop target and guarded sites of each city while troops are there (the module's docstring)."""

    name = "intervention"
    parameters = InterventionParams
    events = (InterventionEvent,)
    recorded = ("troops",)  # site_protection is read by escalation, not recorded

    def step(self, params: InterventionParams, ctx: Context, state: None, step: int, obs: Observation,
             now: InputsView) -> tuple[None, Changes]:
        index = {name: i for i, name in enumerate(ctx.names)}
        troops = np.zeros(ctx.n)
        extra = np.zeros(ctx.n)
        guarded = np.zeros(ctx.n, dtype=bool)
        for e in ctx.events_of("intervention"):
            if e.on(step):
                per_city = np.zeros(ctx.n)
                for city, count in e.spec.troops.items():
                    per_city[index[city]] = count
                troops += per_city
                if e.spec.role == "guard":
                    extra += per_city * params.freed_police_per_troop
                    guarded |= per_city > 0
                else:
                    extra += per_city
        return None, Changes(cop_target=now.cop_target + np.rint(extra * ctx.scale).astype(np.int64),
                             report={"troops": troops,
                                     "site_protection": np.where(guarded, params.site_protection, 0.0)})

    def most_added_cops(self, params: InterventionParams, events: list[Event], scale: float) -> dict[str, float]:
        """Every intervention event's troops at once, each worth the larger of one cop and the police it frees."""
        extra: dict[str, float] = {}
        per = max(params.freed_police_per_troop, 1.0)
        for e in events:
            if isinstance(e, InterventionEvent):
                for city, n in e.troops.items():
                    extra[city] = extra.get(city, 0.0) + n * per * scale
        return extra


MECHANISM = Intervention()
