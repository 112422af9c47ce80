"""Hidden noise: the loss sees it only through ``Z_j = W_j · ξ``.

For input ``e_i`` the output is ``y_ij = ReLU(G_ij + Z_j)`` with ``G = W Wᵀ``; with ``ξ`` i.i.d.,
mean 0, variance ``σ²``, excess kurtosis ``κ``:

    Var Z_j = σ²‖W_j‖₂²,   E Z_j⁴ = 3σ⁴‖W_j‖₂⁴ + κσ⁴‖W_j‖₄⁴,   so  κ_Z = κ ‖W_j‖₄⁴ / ‖W_j‖₂⁴.

Gaussian ``ξ`` makes ``Z_j`` exactly ``N(0, s_j²)``: the expected loss then depends on ``W`` only
through ``G`` and the norms, both invariant under ``W → WQ`` (Q orthogonal) — no neuron basis is
preferred. Otherwise the first basis-dependent term is the Edgeworth correction in ``κ_Z``:
density ``φ_s(z)[1 + (κ_Z/24)He₄(z/s)]`` and Stein's identity ``E[h(Z)He₄(Z/s)] = s⁴E[h⁗(Z)]``.
"""
from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import sympy as sp
import sympy.stats as stats

sigma = sp.Symbol("sigma", positive=True)


def noise_laws():
    """The four noise laws with standard deviation ``σ``, as sympy random variables."""
    return {
        "bernoulli": sigma * stats.Rademacher("R"),
        "uniform": stats.Uniform("U", -sp.sqrt(3) * sigma, sp.sqrt(3) * sigma),
        "gaussian": stats.Normal("N", 0, sigma),
        "laplace": stats.Laplace("L", 0, sigma / sp.sqrt(2)),
    }


def moments(noise):
    """``(variance, excess kurtosis)`` of one law (the kurtosis does not depend on σ)."""
    X = noise_laws()[noise]
    var = sp.simplify(stats.E(X ** 2))
    return var, sp.simplify(stats.E(X ** 4) / var ** 2 - 3)


def projected_fourth_moment(k=3):
    """``E(Σ_j w_j ξ_j)⁴ − [3σ⁴‖w‖₂⁴ + κσ⁴‖w‖₄⁴]`` for ``k`` weights (should be 0).

    ``ξ_j`` i.i.d. symmetric: odd moments vanish, ``E ξ² = σ²``, ``E ξ⁴ = (3 + κ)σ⁴``.
    """
    kappa = sp.Symbol("kappa", real=True)
    w = sp.symbols(f"w0:{k}", real=True)
    xi = sp.symbols(f"xi0:{k}", real=True)
    moment = {0: 1, 1: 0, 2: sigma ** 2, 3: 0, 4: (3 + kappa) * sigma ** 4}
    poly = sp.Poly(sp.expand(sum(a * b for a, b in zip(w, xi, strict=True)) ** 4), *xi)
    expectation = sum(coeff * sp.prod([moment[e] for e in exps]) for exps, coeff in poly.terms())
    l2, l4 = sum(v ** 2 for v in w), sum(v ** 4 for v in w)
    return sp.expand(expectation - (3 * sigma ** 4 * l2 ** 2 + kappa * sigma ** 4 * l4))


g_over_s = sp.Symbol("c", real=True)          # c = g/s
scale = sp.Symbol("s", positive=True)
delta = sp.Symbol("delta", real=True)
_u = sp.Symbol("u", real=True)
_PHI = sp.exp(-_u ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _expect(weight):
    """``E[((g + Z)₊ − δ)² weight(Z/s)]``, ``Z ~ N(0, s²)``, ``g = c·s``: sympy integral in ``u = Z/s``."""
    c, s = g_over_s, scale
    active = sp.integrate(sp.expand((c * s + s * _u - delta) ** 2 * weight * _PHI), (_u, -c, sp.oo))
    inactive = sp.integrate(sp.expand(delta ** 2 * weight * _PHI), (_u, -sp.oo, -c))
    return active + inactive


@cache
def gaussian_loss_term():
    """``E(ReLU(g + Z) − δ)²`` for ``Z ~ N(0, s²)`` in the symbols ``c = g/s``, ``s``, ``δ``."""
    return _expect(sp.Integer(1))


@cache
def kurtosis_coefficient():
    """``(1/24) E[(ReLU(g + Z) − δ)² He₄(Z/s)]``; times ``κ_Z`` it is the loss's kurtosis term."""
    return _expect(_u ** 4 - 6 * _u ** 2 + 3) / 24


def stein_form():
    """``(s⁴/12)[φ_s'(g) − δ φ_s''(g)]`` with ``φ_s(g) = φ(g/s)/s`` (derivatives in ``g``)."""
    c, s = g_over_s, scale
    density = sp.exp(-c ** 2 / 2) / (sp.sqrt(2 * sp.pi) * s)
    return s ** 4 / 12 * (sp.diff(density, c) / s - delta * sp.diff(density, c, 2) / s ** 2)


def stein_residual():
    """:func:`kurtosis_coefficient` minus :func:`stein_form` (should be 0)."""
    return sp.simplify(sp.expand(sp.expand_func(kurtosis_coefficient() - stein_form()).rewrite(sp.erf)))


def bernoulli_expected_loss(W, noise_std):
    """Exact ``E Σ_ij (ReLU(G_ij + Z_j) − δ_ij)²`` for ``ξ = ±σ`` by enumerating all ``2^m`` signs."""
    W = np.asarray(W, dtype=float)
    n, m = W.shape
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=m))) * noise_std
    pre = (W @ W.T)[None] + (signs @ W.T)[:, None, :]                 # [pattern, i, j]
    return float(((np.maximum(pre, 0.0) - np.eye(n)) ** 2).sum(axis=(1, 2)).mean())
