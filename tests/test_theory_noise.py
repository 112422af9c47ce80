"""Hidden-noise theory: kurtosis values, the Gaussian expected loss and its Edgeworth (κ) term."""
from functools import cache

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.integrate import quad
from scipy.stats import gamma, ortho_group

import theory.noise as noise
from incipoly import analytic

LAWS = ["bernoulli", "uniform", "gaussian", "laplace"]


@pytest.mark.parametrize("law", LAWS)
def test_kurtosis_and_variance_of_each_law(law):
    variance, kurtosis = noise.moments(law)
    assert variance == noise.sigma ** 2
    assert analytic.noise_kurtosis(law) == float(kurtosis)


def test_projected_noise_fourth_moment():
    assert noise.projected_fourth_moment(3) == 0


def test_kurtosis_term_is_steins_identity():
    assert noise.stein_residual() == 0


@cache
def _closed_forms():
    """The sympy Gaussian integral and the Stein form (proved equal to the κ integral above), lambdified."""
    symbols = (noise.g_over_s, noise.scale, noise.delta)
    return (sp.lambdify(symbols, noise.gaussian_loss_term(), "scipy"),
            sp.lambdify(symbols, noise.stein_form(), "scipy"))


@settings(deadline=None, derandomize=True, max_examples=60)
@given(W=arrays(np.float64, (3, 4), elements=st.floats(-1, 1)), sigma=st.floats(0.05, 1.0),
       law=st.sampled_from(LAWS))
def test_expected_loss_equals_the_sympy_forms(W, sigma, law):
    G, s = W @ W.T, sigma * np.linalg.norm(W, axis=1)
    # the unsimplified sympy forms have 1/c terms and exp(±c²/2) factors: keep 1e-6 < |c| < 8
    assume(np.all(s > 1e-3) and np.all(np.abs(G / s) > 1e-6) and np.all(np.abs(G / s) < 8))
    gaussian, coefficient = _closed_forms()
    kappa = analytic.noise_kurtosis(law)
    pairs = [(G[i, j] / s[j], s[j], float(i == j), (W[j] ** 4).sum()) for i in range(3) for j in range(3)]
    want_gauss = sum(gaussian(c, sj, d) for c, sj, d, _ in pairs)
    # κ_Z·coefficient with κ_Z = κ‖W_j‖₄⁴/‖W_j‖₂⁴ = κσ⁴‖W_j‖₄⁴/s_j⁴
    want_kappa = sum(kappa * sigma ** 4 * q / sj ** 4 * coefficient(c, sj, d) for c, sj, d, q in pairs)
    assert analytic.expected_noisy_loss(W, sigma, "gaussian") == pytest.approx(want_gauss, rel=1e-10)
    assert analytic.kurtosis_loss_term(W, sigma, law) == pytest.approx(want_kappa, rel=1e-9, abs=1e-14)
    assert analytic.expected_noisy_loss(W, sigma, law) == pytest.approx(want_gauss + want_kappa, rel=1e-9)


def test_gaussian_noise_loss_matches_monte_carlo_of_the_model():
    # The real model: one shared ξ per step, outputs ReLU(W_j·(W_i + ξ)); 400k draws, 4 SE.
    rng = np.random.default_rng(9)
    W = rng.normal(0, 0.5, (3, 5))
    xi = rng.normal(0.0, 0.4, (400_000, 5))
    out = np.maximum(np.einsum("jk,sik->sij", W, W[None] + xi[:, None, :]), 0.0)
    losses = ((out - np.eye(3)) ** 2).sum(axis=(1, 2))
    se = losses.std(ddof=1) / np.sqrt(losses.size)
    assert abs(losses.mean() - analytic.expected_noisy_loss(W, 0.4, "gaussian")) < 4 * se


def test_no_noise_is_the_plain_loss():
    W = np.random.default_rng(1).normal(size=(4, 6))
    plain = ((np.maximum(W @ W.T, 0) - np.eye(4)) ** 2).sum()
    assert analytic.expected_noisy_loss(W, 0.7, "none") == pytest.approx(plain, rel=1e-13)
    assert analytic.expected_noisy_loss(W, 0.0, "laplace") == pytest.approx(plain, rel=1e-13)
    assert analytic.kurtosis_loss_term(W, 0.7, "gaussian") == 0.0


