"""Forces on one feature's row: the negative gradient of the noiseless loss.

Loss ``L = Σ_i Σ_j (ReLU(G_ij) − δ_ij)² + λ Σ|W|`` with ``G = W Wᵀ``. Claimed:

    −∂L/∂W_i = 4(1 − ‖W_i‖²) W_i − 4 Σ_{j≠i} ReLU(G_ij) W_j − λ sign(W_i)
                  benefit             interference                regularisation

(the diagonal ReLU is inactive: ``G_ii = ‖W_i‖² ≥ 0``). Checked two ways: as a polynomial
identity inside each sign region of the off-diagonal ``G_ij`` (ReLU replaced by the identity or
by 0), and with the real ReLU ``Max(0, ·)`` at exact rational points.
"""
from __future__ import annotations

import itertools

import sympy as sp


def symbolic_weights(n, m):
    """An ``n × m`` matrix of real symbols ``w_i_k``."""
    return sp.Matrix(n, m, lambda i, k: sp.Symbol(f"w_{i}_{k}", real=True))


def loss(W, lam, relu=lambda x: sp.Max(0, x)):
    """``Σ_ij (relu(G_ij) − δ_ij)² + λ Σ|W|`` (diagonal taken as ``G_ii``, which is ``≥ 0``)."""
    G = W * W.T
    n = W.rows
    data = sum(((G[i, j] if i == j else relu(G[i, j])) - (1 if i == j else 0)) ** 2
               for i in range(n) for j in range(n))
    return data + lam * sum(sp.Abs(w) for w in W)


def forces(W, lam, positive):
    """The claimed force matrix, with ``ReLU(G_ij) = G_ij`` for pairs in ``positive`` and 0 otherwise."""
    G = W * W.T
    rows = []
    for i in range(W.rows):
        Wi = W.row(i)
        f = 4 * (1 - (Wi * Wi.T)[0]) * Wi
        for j in range(W.rows):
            if j != i and frozenset((i, j)) in positive:
                f -= 4 * G[i, j] * W.row(j)
        f -= lam * Wi.applyfunc(sp.sign)
        rows.append(f)
    return sp.Matrix.vstack(*rows)


def region_gap(n, m, positive):
    """``−∇L − forces`` in the region where exactly the pairs in ``positive`` have ``G_ij > 0``.

    Returns the simplified matrix (all zeros when the formula holds).
    """
    W = symbolic_weights(n, m)
    lam = sp.Symbol("lambda", positive=True)
    L = loss(W, lam, relu=lambda x: 0)
    G = W * W.T
    L += 2 * sum(G[i, j] ** 2 for i, j in itertools.combinations(range(n), 2)
                 if frozenset((i, j)) in positive)
    minus_grad = sp.Matrix(n, m, lambda i, k: -sp.diff(L, W[i, k]))
    return sp.simplify(minus_grad - forces(W, lam, positive))


def all_regions(n):
    """Every subset of the ``C(n, 2)`` feature pairs, as sets of ``frozenset({i, j})``."""
    pairs = [frozenset(p) for p in itertools.combinations(range(n), 2)]
    return [set(c) for r in range(len(pairs) + 1) for c in itertools.combinations(pairs, r)]


def point_gap(values, lam):
    """``−∇L − forces`` at an exact rational point, using the real ReLU (``Max``) in the loss.

    ``values`` is an ``n × m`` nested list of rationals (no ``G_ij`` exactly 0, no zero entry);
    the derivative of ``Max(0, x)`` is ``Heaviside(x)``, evaluated there.
    """
    n, m = len(values), len(values[0])
    W = symbolic_weights(n, m)
    at = {W[i, k]: sp.Rational(values[i][k]) for i in range(n) for k in range(m)}
    lam = sp.Rational(lam)
    L = loss(W, lam)
    minus_grad = sp.Matrix(n, m, lambda i, k: -sp.diff(L, W[i, k]).subs(at))
    Gv = (W * W.T).subs(at)
    positive = {frozenset((i, j)) for i, j in itertools.combinations(range(n), 2) if Gv[i, j] > 0}
    return sp.simplify(minus_grad - forces(W, lam, positive).subs(at))
