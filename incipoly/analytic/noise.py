"""Hidden noise: ``Z_j = W_j · ξ`` and its excess-kurtosis loss term ``κ‖W_j‖₄⁴/‖W_j‖₂⁴``.

Derived in theory/noise.py.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from .._validate import check_choice, check_real
from ._checks import _weights

#: Largest σ accepted: σ⁴ (in the kurtosis term) must stay a finite float.
MAX_NOISE_STD = 1e50


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

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.noise_kurtosis("bernoulli"), analytic.noise_kurtosis("laplace")
    (-2.0, 3.0)
    """
    return _KURTOSIS[check_choice("noise", noise, tuple(_KURTOSIS))]


#: Largest |W| entry: the expected loss holds ``G²`` and ``‖W_j‖₄⁴`` terms, ``O(m²W⁴)``.
MAX_WEIGHT = 1e75


def _noise_setup(W, noise_std, noise):
    arr = _weights("W", W, (2, 3))
    if np.abs(arr).max() > MAX_WEIGHT:
        raise ValueError(f"W must have entries of magnitude <= {MAX_WEIGHT:g} (the loss is quartic "
                         f"in W and would overflow); got max |W| = {np.abs(arr).max():g}")
    sigma = check_real("noise_std", noise_std, high=MAX_NOISE_STD)
    check_choice("noise", noise, ("none", *_KURTOSIS))
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
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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
        Finite weights, |W| <= 1e75.
    noise_std : float
        σ in ``[0, 1e50]``.
    noise : {"none", "bernoulli", "uniform", "gaussian", "laplace"}
        ``"none"`` gives the noiseless loss.

    Returns
    -------
    float or ndarray, one value per instance

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import analytic
    >>> W = np.eye(2)            # two monosemantic features: only the noise costs loss
    >>> # 2·σ² on the diagonal + 2·σ²/2 off it (ReLU keeps half) = 3σ²
    >>> round(float(analytic.expected_noisy_loss(W, 0.1, "bernoulli")), 6)
    0.03
    """
    single, G, s, _, target, _, _ = _noise_setup(W, noise_std, noise)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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
        Finite weights, |W| <= 1e75.
    noise_std : float
        σ in ``[0, 1e50]``.
    noise : {"none", "bernoulli", "uniform", "gaussian", "laplace"}

    Returns
    -------
    float or ndarray, one value per instance

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import analytic
    >>> W = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> float(analytic.kurtosis_loss_term(W, 0.5, "gaussian"))   # Gaussian noise: no basis preference
    0.0
    """
    single, G, s, quartic, target, kappa, sigma = _noise_setup(W, noise_std, noise)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        density = _gaussian_density(G, s)
        d1 = np.where(s > 0, -G / s ** 2 * density, 0.0)
        d2 = np.where(s > 0, (G * G / s ** 4 - 1 / s ** 2) * density, 0.0)
    term = (kappa * sigma ** 4 * quartic / 12.0 * (d1 - target * d2)).sum(axis=(1, 2))
    return float(term[0]) if single else term


__all__ = ["MAX_NOISE_STD", "noise_kurtosis", "MAX_WEIGHT", "expected_noisy_loss", "kurtosis_loss_term"]
