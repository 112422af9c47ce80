"""Sparsification of one feature under the L1 gradient flow ``dw/dt = 4(1 − |w|²) w − λ sign(w)``
(theory/sparsification.py)."""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp

from .._repr import brief
from .._validate import check_real
from ._checks import _is_real_array, _real
from ._survivors import _check_m, _source


class Sparsification(NamedTuple):
    """Solution of the reduced one-feature L1 gradient flow at the requested times.

    ``w(t) = scale · sign(w0) · max(|w0| − threshold, 0)``; ``m_active`` counts the nonzero entries
    (the expected count ``m·erfc(θ√(m/2))`` for the half-normal profile) and ``l1_norm = ‖w(t)‖₁``.

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.sparsification_trajectory([0.0, 10.0, 100.0], 0.01, m=64)
    Sparsification(3 times 0 → 100; m_active 64 → 2.134, l1_norm 6.383 → 1.078, threshold 0 → 0.266)
    """

    t: np.ndarray
    m_active: np.ndarray
    l1_norm: np.ndarray
    scale: np.ndarray
    threshold: np.ndarray

    def __repr__(self) -> str:
        t = np.asarray(self.t)
        if t.size == 0:
            return "Sparsification(no times)"
        ends = lambda a: f"{brief(np.asarray(a)[0])} → {brief(np.asarray(a)[-1])}"  # noqa: E731
        return (f"Sparsification({t.size} times {ends(t)}; m_active {ends(self.m_active)}, "
                f"l1_norm {ends(self.l1_norm)}, threshold {ends(self.threshold)})")


#: Largest λ of :func:`sparsification_trajectory`: the flow is integrated in time units of 1/λ,
#: and from λ ≈ 1e295 the solver's steps underflow and its state turns NaN.
_MAX_L1 = 1e290


#: Exponents are clamped to ±this: only rejected trial steps of the solver overshoot that far.
_EXP_MAX = 700.0


def _system(sums, l1):
    """``(parts, rhs, jac)`` of the reduced flow in ``u = log S = log ‖w‖²`` and ``θ = λB``.

    With ``P(θ) = Σ(|w0| − θ)₊²``, ``L(θ) = Σ(|w0| − θ)₊``, ``A = e^(u/2)/√P`` and ``r = L/√P``:

    ``u' = −8 expm1(u) − 2λ e^(−u/2) r(θ)``,  ``θ' = λ e^(−u/2) √P(θ)``.
    """
    def parts(theta):
        count, lin, sq = sums(theta)
        root = math.sqrt(sq) if sq > 0 else 0.0
        return count, lin, sq, root, (lin / root if root > 0 else 0.0)

    def rhs(_, y):
        u = min(max(y[0], -_EXP_MAX), _EXP_MAX)
        _, _, _, root, r = parts(y[1])
        decay = l1 * math.exp(-0.5 * u)
        return [-8.0 * math.expm1(u) - 2.0 * decay * r, decay * root]

    def jac(_, y):
        u = min(max(y[0], -_EXP_MAX), _EXP_MAX)
        count, lin, sq, root, r = parts(y[1])
        decay = l1 * math.exp(-0.5 * u)
        denominator = sq * root
        dr = (lin * lin - count * sq) / denominator if denominator > 0 else 0.0
        return [[-8.0 * math.exp(u) + decay * r, -2.0 * decay * dr], [-0.5 * decay * root, -decay * r]]

    return parts, rhs, jac


