"""Numeric theory of incidental polysemanticity (numpy/scipy only).

The derivations behind every formula are in ``theory/README.md`` (sympy checks in ``theory/``).
Throughout, ``n`` is the number of features, ``m`` the number of hidden neurons, and the model is
``y_ij = ReLU(W_j · h_i)`` with ``h_i = W_i (+ ξ)`` and loss ``Σ_ij (y_ij − δ_ij)² + λ Σ|W|``.

Five pieces:

* **Birthday law with signs** — every feature lands on a uniformly random neuron with a uniformly
  random sign; a neuron is polysemantic iff it holds features of both signs.
* **Cascade** — deferred acceptance from ``W0``: one slot per (neuron, sign), ranked by ``|W0_ik|``.
* **Sparsification** — exact reduced form of the one-feature L1 gradient flow.
* **Noise** — expected loss under hidden noise and its fourth-cumulant (kurtosis) term.
* **Prediction intervals** for means over seeds.

Every bad argument raises ``ValueError`` naming the argument, the value and the accepted range.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import erfc, erfcinv, erfcx, ndtr

__all__ = [
    "expected_polysemantic", "polysemantic_variance", "expected_colliding_pairs",
    "asymptotic_polysemantic", "prediction_interval",
    "cascade_assignment", "cascade_polysemantic", "expected_cascade_polysemantic",
    "Sparsification", "sparsification_trajectory", "monosemantic_time", "paper_sparsification",
    "noise_kurtosis", "expected_noisy_loss", "kurtosis_loss_term",
]

# ----------------------------------------------------------------------------------------------
# argument checks


def _integers(name, value, minimum):
    """``value`` as a float64 array of integers ``>= minimum`` (scalars allowed), else ValueError."""
    bad = ValueError(f"{name} must be an integer >= {minimum} (or an array of them); got {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise bad from None
    if arr.size == 0 or arr.dtype.kind not in "iuf":
        raise bad
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)) or np.any(arr < minimum):
        raise bad
    return arr


def _real(name, value, low=0.0, strict=False):
    """A finite float ``> low`` (``strict``) or ``>= low``, else ValueError."""
    bound = f"> {low:g}" if strict else f">= {low:g}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < low or (strict and x == low):
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return x


def _weights(name, value, ndims):
    """A finite float64 array with ``ndim`` in ``ndims``, else ValueError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array; got {value!r}") from None
    if arr.ndim not in ndims or arr.size == 0:
        shapes = " or ".join({1: "(m,)", 2: "(n, m)", 3: "(instances, n, m)"}[d] for d in ndims)
        raise ValueError(f"{name} must be a non-empty array of shape {shapes}; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return arr


def _is_real_array(x):
    try:
        return np.asarray(x).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x


# ----------------------------------------------------------------------------------------------
# birthday law with signs: 2m cells (neuron, sign), each feature in one cell with probability u = 1/2m

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
    ``(1 − a)² − (a² − b)``, ``1 − a = −expm1(n log1p(−u))``, ``a² − b = b·expm1(n log1p(u²/(1 − 2u)))``:
    both pieces are accurate to rounding and their difference loses at most a factor ``n/(n − 1)``.
    """
    n, m = np.broadcast_arrays(n, m)
    u = 0.5 / m
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = _power(n, 1, u), _power(n, 2, u)
        a2_minus_b = np.where(m == 1, a * a, b * np.expm1(n * np.log1p(u * u / (1.0 - 2.0 * u))))
    p1 = np.where(n >= 2, np.expm1(n * np.log1p(-u)) ** 2 - a2_minus_b, 0.0)   # one feature: never
    return n, m, u, p1, 2.0 * a - b


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
    ``d_ab = (1 − a/2m)^n (1 − b/2m)^n − (1 − (a+b)/2m)^n`` (each ``d_ab`` computed without cancellation).

    Parameters
    ----------
    n, m : int or array of int
        Features ``>= 1`` and neurons ``>= 1`` (broadcast).

    Returns
    -------
    float or ndarray
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
    n, m, u, p1, pbar = _occupancy(n, m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        def d(a, b):
            c = 1.0 - (a + b) * u
            exact = _power(n, a + b, u) * np.expm1(n * np.log1p(a * b * u * u / c))
            return np.where(c > 0, exact, _power(n, a, u) * _power(n, b, u))

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
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
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
    """
    n, m = _integers("n", n, 1), _integers("m", m, 1)
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
    (low, high) : tuple of float or ndarray
    """
    mean_arr = np.asarray(mean, dtype=np.float64) if _is_real_array(mean) else None
    if mean_arr is None or not np.all(np.isfinite(mean_arr)):
        raise ValueError(f"mean must be a finite number or array of them; got {mean!r}")
    var_arr = np.asarray(var, dtype=np.float64) if _is_real_array(var) else None
    if var_arr is None or not np.all(np.isfinite(var_arr)) or np.any(var_arr < 0):
        raise ValueError(f"var must be a finite number >= 0 or an array of them; got {var!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, numbers.Integral) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got {seeds!r}")
    z = _real("z", z, 0.0, strict=True)
    half = z * np.sqrt(var_arr / seeds)
    return _scalar_or_array(mean_arr - half), _scalar_or_array(mean_arr + half)


# ----------------------------------------------------------------------------------------------
# cascade: deferred acceptance on (neuron, sign) slots ranked by |W0|


def _cascade(W0):
    """Feature-proposing deferred acceptance for a batch ``W0`` of shape ``(S, n, m)``.

    All free features propose at once (one round), each to its best neuron not yet tried; every
    slot keeps the best of its holder and its proposers. Priority of a pair ``(i, k)`` is
    ``(|W0_ik|, −i, −k)`` lexicographically (ties: lower feature, then lower neuron, first), one
    global order shared by features and slots, so the stable matching is unique and the rounds
    reach it. Entries ``W0_ik = 0`` have no sign and are never proposed.

    Returns ``(assigned, holder)``: neuron per feature (``−1`` if none) of shape ``(S, n)``, and the
    feature in each slot (``−1`` if empty) of shape ``(S, m, 2)``, slot 1 = positive sign.
    """
    S, n, m = W0.shape
    rows = np.where(W0 != 0, np.abs(W0), -np.inf).reshape(S * n, m)   # untried options per feature
    positive = (W0 > 0).reshape(S * n, m)
    holder = np.full(S * m * 2, -1, dtype=np.int64)
    held = np.full(S * m * 2, -np.inf)
    assigned = np.full(S * n, -1, dtype=np.int64)
    free = np.arange(S * n)
    while free.size:
        k = rows[free].argmax(axis=1)
        value = rows[free, k]
        alive = value > -np.inf                     # features with options left
        free, k, value = free[alive], k[alive], value[alive]
        rows[free, k] = -np.inf
        s, i = np.divmod(free, n)
        slot = (s * m + k) * 2 + positive[free, k]
        order = np.lexsort((i, -value, slot))       # per slot: largest |W0|, then lowest feature
        first = np.ones(order.size, dtype=bool)
        first[1:] = slot[order][1:] != slot[order][:-1]
        best = order[first]
        bslot = slot[best]
        wins = (value[best] > held[bslot]) | ((value[best] == held[bslot]) & (i[best] < holder[bslot]))
        best, bslot = best[wins], bslot[wins]
        previous = holder[bslot]
        kept = previous >= 0
        displaced = (bslot[kept] // (2 * m)) * n + previous[kept]     # flat ids of evicted features
        assigned[displaced] = -1
        holder[bslot], held[bslot] = i[best], value[best]
        assigned[free[best]] = k[best]
        free = np.concatenate([free[assigned[free] < 0], displaced])
    return assigned.reshape(S, n), holder.reshape(S, m, 2)


def _batch(W0):
    arr = _weights("W0", W0, (2, 3))
    return (arr[None], True) if arr.ndim == 2 else (arr, False)


def cascade_assignment(W0):
    """Neuron each feature ends on in the conflict-resolution cascade started from ``W0``.

    Feature ``i`` ranks neurons by ``|W0_ik|`` (descending) and wants the slot of sign
    ``sign(W0_ik)``; each neuron has one slot per sign, which keeps the proposer with the larger
    ``|W0_ik|``; a rejected or displaced feature proposes to its next neuron. This is
    feature-proposing deferred acceptance (Gale–Shapley). Because features and slots rank pairs
    by the same numbers ``|W0_ik|`` the stable matching is unique — equal to greedily accepting
    pairs in decreasing ``|W0_ik|`` — so the result does not depend on the order of proposals.

    Parameters
    ----------
    W0 : array of shape (n, m) or (instances, n, m)
        Initial weights (finite). Ties in ``|W0|`` are broken by lower feature, then lower neuron.

    Returns
    -------
    ndarray of int64, shape (n,) or (instances, n)
        Neuron index per feature, or ``−1`` when every slot it could take went to a stronger
        feature (possible only if ``n > m`` or its row has zeros). Its sign is ``sign(W0[i, k])``.
    """
    arr, single = _batch(W0)
    assigned, _ = _cascade(arr)
    return assigned[0] if single else assigned


def cascade_polysemantic(W0):
    """Number of neurons with both sign slots filled after the cascade (:func:`cascade_assignment`).

    Parameters
    ----------
    W0 : array of shape (n, m) or (instances, n, m)

    Returns
    -------
    int or ndarray of int64, one count per instance
    """
    arr, single = _batch(W0)
    _, holder = _cascade(arr)
    counts = (holder >= 0).all(axis=-1).sum(axis=-1)
    return int(counts[0]) if single else counts


def expected_cascade_polysemantic(n, m, seeds=1000, init="normal"):
    """Monte Carlo mean and standard error of :func:`cascade_polysemantic` over seeds.

    ``W0`` for seed ``s`` is exactly the trainer's initial weights for that seed
    (:func:`incipoly.init.initial_weights`, float64), so per-seed predictions can be compared with
    trained runs. The mean is ``n(n−1)/4m + O(n⁴/m³)`` (derived to order ``m⁻²`` in
    ``theory/README.md``; Monte Carlo puts the remainder within 0.06 for ``n ≤ m``).

    Parameters
    ----------
    n, m : int
        Features and neurons, ``>= 1``.
    seeds : int or sequence of int
        ``k`` → seeds ``0 … k−1`` (``k >= 2``), or an explicit list of at least two distinct seeds.
    init : {"normal", "xavier"}
        Initial distribution, as in :class:`incipoly.Config`.

    Returns
    -------
    (mean, se) : tuple of float
        Sample mean and its standard error ``sd/√S``.
    """
    from .config import Config
    from .init import initial_weights, normalize_seeds

    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    seed_list = normalize_seeds(seeds)
    if seed_list.size < 2:
        raise ValueError(f"seeds must give at least 2 seeds for a standard error; got {seeds!r}")
    if init not in ("normal", "xavier"):
        raise ValueError(f"init must be one of normal, xavier; got {init!r}")
    config = Config(n_features=int(n), n_hidden=int(m), init=init, dtype="float64")
    chunk = max(1, (1 << 21) // (int(n) * int(m)))
    counts = np.concatenate([cascade_polysemantic(initial_weights(config, seed_list[i:i + chunk]))
                             for i in range(0, seed_list.size, chunk)])
    return float(counts.mean()), float(counts.std(ddof=1) / np.sqrt(counts.size))


# ----------------------------------------------------------------------------------------------
# sparsification of one feature: dw/dt = 4(1 − |w|²) w − λ sign(w)


class Sparsification(NamedTuple):
    """Solution of the reduced one-feature L1 gradient flow at the requested times.

    ``w(t) = scale · sign(w0) · max(|w0| − threshold, 0)``; ``m_active`` counts the nonzero entries
    (the expected count ``m·erfc(θ√(m/2))`` for the half-normal profile) and ``l1_norm = ‖w(t)‖₁``.
    """

    t: np.ndarray
    m_active: np.ndarray
    l1_norm: np.ndarray
    scale: np.ndarray
    threshold: np.ndarray


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


def _source(m, w0, seed):
    """``(sums, θ at which one survivor is left, smooth)`` for the chosen initial weights."""
    if (m is None) == (w0 is None):
        raise ValueError(f"give exactly one of m (random |N(0, 1/m)| entries) or w0 (explicit "
                         f"weights); got m={m!r} and w0 {'given' if w0 is not None else 'None'}")
    if w0 is not None:
        if seed is not None:
            raise ValueError(f"seed applies only with m (w0 is already explicit); got seed={seed!r}")
        return _exact_sums(_weights("w0", w0, (1,))) + (False,)
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"m must be an integer >= 1; got {m!r}")
    if seed is None:
        return _profile_sums(int(m)) + (True,)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or None; got {seed!r}")
    return _sampled_sums(int(m), int(seed)) + (False,)


def _flow(sums, smooth, l1, t_end, t_eval=None, stop_at=None):
    """Integrate the reduced flow in ``u = log S = log ‖w‖²`` and ``θ = λB`` (LSODA, analytic Jacobian).

    With ``P(θ) = Σ(|w0| − θ)₊²``, ``L(θ) = Σ(|w0| − θ)₊``, ``A = e^(u/2)/√P`` and ``r = L/√P``:

    ``u' = −8 expm1(u) − 2λ e^(−u/2) r(θ)``,  ``θ' = λ e^(−u/2) √P(θ)``.

    ``u`` stays ``O(λ)`` near the slow manifold ``S = 1``, so ``1 − S`` keeps full precision (``A``
    itself would not). Stops when ``S < e^-60`` (every coordinate is then within ``1e-13`` of 0 and
    reaches it in ``O(1e-13/λ)``: extinction, possible only for large λ) or when ``θ = stop_at``.
    Explicit ``w0`` gives a right-hand side with a kink at every death; Radau steps over those far
    more cheaply than LSODA, which is faster on the smooth profile.
    """
    def parts(theta):
        count, lin, sq = sums(theta)
        root = math.sqrt(sq) if sq > 0 else 0.0
        return count, lin, sq, root, (lin / root if root > 0 else 0.0)

    def rhs(_, y):
        _, _, _, root, r = parts(y[1])
        decay = l1 * math.exp(-0.5 * y[0])
        return [-8.0 * math.expm1(y[0]) - 2.0 * decay * r, decay * root]

    def jac(_, y):
        count, lin, sq, root, r = parts(y[1])
        decay = l1 * math.exp(-0.5 * y[0])
        dr = (lin * lin - count * sq) / (sq * root) if root > 0 else 0.0
        return [[-8.0 * math.exp(y[0]) + decay * r, -2.0 * decay * dr], [-0.5 * decay * root, -decay * r]]

    def extinct(_, y):
        return y[0] - _EXTINCT

    extinct.terminal, extinct.direction = True, -1
    events = [extinct]
    if stop_at is not None:
        def reached(_, y):
            return y[1] - stop_at

        reached.terminal, reached.direction = True, 1
        events.append(reached)
    count0, _, sq0, _, _ = parts(0.0)
    method, rtol = ("LSODA", 1e-10) if smooth else ("Radau", 1e-8)
    atol = rtol * 1e-3 * np.array([1.0, math.sqrt(sq0 / count0)])   # θ in units of rms |w0|
    sol = solve_ivp(rhs, (0.0, t_end), [math.log(sq0), 0.0], method=method, jac=jac, t_eval=t_eval,
                    events=events, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"sparsification ODE failed: {sol.message}")
    return sol


_EXTINCT = -60.0


def sparsification_trajectory(t, l1, *, m=None, w0=None, seed=None):
    """Exact one-feature sparsification under L1 gradient flow, interference ignored.

    The flow ``dw/dt = 4(1 − ‖w‖²) w − λ sign(w)`` (``n = 1``; ``t`` is gradient-flow time, a
    discrete step of learning rate ``lr`` advances ``t`` by ``lr``) is solved by

    .. math::
        w_k(t) = A(t)\\,(|w_k(0)| - \\lambda B(t))_+\\,\\mathrm{sign}\\,w_k(0),\\qquad
        A' = 4(1 - S)A,\\quad B' = 1/A,\\quad
        S = A^2 \\sum_k (|w_k(0)| - \\lambda B)_+^2,

    so a coordinate dies when ``λB`` passes ``|w_k(0)|``: smaller coordinates die first and the
    order of ``|w_k|`` never changes. ``S`` needs only the survivors' count and first two sums.
    Since ``dS/dt = 8(1 − S)S − 2λ‖w‖₁``, the norm holds near 1 only while ``λ‖w‖₁ < 1``
    (initially ``λ ≲ √(π/2m)``); for larger λ the whole feature can die.

    Parameters
    ----------
    t : float or 1-D array
        Times ``>= 0``, non-decreasing.
    l1 : float
        λ ``>= 0``.
    m : int, optional
        ``w(0)`` has ``m`` i.i.d. ``N(0, 1/m)`` entries. Without ``seed`` the survivor sums are
        replaced by their expectations (the deterministic law-of-large-numbers profile: accurate
        while ``m′ ≫ 1``, ``m_active`` is then an expected count). With ``seed`` one draw is
        used: its top 4096 entries exactly, the rest through conditional expectations. O(1) or
        O(log 4096) per evaluation for any ``m`` (1e9 takes well under a second).
    w0 : 1-D array, optional
        Use these initial weights exactly (sorted once; O(log m) per evaluation).
    seed : int, optional
        Seed (``>= 0``) of ``numpy.random.default_rng`` for the draw; only with ``m``.

    Returns
    -------
    Sparsification
        Named tuple ``(t, m_active, l1_norm, scale, threshold)`` with ``scale = A`` and
        ``threshold = λB``; once every coordinate is zero (large λ only) ``scale`` is 0.
    """
    sums, _, smooth = _source(m, w0, seed)
    l1 = _real("l1", l1)
    times = np.atleast_1d(np.asarray(t, dtype=np.float64)) if _is_real_array(t) else None
    if (times is None or times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(times < 0)
            or np.any(np.diff(times) < 0)):
        raise ValueError(f"t must be a finite, non-decreasing 1-D array of times >= 0; got {t!r}")
    count, l1_norm, scale, theta = (np.zeros_like(times) for _ in range(4))
    if sums(0.0)[0] == 0:
        return Sparsification(times, count, l1_norm, scale, theta)
    if times[-1] == 0.0:
        log_norm, solved = np.full(times.size, math.log(sums(0.0)[2])), np.zeros(times.size)
    else:
        sol = _flow(sums, smooth, l1, times[-1], t_eval=times)
        log_norm, solved = sol.y
        if sol.t.size < times.size:                     # extinct: w ≡ 0 from then on
            theta[sol.t.size:] = sol.y_events[0][0][1]
    for j, (u, th) in enumerate(zip(log_norm, solved)):
        count[j], lin, sq = sums(th)
        theta[j] = th
        scale[j] = math.exp(0.5 * u) / math.sqrt(sq) if sq > 0 else 0.0
        l1_norm[j] = scale[j] * lin
    return Sparsification(times, count, l1_norm, scale, theta)


def monosemantic_time(l1, *, m=None, w0=None, seed=None, t_max=None):
    """Gradient-flow time at which only one coordinate of the feature is left (``m′ = 1``).

    The threshold ``λB(t)`` of :func:`sparsification_trajectory` reaches the second-largest
    ``|w_k(0)|`` (for the profile: ``m·erfc(λB√(m/2)) = 1``). For ``λ → 0`` this tends to
    ``(1/λ)∫₀^θ₂ dθ / √(Σ(|w0| − θ)₊²)``; for the profile ``λT → √2`` as ``m → ∞``
    (``≈ 1.52`` at ``m = 1e5``), against the paper's ``(1 − 1/√m)/λ ≈ 1/λ``.

    Parameters
    ----------
    l1 : float
        λ ``>= 0``.
    m, w0, seed :
        As in :func:`sparsification_trajectory` (exactly one of ``m``, ``w0``).
    t_max : float, optional
        Integration horizon, ``> 0``; default ``100/λ``.

    Returns
    -------
    float
        The time; ``0.0`` if at most one coordinate is nonzero at ``t = 0``; ``inf`` if not
        reached by ``t_max`` (λ = 0, or the two largest ``|w0|`` tie) or if the whole feature
        dies first.
    """
    sums, last, smooth = _source(m, w0, seed)
    l1 = _real("l1", l1)
    if sums(0.0)[0] <= 1:
        return 0.0
    if l1 == 0.0:
        return math.inf
    t_max = 100.0 / l1 if t_max is None else _real("t_max", t_max, 0.0, strict=True)
    hits = _flow(sums, smooth, l1, t_max, stop_at=last).t_events[1]
    return float(hits[0]) if hits.size else math.inf


def paper_sparsification(t, l1, m):
    """The paper's approximation of one-feature sparsification (all survivors equal, unit norm).

    With ``‖w‖₁ = √m′`` and ``d‖w‖₁/dt = −λ m′`` from ``‖w‖₁(0) = √m``:

    .. math:: \\|w\\|_1(t) \\approx (1/\\sqrt{m} + \\lambda t)^{-1},\\qquad
              m'(t) \\approx (1/\\sqrt{m} + \\lambda t)^{-2},

    so ``m′ = 1`` at ``t = (1 − 1/√m)/λ``.

    Parameters
    ----------
    t : float or array
        Times ``>= 0``.
    l1 : float
        λ ``>= 0``.
    m : int
        Neurons ``>= 1``.

    Returns
    -------
    Sparsification
        With ``scale`` and ``threshold`` set to NaN (the approximation does not model them).
    """
    times = np.asarray(t, dtype=np.float64) if _is_real_array(t) else None
    if times is None or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"t must be a finite time >= 0 or an array of them; got {t!r}")
    l1 = _real("l1", l1)
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"m must be an integer >= 1; got {m!r}")
    inverse = 1.0 / (1.0 / math.sqrt(m) + l1 * times)
    nan = np.full_like(inverse, np.nan)
    return Sparsification(times, inverse ** 2, inverse, nan, nan)


# ----------------------------------------------------------------------------------------------
# hidden noise: Z_j = W_j · ξ, excess kurtosis κ‖W_j‖₄⁴/‖W_j‖₂⁴

_KURTOSIS = {"bernoulli": -2.0, "uniform": -1.2, "gaussian": 0.0, "laplace": 3.0}


def noise_kurtosis(noise):
    """Excess kurtosis ``κ = E ξ⁴/σ⁴ − 3`` of a hidden-noise law (independent of σ).

    bernoulli (±σ) −2, uniform −6/5, gaussian 0, laplace +3.

    Parameters
    ----------
    noise : {"bernoulli", "uniform", "gaussian", "laplace"}

    Returns
    -------
    float
    """
    if noise not in _KURTOSIS:
        raise ValueError(f"noise must be one of {', '.join(_KURTOSIS)}; got {noise!r}")
    return _KURTOSIS[noise]


def _noise_setup(W, noise_std, noise):
    arr = _weights("W", W, (2, 3))
    sigma = _real("noise_std", noise_std)
    if noise == "none":
        kappa, sigma = 0.0, 0.0
    elif noise in _KURTOSIS:
        kappa = _KURTOSIS[noise]
    else:
        raise ValueError(f"noise must be one of none, {', '.join(_KURTOSIS)}; got {noise!r}")
    batch = arr[None] if arr.ndim == 2 else arr
    G = batch @ batch.transpose(0, 2, 1)
    s = sigma * np.linalg.norm(batch, axis=2)[:, None, :]          # s_j = σ‖W_j‖, column j
    quartic = (batch ** 4).sum(axis=2)[:, None, :]                 # ‖W_j‖₄⁴
    target = np.eye(batch.shape[1])
    return arr.ndim == 2, G, s, quartic, target, kappa, sigma


def _gaussian_density(g, s):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, np.exp(-0.5 * (g / s) ** 2) / (s * math.sqrt(2 * math.pi)), 0.0)


def expected_noisy_loss(W, noise_std, noise):
    """Expected data loss ``E Σ_ij (ReLU(G_ij + Z_j) − δ_ij)²`` under hidden noise, to first order in κ.

    ``Z_j = W_j·ξ`` has variance ``s_j² = σ²‖W_j‖²`` and excess kurtosis ``κ‖W_j‖₄⁴/‖W_j‖₂⁴``.
    The Gaussian part is exact for Gaussian noise (``x = g/s``, ``Φ``, ``φ`` standard normal):

    .. math::
        E(\\mathrm{ReLU}(g + Z) - \\delta)^2 = (g^2 + s^2)\\Phi(x) + g s\\,\\varphi(x)
        - 2\\delta\\,[g\\Phi(x) + s\\varphi(x)] + \\delta^2,

    and the first Edgeworth term adds :func:`kurtosis_loss_term`. The L1 term is not included.

    Parameters
    ----------
    W : array of shape (n, m) or (instances, n, m)
    noise_std : float
        σ ``>= 0``.
    noise : {"none", "bernoulli", "uniform", "gaussian", "laplace"}
        ``"none"`` gives the noiseless loss.

    Returns
    -------
    float or ndarray, one value per instance
    """
    single, G, s, _, target, _, _ = _noise_setup(W, noise_std, noise)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = G / s
        cdf, pdf = ndtr(x), np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        first = np.where(s > 0, G * cdf + s * pdf, np.maximum(G, 0.0))
        second = np.where(s > 0, (G * G + s * s) * cdf + G * s * pdf, np.maximum(G, 0.0) ** 2)
    gaussian = (second - 2 * target * first + target).sum(axis=(1, 2))
    total = gaussian + kurtosis_loss_term(W, noise_std, noise)
    return float(total[0]) if single else total


def kurtosis_loss_term(W, noise_std, noise):
    """Fourth-cumulant (kurtosis) term of the expected loss: the only part that sees the neuron basis.

    From the Edgeworth density ``φ_s(z)[1 + (κ_Z/24) He₄(z/s)]`` and Stein's identity
    ``E[h(Z) He₄(Z/s)] = s⁴ E[h⁗(Z)]`` for ``h = (ReLU(g + z) − δ)²``:

    .. math::
        \\Delta L = \\sum_{ij} \\frac{\\kappa \\sigma^4 \\|W_j\\|_4^4}{12}
        \\left[\\varphi_{s_j}'(G_{ij}) - \\delta_{ij}\\,\\varphi_{s_j}''(G_{ij})\\right],
        \\qquad \\varphi_s'(g) = -\\frac{g}{s^2}\\varphi_s(g).

    For negative interference ``G_ij < 0`` the bracket is positive, so ``κ < 0`` (bernoulli,
    uniform) lowers the loss of rows with larger ``‖W_j‖₄⁴`` — sparse rows — while ``κ > 0``
    (laplace) favours dense rows and Gaussian noise has no basis preference at all.

    Parameters
    ----------
    W : array of shape (n, m) or (instances, n, m)
    noise_std : float
        σ ``>= 0``.
    noise : {"none", "bernoulli", "uniform", "gaussian", "laplace"}

    Returns
    -------
    float or ndarray, one value per instance
    """
    single, G, s, quartic, target, kappa, sigma = _noise_setup(W, noise_std, noise)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = _gaussian_density(G, s)
        d1 = np.where(s > 0, -G / s ** 2 * density, 0.0)
        d2 = np.where(s > 0, (G * G / s ** 4 - 1 / s ** 2) * density, 0.0)
    term = (kappa * sigma ** 4 * quartic / 12.0 * (d1 - target * d2)).sum(axis=(1, 2))
    return float(term[0]) if single else term
