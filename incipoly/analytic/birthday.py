"""Birthday law with signs: each feature on a uniform neuron with a fair sign (theory/birthday.py).

2m cells (neuron, sign), each feature in one cell with probability u = 1/2m; a neuron is
polysemantic iff both of its cells are occupied: ``E = m[1 − 2(1 − 1/2m)ⁿ + (1 − 1/m)ⁿ]``.
"""
from __future__ import annotations

import math

import numpy as np

from .._validate import MAX_SEED, check_int
from ._checks import _integers, _is_real_array, _real, _scalar_or_array
from .results import Interval

_SERIES_TERMS = 48


def _surjections(k, r):
    """Number of maps from k labelled balls onto r labelled cells, ``Σ_j (−1)^(r−j) C(r,j) j^k``."""
    return sum((-1) ** (r - j) * math.comb(r, j) * j ** k for j in range(r + 1))


_SURJ = {r: np.array([float(_surjections(k, r)) for k in range(_SERIES_TERMS)]) for r in (2, 4)}


def _power(n, j, u):
    """``(1 − j u)^n`` computed as ``exp(n log1p(−j u))``."""
    return np.exp(n * np.log1p(-j * u))


def _occupied_series(r, n, u):
    """``q_r = P(r given cells all occupied) = Σ_k C(n,k) u^k (−1)^(k+r) surj(k, r)`` (k ≥ r).

    The Taylor series of ``Σ_j (−1)^j C(r,j)(1 − j u)^n`` in ``u``: no cancellation when ``r n u ≤ 1``
    (terms fall at least geometrically, ratio ≤ ½), where the closed form cancels catastrophically.
    """
    i = np.arange(_SERIES_TERMS - 1)
    factors = np.maximum(n[..., None] - i, 0.0) * u[..., None] / (i + 1)   # C(n,k)u^k recursively
    terms = np.concatenate([np.ones(n.shape + (1,)), np.cumprod(factors, axis=-1)], axis=-1)
    signs = (-1.0) ** (np.arange(_SERIES_TERMS) + r)
    return (terms * signs * _SURJ[r])[..., ::-1].sum(axis=-1)


def _occupancy(n, m):
    """Broadcast ``n, m``; return ``(n, m, u, p1, pbar)`` with ``p1 = P(neuron polysemantic) = 1 − pbar``.

    ``p1 = 1 − 2a + b`` with ``a = (1 − u)^n``, ``b = (1 − 2u)^n`` is evaluated as
    ``(1 − a)² − (a² − b)``, ``1 − a = −expm1(n log1p(−u))``, ``a² − b`` by :func:`_product_excess`:
    both pieces are accurate to rounding and their difference loses at most a factor ``n/(n − 1)``.
    Neither piece forms ``0·∞`` when ``a`` and ``b`` underflow (``n ≫ m``).
    """
    n, m = np.broadcast_arrays(n, m)
    u = 0.5 / m
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = _power(n, 1, u), _power(n, 2, u)
        a2_minus_b = _product_excess(n, 1, 1, u)
    p1 = np.where(n >= 2, np.expm1(n * np.log1p(-u)) ** 2 - a2_minus_b, 0.0)   # one feature: never
    return n, m, u, p1, 2.0 * a - b


def _product_excess(n, j, k, u):
    """``d = (1 − ju)ⁿ(1 − ku)ⁿ − (1 − (j+k)u)ⁿ`` for ``(j + k)u ≤ 1``, without cancellation or ``0·∞``.

    With ``c = log1p(jku²/(1 − (j+k)u)) ≥ 0`` the ratio of the two terms is ``e^(−nc)``, so
    ``d = (1 − ju)ⁿ(1 − ku)ⁿ · (−expm1(−nc))``: a product of two accurate non-negative factors,
    the first underflowing to 0 gracefully. ``(j + k)u = 1`` gives ``c = ∞`` and ``d`` = the product.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.log1p(j * k * u * u / (1.0 - (j + k) * u))
        return _power(n, j, u) * _power(n, k, u) * -np.expm1(-n * c)


def expected_polysemantic(n, m):
    """Expected number of polysemantic neurons under the birthday law with signs.

    Each of ``n`` features lands on a uniform random neuron of ``m`` with a uniform random sign,
    independently; a neuron is polysemantic iff it holds at least one feature of each sign:

    .. math::
        E = m\\left[1 - 2\\left(1 - \\tfrac{1}{2m}\\right)^n + \\left(1 - \\tfrac{1}{m}\\right)^n\\right]

    Evaluated with ``log1p``/``expm1`` so the relative error stays at a few ulps for every ``m``
    (including ``m ≈ 1e9``, where the bracket is ``≈ 1e-15``).

    Parameters
    ----------
    n : int or array of int
        Number of features, ``>= 1``.
    m : int or array of int
        Number of neurons, ``>= 1``. ``n`` and ``m`` broadcast.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from incipoly import analytic
    >>> round(float(analytic.expected_polysemantic(8, 64)), 4)
    0.2087
    >>> analytic.expected_polysemantic(8, [64, 128])
    array([0.2087, 0.1068])
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
    n, m, _, p1, _ = _occupancy(n, m)
    return _scalar_or_array(m * p1)


