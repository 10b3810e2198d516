"""CountryResult in people: the one place where counts of agents become residents (divided by the scale)."""

from __future__ import annotations

import numpy as np

from country_helpers import two_towns
from uprising.country import observables as O
from uprising.country.simulate import simulate_country


def test_people_divides_summed_agents_by_the_scale_once():
    r = simulate_country(two_towns(), 1, 0)
    rng = np.random.default_rng(0)
    r.counts[:] = rng.integers(0, 40, size=r.counts.shape)  # every column non-trivial
    scale = r.scale
    assert r.residents_per_agent == 1.0 / scale
    np.testing.assert_array_equal(r.people("violent"), r.national("violent") / scale)
    np.testing.assert_array_equal(r.people("active", 1), r.column("active")[1] / scale)
    np.testing.assert_array_equal(r.people("active", r.names[1]), r.people("active", 1))
    both = r.people(("active", "violent"))
    np.testing.assert_array_equal(both, r.unrest().sum(axis=0) / scale)
    np.testing.assert_array_equal(both, O.national_unrest(r))
    # cumulative: step 0 (the initial state) counts as none
    per_step = r.national("arrests") + r.national("swept")
    per_step[0] = 0
    np.testing.assert_array_equal(r.people(("arrests", "swept"), cumulative=True), np.cumsum(per_step) / scale)
    assert r.column("arrests")[:, 0].any()  # the cumulative copy left the counts alone
    k = r.steps // 2
    assert r.total_people("killed_security", upto=k) == float(r.national("killed_security")[1:k + 1].sum()) / scale
    assert r.total_people("swept") == float(r.national("swept")[1:].sum()) / scale
    assert r.total_people("arrests", upto=0) == 0.0
