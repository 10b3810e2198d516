"""Availability (:mod:`uprising.mechanisms.availability`): its input, what the kernel does with it, and its effect
on the two towns' participants against their crowds at once (tests/mechanism_helpers.py says how these tests are
built)."""

from __future__ import annotations

import numpy as np

from conftest import paths, small
from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, ensemble_of, fp, run, run_all
from uprising import model as M
from uprising.country import observables as O
from uprising.kernels import codes
from uprising.mechanisms.availability import Availability, AvailabilityParams


# ================================================================== part 1: the input, on a hand-built context


def test_away_is_written_in_every_city_and_step_and_is_a_share_not_a_rate():
    # a share of the hours, not a rate: the same per activation whatever a step's length
    for tick in (1.0, 3.0):
        ins = run(Availability(), AvailabilityParams(enabled=True, away=0.4), context(tick_hours=tick), [1, 5, 9])
        assert all(fp(i, codes.FP_AWAY).tolist() == [0.4] * 3 for i in ins)
    # switched off it is absent from the run: the kernel's input stays 0 and nothing else is written
    off = run_all([(Availability(), AvailabilityParams(enabled=False, away=0.4))], context(), [1])[0]
    assert not off.fp.any()


# ================================================================== part 2: the kernel's rule, on a small lattice


def _everyone_aggrieved(away: float, steps: int = 30, seed: int = 4):
    # no cops and a large hardship shift: every free citizen clears rule A in every activation unless away
    s = small(legitimacy=0.5, cop_density=0.0, citizen_density=0.5, width=40, height=30)
    m, state = M.init(s, seed)
    fp_ = np.zeros((steps, codes.FP_SIZE))
    fp_[:, codes.FP_HARDSHIP_SHIFT] = 2.0
    fp_[:, codes.FP_AWAY] = away
    out = M.step_extended(m, state, *paths(s, state, 0, steps), fp_)
    return out, int(out[0, codes.OUT_QUIET] + out[0, codes.OUT_ACTIVE])


def test_a_citizen_away_is_quiet_whatever_its_grievance():
    out, citizens = _everyone_aggrieved(1.0)
    assert citizens > 0 and out[:, codes.OUT_ACTIVE].sum() == 0  # exact: nobody is ever out
    out, citizens = _everyone_aggrieved(0.0)
    assert (out[:, codes.OUT_ACTIVE] == citizens).all()  # exact: everyone, every hour


def test_the_share_out_at_once_is_one_minus_away():
    # Each citizen is away in an activation with probability 0.35, independently: the share active after a step
    # is Binomial(N, 0.65) / N. Over 30 steps of N citizens the mean share has sd sqrt(0.65 * 0.35 / (30 N)),
    # about 0.003 at N = 600; the band 0.02 is six of them.
    out, citizens = _everyone_aggrieved(0.35)
    share = out[:, codes.OUT_ACTIVE].mean() / citizens
    assert citizens >= 550 and abs(share - 0.65) < 0.02, (share, citizens)


# ================================================================== part 3: direction on a seeded ensemble


def _day_ratio(r) -> float:
    """A day's participants over the sum of the cities' largest crowds at once that day, on the busiest day."""
    by_day = O.participants_by_day(r)
    day = max(by_day, key=by_day.get)
    crowds = sum(O.largest_crowd_on(r, city, day) for city in r.names)
    return by_day[day] / crowds


def test_away_makes_a_day_participants_outnumber_the_crowd_at_once():
    # Without availability a citizen out once is out every hour, so the busiest day's participants are close to the
    # sum of the cities' largest crowds (measured 1.12-1.21 over the 8 replicates: some turnover from arrests and
    # releases). With half the hours away the crowd at once is less than half the people who come out that day
    # (measured 2.26-3.86). Bands: A below 1.4 in every replicate, B above 1.8 in every replicate.
    base = two_towns().replace({"repression.casualties": "people"})
    away = base.replace({"availability.enabled": True, "availability.away": 0.5})
    a = np.array([_day_ratio(r) for r in ensemble_of(base)])
    b = np.array([_day_ratio(r) for r in ensemble_of(away)])
    assert len(a) == len(b) == REPLICATES
    assert (a < 1.4).all() and (b > 1.8).all(), (a, b)
