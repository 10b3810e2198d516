"""Counter-free pseudo-random stream for the kernels: xoshiro256** (Blackman & Vigna 2018).

The kernels draw every random number from one 4-word ``uint64`` state array, so a
run is fully determined by that state and replays bit for bit in any process.
The state is seeded from :class:`numpy.random.SeedSequence` (see
:func:`uprising.scenario.kernel_rng_state`), never from the clock.

Each numba function here has a plain-Python twin (``*_py``) working on a list of
four Python ints; the tests check that both produce identical streams.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_U64 = np.uint64
_S17 = _U64(17)
_S45 = _U64(45)
_S7 = _U64(7)
_S11 = _U64(11)
_S32 = _U64(32)
_FIVE = _U64(5)
_NINE = _U64(9)
_MASK = (1 << 64) - 1
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (_U64(64) - k))


@njit(cache=True)
def next_u64(s):
    """Advance the state ``s`` (uint64[4]) and return the next 64-bit output."""
    s0 = s[0]
    s1 = s[1]
    s2 = s[2]
    s3 = s[3]
    result = _rotl(s1 * _FIVE, _S7) * _NINE
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _S45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return result


@njit(cache=True)
def uniform(s):
    """A float64 in [0, 1) with 53 random bits."""
    return np.float64(next_u64(s) >> _S11) * _INV53


@njit(cache=True)
def bounded(s, n):
    """An integer in [0, n) for 0 < n < 2**32 (multiply-shift on the high 32 bits)."""
    return np.int64(((next_u64(s) >> _S32) * _U64(n)) >> _S32)


# ----------------------------------------------------------------------------
# plain-Python twins


def _rotl_py(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _MASK


def next_u64_py(s: list[int]) -> int:
    """Reference twin of :func:`next_u64` on a list of four Python ints."""
    s0, s1, s2, s3 = s
    result = (_rotl_py((s1 * 5) & _MASK, 7) * 9) & _MASK
    t = (s1 << 17) & _MASK
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl_py(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


def uniform_py(s: list[int]) -> float:
    """Reference twin of :func:`uniform`."""
    return float(next_u64_py(s) >> 11) * _INV53


def bounded_py(s: list[int], n: int) -> int:
    """Reference twin of :func:`bounded`."""
    return ((next_u64_py(s) >> 32) * n) >> 32
