"""The explorer's levers: a few controls derived from a country scenario, applied as edits of it.

Nothing here knows about Kazakhstan. The levers offered for a scenario depend on
what its file declares:

* ``price.peak``: the price of the first (earliest) price event;
* ``price.caps`` and ``price.caps_at``: every later price event as in the file, all
  moved to one time, or dropped ("no caps");
* ``intervention.on``, ``intervention.troops`` (the total, split over the events and
  cities in the file's proportions), ``intervention.role``, ``intervention.arrive``
  and ``intervention.leave`` (every intervention event's start or end);
* ``shoot_order.on`` and ``shoot_order.at`` (an order for all cities is added when
  the file has none);
* ``blackout.on`` and ``blackout.level`` (every blackout event's level);
* ``shock.ID``: the delta of each legitimacy event;
* ``police.per_1000``: police per 1,000 residents in every city;

and the run settings ``scale``, ``replicates`` and ``seed``, bounded so that a run
stays interactive. A lever left at its default (the file's value) changes nothing.
Edits are made on the scenario's mapping (events dropped or added, dotted keys set
with :func:`uprising.country.scenario.apply_changes`) and validated by
:class:`~uprising.country.scenario.CountryScenario`: a bad value raises
:class:`~uprising.scenario.ScenarioError` with one line naming the lever and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..clock import format_time, parse_time
from ..country.scenario import CountryScenario, apply_changes
from ..scenario import ScenarioError

SOURCE = "levers"
#: bounds of the explorer's run settings: (low, high, low_inclusive)
MAX_SCALE = 0.05
MAX_REPLICATES = 20
MAX_SEED = 2**31 - 1
DEFAULT_REPLICATES = 4


def _events(scenario: CountryScenario, kind: str) -> list:
    return [e for e in scenario.events if e.kind == kind]


def _first_price(scenario: CountryScenario):
    prices = _events(scenario, "price")
    if not prices:
        return None, []
    first = min(prices, key=lambda e: e.at)  # min keeps the file's order among equal times
    return first, [e for e in prices if e is not first]


def _short(when: dt.datetime) -> str:
    """A time as the page shows it: ISO 8601 with a 24-hour clock (2022-01-05 12:00)."""
    return when.strftime("%Y-%m-%d %H:%M")


def price_unit() -> str:
    """The price's unit as the price mechanism declares it (its event's ``price`` field, else its ``before``)."""
    from ..mechanisms.price import PriceEvent, PriceParams

    for field in (PriceEvent.model_fields.get("price"), PriceParams.model_fields.get("before")):
        extra = field.json_schema_extra if field is not None else None
        if isinstance(extra, dict) and extra.get("unit"):
            return str(extra["unit"])
    return "price"


def _police_default(scenario: CountryScenario) -> float:
    values = {c.police_per_1000 for c in scenario.cities}
    if len(values) == 1:
        return float(values.pop())
    total = sum(c.population for c in scenario.cities)
    return round(sum(c.police_per_1000 * c.population for c in scenario.cities) / total, 3)


def lever_specs(scenario: CountryScenario) -> list[dict[str, Any]]:
    """The levers of ``scenario``: key, group, label, type (number, bool, choice, time), bounds, default, help,
    and ``when`` (the lever acts only while another lever has a value; the page greys it out otherwise)."""
    clock = scenario.clock
    tmin, tmax = format_time(clock.start), format_time(clock.end)
    specs: list[dict[str, Any]] = []

    def add(key, group, label, kind, default, help_text, **extra):
        specs.append({"key": key, "group": group, "label": label, "type": kind, "default": default,
                      "help": help_text, **extra})

    first, later = _first_price(scenario)
    if first is not None:
        unit = price_unit()
        add("price.peak", "Price", f"Price from {_short(first.at)} ({unit})", "number", float(first.price),
            f"the price set by the first price event ({first.id}), in {unit}; before it: {scenario.price.before:g}",
            min=0.0, max=1e6, step=0.5, unit=unit)
        if later:
            times = sorted({e.at for e in later})
            span = _short(times[0]) if len(times) == 1 else f"{_short(times[0])} to {_short(times[-1])}"
            add("price.caps", "Price", "Later price changes (caps)", "choice", "file",
                f"the {len(later)} later price events: as in the file ({span}), all at one time, or none",
                choices=[["file", f"as in the file ({span})"], ["at", "all at the time below"], ["none", "no caps"]])
            add("price.caps_at", "Price", "Caps at", "time", format_time(times[0]),
                "used when the caps come all at one time", min=tmin, max=tmax, when={"key": "price.caps", "is": "at"})
    interventions = _events(scenario, "intervention")
    if interventions:
        total = sum(sum(e.troops.values()) for e in interventions)
        roles = sorted({e.role for e in interventions})
        role_choices = [["guard", "guard sites (frees police)"], ["arrest", "arrest (act as police)"]]
        if len(roles) > 1:
            role_choices.insert(0, ["file", "as in the file (mixed)"])
        where = ", ".join(sorted({c for e in interventions for c in e.troops}))
        force = {"key": "intervention.on", "is": True}
        add("intervention.on", "Intervention", "Outside force comes", "bool", True,
            f"the {len(interventions)} intervention event(s) of the file ({where}); off drops them")
        add("intervention.troops", "Intervention", "Troops (total)", "number", int(total),
            "split over the cities in the file's proportions", min=0, max=10_000_000, step=1, integer=True,
            when=force)
        add("intervention.role", "Intervention", "Role", "choice", "file" if len(roles) > 1 else roles[0],
            "guard: troops guard sites and free police for the streets; arrest: troops act as police",
            choices=role_choices, when=force)
        add("intervention.arrive", "Intervention", "Arrives", "time", format_time(min(e.start for e in interventions)),
            "moves every intervention's arrival to this time", min=tmin, max=tmax, when=force)
        ends = [e.end for e in interventions if e.end is not None]
        add("intervention.leave", "Intervention", "Leaves", "time", format_time(max(ends) if ends else clock.end),
            "moves every intervention's departure to this time", min=tmin, max=tmax, when=force)
    orders = _events(scenario, "shoot_order")
    mid = clock.start + (clock.end - clock.start) / 2
    add("shoot_order.on", "Force", "Shoot order", "bool", bool(orders),
        "an order to use lethal force" + (f" ({', '.join(e.id for e in orders)})" if orders
                                          else " in every city (none in the file)"))
    add("shoot_order.at", "Force", "Shoot order from", "time",
        format_time(min(e.at for e in orders) if orders else mid.replace(minute=0)), "moves every shoot order to this time",
        min=tmin, max=tmax, when={"key": "shoot_order.on", "is": True})
    blackouts = _events(scenario, "blackout")
    if blackouts:
        add("blackout.on", "Blackout", "Blackout", "bool", True,
            f"the {len(blackouts)} blackout event(s) of the file ({', '.join(e.id for e in blackouts)}); off drops them")
        add("blackout.level", "Blackout", "Level", "number", float(max(e.level for e in blackouts)),
            "share of the information channel cut, set on every blackout event", min=0.0, max=1.0, step=0.05,
            when={"key": "blackout.on", "is": True})
    for e in _events(scenario, "legitimacy"):
        add(f"shock.{e.id}", "Legitimacy shocks", f"{e.id} ({_short(e.at)})", "number", float(e.delta),
            "signed change of legitimacy" + (f"; {e.source}" if e.source else ""), min=-1.0, max=1.0, step=0.001)
    add("police.per_1000", "Police", "Police per 1,000 residents", "number", _police_default(scenario),
        "set in every city", min=0.0, max=500.0, step=0.5)
    return specs


def run_specs(scenario: CountryScenario) -> list[dict[str, Any]]:
    """The run settings, bounded so that a run stays interactive."""
    own = scenario.scale <= MAX_SCALE
    return [
        {"key": "scale", "group": "Run", "label": "Scale (agents per resident)", "type": "number",
         "default": scenario.scale if own else MAX_SCALE, "min": 0.0, "max": MAX_SCALE, "step": 0.001,
         "help": (f"the file's own scale ({scenario.scale:g}), as `uprising run` uses" if own else
                  f"the file's scale is {scenario.scale:g}, above the explorer's {MAX_SCALE:g}, so runs start at "
                  f"{MAX_SCALE:g}") + f"; the explorer allows up to {MAX_SCALE:g}"},
        {"key": "replicates", "group": "Run", "label": "Replicates", "type": "number", "default": DEFAULT_REPLICATES,
         "min": 1, "max": MAX_REPLICATES, "step": 1, "integer": True, "help": "runs with seeds (seed, 0..n-1)"},
        {"key": "seed", "group": "Run", "label": "Seed", "type": "number", "default": 0, "min": 0, "max": MAX_SEED,
         "step": 1, "integer": True, "help": "root seed"},
    ]


# ---------------------------------------------------------------------- parsing
#: most characters of a value echoed back in an error
ECHO = 40


def shown(value: Any, limit: int = ECHO) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that an error echoes a huge value in a few dozen characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            digits = len(str(abs(value)))
        except ValueError:  # Python refuses to print an integer of more than 4,300 digits
            return "a number of over 4,300 digits"
        if digits > limit:
            return f"a {digits}-digit number"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fail(key: str, message: str) -> ScenarioError:
    return ScenarioError(SOURCE, key, message)


def _number(key: str, value: Any, spec: dict[str, Any], low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(key, f"expected a number (got {shown(value)})")
    lo, hi = spec["min"], spec["max"]
    bracket = "(" if low_open else "["
    bounds = f"{bracket}{lo}, {hi}]" if spec.get("integer") else f"{bracket}{lo:g}, {hi:g}]"
    try:
        x = float(value)
    except ValueError:
        raise _fail(key, f"expected a number (got {shown(value)})") from None
    except OverflowError:  # an integer too large for a float is outside every lever's bounds
        raise _fail(key, f"must be in {bounds} (got {shown(value)})") from None
    if not math.isfinite(x):
        raise _fail(key, f"expected a finite number (got {shown(value)})")
    if x > hi or x < lo or (low_open and x <= lo):
        raise _fail(key, f"must be in {bounds} (got {shown(value)})")
    if spec.get("integer"):
        if x != int(x):
            raise _fail(key, f"expected a whole number (got {shown(value)})")
        return int(x)
    return x


def _parse(key: str, value: Any, spec: dict[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "number":
        return _number(key, value, spec)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(key, f"expected true or false (got {shown(value)})")
        return value
    if kind == "choice":
        allowed = [c[0] for c in spec["choices"]]
        if value not in allowed:
            raise _fail(key, f"unknown choice {shown(value)}; allowed: {' | '.join(allowed)}")
        return value
    if kind == "time":
        if not isinstance(value, str):
            raise _fail(key, f"expected a time YYYY-MM-DDTHH:MM (got {shown(value)})")
        try:
            when = parse_time(value)
        except ValueError as exc:
            raise _fail(key, str(exc).replace(repr(value), shown(value))) from None
        lo, hi = parse_time(spec["min"]), parse_time(spec["max"])
        if not lo <= when <= hi:
            raise _fail(key, f"{format_time(when)} is outside the run ({spec['min']} to {spec['max']})")
        return when
    raise AssertionError(kind)


def parse_levers(scenario: CountryScenario, values: dict[str, Any]) -> dict[str, Any]:
    """Every lever's value (defaults filled in), checked against its type and bounds."""
    if not isinstance(values, dict):
        raise _fail("(levers)", f"expected an object of lever values (got {type(values).__name__})")
    specs = {s["key"]: s for s in lever_specs(scenario)}
    unknown = [k for k in values if k not in specs]
    if unknown:
        raise _fail(shown(unknown[0]).strip("'"), f"unknown lever; allowed: {', '.join(specs)}")
    out = {}
    for key, spec in specs.items():
        default = _parse(key, spec["default"], spec)
        out[key] = _parse(key, values[key], spec) if key in values else default
        out[key + "#default"] = default
    return out


