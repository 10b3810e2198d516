"""Kazakhstan's version 2 candidate has no cliff in starting legitimacy in its national peak or its deaths, and
the first model has one (issue 14, deliverable 1): a reduced version of the response curves in
docs/kazakhstan.md ("Version 2 candidate"), which benchmarks/response_curves.py draws with 10 runs a point over
+-0.02 at scale 0.005.

Here (the peak; the deaths need more runs, below): scale 0.003 (24,000 citizens in 14 cities), 6 runs per
point on the same seeds at every point (seed 101, replicates 0-5), at L0 - 0.005, L0 and L0 + 0.005. The issue's
criterion is that neither the median national peak nor the median deaths changes by more than a factor of 2
either way. The test allows a factor of 2.5: with 6 runs at this scale the medians carry sampling noise of about
+-25% (the curves' 10-90% bands at 0.005), so a factor of 2.5 here cannot hide a cliff of the first model's kind,
which moves the peak by a factor of 40 or more and the deaths from hundreds to 0 over the same step
(docs/kazakhstan.md; scenarios/kazakhstan-2022.toml, the first model, fails this check, which
`test_the_first_model_has_the_cliff` asserts).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from uprising.country import observables as O
from uprising.country.scenario import CountryScenario
from uprising.country.simulate import simulate_country

STEP = 0.005
RUNS = 6
SCALE = 0.003
ALLOWED = 2.5


def medians(path, step: float, runs: int = RUNS, scale: float = SCALE) -> tuple[float, float]:
    sc = CountryScenario.load(path).replace({"scale": scale})
    sc = sc.replace({"rules.legitimacy": sc.rules["legitimacy"] + step, "repression.casualties": "people"})
    results = [simulate_country(sc, 101, r) for r in range(runs)]
    return (float(np.median([O.peak(r)[0] for r in results])),
            float(np.median([O.killed_by(r)["total"] for r in results])))


def factors(path) -> dict[str, float]:
    """The largest factor by which the median peak and the median deaths change from L0 to L0 -+ STEP."""
    low, mid, high = (medians(path, s) for s in (-STEP, 0.0, STEP))

    def worst(i: int) -> float:
        values = [x[i] for x in (low, mid, high)]
        if min(values) <= 0:
            return float("inf") if max(values) > 0 else 1.0
        return max(values[0] / values[1], values[1] / values[0], values[2] / values[1], values[1] / values[2])

    return {"peak": worst(0), "deaths": worst(1)}


def test_the_version_2_candidate_has_no_cliff_in_its_national_peak():
    # measured here on the fifth candidate (threshold 0.2): peak x1.29 (38,800 / 30,000 / 24,300 at L0 - 0.005 / L0 /
    # L0 + 0.005); the fourth candidate gave x1.89. The deaths are not checked at this scale: 6 runs of agents of
    # 333 people give medians 74 / 50.5 / 13 (x3.9) where 40 runs at scale 0.005 give 68 / 42 / 22 (x1.84), so the
    # next test checks them with more runs at a finer scale.
    candidate = factors(ROOT / "scenarios" / "kazakhstan-2022-v2.toml")
    assert candidate["peak"] < ALLOWED, candidate


@pytest.mark.slow
def test_the_version_2_candidate_has_no_cliff_in_its_deaths():
    # The criterion is x2 on the median deaths at L0 -+ 0.005. Here: 20 runs a point at scale 0.005 (seed
    # 101, replicates 0-19, the same at every point), where the fifth candidate's medians are 72.5 / 43.5 / 22.5
    # (x1.67, x1.93) and the fourth's (threshold 0.1; commit f79b7d5) 57.5 / 23 / 9 give x2.5 and x2.56, so this
    # test failed on it. The band, x2.2, is the criterion plus 10%: with fixed seeds the result is exact, and the
    # band only keeps a change of random stream that leaves the model as it is from failing a median that 40 runs
    # put at x1.84 (docs/kazakhstan.md).
    low, mid, high = (medians(ROOT / "scenarios" / "kazakhstan-2022-v2.toml", s, runs=20, scale=0.005)
                      for s in (-STEP, 0.0, STEP))
    assert max(low[1] / mid[1], mid[1] / high[1]) < 2.2, (low, mid, high)


def test_the_first_model_has_the_cliff():
    # the same check fails on the first model (uniform hardship, fitted a few thousandths below the edge):
    # this is what makes the test able to fail
    first = factors(ROOT / "scenarios" / "kazakhstan-2022.toml")
    assert max(first.values()) > ALLOWED, first


def test_the_version_2_candidate_starts_quiet():
    # Nobody is out before the price moves: hardship is a beta law (H < 1) and L0 > 1 - T, so G = H(1 - L0) < T
    # for every citizen, and with no shock there is no shift, no push and no feedback. One run over the first two
    # days with the price left at its old level and every other event dropped: exactly nobody active or violent
    # in any city at any step. The first candidate (lognormal hardship) had 4.7 per 1,000 out nationally here;
    # fails if the hardship law gets an unbounded tail again or L0 drops below 1 - T.
    sc = CountryScenario.load(ROOT / "scenarios" / "kazakhstan-2022-v2.toml")
    data = sc.to_dict()
    data["events"] = [e for e in data["events"] if e.get("id") == "price-rise"]
    data["variants"] = {}
    data["clock"]["end"] = "2022-01-03T00:00"
    quiet = CountryScenario.from_dict(data).replace({"events.price-rise.price": data["price"]["before"],
                                                     "scale": SCALE})
    assert quiet.rules["legitimacy"] > 1.0 - quiet.rules["threshold"]
    run = simulate_country(quiet, 101, 0)
    assert run.unrest().sum() == 0 and run.citizens.sum() > 20_000
    # and the real timeline does put people out (the test can fail the other way too)
    assert simulate_country(sc.replace({"scale": SCALE}), 101, 0).unrest().sum() > 0
