"""Vision neighbourhoods: cell counts of the published readings, symmetry, row spans."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from uprising.kernels.geometry import VISION_SHAPES, extent, offsets, row_spans

RADII = st.sampled_from([1.0, 1.5, 1.7, 2.0, 2.5, 3.0, 4.2, 7.0, 10.0])


@pytest.mark.parametrize(
    ("radius", "shape", "center", "count"),
    [
        (7, "von_neumann", False, 112),  # Mesa's OrthogonalVonNeumannGrid, radius 7
        (7, "von_neumann", True, 113),
        (7, "euclidean", False, 148),  # NetLogo in-radius 7 ...
        (7, "euclidean", True, 149),  # ... is 149 patches with its own
        (1, "moore", False, 8),
        (1, "moore", True, 9),
        (1, "von_neumann", False, 4),
        (1.7, "euclidean", False, 8),  # Run 1's v = 1.7: the 3x3 square without its centre
        (1.7, "moore", False, 8),  # floor(1.7) = 1
        (2, "euclidean", False, 12),
        (7, "moore", False, 224),
    ],
)
def test_cell_counts(radius, shape, center, count):
    dy, dx = offsets(radius, shape, include_center=center)
    assert len(dy) == len(dx) == count
    assert dy.dtype == np.int64 and dx.dtype == np.int64


def test_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="allowed: von_neumann, moore, euclidean"):
        offsets(2, "hexagon", include_center=False)


@given(RADII, st.sampled_from(VISION_SHAPES), st.booleans())
def test_offsets_are_distinct_row_major_and_bounded(radius, shape, center):
    dy, dx = offsets(radius, shape, include_center=center)
    pairs = list(zip(dy.tolist(), dx.tolist()))
    assert len(set(pairs)) == len(pairs)
    assert pairs == sorted(pairs)  # row-major: dy, then dx (the kernels depend on this order)
    r = extent(radius)
    assert max(abs(dy).max(), abs(dx).max()) == r
    assert ((0, 0) in pairs) == center


@given(RADII, st.sampled_from(VISION_SHAPES))
def test_offsets_are_symmetric(radius, shape):
    pairs = set(zip(*(a.tolist() for a in offsets(radius, shape, include_center=False))))
    assert pairs == {(-y, x) for y, x in pairs}  # mirror in dy
    assert pairs == {(y, -x) for y, x in pairs}  # mirror in dx
    assert pairs == {(x, y) for y, x in pairs}  # transpose: no preferred axis
    # "j sees i" iff "i sees j": the point reflection (needed for count fields to be symmetric)
    assert pairs == {(-y, -x) for y, x in pairs}


@given(RADII)
def test_shapes_nest(radius):
    # a von Neumann diamond lies within the Euclidean disc, which lies within the Moore square
    vn = set(zip(*(a.tolist() for a in offsets(radius, "von_neumann", True))))
    eu = set(zip(*(a.tolist() for a in offsets(radius, "euclidean", True))))
    mo = set(zip(*(a.tolist() for a in offsets(radius, "moore", True))))
    assert vn <= eu <= mo
    assert len(vn) < len(mo)


@given(RADII, st.sampled_from(VISION_SHAPES))
def test_row_spans_cover_exactly_the_offsets(radius, shape):
    rows, half = row_spans(radius, shape)
    from_spans = {(int(y), x) for y, h in zip(rows, half) for x in range(-int(h), int(h) + 1)}
    with_center = set(zip(*(a.tolist() for a in offsets(radius, shape, include_center=True))))
    assert from_spans == with_center
    assert rows.tolist() == sorted(set(rows.tolist()))
    assert rows.dtype == np.int64 and half.dtype == np.int64
    assert np.array_equal(half, half[::-1])  # symmetric in dy


def test_euclidean_boundary_is_inclusive():
    # dy^2 + dx^2 <= v^2: (3, 4) is at distance exactly 5
    pairs = set(zip(*(a.tolist() for a in offsets(5, "euclidean", False))))
    assert (3, 4) in pairs and (5, 0) in pairs and (4, 4) not in pairs


def test_counts_grow_with_radius():
    for shape in VISION_SHAPES:
        sizes = [len(offsets(r, shape, False)[0]) for r in range(1, 9)]
        assert all(a < b for a, b in itertools.pairwise(sizes))
    # the von Neumann diamond has 2 r (r + 1) cells without its centre
    assert [len(offsets(r, "von_neumann", False)[0]) for r in range(1, 9)] == [2 * r * (r + 1) for r in range(1, 9)]
