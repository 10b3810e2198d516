"""Statistics of runs, as pure functions over arrays (no simulation here).

These are the measurements of Epstein (2002)'s named results that the
validation suite (:mod:`uprising.validate`) reports. They take plain arrays, so
the same function measures an uprising run and a Mesa run (the Mesa side builds
a grid of cell kinds from its agents; see ``benchmarks/mesa_validation.py``).

Cell kinds are :mod:`uprising.kernels.codes` values: ``EMPTY``, ``QUIET``,
``ACTIVE``, ``JAILED`` (a prisoner holding its cell, Mesa's rule) and ``COP``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .kernels import codes
from .kernels.geometry import offsets

Episode = tuple[int, int, int]  # (start step, duration in steps, total activation)


def outbursts(active: np.ndarray, threshold: int = 50) -> list[Episode]:
    """Episodes with more than ``threshold`` actives: (start step, duration, total activation).

    Epstein (2002), Run 2: an outburst is a period in which the number of
    active citizens exceeds 50; its *total activation* is taken here as the
    sum of the active counts over the episode's steps (agent-steps of
    activity). A citizen active for three steps of one episode counts three
    times; the kernel keeps no agent identities, so distinct participants are
    not counted.
    """
    active = np.asarray(active)
    above = active > threshold
    if not above.any():
        return []
    edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    csum = np.concatenate(([0], np.cumsum(active, dtype=np.int64)))
    return [(int(s), int(e - s), int(csum[e] - csum[s])) for s, e in zip(starts, ends)]


WAIT_MEASURES = ("onset", "gap")


def waits(episodes: list[Episode], measure: str = "onset") -> np.ndarray:
    """Waiting times between consecutive outbursts of one run.

    ``onset``: from one outburst's first step to the next one's first step
    (inter-onset interval, our reading of Epstein's "waiting time between
    outbursts"). ``gap``: from the first calm step after an outburst to the
    next outburst's first step (the quiet time only).
    """
    if measure not in WAIT_MEASURES:
        raise ValueError(f"unknown wait measure {measure!r}; allowed: {', '.join(WAIT_MEASURES)}")
    if len(episodes) < 2:
        return np.zeros(0, dtype=np.int64)
    starts = np.array([e[0] for e in episodes], dtype=np.int64)
    if measure == "onset":
        return np.diff(starts)
    ends = np.array([e[0] + e[1] for e in episodes], dtype=np.int64)
    return starts[1:] - ends[:-1]


def vision_counts(mask: np.ndarray, radius: float, shape: str) -> np.ndarray:
    """For every cell of a torus, how many ``True`` cells of ``mask`` lie within its vision.

    The vision is ``uprising.kernels.geometry.offsets(radius, shape)`` without
    the cell itself, the neighbourhood rule A counts cops in (Epstein 2002).
    """
    m = np.asarray(mask, dtype=np.int32)
    dy, dx = offsets(radius, shape, include_center=False)
    out = np.zeros_like(m)
    for a, b in zip(dy, dx):
        # the cell at (y + a, x + b) is seen from (y, x)
        out += np.roll(m, (-int(a), -int(b)), axis=(0, 1))
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3:
        return math.nan
    xs = x - x.mean()
    ys = y - y.mean()
    den = math.sqrt(float(xs @ xs) * float(ys @ ys))
    return float(xs @ ys) / den if den > 0 else math.nan


def deception(kinds: np.ndarray, radius: float, shape: str) -> float:
    """Epstein (2002) Run 1, "deception", as one number: the correlation over citizens
    between the number of cops within vision and being active.

    ``kinds`` is a height x width grid of cell kinds. Over the citizens on the
    lattice (quiet or active; prisoners excluded) it returns Pearson's r
    between the cop count within ``radius`` (``shape``) and the indicator
    "active" (a point-biserial correlation). Deception, aggrieved citizens
    hiding near cops and acting where cops are absent, makes it negative.
    NaN when nobody or everybody is active.
    """
    kinds = np.asarray(kinds)
    cops = vision_counts(kinds == codes.COP, radius, shape)
    citizen = (kinds == codes.QUIET) | (kinds == codes.ACTIVE)
    return _pearson(cops[citizen].astype(np.float64), (kinds[citizen] == codes.ACTIVE).astype(np.float64))


def deception_null(kinds: np.ndarray, radius: float, shape: str, rng: np.random.Generator,
                   n: int = 100) -> np.ndarray:
    """The correlation of :func:`deception` with cop positions shuffled, ``n`` times.

    Citizens and their states stay where they are; the same number of cops is
    placed uniformly at random on the cells that hold no citizen (the null
    hypothesis: where cops stand says nothing about who is active).
    """
    kinds = np.asarray(kinds)
    citizen = (kinds == codes.QUIET) | (kinds == codes.ACTIVE)
    active = (kinds[citizen] == codes.ACTIVE).astype(np.float64)
    free = np.flatnonzero(~citizen.ravel() & (kinds.ravel() != codes.JAILED))
    n_cops = int((kinds == codes.COP).sum())
    out = np.empty(n)
    for i in range(n):
        mask = np.zeros(kinds.size, dtype=bool)
        mask[rng.choice(free, size=n_cops, replace=False)] = True
        cops = vision_counts(mask.reshape(kinds.shape), radius, shape)
        out[i] = _pearson(cops[citizen].astype(np.float64), active)
    return out


def tension(kinds: np.ndarray, hardship: np.ndarray, legitimacy: float, threshold: float) -> tuple[int, float]:
    """Latent grievance among quiet citizens (Epstein 2002, fig. 8's "tension").

    Returns ``(deterred, latent)``: the number of quiet citizens whose
    grievance G = H(1 - L) exceeds the threshold T (they would be active but
    for the risk of arrest), and the sum of G - T over them. Quiet citizens
    on the lattice only; prisoners are not counted.
    """
    kinds = np.asarray(kinds).ravel()
    quiet = kinds == codes.QUIET
    g = np.asarray(hardship, dtype=np.float64).ravel()[quiet] * (1.0 - legitimacy)
    excess = g[g > threshold] - threshold
    return int(excess.size), float(excess.sum())


def transition_after_cops_leave(before: np.ndarray, after: np.ndarray, hardship: np.ndarray,
                                legitimacy: float, threshold: float, radius: float,
                                shape: str) -> tuple[int, int, int, int]:
    """Deception in time, for citizens that stay in place (Run 1 with citizens not moving).

    Among citizens quiet in ``before`` whose grievance exceeds the threshold
    (deterred only by the cops they see), count how many are active in
    ``after``, separately for cells where the number of cops in vision fell
    between the two grids and cells where it did not. Returns
    ``(fell_total, fell_turned, other_total, other_turned)``. The comparison is
    only meaningful when citizens do not move between the grids.
    """
    before = np.asarray(before)
    after = np.asarray(after)
    g = np.asarray(hardship, dtype=np.float64).reshape(before.shape) * (1.0 - legitimacy)
    deterred = (before == codes.QUIET) & (g > threshold) & ((after == codes.QUIET) | (after == codes.ACTIVE))
    c0 = vision_counts(before == codes.COP, radius, shape)
    c1 = vision_counts(after == codes.COP, radius, shape)
    fell = deterred & (c1 < c0)
    other = deterred & ~(c1 < c0)
    turned = after == codes.ACTIVE
    return int(fell.sum()), int((fell & turned).sum()), int(other.sum()), int((other & turned).sum())


# --------------------------------------------------------------------------- intervals
#: resamples of :func:`bootstrap_ci`
BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(groups: Sequence[np.ndarray] | np.ndarray, rng: np.random.Generator,
                 stat: Callable[[np.ndarray], float] = np.mean,
                 n: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``stat`` over the pooled values, resampling whole groups.

    ``groups`` is either a list of arrays, one per run (a cluster bootstrap:
    values within one run, such as its outbursts, are not independent, so each
    resample draws whole runs and keeps that dependence inside it), or a 1-D
    array of values, each its own group (one value per replicate). Each of the
    ``n`` resamples draws as many groups as there are, with replacement, from
    ``rng``; the interval is the 2.5% and 97.5% quantiles of ``stat`` over the
    resamples (Efron and Tibshirani 1993, the percentile interval). Empty groups
    are dropped; with fewer than two groups the interval is (NaN, NaN).
    """
    if isinstance(groups, np.ndarray) and groups.ndim == 1:
        values = groups
        if values.size < 2:
            return math.nan, math.nan
        idx = rng.integers(0, values.size, size=(n, values.size))
        if stat is np.mean:  # the same numbers as the loop below, at once
            vals = values[idx].mean(axis=1)
        else:
            vals = np.array([stat(values[row]) for row in idx], dtype=float)
    else:
        groups = [g for g in groups if g.size]
        if len(groups) < 2:
            return math.nan, math.nan
        vals = np.empty(n)
        idx = rng.integers(0, len(groups), size=(n, len(groups)))
        for i in range(n):
            vals[i] = stat(np.concatenate([groups[j] for j in idx[i]]))
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))