def parse_run(scenario: CountryScenario, values: dict[str, Any]) -> dict[str, Any]:
    """The run settings (scale, replicates, seed), defaults filled in, bounds checked."""
    if not isinstance(values, dict):
        raise ScenarioError("run", "(run)", f"expected an object (got {type(values).__name__})")
    specs = {s["key"]: s for s in run_specs(scenario)}
    unknown = [k for k in values if k not in specs]
    if unknown:
        raise ScenarioError("run", shown(unknown[0]).strip("'"), f"unknown run setting; allowed: {', '.join(specs)}")
    out = {}
    for key, spec in specs.items():
        value = values.get(key, spec["default"])
        try:
            out[key] = _number(key, value, spec, low_open=key == "scale")
        except ScenarioError as exc:
            message = exc.message
            if key in ("scale", "replicates") and message.startswith("must be"):
                message += "; the explorer keeps runs interactive (use `uprising run` for larger ones)"
            raise ScenarioError("run", key, message) from None
    return out


# ---------------------------------------------------------------------- applying
def _split(total: int, parts: list[int]) -> list[int]:
    """``total`` split in the proportions of ``parts`` (largest remainders; equal parts if all are 0)."""
    weights = parts if sum(parts) > 0 else [1] * len(parts)
    exact = [total * w / sum(weights) for w in weights]
    out = [int(math.floor(x)) for x in exact]
    order = sorted(range(len(parts)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in order[:total - sum(out)]:
        out[i] += 1
    return out


def apply_levers(scenario: CountryScenario, values: dict[str, Any], scale: float | None = None) -> CountryScenario:
    """``scenario`` edited by the levers in ``values`` (keys of :func:`lever_specs`; others are refused) and run
    at ``scale`` if given. A lever at its default changes nothing. Raises ScenarioError (one line)."""
    v = parse_levers(scenario, values)

    def changed(key: str) -> bool:
        return key in v and v[key] != v[key + "#default"]

    data = scenario.to_dict()
    data["variants"] = {}
    events = data["events"]
    changes: dict[str, Any] = {}
    first, later = _first_price(scenario)
    later_ids = {e.id for e in later}
    if changed("price.peak"):
        changes[f"events.{first.id}.price"] = v["price.peak"]
    if v.get("price.caps") == "none":
        events = [e for e in events if e["id"] not in later_ids]
    elif v.get("price.caps") == "at":
        when = format_time(v["price.caps_at"])
        for e in later:
            changes[f"events.{e.id}.at"] = when

    interventions = _events(scenario, "intervention")
    if interventions and not v["intervention.on"]:
        events = [e for e in events if e["kind"] != "intervention"]
    elif interventions:
        if changed("intervention.troops"):
            pairs = [(e.id, city, n) for e in interventions for city, n in e.troops.items()]
            for (eid, city, _), n in zip(pairs, _split(v["intervention.troops"], [p[2] for p in pairs])):
                changes[f"events.{eid}.troops.{city}"] = n
        if changed("intervention.role") and v["intervention.role"] != "file":
            for e in interventions:
                changes[f"events.{e.id}.role"] = v["intervention.role"]
        arrive = v["intervention.arrive"] if changed("intervention.arrive") else None
        leave = v["intervention.leave"] if changed("intervention.leave") else None
        for e in interventions:
            start, end = arrive or e.start, leave or e.end
            if arrive is not None:
                changes[f"events.{e.id}.start"] = format_time(arrive)
            if leave is not None:
                changes[f"events.{e.id}.end"] = format_time(leave)
            if end is not None and end <= start:
                key = "intervention.leave" if leave is not None else "intervention.arrive"
                raise _fail(key, f"the force must arrive before it leaves ({e.id}: arrives {format_time(start)}, "
                                 f"leaves {format_time(end)})")

    orders = _events(scenario, "shoot_order")
    if not v["shoot_order.on"]:
        events = [e for e in events if e["kind"] != "shoot_order"]
    elif not orders:
        ids = {e["id"] for e in events}
        eid = next(name for name in ("shoot-order", "app-shoot-order", *(f"shoot-order-{i}" for i in range(99)))
                   if name not in ids)
        events = [*events, {"kind": "shoot_order", "id": eid, "at": format_time(v["shoot_order.at"]),
                            "cities": ["all"], "source": "explorer lever"}]
    elif changed("shoot_order.at"):
        for e in orders:
            if e.end is not None and e.end <= v["shoot_order.at"]:
                raise _fail("shoot_order.at", f"must be before the order's end ({e.id}: ends {format_time(e.end)})")
            changes[f"events.{e.id}.at"] = format_time(v["shoot_order.at"])

    if _events(scenario, "blackout"):
        if not v["blackout.on"]:
            events = [e for e in events if e["kind"] != "blackout"]
        elif changed("blackout.level"):
            for e in _events(scenario, "blackout"):
                changes[f"events.{e.id}.level"] = v["blackout.level"]

    for e in _events(scenario, "legitimacy"):
        if changed(f"shock.{e.id}"):
            changes[f"events.{e.id}.delta"] = v[f"shock.{e.id}"]
    if changed("police.per_1000"):
        changes["cities.*.police_per_1000"] = v["police.per_1000"]
    if scale is not None:
        changes["scale"] = scale

    data["events"] = events
    kept = {e["id"] for e in events}
    changes = {k: x for k, x in changes.items() if not k.startswith("events.") or k.split(".")[1] in kept}
    apply_changes(data, changes, SOURCE)
    return CountryScenario.from_dict(data, source=SOURCE)