def _flow(sums, smooth, l1, t_end, t_eval=None, stop_at=None, settle=False):
    """Integrate the reduced flow of :func:`_system` (LSODA or Radau, analytic Jacobian).

    ``u`` stays ``O(λ)`` near the slow manifold ``S = 1``, so ``1 − S`` keeps full precision (``A``
    itself would not). Stops when ``S < e^-60`` (every coordinate is then within ``1e-13`` of 0 and
    reaches it in ``O(1e-13/λ)``: extinction, possible only for large λ) or when ``θ = stop_at``.
    Explicit ``w0`` gives a right-hand side with a kink at every death; Radau steps over those far
    more cheaply than LSODA, which is faster on the smooth profile. With ``settle`` (used for
    explicit ``w0``, where Radau would crawl to a far horizon; LSODA on a smooth profile does
    not need it, and the extra right-hand side per step would cost it ≈ 70 %) it also stops
    once the state can no longer move by ``atol`` before ``t_end`` (it has settled: the flow
    decays exponentially towards its fixed point), so a horizon like ``t = 1e12`` costs no more
    than the approach; ``sol.settled`` then holds the final state.
    """
    parts, rhs, jac = _system(sums, l1)
    # Integrate in s = c·t with c = max(1, λ): for large λ the whole flow happens within t ~ 1/λ,
    # which solve_ivp cannot step through in units of t (λ = 1e300 would never return).
    c = max(1.0, l1)
    if c > 1.0:
        rhs, jac = _scaled(rhs, jac, c)

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
    if settle:
        def settled(s, y):
            """−1 once no coordinate moves: at today's speed it would change by < atol before
            t_end, or its speed is rounding noise (≤ 1e3·eps·λ·(1 + |y|), the size of the two
            cancelling O(λ) terms' rounding at the fixed point); else +1."""
            speed = np.abs(rhs(s, y))
            floor = 1e3 * np.finfo(float).eps * l1 / c * (1.0 + np.abs(y))
            moving = (speed * (t_end * c - s) > atol) & (speed > floor)
            return 1.0 if moving.any() else -1.0

        settled.terminal, settled.direction = True, -1
        events.append(settled)
    s_eval = None if t_eval is None else np.asarray(t_eval) * c
    with warnings.catch_warnings():     # a failed LSODA attempt warns, then Radau takes over
        warnings.simplefilter("ignore", UserWarning)
        sol = solve_ivp(rhs, (0.0, t_end * c), [math.log(sq0), 0.0], method=method, jac=jac,
                        t_eval=s_eval, events=events, rtol=rtol, atol=atol)
    if not sol.success and method == "LSODA":       # LSODA gives up on some extreme horizons
        sol = solve_ivp(rhs, (0.0, t_end * c), [math.log(sq0), 0.0], method="Radau", jac=jac,
                        t_eval=s_eval, events=events, rtol=rtol, atol=atol)
    if not sol.success:     # only at extreme λ or horizons: say which arguments to change
        raise ValueError(f"l1={l1!r} with times up to t={t_end!r} is beyond what the ODE solver "
                         f"can integrate ({sol.message}); use a smaller l1 or t")
    sol.settled = sol.y_events[-1][0] if settle and len(sol.t_events[-1]) else None
    if c > 1.0:
        sol.t = np.asarray(sol.t) / c
        sol.t_events = [np.asarray(e) / c for e in sol.t_events]
    return sol


def _scaled(rhs, jac, c):
    """``rhs/c`` and ``jac/c``: the flow in the time variable ``s = c·t``."""
    def rhs_s(s, y):
        du, dtheta = rhs(s, y)
        return [du / c, dtheta / c]

    def jac_s(s, y):
        return [[v / c for v in row] for row in jac(s, y)]

    return rhs_s, jac_s


#: Largest scaled time ``t·max(1, λ)`` accepted (the solver integrates in that variable).
_MAX_S = 1e300


def _check_horizon(name, t, l1):
    """ValueError unless ``t·max(1, λ) <= 1e300`` (the scaled time must stay finite)."""
    if t > _MAX_S / max(1.0, l1):
        raise ValueError(f"{name} must satisfy {name}·max(1, l1) <= {_MAX_S:g}; got {name}={t!r} "
                         f"with l1={l1!r}")


#: Times up to this (divided by the initial rate when that exceeds 1) are one explicit Euler step
#: from t = 0: the state moves by at most this much, the second-order term is below rounding, and
#: solve_ivp cannot step across such intervals.
_TINY_TIME = 1e-9


def _initial_rate(sums, l1):
    """``(u'(0), θ'(0))`` of the reduced flow."""
    return np.asarray(_system(sums, l1)[1](0.0, [math.log(sums(0.0)[2]), 0.0]))


def _is_tiny(t, slope):
    """Times too short to integrate: the state moves by at most ``_TINY_TIME`` (see there)."""
    return np.asarray(t) * max(1.0, float(np.abs(slope).max())) <= _TINY_TIME


