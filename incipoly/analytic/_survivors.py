"""The initial weights of one feature as the sparsification flow sees them: for a threshold θ,
the survivors' count ``N``, ``Σ(|w0| − θ)₊`` and ``Σ(|w0| − θ)₊²`` — exact for given weights, their
expectations for ``m`` random ``|N(0, 1/m)|`` entries, or one sampled draw without drawing all ``m``
(used by :mod:`incipoly.analytic.sparsification`; theory/sparsification.py derives the flow).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc, erfcinv, erfcx

from .._validate import MAX_SEED, check_int, shown
from ._checks import _weights

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_DIRECT_SUMS = 64


def _exact_sums(w0):
    """Survivor sums of a given ``w0`` at threshold θ: ``(N, Σ(|w0|−θ), Σ(|w0|−θ)²)`` over ``|w0| > θ``.

    O(log m) per call: ``|w0|`` sorted once, suffix sums, ``searchsorted`` for the survivors. With
    few survivors (``<= 64``) the sums are taken directly, since ``Σs² − 2θΣs + θ²N`` cancels
    catastrophically once ``θ`` is close to every surviving ``s``.
    """
    s = np.sort(np.abs(w0))
    suffix1 = np.append(np.cumsum(s[::-1])[::-1], 0.0)
    suffix2 = np.append(np.cumsum((s * s)[::-1])[::-1], 0.0)

    def sums(theta):
        j = np.searchsorted(s, theta, side="right")
        count = s.size - j
        if np.ndim(theta) == 0 and count <= _DIRECT_SUMS:
            excess = s[j:] - theta
            return count, excess.sum(), excess @ excess
        return count, suffix1[j] - theta * count, suffix2[j] - 2 * theta * suffix1[j] + theta * theta * count

    second = s[-2] if s.size > 1 else 0.0
    return sums, second


def _tail_moments(x):
    """For ``Z ~ N(0, 1)``, ``x >= 0``: ``P(|Z| > x)``, ``E[(|Z| − x)₊]``, ``E[(|Z| − x)₊²]``.

    ``erfc(x/√2)``, ``√(2/π)e^(−x²/2) − x·erfc(x/√2)``, ``(1 + x²)erfc(x/√2) − x√(2/π)e^(−x²/2)``
    (the last with ``erfcx`` so it neither underflows nor cancels early).
    """
    gauss = np.exp(-0.5 * x * x)
    tail = erfc(x / math.sqrt(2.0))
    first = _SQRT_2_OVER_PI * gauss - x * tail
    second = gauss * ((1.0 + x * x) * erfcx(x / math.sqrt(2.0)) - x * _SQRT_2_OVER_PI)
    return tail, first, second


def _profile_sums(m):
    """Survivor sums replaced by their expectations for ``m`` entries ``|N(0, 1/m)|`` (x = θ√m):

    ``N = m·P(|Z| > x)``, ``Σ(|w0| − θ)₊ = √m·E(|Z| − x)₊``, ``Σ(|w0| − θ)₊² = E(|Z| − x)₊²``.
    """
    root = math.sqrt(m)

    def sums(theta):
        tail, first, second = _tail_moments(theta * root)
        return m * tail, root * first, second

    return sums, math.sqrt(2.0 / m) * float(erfcinv(1.0 / m))   # m·erfc(x/√2) = 1


def _sampled_sums(m, seed):
    """Survivor sums for one random draw of ``m`` entries ``|N(0, 1/m)|`` without drawing them all.

    The largest ``K = min(m, 4096)`` values are exact order statistics (Rényi: the ``K`` smallest of
    ``m`` uniforms are ``Γ_j/Γ_(m+1)`` with exponential partial sums ``Γ_j``; a value is
    ``√(2/m)·erfcinv(V_j)``). The other ``m − K`` lie i.i.d. below the K-th largest ``b`` and enter
    through their conditional expectations, which matter only while more than ``K`` survive.
    """
    rng = np.random.default_rng(seed)
    k = min(m, _EXACT_TOP)
    partial = np.cumsum(rng.standard_exponential(k))
    uniforms = partial / (partial[-1] + rng.standard_gamma(m + 1 - k))
    top = math.sqrt(2.0 / m) * erfcinv(uniforms)
    top_sums, second = _exact_sums(top)
    if k == m:
        return top_sums, second
    root, xb = math.sqrt(m), top[-1] * math.sqrt(m)
    tail_b, first_b, second_b = _tail_moments(xb)
    c = (m - k) / (1.0 - tail_b)

    def sums(theta):
        count, lin, sq = top_sums(theta)
        x = np.minimum(theta * root, xb)
        d = xb - x
        tail, first, sec = _tail_moments(x)
        return (count + c * (tail - tail_b),
                lin + c / root * (first - first_b - d * tail_b),
                sq + c / m * (sec - second_b - 2 * d * first_b - d * d * tail_b))

    return sums, second


_EXACT_TOP = 4096

#: Largest m: the formulas take √m and 1/m in floating point.
_MAX_M = 10 ** 300


def _check_m(m):
    """``m`` as an int in ``[1, 1e300]`` (ValueError / TypeError naming ``m`` otherwise)."""
    m = check_int("m", m, 1)
    if m > _MAX_M:
        raise ValueError(f"m must be an integer >= 1 and <= 1e300 (√m must be a float); "
                         f"got {shown(m)}")
    return m


def _source(m, w0, seed):
    """``(sums, θ at which one survivor is left, smooth)`` for the chosen initial weights."""
    if (m is None) == (w0 is None):
        raise ValueError(f"give exactly one of m (random |N(0, 1/m)| entries) or w0 (explicit "
                         f"weights); got m={m!r} and w0 {'given' if w0 is not None else 'None'}")
    if w0 is not None:
        if seed is not None:
            raise ValueError(f"seed applies only with m (w0 is already explicit); got seed={seed!r}")
        return _exact_sums(_weights("w0", w0, (1,))) + (False,)
    m = _check_m(m)
    if seed is None:
        return _profile_sums(int(m)) + (True,)
    seed = check_int("seed", seed, 0, MAX_SEED)
    return _sampled_sums(int(m), int(seed)) + (False,)
