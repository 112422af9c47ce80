"""Exclusion law: the end state as two independent uniform placements, one per sign.

Mechanism (theory/README.md, section g). Training ends in a *valid* configuration: every feature
that finished sparsifying sits on one neuron with weight ±1, and no neuron holds two features of
the same sign (their interference ``ReLU(G_ij) = 1`` would cost loss; measured: 0 such neurons in
every trained cell). Assume

1. each feature independently finishes (is in the band) with probability ``c`` and then has a fair
   sign, so the numbers ``a`` of finished ``+`` features and ``b`` of finished ``−`` features are
   ``Multinomial(n; c/2, c/2, 1 − c)``;
2. given ``(a, b)``, the ``+`` features occupy a uniformly random set of ``a`` distinct neurons and
   the ``−`` features an independent uniformly random set of ``b`` distinct neurons.

The polysemantic count is the overlap ``X = |P ∩ N|``, so ``X | a, b ~ Hypergeometric(m; a, b)``:

    E[X | a, b]   = ab/m,
    Var[X | a, b] = ab(m − a)(m − b) / (m²(m − 1)),

and by the laws of total expectation and variance

    E[X]   = E[ab]/m = n(n − 1)c²/(4m),
    Var[X] = E[ab(m − a)(m − b)]/(m²(m − 1)) + Var(ab)/m².

The multinomial moments come from factorial moments ``E[a^(r) b^(s)] = n^(r+s) (c/2)^(r+s)``
(``x^(k)`` the falling factorial), after writing each monomial ``a^p`` as ``Σ_k S(p, k) a^(k)``
(Stirling numbers of the second kind).
"""
from __future__ import annotations

import itertools

import sympy as sp

n, m, c = sp.symbols("n m c", positive=True)
a, b = sp.symbols("a b", nonnegative=True, integer=True)


def _factorial_moment(k, j, n=n, c=c):
    """``E[a^(k) b^(j)] = n^(k+j) (c/2)^(k+j)`` for ``(a, b) ~ Multinomial(n; c/2, c/2, ·)``."""
    return sp.ff(n, k + j) * (c / 2) ** (k + j)


def multinomial_expectation(poly, n=n, c=c):
    """``E[poly(a, b)]`` for ``(a, b) ~ Multinomial(n; c/2, c/2, 1 − c)``, exactly."""
    total = 0
    for (p, q), coeff in sp.Poly(sp.expand(poly), a, b).terms():
        for k in range(p + 1):
            for j in range(q + 1):
                total += coeff * sp.functions.combinatorial.numbers.stirling(p, k) * \
                    sp.functions.combinatorial.numbers.stirling(q, j) * _factorial_moment(k, j, n, c)
    return sp.expand(total)


def expected_polysemantic(n=n, m=m, c=c):
    """``E[X] = E[ab]/m = n(n − 1)c²/(4m)``."""
    return sp.factor(multinomial_expectation(a * b, n, c) / m)


def polysemantic_variance(n=n, m=m, c=c):
    """``Var X = E[ab(m−a)(m−b)]/(m²(m−1)) + (E[a²b²] − E[ab]²)/m²`` (total variance)."""
    within = multinomial_expectation(a * b * (m - a) * (m - b), n, c) / (m ** 2 * (m - 1))
    between = (multinomial_expectation(a ** 2 * b ** 2, n, c)
               - multinomial_expectation(a * b, n, c) ** 2) / m ** 2
    return sp.simplify(within + between)


def brute_force(n_value, m_value, c_value):
    """Exact ``(E[X], Var X)`` by enumerating ``(a, b)`` and the hypergeometric overlap (rationals).

    Needs ``n_value ≤ m_value`` (every finished feature finds a free slot of its sign).
    """
    c_value = sp.nsimplify(c_value)
    mean = second = 0
    for a_val, b_val in itertools.product(range(n_value + 1), repeat=2):
        rest = n_value - a_val - b_val
        if rest < 0:
            continue
        p_ab = (sp.factorial(n_value) / (sp.factorial(a_val) * sp.factorial(b_val) * sp.factorial(rest))
                * (c_value / 2) ** (a_val + b_val) * (1 - c_value) ** rest)
        for x in range(min(a_val, b_val) + 1):
            p_x = (sp.binomial(a_val, x) * sp.binomial(m_value - a_val, b_val - x)
                   / sp.binomial(m_value, b_val))
            mean += p_ab * p_x * x
            second += p_ab * p_x * x ** 2
    return sp.nsimplify(mean), sp.nsimplify(second - mean ** 2)
