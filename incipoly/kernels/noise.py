"""Counter-based hidden noise: the value at (instance key, step, unit) is a pure function.

A SplitMix64 output taken at a random-access position,

    bits(key, c) = mix64(key + φ·(c + 1))   (mod 2⁶⁴),   φ = 0x9E3779B97F4A7C15,

is turned into ``u ∈ (0, 1)`` by its top 53 bits. Position ``c = 2·(t·m + j) + r`` for step ``t``,
hidden unit ``j`` and draw ``r ∈ {0, 1}``. Because nothing is carried between draws, the noise does
not depend on chunking, thread count, resumption or which other instances share a call, and any
backend that implements :func:`mix64` draws the same numbers.

All functions are ``register_jitable``: plain Python when called from Python, inlined into
compiled kernels otherwise.
"""
import math

import numpy as np
from numba.extending import register_jitable

NOISE_CODES = {"none": 0, "bernoulli": 1, "gaussian": 2, "uniform": 3, "laplace": 4}

_PHI = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_TWO_M53 = 2.0 ** -53
_SQRT3 = math.sqrt(3.0)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_TWO_PI = 2.0 * math.pi


@register_jitable
def mix64(z):
    """SplitMix64 finaliser (Stafford variant 13) on a ``uint64``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@register_jitable
def uniform01(key, counter):
    """``u = (⌊bits/2¹¹⌋ + ½)·2⁻⁵³``, strictly inside (0, 1)."""
    bits = mix64(key + _PHI * (counter + _ONE))
    return (float(bits >> _S11) + 0.5) * _TWO_M53


@register_jitable
def noise_value(kind, sigma, key, step, unit, m):
    """Noise entry ξ_j at ``step`` for ``unit`` j: mean 0, standard deviation ``sigma``.

    bernoulli ±σ; gaussian σ·√(−2 ln u₁)·cos(2π u₂); uniform σ√3(2u − 1);
    laplace −(σ/√2)·sgn(u − ½)·ln(1 − 2|u − ½|).
    """
    c = np.uint64(2) * (np.uint64(step) * np.uint64(m) + np.uint64(unit))
    u = uniform01(key, c)
    if kind == 1:
        return sigma if u < 0.5 else -sigma
    if kind == 2:
        u2 = uniform01(key, c + _ONE)
        return sigma * math.sqrt(-2.0 * math.log(u)) * math.cos(_TWO_PI * u2)
    if kind == 3:
        return sigma * _SQRT3 * (2.0 * u - 1.0)
    if kind == 4:
        d = u - 0.5
        mag = -sigma * _INV_SQRT2 * math.log(1.0 - 2.0 * abs(d))
        return mag if d > 0 else -mag
    return 0.0


__all__ = ["NOISE_CODES", "mix64", "uniform01", "noise_value"]
