"""The outside force (:mod:`uprising.mechanisms.intervention`): the cops it adds, and its effect on the two towns
(tests/mechanism_helpers.py says how these tests are built); its guarded sites in escalation are in tests/test_mechanism_escalation.py."""

from __future__ import annotations

import numpy as np
import pytest

from country_helpers import two_towns
from mechanism_helpers import REPLICATES, context, ensemble_of, event, paired, run
from uprising.country.model import compile_events
from uprising.mechanisms.intervention import Intervention, InterventionParams


# ================================================================== part 1: equations on a hand-built context


@pytest.mark.parametrize(("role", "per_troop"), [("guard", 0.8), ("arrest", 1.0)])
def test_intervention_adds_cops_only_while_it_lasts(role, per_troop):
    ctx = context(event("intervention", 5, 10, troops={"c0": 1000, "c2": 60}, role=role), police=(50, 30, 20),
                  scale=0.01)
    params = InterventionParams(freed_police_per_troop=0.8, site_protection=0.7)
    ins = run(Intervention(), params, ctx, range(1, 13))
    added = np.rint(np.array([1000, 0, 60]) * per_troop * 0.01).astype(int)  # cops at the run's scale
    for k, inputs in enumerate(ins, start=1):
        on = 5 <= k < 10
        assert inputs.cop_target.tolist() == (np.array([50, 30, 20]) + (added if on else 0)).tolist(), k
        assert inputs.report["troops"].tolist() == ([1000.0, 0.0, 60.0] if on else [0.0] * 3)
        guarded = on and role == "guard"
        assert inputs.report["site_protection"].tolist() == ([0.7, 0.0, 0.7] if guarded else [0.0] * 3)


# ================================================================== part 2: direction on a seeded ensemble


def test_guard_intervention_adds_cops_and_lowers_site_attacks():
    # 2,000 troops guard sites in Oilton from 00:00 to 20:00 on day 2 (steps 25-44), freeing 0.8 police each:
    # +16 cops at the scale 0.01, and 80% of the attacks on sites there are repelled. A: no troops.
    # Exact: the cop target is the police plus 16 during the stay only. Ensemble: Oilton's mean cops over the
    # stay exceed A's by more than 8 (half the force; cops lost to attacks differ between runs; measured +14 to
    # +17) in every pair; site attacks during the stay fall below half of A's (measured 22 vs 2 a run at 80%
    # protection), one reversed pair allowed.
    base = two_towns().replace({"intervention.site_protection": 0.8})
    troops = next(e for e in compile_events(base) if e.kind == "intervention")
    window = slice(troops.first, troops.stop)
    police = base.lattice_sizes()[0][2]
    target = ensemble_of(base)[0].reports["cop_target"][0]
    assert (target[window] == police + 16).all() and (np.delete(target, np.r_[window]) == police).all()
    cops = paired(base.variant("no-troops"), base, lambda r: r.column("cops")[0, window].mean())
    assert ((cops[1] - cops[0]) > 8).all(), cops
    a, b = paired(base.variant("no-troops"), base, lambda r: r.column("site_attacks")[0, window].sum())
    assert b.mean() < 0.5 * a.mean(), (a, b)
    assert (b <= a).sum() >= REPLICATES - 1, (a, b)
