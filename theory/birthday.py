"""Birthday law with signs.

Each of ``n`` features independently picks one of ``2m`` cells ``(neuron, sign)`` uniformly (a
uniform neuron and an independent fair sign). Neuron ``k`` is polysemantic iff both of its cells
are occupied. Everything follows from one fact: a given set of ``j`` cells is empty with
probability ``(1 − j/2m)^n``, so by inclusion–exclusion ``r`` given cells are all occupied with

    q_r = Σ_{j=0}^{r} (−1)^j C(r, j) (1 − j/2m)^n.

Neuron k polysemantic: ``q_2``; two distinct neurons both polysemantic: ``q_4``.
"""
from __future__ import annotations

import sympy as sp

n, m, x = sp.symbols("n m x", positive=True)   # x stands for 1/m in series


def all_occupied(r, n=n, m=m):
    """``q_r``: probability that ``r`` given cells (of ``2m``) all hold at least one of ``n`` features."""
    return sum((-1) ** j * sp.binomial(r, j) * (1 - sp.Rational(j, 2) / m) ** n for j in range(r + 1))


def expected_polysemantic(n=n, m=m):
    """``E = m q_2 = m[1 − 2(1 − 1/2m)^n + (1 − 1/m)^n]`` (linearity over neurons)."""
    return m * all_occupied(2, n, m)


def polysemantic_variance(n=n, m=m):
    """``Var = m q_2 (1 − q_2) + m(m − 1)(q_4 − q_2²)`` (indicator sum: diagonal + pair covariances)."""
    p1, p2 = all_occupied(2, n, m), all_occupied(4, n, m)
    return m * p1 * (1 - p1) + m * (m - 1) * (p2 - p1 ** 2)


def expected_colliding_pairs(n=n, m=m):
    """``C(n, 2)/m``: each pair shares a neuron with probability ``1/m``."""
    return sp.binomial(n, 2) / m


def series_in_inverse_m(order):
    """Taylor series of ``E`` in ``x = 1/m`` up to ``x^order`` with symbolic ``n`` (sympy ``series``)."""
    E = expected_polysemantic(n, 1 / x)
    return sp.expand(sp.series(sp.simplify(E), x, 0, order + 1).removeO())


def series_coefficient(k):
    """Closed form of the coefficient of ``m^(1−k)``: ``(−1)^k (1 − 2^(1−k)) C(n, k)`` (k ≥ 2).

    From ``(1 − j/2m)^n = Σ_k C(n,k)(−j/2m)^k`` and ``Σ_j (−1)^j C(2,j) j^k = 2^k − 2`` (k ≥ 1).
    """
    return (-1) ** k * (1 - sp.Integer(2) ** (1 - k)) * sp.binomial(n, k)


def exact_value(expr, n_value, m_value):
    """``expr`` at integers ``n, m`` in exact rational arithmetic (a sympy Rational)."""
    value = expr.subs({n: sp.Integer(n_value), m: sp.Integer(m_value)})
    assert value.is_Rational, value
    return value