def polysemantic_variance(n, m):
    """Variance of the number of polysemantic neurons under the birthday law with signs.

    With ``p1 = P(neuron k polysemantic)`` and ``p2 = P(neurons k ≠ l both polysemantic)`` (inclusion–
    exclusion over the four empty-cell events of two neurons),

    .. math::
        p_2 = \\sum_{j=0}^{4} (-1)^j \\binom{4}{j} \\left(1 - \\tfrac{j}{2m}\\right)^n,\\qquad
        \\mathrm{Var} = m\\,p_1(1 - p_1) + m(m - 1)(p_2 - p_1^2).

    The covariance ``p2 − p1²`` is taken from the Taylor series of ``p2`` in ``1/2m`` when
    ``m >= 2n`` and otherwise from ``−4d₁₁ + 4d₁₂ − d₂₂`` with
    ``d_ab = (1 − a/2m)^n (1 − b/2m)^n − (1 − (a+b)/2m)^n`` (each ``d_ab`` computed without
    cancellation, and without ``0·∞`` once the powers underflow at ``n ≫ m``).

    Parameters
    ----------
    n, m : int or array of int
        Features ``>= 1`` and neurons ``>= 1`` (broadcast).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from incipoly import analytic
    >>> round(float(analytic.polysemantic_variance(8, 64)), 4)
    0.1889
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
    n, m, u, p1, pbar = _occupancy(n, m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        def d(a, b):
            exact = _product_excess(n, a, b, u)
            return np.where((a + b) * u <= 1.0, exact, _power(n, a, u) * _power(n, b, u))

        series = _occupied_series(4, n, u) - p1 * p1
        covariance = np.where(4.0 * n * u <= 1.0, series, -4 * d(1, 1) + 4 * d(1, 2) - d(2, 2))
        pairs = np.where(m > 1, m * (m - 1) * covariance, 0.0)
    return _scalar_or_array(m * p1 * pbar + pairs)


def expected_colliding_pairs(n, m):
    """Expected number of feature pairs that land on the same neuron, ``C(n, 2)/m``.

    Half of them (``C(n,2)/2m = n(n−1)/4m``) have opposite signs: that is the exact leading term
    of :func:`expected_polysemantic` in ``1/m``.

    Parameters
    ----------
    n, m : int or array of int
        Features ``>= 1`` and neurons ``>= 1`` (broadcast).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from incipoly import analytic
    >>> float(analytic.expected_colliding_pairs(8, 64))   # C(8, 2) / 64
    0.4375
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
    with np.errstate(over="ignore"):            # inf beyond the float range (n ≳ 1e154)
        return _scalar_or_array(n * (n - 1) / (2.0 * m))


def asymptotic_polysemantic(n, m):
    """The paper's scaling ``n²/(4m)`` of the expected number of polysemantic neurons.

    The exact expansion is ``E = Σ_{k≥2} (−1)^k (1 − 2^(1−k)) C(n,k) m^(1−k)``
    ``= n(n−1)/4m − n(n−1)(n−2)/8m² + …``; ``n²/4m`` is its leading term for large ``n``.

    Parameters
    ----------
    n, m : int or array of int
        Features ``>= 1`` and neurons ``>= 1`` (broadcast).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from incipoly import analytic
    >>> float(analytic.asymptotic_polysemantic(8, 64))    # 8² / (4·64)
    0.25
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
    with np.errstate(over="ignore"):            # inf beyond the float range (n ≳ 1e154)
        return _scalar_or_array(n * n / (4.0 * m))


def prediction_interval(mean, var, seeds, z=2.0):
    """Interval for the mean of a per-seed statistic over ``seeds`` independent seeds.

    .. math:: \\mu \\pm z \\sqrt{\\sigma^2 / S}

    Parameters
    ----------
    mean : float or array
        Predicted per-seed mean ``μ`` (e.g. :func:`expected_polysemantic`).
    var : float or array
        Predicted per-seed variance ``σ² >= 0`` (e.g. :func:`polysemantic_variance`).
    seeds : int
        Number of seeds ``S >= 1`` averaged.
    z : float
        Half-width in standard errors, ``> 0`` (2 gives ≈ 95 % for a normal mean).

    Returns
    -------
    Interval
        ``(low, high)``, floats or arrays.

    Raises
    ------
    ValueError
        For ``var < 0``, ``seeds < 1`` or ``z <= 0``.

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.prediction_interval(0.4, 0.36, seeds=100)    # 0.4 ± 2·√(0.36/100)
    Interval(low=0.28, high=0.52)
    """
    mean_arr = np.asarray(mean, dtype=np.float64) if _is_real_array(mean) else None
    if mean_arr is None or not np.all(np.isfinite(mean_arr)):
        raise ValueError(f"mean must be a finite number or array of them; got {mean!r}")
    var_arr = np.asarray(var, dtype=np.float64) if _is_real_array(var) else None
    if var_arr is None or not np.all(np.isfinite(var_arr)) or np.any(var_arr < 0):
        raise ValueError(f"var must be a finite number >= 0 or an array of them; got {var!r}")
    seeds = check_int("seeds", seeds, 1, MAX_SEED)
    z = _real("z", z, 0.0, strict=True)
    half = z * np.sqrt(var_arr / seeds)
    return Interval(_scalar_or_array(mean_arr - half), _scalar_or_array(mean_arr + half))


__all__ = ["expected_polysemantic", "polysemantic_variance", "expected_colliding_pairs",
           "asymptotic_polysemantic", "prediction_interval"]
