"""Lethal force and the shoot order (:mod:`uprising.mechanisms.lethal_force`): its values, and its effect on the
two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, ensemble_of, event, fp, kills, paired, run, unrest
from uprising.country.model import compile_events
from uprising.kernels import codes
from uprising.mechanisms.lethal_force import LethalForce, LethalForceParams


# ================================================================== part 1: equations on a hand-built context


def test_lethal_force_switches_to_the_order_values_during_a_shoot_order():
    ctx = context(event("shoot_order", 5, 9, cities=(False, True, False)))
    params = LethalForceParams(kill_violent=0.02, kill_active=0.001, order_kill_violent=0.3, order_kill_active=0.05,
                               order_penalty=0.7, bystander=0.1)
    ins = run(LethalForce(), params, ctx, range(1, 12))
    for k, inputs in enumerate(ins, start=1):
        order = 5 <= k < 9
        assert fp(inputs, codes.FP_KILL_VIOLENT).tolist() == [0.02, 0.3 if order else 0.02, 0.02], k
        assert fp(inputs, codes.FP_KILL_ACTIVE).tolist() == [0.001, 0.05 if order else 0.001, 0.001], k
        assert fp(inputs, codes.FP_PENALTY).tolist() == [0.0, 0.7 if order else 0.0, 0.0], k
        assert fp(inputs, codes.FP_BYSTANDER).tolist() == [0.1] * 3
        assert inputs.report["shoot_order"].tolist() == [0.0, float(order), 0.0]


# ================================================================== part 2: direction on a seeded ensemble


def test_lethal_force_kills_and_the_order_kills_more():
    # Exact: with lethal force off, security forces kill nobody (protesters and bystanders) in any replicate.
    # Ensemble: switched on, every replicate has deaths (measured 48-78), bystanders among them (bystander 0.1).
    # The shoot order (Oilton, from 06:00 on day 2, step 31) switches kill_violent from 0.02 to 0.3: against the
    # variant without the order, Oilton's protesters killed after it rise (measured 2.8 vs 51 a run, 8/8 pairs).
    # Band: at least 5x on the mean, one reversed pair allowed. Fails if the kernel ignores the kill
    # probabilities, or if the order does not switch to the order_* values.
    base = two_towns()
    off, on = paired(base.replace({"lethal_force.enabled": False}), base, kills)
    assert (off == 0).all() and (on > 0).all(), (off, on)
    assert sum(r.national("killed_bystanders").sum() for r in ensemble_of(base)) > 0
    order = next(e for e in compile_events(base) if e.kind == "shoot_order").first
    assert order == 31
    a, b = paired(base.variant("no-shoot-order"), base, lambda r: float(r.column("killed_protesters")[0, order:].sum()))
    assert b.mean() > 5 * a.mean(), (a, b)
    assert (b > a).sum() >= REPLICATES - 1, (a, b)


def test_shoot_order_penalty_lowers_unrest():
    # The order's fear term, N = R P (1 + penalty), deters only where P > 0: these runs use Epstein's ratio arrest
    # rule (P > 0 whenever a cop is in sight; under the floor rule P is 0 wherever actives outnumber the cops in
    # sight, and the penalty has nothing to multiply) and legitimacy 0.7, so that Oilton has unrest to deter;
    # the order comes at 12:00 on day 1. A: order_penalty 0; B: 1. Measured: 23,000 vs 2,900 person-steps in
    # Oilton after the order, 8/8 pairs. Band: B's mean at most half A's, one reversed pair allowed.
    common = {"rules.arrest_rule": "ratio", "rules.legitimacy": 0.7, "events.shoot-order.at": "2022-01-01T12:00"}
    base = two_towns().replace(common)
    a, b = paired(base.replace({"lethal_force.order_penalty": 0.0}), base.replace({"lethal_force.order_penalty": 1.0}),
                  unrest(cities=0, first=13))
    assert b.mean() < 0.5 * a.mean(), (a, b)
    assert (b < a).sum() >= REPLICATES - 1, (a, b)
