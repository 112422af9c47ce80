"""One feature (n = 1) under L1 gradient flow, interference ignored.

    dw/dt = 4(1 − ‖w‖²) w − λ sign(w)

Every surviving coordinate obeys the same linear equation ``ẇ_k = a(t) w_k − λ sign w_k`` with
``a = 4(1 − S)``, ``S = ‖w‖²``. With ``A = exp∫a`` and ``B = ∫dt/A``:

    w_k(t) = A(t) (|w_k(0)| − λB(t))₊ sign w_k(0),   A' = 4(1 − S)A,   B' = 1/A,
    S = A² P(λB),   P(θ) = Σ_k (|w_k(0)| − θ)₊² = Q₂ − 2θQ₁ + θ²N   over |w_k(0)| > θ.

A coordinate that reaches 0 stays there (its smooth force is 0 < λ). Helpers below check this
symbolically, give the half-normal tail integrals used for huge ``m``, the adiabatic (λ → 0)
time to monosemanticity, the paper's approximation, and a direct integrator of the original flow.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np
import sympy as sp
from scipy.integrate import quad
from scipy.special import erfcinv

t, lam, w_start = sp.symbols("t lambda w_start", positive=True)


def closed_form_residual():
    """``d/dt[A(w0 − λB)] − (4(1 − S) w − λ)`` after ``A' = 4(1 − S)A``, ``B' = 1/A`` (should be 0)."""
    A, B, S = sp.Function("A")(t), sp.Function("B")(t), sp.Function("S")(t)
    w = A * (w_start - lam * B)
    dw = sp.diff(w, t).subs({sp.Derivative(A, t): 4 * (1 - S) * A, sp.Derivative(B, t): 1 / A})
    return sp.simplify(dw - (4 * (1 - S) * w - lam))


def survivor_sum_residual(k=4):
    """``Σ(s_j − θ)² − (Q₂ − 2θQ₁ + θ²N)`` for ``k`` symbolic survivors (should be 0)."""
    s = sp.symbols(f"s0:{k}", positive=True)
    theta = sp.Symbol("theta", positive=True)
    q1, q2 = sum(s), sum(v ** 2 for v in s)
    return sp.expand(sum((v - theta) ** 2 for v in s) - (q2 - 2 * theta * q1 + theta ** 2 * k))


@cache
def tail_moments():
    """For ``Z ~ N(0, 1)``, ``x > 0``: ``(P(|Z|>x), E(|Z|−x)₊, E(|Z|−x)₊²)`` by sympy integration.

    For ``m`` entries ``|N(0, 1/m)|`` at threshold ``θ = x/√m`` the survivors' expected count, sum
    and sum of squares above ``θ`` are ``m·P``, ``√m·E₁`` and ``E₂``.
    """
    x, z = sp.symbols("x z", positive=True)
    density = 2 * sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)          # of |Z|
    moments = [sp.integrate((z - x) ** p * density, (z, x, sp.oo)) for p in range(3)]
    return x, [sp.simplify(v) for v in moments]


def tail_square_asymptotic():
    """``lim_{x→∞} E(|Z|−x)₊² · x³ / (4φ(x))`` (= 1): the tail that sets the monosemantic time."""
    x, moments = tail_moments()
    phi = sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.limit(moments[2] * x ** 3 / (4 * phi), x, sp.oo)


def adiabatic_time(l1, m=None, w0=None):
    """λ → 0 limit of the time to monosemanticity: ``(1/λ) ∫₀^θ₂ dθ / √P(θ)``.

    On the slow manifold ``S = 1`` we have ``A = 1/√P`` and ``θ' = λ/A = λ√P``. For the profile
    (``m`` given) ``P(θ) = E(|Z| − x)₊²`` with ``x = θ√m``, so ``λT = (1/√m)∫₀^x* dx/√E₂(x)`` with
    ``m·P(|Z| > x*) = 1``; this tends to ``√2`` as ``m → ∞`` (README).
    """
    if m is not None:
        x, moments = tail_moments()
        square = sp.lambdify(x, moments[2], "mpmath")          # mpmath: no cancellation in 1 − erf
        top = np.sqrt(2.0) * erfcinv(1.0 / m)
        value, _ = quad(lambda v: 1.0 / np.sqrt(float(square(v))), 0.0, top, limit=200)
        return value / math.sqrt(m) / l1
    s = np.sort(np.abs(np.asarray(w0, dtype=float)))[::-1]
    total, lower = 0.0, 0.0
    for j in range(s.size - 1, 0, -1):              # θ ∈ (lower, s[j]]: survivors s[0..j]
        survivors = s[:j + 1]
        total += quad(lambda th, alive=survivors: 1.0 / np.sqrt(np.sum((alive - th) ** 2)), lower, s[j])[0]
        lower = s[j]
    return total / l1


@cache
def paper_l1_norm():
    """Solve the paper's ``dL/dt = −λL²``, ``L(0) = √m`` (all survivors equal, ``L = ‖w‖₁ = √m′``)."""
    m = sp.Symbol("m", positive=True)
    L = sp.Function("L")
    sol = sp.dsolve(sp.Eq(L(t).diff(t), -lam * L(t) ** 2), L(t), ics={L(0): sp.sqrt(m)})
    return m, sp.simplify(sol.rhs)


def direct_flow(w0, l1, t_end, dt):
    """Integrate the original flow with proximal Euler steps (exactly the trainer's ``gd-prox``).

    ``w ← softthreshold(w + dt·4(1 − ‖w‖²)w, dt·λ)``; converges to the L1 gradient flow (with
    coordinates held at 0 once they reach it) at rate ``O(dt)``. Returns ``w(t_end)``.
    """
    w = np.array(w0, dtype=float)
    for _ in range(int(round(t_end / dt))):
        w = w + dt * 4.0 * (1.0 - w @ w) * w
        w = np.sign(w) * np.maximum(np.abs(w) - dt * l1, 0.0)
    return w
