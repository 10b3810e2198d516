"""The state of emergency and curfew (:mod:`uprising.mechanisms.emergency`): its hours and values, and its effect
on the two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, event, fp, paired, run, unrest
from uprising.kernels import codes
from uprising.mechanisms.emergency import Emergency, EmergencyParams, in_window


# ================================================================== part 1: equations on a hand-built context


def test_curfew_window_wraps_past_midnight():
    assert in_window(23.5, 22.0, 6.0) and in_window(0.5, 22.0, 6.0) and in_window(5.99, 22.0, 6.0)
    assert in_window(22.0, 22.0, 6.0) and not in_window(6.0, 22.0, 6.0) and not in_window(12.0, 22.0, 6.0)
    assert in_window(9.0, 9.0, 17.0) and in_window(16.5, 9.0, 17.0) and not in_window(17.0, 9.0, 17.0)
    assert not in_window(8.5, 9.0, 17.0) and not in_window(23.0, 9.0, 17.0)


def test_emergency_and_curfew_hours():
    # city 0: emergency from step 1 to step 30 with a curfew 22:00-06:00; city 1: emergency, no curfew, steps 10-39
    ctx = context(event("emergency", 1, 31, cities=(True, False, False), curfew=[22.0, 6.0]),
                  event("emergency", 10, 40, cities=(False, True, False)))
    params = EmergencyParams(stay=0.3, curfew_stay=0.9, gathering_penalty=0.02, curfew_penalty=0.05)
    ins = run(Emergency(), params, ctx, range(1, 50))
    for k, inputs in enumerate(ins, start=1):
        hour = k - 0.5  # the middle of step k, from midnight
        under = [k <= 30, 10 <= k < 40, False]
        curfew0 = under[0] and (hour % 24 >= 22 or hour % 24 < 6)
        exp_stay = [0.9 if curfew0 else 0.3 if under[0] else 0.0, 0.3 if under[1] else 0.0, 0.0]
        exp_pen = [0.05 if curfew0 else 0.02 if under[0] else 0.0, 0.02 if under[1] else 0.0, 0.0]
        assert fp(inputs, codes.FP_STAY).tolist() == exp_stay, k
        assert fp(inputs, codes.FP_THRESHOLD_SHIFT).tolist() == exp_pen, k
        assert inputs.report["curfew"].tolist() == [float(curfew0), 0.0, 0.0]
        assert inputs.report["emergency"].tolist() == [float(u) for u in under]
    # the hours themselves: step 6 (05:30) is in the curfew, step 7 (06:30) not, step 23 (22:30) is
    assert [ins[k - 1].report["curfew"][0] for k in (6, 7, 22, 23, 24, 25)] == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]


def test_emergency_curfew_takes_the_stricter_values():
    ctx = context(event("emergency", 1, cities=(True, False, False), curfew=[0.0, 12.0]))
    params = EmergencyParams(stay=0.5, curfew_stay=0.1, gathering_penalty=0.04, curfew_penalty=0.01)
    ins = run(Emergency(), params, ctx, [3])[0]  # 02:30, in the curfew: the larger of each pair
    assert ins.fp[0, codes.FP_STAY] == 0.5 and ins.fp[0, codes.FP_THRESHOLD_SHIFT] == 0.04


# ================================================================== part 2: direction on a seeded ensemble


def test_emergency_gathering_penalty_lowers_unrest():
    # A: emergency off; B: emergency in Oilton and Portville from 18:00 on day 1 to 18:00 on day 2 (steps 19-42)
    # with a ban on gatherings that raises the threshold by 0.03 (no movement limit, to isolate the penalty).
    # Measured: 28,800 vs 14,800 person-steps in the two towns during the emergency, 8/8 pairs. Band: B's mean
    # below 0.75 of A's, one reversed pair allowed. Fails if the threshold shift is ignored or has the wrong sign.
    base = two_towns()
    ban = {"emergency.gathering_penalty": 0.03, "emergency.curfew_penalty": 0.03, "emergency.stay": 0.0,
           "emergency.curfew_stay": 0.0}
    a, b = paired(base.replace({"emergency.enabled": False}), base.replace(ban), unrest(cities=slice(0, 2), first=19,
                                                                                      stop=43))
    assert b.mean() < 0.75 * a.mean(), (a, b)
    assert (b < a).sum() >= REPLICATES - 1, (a, b)
