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


# ----------------------------------------------------------------------------
# counts of people (super-individuals, Scheffer et al. 1995)

BINOMIAL_CHUNK = 1000  # (1/2)**1000 is a normal float64: inversion never starts from an underflowed P(0)


@njit(cache=True)
def _binomial_inversion(s, n, p):
    """Binomial(n, p) for 0 < p <= 1/2 and 0 < n <= BINOMIAL_CHUNK by inversion: one uniform ``u``, then the
    smallest ``k`` with ``u < P(X <= k)``, the probabilities built by the recurrence
    ``P(k+1) = P(k) * p/(1-p) * (n-k)/(k+1)`` from ``P(0) = (1-p)**n`` (a product of ``n`` factors, so that
    the twin computes the same floats)."""
    q = 1.0 - p
    pk = 1.0
    for _ in range(n):
        pk *= q
    ratio = p / q
    u = uniform(s)
    cdf = pk
    k = 0
    while u >= cdf and k < n:
        pk *= ratio * (n - k) / (k + 1)
        k += 1
        cdf += pk
    return k


@njit(cache=True)
def binomial(s, n, p):
    """A Binomial(n, p) count, exact (inversion, :func:`_binomial_inversion`) and drawn from ``s``.

    Draws nothing when ``n <= 0``, ``p <= 0`` or ``p >= 1``. For ``p > 1/2`` it returns ``n`` less a
    Binomial(n, 1-p); ``n`` is split into chunks of at most ``BINOMIAL_CHUNK`` trials (a sum of independent
    binomials with the same ``p`` is binomial), one uniform per chunk.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    q = 1.0 - p if flip else p
    k = 0
    left = n
    while left > 0:
        chunk = left if left < BINOMIAL_CHUNK else BINOMIAL_CHUNK
        k += _binomial_inversion(s, chunk, q)
        left -= chunk
    return n - k if flip else k


@njit(cache=True)
def people_in(s, m):
    """The people one agent stands for when an agent is ``m`` people (``m >= 0``, not necessarily whole):
    ``floor(m)``, plus one more with probability ``m - floor(m)`` (one uniform, drawn only when ``m`` has a
    fractional part), so the expectation is ``m``."""
    n = np.int64(m)
    frac = m - n
    if frac > 0.0 and uniform(s) < frac:
        n += 1
    return n


def _binomial_inversion_py(s: list[int], n: int, p: float) -> int:
    """Reference twin of :func:`_binomial_inversion`."""
    q = 1.0 - p
    pk = 1.0
    for _ in range(n):
        pk *= q
    ratio = p / q
    u = uniform_py(s)
    cdf = pk
    k = 0
    while u >= cdf and k < n:
        pk *= ratio * (n - k) / (k + 1)
        k += 1
        cdf += pk
    return k


def binomial_py(s: list[int], n: int, p: float) -> int:
    """Reference twin of :func:`binomial`."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    q = 1.0 - p if flip else p
    k = 0
    left = n
    while left > 0:
        chunk = left if left < BINOMIAL_CHUNK else BINOMIAL_CHUNK
        k += _binomial_inversion_py(s, chunk, q)
        left -= chunk
    return n - k if flip else k


def people_in_py(s: list[int], m: float) -> int:
    """Reference twin of :func:`people_in`."""
    n = int(m)
    frac = m - n
    if frac > 0.0 and uniform_py(s) < frac:
        n += 1
    return n
