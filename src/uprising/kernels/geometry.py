"""Vision neighbourhoods on a torus lattice.

Epstein (2002) speaks of "lattice positions" within vision ``v``; the published
implementations read this three ways (model-notes §2), all available here:

* ``von_neumann``: ``|dy| + |dx| <= floor(v)`` (Mesa's ``OrthogonalVonNeumannGrid``; 112 cells at v=7);
* ``moore``: ``max(|dy|, |dx|) <= floor(v)`` (a square);
* ``euclidean``: ``dy**2 + dx**2 <= v**2`` (NetLogo's ``in-radius``; 148 cells plus its own at v=7).

A neighbourhood is returned as offsets in row-major order (``dy`` then ``dx``); the
kernels rely on that order, and so do their reference twins.
"""

from __future__ import annotations

import math

import numpy as np

VISION_SHAPES = ("von_neumann", "moore", "euclidean")


def _in_shape(dy: int, dx: int, radius: float, shape: str) -> bool:
    if shape == "von_neumann":
        return abs(dy) + abs(dx) <= math.floor(radius)
    if shape == "moore":
        return max(abs(dy), abs(dx)) <= math.floor(radius)
    if shape == "euclidean":
        return dy * dy + dx * dx <= radius * radius
    raise ValueError(f"unknown vision shape {shape!r}; allowed: {', '.join(VISION_SHAPES)}")


def extent(radius: float) -> int:
    """Largest |dy| or |dx| a neighbourhood of this radius can reach."""
    return int(math.floor(radius))


def offsets(radius: float, shape: str, include_center: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row-major ``(dy, dx)`` int64 arrays of the cells within vision."""
    r = extent(radius)
    dys, dxs = [], []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy == 0 and dx == 0 and not include_center:
                continue
            if _in_shape(dy, dx, radius, shape):
                dys.append(dy)
                dxs.append(dx)
    return np.asarray(dys, dtype=np.int64), np.asarray(dxs, dtype=np.int64)


def row_spans(radius: float, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """The neighbourhood, centre included, as rows: ``dy`` and the half-width of each row.

    All three shapes are symmetric in ``dx``, so row ``dy`` covers ``dx`` in
    ``[-half, half]``. The count-field kernels update whole rows at a time.
    """
    dy, dx = offsets(radius, shape, include_center=True)
    rows = np.unique(dy)
    half = np.array([int(np.max(np.abs(dx[dy == row]))) for row in rows], dtype=np.int64)
    return rows.astype(np.int64), half
