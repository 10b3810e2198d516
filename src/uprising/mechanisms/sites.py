"""Finite targets: the buildings of each city that violent crowds attack, seize, burn and loot, and that the
police defend and retake.

The first model counted "site attacks" as events with nothing to attack (6,000 a run). The record counts
buildings: 1,466 attacked, of which 71 government buildings (12 akimats among them) besides 27 police
facilities, in 9 cities; Almaty's akimat and the president's residence seized and burnt on 5 January, the
airport taken that night, 27 attacks on Almaty's city police department repelled overnight, police buildings
seized in Taldykorgan and burnt in Taraz, and over 120 shops, 180 eateries and 100 offices wrecked or looted
in Almaty (data/kz2022/city_events.csv; targets.csv ``buildings_attacked``). This mechanism gives each city a
finite set of buildings of three kinds and plays the confrontations over them, counted in people (the
violent are ``obs.violent_residents``: the people counted where casualties are counted in people, an organised
core among the crowds included, else violent agents / scale; Scheffer et al. 1995), so its counts do not depend
on the scale.

**Buildings.** City ``c`` with ``N_c`` residents has ``round(base_k + per_100k_k * N_c / 100,000)`` buildings of
kind ``k`` (``government``: akimats, maslikhats, prosecutors, courts, party offices, broadcasters, the president's
residences; ``police``: police and security-service buildings; ``commercial``: shops, banks, eateries, offices,
the airport's terminal). The counts are a rule on population, the same for every city (an assumption, stated in
the parameters; there is no per-city knob).

**Attacks.** In a step of ``tau`` hours the ``V`` violent people of a city make ``Poisson(a * V * tau)`` attacks,
``a = attack_per_hour``; each falls on one of the city's buildings not burnt, a government or police building
``state_weight`` times as readily as a commercial one (1: drawn uniformly). The crowds went for the seats of power:
of the 1,466 buildings attacked, 71 were government buildings (12 akimats) and 27 police facilities, 7% against
their small share of a city's buildings, and Almaty's city police department alone was attacked 27 times in one
night (data/kz2022/targets.csv; city_events.csv). Whether it
succeeds is a contest of numbers, the form of Lanchester's square law reduced to one encounter (Lanchester 1916;
Epstein 1985 "The Calculus of Conventional War" for its use in conflict models):

    P(success) = V / (V + defence * g_k * P)

with ``P`` the police on the city's streets (``obs.cops / scale`` residents; a withdrawal,
:mod:`uprising.mechanisms.policing`, lowers it; with ``hold_withdrawn`` the police who left the streets still
hold the government and police buildings, which are then defended by the streets' police and the withdrawn
together: Almaty, 5-6 January 2022, the police left the streets but repelled 27 attacks on the city police
department overnight, defended the president's residence until 19:25 and fired back from a district station's
roof, city_events.csv) and ``g_k`` the guard a kind of building has (``guard_commercial``
for shops; 1 for government and police buildings). A building that the intervention's troops guard
(``site_protection`` of :mod:`uprising.mechanisms.intervention`) holds with that probability. A repelled attack
injures ``Poisson(injured_security)`` security personnel and ``Poisson(injured_protesters)`` attackers. A
successful attack seizes a government or police building (if not held already) and loots a commercial one
(looting is its own activity: a looted shop is counted once, and may be looted again).

**Armed crowds.** Where an ``armed`` event is on (a dated input with its source: weapons looted in the city), each
confrontation over a building hurts ``armed_injuries`` times ``injured_security`` security personnel. Almaty, 5
January 2022: seven gun shops seized and 1,347-1,564 weapons taken, weapons from gun shops used in the storming of
the president's residence from 15:00, arms taken from the residence; Taldykorgan: weapons taken from the regional
police department, seized at 19:48 (city_events.csv, rows ``weapons_looted``).

**Burning and retaking.** A seized building burns with probability ``burn_per_hour`` per hour (a burnt building
is counted and is no longer a target). The police retake a seized building with probability

    retake_per_hour * defence * P / (V + defence * P)          per hour,

each retaking injuring security personnel and occupiers as a repelled attack does. So injuries of both sides
come from confrontations over buildings through the whole episode, as the police come back and clear them.

Reported per city and step (recorded): the buildings attacked so far (``buildings_attacked``; government ones
``government_attacked``, police ones ``police_attacked``), held now (``buildings_seized``), burnt so far
(``buildings_burnt``), commercial buildings looted so far (``shops_looted``), and the people injured over
buildings in the step (``site_injured_security``, ``site_injured_protesters``). The draws come from a stream of
their own, one per city and step (:meth:`uprising.mechanisms.base.Context.stream`), so a city's buildings do
not depend on the other cities' draws or their order, and switching this mechanism on leaves every lattice's
trajectory unchanged; it changes none of the kernel's inputs. Switched off (the default), it is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from .base import Changes, Context, Event, InputsView, Mechanism, Observation, Params, Time, meta

LANCHESTER = "Lanchester (1916) Aircraft in Warfare; Epstein (1985) The Calculus of Conventional War"
RECORD = "data/kz2022/city_events.csv (building_attacked, building_seized, building_burnt, shops_looted rows)"

#: the kinds of building, in the order of the state's arrays
KINDS = ("government", "police", "commercial")


class SitesParams(Params):
    """Parameters of the finite targets (buildings) and the confrontations over them."""

    #: how many buildings a city has (the attack and the defence are behaviour)
    country_inputs: ClassVar[frozenset[str]] = frozenset({"government_base", "government_per_100k", "police_base",
                                                          "police_per_100k", "commercial_per_100k"})

    enabled: bool = Field(False, description="finite buildings per city that violent crowds attack and seize",
                          json_schema_extra=meta("switch", RECORD))
    government_base: float = Field(4.0, ge=0.0, le=1e6,
                                   description="government buildings of a city of no residents",
                                   json_schema_extra=meta("buildings", "assumption: a city and a regional akimat, "
                                                          "maslikhat, prosecutor's office"))
    government_per_100k: float = Field(2.0, ge=0.0, le=1000.0,
                                       description="further government buildings per 100,000 residents",
                                       json_schema_extra=meta("buildings per 100,000 residents",
                                                              "assumption: district akimats, courts, offices"))
    police_base: float = Field(1.0, ge=0.0, le=1e6, description="police buildings of a city of no residents",
                               json_schema_extra=meta("buildings", "assumption: the city police department"))
    police_per_100k: float = Field(1.0, ge=0.0, le=1000.0,
                                   description="further police buildings per 100,000 residents",
                                   json_schema_extra=meta("buildings per 100,000 residents",
                                                          "assumption: district police departments"))
    commercial_per_100k: float = Field(100.0, ge=0.0, le=100_000.0,
                                       description="shops, banks, eateries and offices per 100,000 residents",
                                       json_schema_extra=meta("buildings per 100,000 residents", "assumption"))
    attack_per_hour: float = Field(0.001, ge=0.0, le=10.0,
                                   description="attacks on a building per violent person per hour",
                                   json_schema_extra=meta("per person per hour", RECORD))
    defence: float = Field(1.0, ge=0.0, le=1e6,
                           description="how many attackers one police officer on the streets holds off",
                           json_schema_extra=meta("attackers per officer", LANCHESTER))
    guard_commercial: float = Field(0.1, ge=0.0, le=1.0,
                                    description="the guard a commercial building has, against a government one's 1",
                                    json_schema_extra=meta("share", "assumption: police guard few shops"))
    injured_security: float = Field(1.0, ge=0.0, le=1000.0,
                                    description="security personnel injured in a repelled attack or a retaking",
                                    json_schema_extra=meta("people per confrontation", RECORD))
    injured_protesters: float = Field(1.0, ge=0.0, le=1000.0,
                                      description="attackers injured in a repelled attack or a retaking",
                                      json_schema_extra=meta("people per confrontation", "assumption"))
    killed_protesters: float = Field(0.0, ge=0.0, le=1000.0,
                                     description="attackers killed in a repelled attack on a government or police "
                                     "building (the defenders shoot)",
                                     json_schema_extra=meta("people per repelled attack",
                                                            "data/kz2022/city_events.csv: Almaty 5-6 January, "
                                                            "police fire from a district station's roof; "
                                                            "'dozens' killed storming a police building"))
    burn_per_hour: float = Field(0.05, ge=0.0, le=1.0, description="probability per hour that a seized building burns",
                                 json_schema_extra=meta("per hour", RECORD))
    state_weight: float = Field(1.0, ge=0.0, le=1e6,
                                description="how much more readily an attack falls on a government or police "
                                "building than on a commercial one (1: uniformly)",
                                json_schema_extra=meta("relative weight", "data/kz2022/targets.csv "
                                                       "government_buildings_attacked; city_events.csv (27 attacks "
                                                       "on Almaty's city police department)"))
    hold_withdrawn: bool = Field(False, description="police withdrawn from the streets (policing's withdrawal) "
                                 "still hold the government and police buildings",
                                 json_schema_extra=meta("switch", "data/kz2022/city_events.csv, Almaty 5-6 "
                                                        "January (building_attacked rows)"))
    armed_injuries: float = Field(1.0, ge=0.0, le=1000.0,
                                  description="how many times as many security personnel a confrontation over a "
                                  "building hurts where an `armed` event is on",
                                  json_schema_extra=meta("factor", "data/kz2022/city_events.csv weapons_looted "
                                                         "rows (Almaty and Taldykorgan, 5 January)"))
    retake_per_hour: float = Field(0.1, ge=0.0, le=1.0,
                                   description="probability per hour that police who outnumber the crowd retake a "
                                   "seized building", json_schema_extra=meta("per hour", RECORD))


class ArmedEvent(Event):
    """The crowds of the named cities are armed from ``start`` (weapons looted from gun shops, security buildings
    and arsenals; a dated input with its source): there, each confrontation over a building (a repelled attack or a
    retaking) hurts ``armed_injuries`` times as many security personnel."""

    kind: Literal["armed"]
    start: Time
    end: Time | None = None


@dataclass(frozen=True)
class SitesState:
    """Per building (one flat array over every city's buildings): its city, its kind, and what happened to it."""

    city: np.ndarray  # int64, the city of each building
    kind: np.ndarray  # int64, index into KINDS
    attacked: np.ndarray  # bool, ever attacked
    seized: np.ndarray  # bool, held by the crowd now
    burnt: np.ndarray  # bool
    looted: np.ndarray  # bool, ever looted (commercial)


def building_counts(params: SitesParams, residents: np.ndarray) -> np.ndarray:
    """Buildings of each kind per city (n_cities x 3, int64), by the rule on population (module docstring)."""
    per = residents / 100_000.0
    return np.stack([np.rint(params.government_base + params.government_per_100k * per),
                     np.rint(params.police_base + params.police_per_100k * per),
                     np.rint(params.commercial_per_100k * per)], axis=1).astype(np.int64)


class Sites(Mechanism):
    """Attacks, seizures, burning, looting and retaking of each city's buildings (the module's docstring)."""

    name = "sites"
    parameters = SitesParams
    events = (ArmedEvent,)
    recorded = ("buildings_attacked", "government_attacked", "police_attacked", "buildings_seized",
                "buildings_burnt", "shops_looted", "site_injured_security", "site_injured_protesters",
                "site_killed_protesters")

    def init(self, params: SitesParams, ctx: Context) -> SitesState:
        counts = building_counts(params, ctx.residents)
        city = np.repeat(np.repeat(np.arange(ctx.n), 3), counts.reshape(-1))
        kind = np.repeat(np.tile(np.arange(3), ctx.n), counts.reshape(-1))
        z = np.zeros(city.size, dtype=bool)
        return SitesState(city, kind, z, z.copy(), z.copy(), z.copy())

    def step(self, params: SitesParams, ctx: Context, state: SitesState, step: int, obs: Observation,
             now: InputsView) -> tuple[SitesState, Changes]:
        tau = ctx.clock.tick_hours
        violent = obs.violent_people(ctx.scale)  # people (an organised core among the crowds included)
        police = obs.cops / ctx.scale
        withdrawn = now.report.get("police_withdrawn")
        # the state buildings' defenders: the streets' police, and with hold_withdrawn those who left them
        police_state = police + (np.asarray(withdrawn, dtype=np.float64) / ctx.scale
                                 if params.hold_withdrawn and withdrawn is not None else 0.0)
        guarded = now.report.get("site_protection")
        protection = np.zeros(ctx.n) if guarded is None else np.asarray(guarded, dtype=np.float64)
        # security personnel hurt per confrontation: more where the crowds are armed
        hurt_per = np.where(ctx.cities_under("armed", step), params.armed_injuries, 1.0) * params.injured_security
        attacked, seized = state.attacked.copy(), state.seized.copy()
        burnt, looted = state.burnt.copy(), state.looted.copy()
        hurt_security = np.zeros(ctx.n)
        hurt_protesters = np.zeros(ctx.n)
        killed = np.zeros(ctx.n)
        guard = np.array([1.0, 1.0, params.guard_commercial])
        first = np.searchsorted(state.city, np.arange(ctx.n + 1))  # a city's buildings are contiguous
        for c in range(ctx.n):
            lo, hi = first[c], first[c + 1]
            if violent[c] <= 0 and not seized[lo:hi].any():
                continue  # nothing to attack with and nothing held: no draw would be made
            rng = ctx.stream(f"{self.name}:{ctx.names[c]}", step)  # a city's draws depend on it alone
            mine = lo + np.flatnonzero(~burnt[lo:hi])
            # retaking first: the police clear what the crowd held at the end of the last step
            held = mine[seized[mine]]
            if held.size:
                hold = params.defence * police_state[c]  # only state buildings are seized
                p = ctx.per_tick(params.retake_per_hour * (hold / (violent[c] + hold) if hold > 0 else 0.0))
                p = max(p, ctx.per_tick(params.retake_per_hour) * protection[c])
                back = held[rng.random(held.size) < p]
                if back.size:
                    seized[back] = False
                    hurt_security[c] += rng.poisson(hurt_per[c] * back.size)
                    hurt_protesters[c] += rng.poisson(params.injured_protesters * back.size)
            # attacks of the step
            n_attacks = int(rng.poisson(params.attack_per_hour * violent[c] * tau)) if violent[c] > 0 else 0
            if n_attacks and mine.size:
                if params.state_weight == 1.0:
                    hit = mine[rng.integers(0, mine.size, n_attacks)]
                else:
                    weight = np.where(state.kind[mine] != 2, params.state_weight, 1.0)
                    total = weight.sum()
                    hit = mine[rng.choice(mine.size, n_attacks, p=weight / total)] if total > 0 else mine[:0]
                    n_attacks = hit.size  # none where every building left weighs 0
                attacked[hit] = True
                defenders = params.defence * guard[state.kind[hit]] * \
                    np.where(state.kind[hit] != 2, police_state[c], police[c])
                win = rng.random(n_attacks) < violent[c] / (violent[c] + defenders)
                if protection[c] > 0:
                    win &= ~((state.kind[hit] != 2) & (rng.random(n_attacks) < protection[c]))
                lost = n_attacks - int(win.sum())
                if lost:
                    hurt_security[c] += rng.poisson(hurt_per[c] * lost)
                    hurt_protesters[c] += rng.poisson(params.injured_protesters * lost)
                    held_off = int(((~win) & (state.kind[hit] != 2)).sum())  # repelled at a state building
                    if params.killed_protesters > 0 and held_off:
                        killed[c] += rng.poisson(params.killed_protesters * held_off)
                won = hit[win]
                shop = state.kind[won] == 2
                looted[won[shop]] = True
                seized[won[~shop]] = True
            # burning of what the crowd holds after the step's attacks
            held = mine[seized[mine]]
            if held.size and params.burn_per_hour > 0:
                fire = held[rng.random(held.size) < ctx.per_tick(params.burn_per_hour)]
                burnt[fire] = True
                seized[fire] = False
        state = SitesState(state.city, state.kind, attacked, seized, burnt, looted)
        per_city = lambda mask: np.bincount(state.city[mask], minlength=ctx.n).astype(np.float64)  # noqa: E731
        report = {"buildings_attacked": per_city(attacked),
                  "government_attacked": per_city(attacked & (state.kind == 0)),
                  "police_attacked": per_city(attacked & (state.kind == 1)),
                  "buildings_seized": per_city(seized), "buildings_burnt": per_city(burnt),
                  "shops_looted": per_city(looted), "site_injured_security": hurt_security,
                  "site_injured_protesters": hurt_protesters, "site_killed_protesters": killed}
        return state, Changes(report=report)


MECHANISM = Sites()
