"""The exposure mechanism (:mod:`uprising.mechanisms.exposure`): what it writes, and its effect on the two towns
(tests/mechanism_helpers.py says how these tests are built; the kernel's weight is tested in
tests/test_lattice_extensions.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from country_helpers import two_towns
from mechanism_helpers import context, event, fp, paired, run, unrest
from uprising.kernels import codes
from uprising.mechanisms.exposure import Exposure, ExposureParams


# ================================================================== part 1: what it writes


def test_exposure_writes_its_tail_index_in_every_city_and_nothing_at_zero():
    ctx = context(event("price", 1, price=120.0))
    (inputs,) = run(Exposure(), ExposureParams(tail=0.4), ctx, [1])
    assert fp(inputs, codes.FP_EXPOSURE).tolist() == [0.4] * 3
    assert fp(inputs, codes.FP_EXPOSURE_MAX).tolist() == [0.0] * 3  # no cap unless asked
    (inputs,) = run(Exposure(), ExposureParams(tail=0.4, most=5.0), ctx, [1])
    assert fp(inputs, codes.FP_EXPOSURE_MAX).tolist() == [5.0] * 3
    (inputs,) = run(Exposure(), ExposureParams(tail=0.0), ctx, [1])
    assert not inputs.fp.any()  # tail 0: the neutral inputs, w = 1 in the kernel
    with pytest.raises(ValidationError):
        ExposureParams(tail=1.0)  # the mean of w is finite only for a < 1


# ================================================================== part 2: direction on a seeded ensemble


def test_exposure_leaves_a_quiet_country_quiet_and_changes_a_shocked_one():
    # Exact: with no price shock, no contagion and no legitimacy events the two towns' quiet start is the same
    # run with or without exposure (s = 0 and E = 0, so w multiplies nothing). Ensemble: with the towns' price
    # shock, exposure 0.6 changes the unrest of every replicate (the shifted citizens are no longer the same
    # ones). Fails if exposure acts without a shock, or not at all.
    calm = two_towns().replace({"price.enabled": False, "contagion.enabled": False, "legitimacy.enabled": False})
    a, b = paired(calm, calm.replace({"exposure.tail": 0.6}), unrest())
    np.testing.assert_array_equal(a, b)
    base = two_towns()
    a, b = paired(base, base.replace({"exposure.tail": 0.6}), unrest())
    assert (a != b).all(), (a, b)
