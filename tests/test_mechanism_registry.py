"""The mechanisms together: the timeline on the ticks, the one registry (:data:`uprising.mechanisms.MECHANISMS`)
and what is derived from it, and switched-off mechanisms, absent from the run (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np
import pytest

from country_helpers import all_off, two_towns
from mechanism_helpers import context, event, observation, run
from uprising.country.model import compile_events, init
from uprising.country.scenario import EVENT_KINDS, CountryScenario
from uprising.country.simulate import REPORTED
from uprising.kernels import codes
from uprising.mechanisms import MECHANISMS
from uprising.mechanisms.base import Context, Observation, TickInputs, event_kind
from uprising.mechanisms.blackout import Blackout, BlackoutParams


def test_timeline_is_placed_on_the_ticks():
    # an event acts from the first step that starts at or after its time until the step that starts at or after
    # its end; price and legitimacy events are instants (one step; their effect persists in the mechanism)
    steps = {e.id: (e.first, e.stop) for e in compile_events(two_towns())}
    assert steps == {"price-rise": (1, 2), "cap": (37, 38), "cabinet-falls": (13, 14), "emergency": (19, 43),
                     "blackout": (21, 37), "troops": (25, 45), "shoot-order": (31, 49), "sweeps": (31, 43),
                     "releases": (37, 49)}
    inside = {e.id: e.first for e in compile_events(two_towns().replace({"events.cap.at": "2022-01-02T12:30"}))}
    assert inside["cap"] == 38  # a time inside a tick acts from the next tick
    two_hours = {e.id: (e.first, e.stop) for e in compile_events(two_towns().replace({"clock.tick_hours": 2.0}))}
    assert two_hours["troops"] == (13, 23) and two_hours["cap"] == (19, 20)
    masks = {e.id: e.cities.tolist() for e in compile_events(two_towns())}
    assert masks["cap"] == [True, True, False] and masks["blackout"] == [True, True, True]


def test_switched_off_mechanisms_are_absent_from_the_model_and_their_kernel_switches_stay_off():
    # all off: only repression (which has no switch) runs, and the kernel's escalation and mark switches are 0
    cm = init(all_off(), 1, 0)
    assert [m.name for m, _ in cm.mechanisms] == ["repression"]
    assert all(ip[codes.IP_ESCALATION] == 0 and ip[codes.IP_MARK] == 0 for ip in cm.ips)
    # all on: every mechanism, in the registry's order, and the two switches on
    cm = init(two_towns(), 1, 0)
    assert [m for m, _ in cm.mechanisms] == list(MECHANISMS)
    assert all(ip[codes.IP_ESCALATION] == 1 and ip[codes.IP_MARK] == 1 for ip in cm.ips)


def test_the_registry_runs_each_mechanism_after_those_whose_reports_it_reads():
    # contagion reads the blackout's level, escalation the intervention's guarded sites
    order = [m.name for m in MECHANISMS]
    assert order.index("blackout") < order.index("contagion")
    assert order.index("intervention") < order.index("escalation")
    # everything else is derived from the one list: the scenario's tables, its event kinds, what is recorded
    assert [n for n in CountryScenario.model_fields if n in order] == order
    assert set(EVENT_KINDS) == {event_kind(cls) for m in MECHANISMS for cls in m.events}
    assert REPORTED == ("legitimacy", *(r for m in MECHANISMS for r in m.recorded), "cop_target")


def test_a_mechanism_step_sees_the_inputs_read_only():
    ctx = context(event("blackout", 1, level=0.5))
    inputs = TickInputs.neutral(ctx)
    inputs.apply(Blackout().step(BlackoutParams(), ctx, None, 1, Observation.empty(3), inputs.view())[1])
    now = inputs.view()
    with pytest.raises(ValueError):
        now.fp[:, 0] = 1.0
    with pytest.raises(ValueError):
        now.report["blackout"][0] = 1.0
    with pytest.raises(TypeError):
        now.report["blackout"] = np.zeros(3)


# ------------------------------------------------------------------ switched off: Model I's inputs


def busy_context() -> Context:
    """Every kind of event on at step 5, in every city."""
    return context(event("price", 5, price=200.0), event("legitimacy", 5, delta=-0.3),
                   event("emergency", 1, curfew=[0.0, 24.0]), event("blackout", 1, level=0.8),
                   event("shoot_order", 1), event("intervention", 1, troops={"c0": 1000, "c1": 1000, "c2": 1000}),
                   event("sweep", 1, rate_per_day=0.5), event("release", 1, rate_per_day=0.5),
                   event("withdrawal", 1, share=0.5), event("restraint", 1), event("march", 1, to="c2"))


ON = {"price": dict(elasticity=1.0), "exposure": dict(tail=0.5), "legitimacy": dict(per_active=0.01, per_jailed=0.01, per_killed=0.1),
      "blackout": {}, "contagion": dict(distance_weight=1.0, media_weight=1.0),
      "emergency": dict(stay=0.5, curfew_stay=0.9, gathering_penalty=0.1, curfew_penalty=0.2), "intervention": {},
      "escalation": dict(attack_per_hour=0.1, site_attack_per_hour=0.1, attack_kill=0.5),
      "lethal_force": dict(kill_violent=0.1, kill_active=0.1, order_kill_violent=0.5, order_penalty=1.0, bystander=0.1),
      "policing": {}, "detention": {}, "sites": dict(attack_per_hour=0.1), "availability": dict(away=0.3),
      "travel": dict(join_per_hour=0.5)}


@pytest.mark.parametrize("name", [m.name for m in MECHANISMS if m.name != "repression"])
def test_each_mechanism_switched_off_leaves_the_neutral_inputs(name):
    ctx = busy_context()
    obs = observation(active=[300, 100, 50], violent=[100, 10, 0], jailed=[50, 5, 1], killed=[5, 1, 0])
    neutral = TickInputs.neutral(ctx)
    mechanism = next(m for m in MECHANISMS if m.name == name)
    on = mechanism.parameters(**{"enabled": True, **ON[name]})
    off = mechanism.parameters(enabled=False, **ON[name])
    changed = False
    for params, switched_on in ((on, True), (off, False)):
        for k, inputs in enumerate(run(mechanism, params, ctx, range(1, 8), obs), start=1):
            same = (np.array_equal(inputs.legitimacy, neutral.legitimacy) and np.array_equal(inputs.fp, neutral.fp)
                    and np.array_equal(inputs.cop_target, neutral.cop_target))
            if switched_on:
                changed |= not same
                if name == "sites":  # it changes no input: it only reports (buildings attacked, people injured)
                    changed |= bool(inputs.report["buildings_attacked"].any())
                if name == "travel":  # it changes no input: it asks the model to move people
                    changed |= bool(inputs.trips)
            else:
                assert same, (name, k)
                assert not inputs.report, inputs.report  # absent from the run, it reports nothing (not even the price)
                assert not inputs.trips
    if name != "blackout":  # the blackout changes nothing by itself (it scales contagion's push)
        assert changed, f"{name} switched on should change some input in this busy context"
