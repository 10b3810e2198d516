"""Escalation to violence (:mod:`uprising.mechanisms.escalation`): its values, guarded sites, and its effect on the
two towns (tests/mechanism_helpers.py says how these tests are built)."""

from __future__ import annotations

import numpy as np

from country_helpers import two_towns
from mechanism_helpers import context, ensemble_of, event, fp, run_all
from uprising.kernels import codes
from uprising.mechanisms.escalation import Escalation, EscalationParams
from uprising.mechanisms.intervention import Intervention, InterventionParams


# ================================================================== part 1: equations on a hand-built context


def test_guarded_sites_repel_attacks_in_escalation():
    ctx = context(event("intervention", 1, troops={"c1": 100}, role="guard"), tick_hours=2.0)
    params = EscalationParams(violence_margin=0.07, attack_per_hour=0.1, attack_kill=0.3, site_attack_per_hour=0.2)
    # in the registry's order: the intervention reports its guarded sites before escalation reads them
    inputs = run_all([(Intervention(), InterventionParams(site_protection=0.75)), (Escalation(), params)], ctx, [1])[0]
    site = 1.0 - (1.0 - 0.2) ** 2  # per hour -> per two-hour tick
    np.testing.assert_allclose(fp(inputs, codes.FP_SITE_ATTACK), [site, site * 0.25, site], rtol=1e-12)
    np.testing.assert_allclose(fp(inputs, codes.FP_ATTACK), 1.0 - 0.9 ** 2, rtol=1e-12)
    assert fp(inputs, codes.FP_ATTACK_KILL).tolist() == [0.3] * 3
    assert fp(inputs, codes.FP_VIOLENCE_MARGIN).tolist() == [0.07] * 3


# ================================================================== part 2: direction on a seeded ensemble


def test_escalation_produces_violence_and_security_casualties():
    # Exact: with escalation off nobody turns violent, attacks a cop or a site, in any replicate.
    # Ensemble: switched on (violence margin 0.05, attacks 0.002 per hour, 10% of them deadly), every replicate
    # has violent citizens and security casualties (measured 19-30 killed or injured), and across the ensemble
    # some security personnel are killed (measured 17). Fails if the kernel's escalation switch or the attack
    # probabilities do nothing.
    base = two_towns()
    off = ensemble_of(base.replace({"escalation.enabled": False}))
    for r in off:
        for column in ("violent", "killed_security", "injured_security", "site_attacks"):
            assert r.national(column).sum() == 0, column
    on = ensemble_of(base)
    casualties = [(r.national("killed_security") + r.national("injured_security")).sum() for r in on]
    assert all(r.national("violent").max() > 0 for r in on)
    assert min(casualties) > 0, casualties
    assert sum(r.national("killed_security").sum() for r in on) > 0
    assert all(r.national("site_attacks").sum() > 0 for r in on)