def _exact_laplace_constant_rows(k, sigma):
    # Two unit features on the same k neurons with opposite signs (G_12 = −1). Then every Z_j is
    # ±σ(Σξ)/√k, and a sum of k Laplace(σ) variables is N(0, σ²V) with V ~ Gamma(k, 1) (a Laplace
    # variable is a Gaussian with exponential variance), so the exact loss is a 1-D integral.
    W = np.vstack([np.ones(k), -np.ones(k)]) / np.sqrt(k)
    spread = 12 * np.sqrt(k)
    exact = quad(lambda v: analytic.expected_noisy_loss(W, sigma * np.sqrt(v / k), "gaussian")
                 * gamma.pdf(v, k), max(0.0, k - spread), k + spread, limit=200)[0]
    return W, exact


def test_kurtosis_term_is_the_leading_non_gaussian_correction_laplace():
    # (exact − Gaussian part)/κ-term → 1 as k grows: the term is O(1/k), the remainder O(1/k²).
    sigma, errors = 0.8, []
    for k in (4, 16, 64, 256):
        W, exact = _exact_laplace_constant_rows(k, sigma)
        gaussian = analytic.expected_noisy_loss(W, sigma, "gaussian")
        errors.append(abs((exact - gaussian) / analytic.kurtosis_loss_term(W, sigma, "laplace") - 1))
    assert errors[-1] < 0.01
    assert all(b < a / 2 for a, b in zip(errors, errors[1:], strict=False))


@pytest.mark.parametrize("sigma", [0.3, 0.5])
def test_kurtosis_term_captures_most_of_the_bernoulli_correction(sigma):
    # Dense random rows over 14 neurons, exact enumeration of the 2^14 noise signs, 10 seeds: the
    # κ term removes most of the gap between the exact loss and its Gaussian part. (Equal weights
    # would make Z a lattice variable, whose lattice corrections are of the same order.)
    before = after = 0.0
    for seed in range(10):
        W = np.random.default_rng(seed).normal(size=(3, 14)) / np.sqrt(14)
        gap = noise.bernoulli_expected_loss(W, sigma) - analytic.expected_noisy_loss(W, sigma, "gaussian")
        before += abs(gap)
        after += abs(gap - analytic.kurtosis_loss_term(W, sigma, "bernoulli"))
    assert after < 0.25 * before


@pytest.mark.parametrize("seed", range(3))
def test_negative_kurtosis_favours_the_sparse_basis(seed):
    # Same Gram matrix, small negative interference: the sparse W beats a rotated (dense) W under
    # ±σ noise (exact enumeration), as the sign of the κ term predicts; Gaussian parts are equal.
    W = np.zeros((2, 6))
    W[0, 0], W[1, 0], W[1, 1] = 1.0, -0.25, np.sqrt(1 - 0.25 ** 2)
    dense = W @ ortho_group.rvs(6, random_state=seed)
    sigma = 0.25
    gap = noise.bernoulli_expected_loss(W, sigma) - noise.bernoulli_expected_loss(dense, sigma)
    term = analytic.kurtosis_loss_term
    predicted = term(W, sigma, "bernoulli") - term(dense, sigma, "bernoulli")
    assert gap < 0 and predicted < 0
    assert analytic.expected_noisy_loss(W, sigma, "gaussian") == pytest.approx(
        analytic.expected_noisy_loss(dense, sigma, "gaussian"), rel=1e-12)
    assert term(W, sigma, "laplace") > term(dense, sigma, "laplace")


@pytest.mark.parametrize("bad", ["student", "Gaussian", None, 3])
def test_bad_noise_names_raise(bad):
    with pytest.raises(ValueError, match="^noise must be one of bernoulli"):
        analytic.noise_kurtosis(bad)
    with pytest.raises(ValueError, match="^noise must be one of none"):
        analytic.expected_noisy_loss(np.eye(2), 0.1, bad)
    with pytest.raises(ValueError, match="^noise must be one of none"):
        analytic.kurtosis_loss_term(np.eye(2), 0.1, bad)


@pytest.mark.parametrize("W, sigma, message", [
    (np.eye(2), -0.1, "^noise_std must be"), (np.eye(2), np.nan, "^noise_std must be"),
    (np.eye(2), "0.1", "^noise_std must be"), (np.ones(3), 0.1, "^W must be"),
    (np.array([[np.inf]]), 0.1, "^W must be finite"),
])
def test_bad_loss_arguments_raise(W, sigma, message):
    for f in (analytic.expected_noisy_loss, analytic.kurtosis_loss_term):
        with pytest.raises(ValueError, match=message):
            f(W, sigma, "bernoulli")
