"""Estimated arrest probability, Epstein (2002): ``P = 1 - exp(-k * f(C/A))``.

``C`` is the number of cops within vision and ``A`` the number of actives within
vision, the agent itself included (so ``A >= 1``). Implementations disagree on
``f`` (model-notes §2), and it decides whether punctuated equilibrium appears:

* ``ratio``: ``f(x) = x``, the paper's formula as printed;
* ``floor``: ``f(x) = floor(x)``, NetLogo *Rebellion* (Wilensky 2004);
* ``round_half_even``: ``f(x) = round(x)`` with ties to even, Mesa's example
  (Python's ``round``).

The kernels look ``P`` up in a table indexed by ``[C, A]``; building it once keeps
the per-decision cost to one load and makes the numba kernels and their
reference twins use the very same float64 values.
"""

from __future__ import annotations

import functools
import math

import numpy as np

ARREST_RULES = ("ratio", "floor", "round_half_even")


def rounded_ratio(c: int, a: int, rule: str) -> float:
    """``f(C/A)`` for one pair, in exact integer arithmetic for the rounding rules."""
    if rule == "ratio":
        return c / a
    q, rem = divmod(c, a)
    if rule == "floor":
        return float(q)
    if rule == "round_half_even":
        twice = 2 * rem
        if twice > a or (twice == a and q % 2 == 1):
            q += 1
        return float(q)
    raise ValueError(f"unknown arrest rule {rule!r}; allowed: {', '.join(ARREST_RULES)}")


def arrest_probability_table(max_cops: int, max_actives: int, k: float, rule: str) -> np.ndarray:
    """Table ``P[C, A]`` for ``0 <= C <= max_cops`` and ``0 <= A <= max_actives``.

    Row ``A = 0`` never occurs (the agent counts itself) and is filled with the
    ``A = 1`` values so that the table is total. Vectorised numpy; see
    :func:`arrest_probability_py` for the plain twin. A fresh, writable copy of a
    table kept per argument set (a country builds the same one for each city; the
    saving is below what a Kazakhstan run's timing resolves, BENCHMARKS.md).
    """
    return _table(int(max_cops), int(max_actives), float(k), rule).copy()


@functools.lru_cache(maxsize=64)
def _table(max_cops: int, max_actives: int, k: float, rule: str) -> np.ndarray:
    c = np.arange(max_cops + 1, dtype=np.int64)[:, None]
    a = np.maximum(np.arange(max_actives + 1, dtype=np.int64), 1)[None, :]
    if rule == "ratio":
        x = c / a
    elif rule == "floor":
        x = (c // a).astype(np.float64)
    elif rule == "round_half_even":
        q, rem = np.divmod(c, a)
        up = (2 * rem > a) | ((2 * rem == a) & (q % 2 == 1))
        x = (q + up).astype(np.float64)
    else:
        raise ValueError(f"unknown arrest rule {rule!r}; allowed: {', '.join(ARREST_RULES)}")
    # math.exp element by element, not np.exp: numpy's SIMD exp may differ from libm's in the last bit on
    # some CPUs, and the table must equal the twin's values bit for bit on every machine
    e = np.fromiter((math.exp(v) for v in (-k * x).ravel()), dtype=np.float64, count=x.size)
    return np.ascontiguousarray(1.0 - e.reshape(x.shape), dtype=np.float64)


def arrest_probability_py(c: int, a: int, k: float, rule: str) -> float:
    """Reference twin: ``P`` for one ``(C, A)`` pair with :mod:`math`."""
    return 1.0 - math.exp(-k * rounded_ratio(c, max(a, 1), rule))