def _solve_at(sums, smooth, l1, times):
    """``(log ‖w‖², θ)`` at the non-decreasing ``times`` (``θ`` frozen after extinction)."""
    y0 = np.array([math.log(sums(0.0)[2]), 0.0])
    unique, inverse = np.unique(times, return_inverse=True)
    log_norm, theta = np.empty(unique.size), np.empty(unique.size)
    slope = _initial_rate(sums, l1)
    tiny = _is_tiny(unique, slope)
    log_norm[tiny], theta[tiny] = (y0[:, None] + slope[:, None] * unique[tiny]).reshape(2, -1)
    later = unique[~tiny]
    if later.size:
        sol = _flow(sums, smooth, l1, later[-1], t_eval=later, settle=not smooth)
        k = len(sol.t)
        if k:
            log_norm[tiny.sum():][:k], theta[tiny.sum():][:k] = np.reshape(sol.y, (2, k))
        if k < later.size and sol.settled is not None:     # settled: constant from then on
            log_norm[tiny.sum() + k:], theta[tiny.sum() + k:] = sol.settled
        elif k < later.size:                   # extinct: w ≡ 0 from then on
            log_norm[tiny.sum() + k:] = -np.inf
            theta[tiny.sum() + k:] = sol.y_events[0][0][1]
    return log_norm[inverse], theta[inverse]


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
        Times ``>= 0``, non-decreasing (repeats allowed), with ``t·max(1, λ) <= 1e300``. Times
        up to 1e-9 are one Euler step from ``t = 0`` (exact to rounding there).
    l1 : float
        λ, ``0 <= λ <= 1e290`` (beyond it the feature dies within ``t ~ 1e-290``).
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

    Raises
    ------
    ValueError
        For ``t``, ``l1``, ``m``, ``w0`` or ``seed`` out of range, or not exactly one of ``m``, ``w0``.

    Examples
    --------
    >>> from incipoly import analytic
    >>> s = analytic.sparsification_trajectory([0.0, 10.0, 100.0], 0.01, m=64)
    >>> s.m_active
    array([64.    , 34.5851,  2.1336])
    """
    sums, _, smooth = _source(m, w0, seed)
    l1 = check_real("l1", l1, high=_MAX_L1)
    times = np.atleast_1d(np.asarray(t, dtype=np.float64)) if _is_real_array(t) else None
    if (times is None or times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(times < 0)
            or np.any(np.diff(times) < 0)):
        raise ValueError(f"t must be a finite, non-decreasing 1-D array of times >= 0; got {t!r}")
    if times.size == 0:
        raise ValueError("t must hold at least one time; got an empty array")
    _check_horizon("t", float(times[-1]), l1)
    count, l1_norm, scale, theta = (np.zeros_like(times) for _ in range(4))
    if sums(0.0)[0] == 0:
        return Sparsification(times, count, l1_norm, scale, theta)
    log_norm, solved = _solve_at(sums, smooth, l1, times)
    for j, (u, th) in enumerate(zip(log_norm, solved)):
        theta[j] = th
        if u == -np.inf:                                # extinct
            continue
        count[j], lin, sq = sums(th)
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
        Integration horizon, ``> 0`` with ``t_max·max(1, λ) <= 1e300``; default ``100/λ``
        (capped there).

    Returns
    -------
    float
        The time; ``0.0`` if at most one coordinate is nonzero at ``t = 0``; ``inf`` if not
        reached by ``t_max`` (λ = 0, or the two largest ``|w0|`` tie) or if the whole feature
        dies first.

    Examples
    --------
    >>> from incipoly import analytic
    >>> round(analytic.monosemantic_time(0.01, m=64), 1)   # λT ≈ 1.52, against the paper's ≈ 0.875
    151.5
    """
    sums, last, smooth = _source(m, w0, seed)
    l1 = _real("l1", l1)
    if sums(0.0)[0] <= 1:
        return 0.0
    if l1 == 0.0:
        return math.inf
    if t_max is None:
        t_max = min(100.0 / l1, _MAX_S / max(1.0, l1))
    t_max = _real("t_max", t_max, 0.0, strict=True)
    _check_horizon("t_max", t_max, l1)
    slope = _initial_rate(sums, l1)
    if _is_tiny(t_max, slope):          # θ grows linearly at rate θ'(0) up to t_max
        return float(last / slope[1]) if last <= slope[1] * t_max else math.inf
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

    Raises
    ------
    ValueError
        For ``t < 0``, ``l1 < 0`` or ``m < 1``.

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.paper_sparsification([0.0, 100.0], 0.01, 64).m_active   # (1/8 + 1)^-2 at t = 100
    array([64.    ,  0.7901])
    """
    times = np.asarray(t, dtype=np.float64) if _is_real_array(t) else None
    if times is None or not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"t must be a finite time >= 0 or an array of them; got {t!r}")
    l1 = _real("l1", l1)
    m = _check_m(m)
    inverse = 1.0 / (1.0 / math.sqrt(m) + l1 * times)
    nan = np.full_like(inverse, np.nan)
    return Sparsification(times, inverse ** 2, inverse, nan, nan)


__all__ = ["Sparsification", "sparsification_trajectory", "monosemantic_time", "paper_sparsification"]
