"""Exclusion law and the predictive model ``predicted_polysemantic(config)`` (theory/exclusion.py).

The end state of training is a valid configuration: each finished feature on one neuron, no neuron
with two features of one sign. The ``+`` and ``−`` features are placed as two independent uniform
sets of distinct neurons, so the polysemantic count is their hypergeometric overlap. With ``c`` the
probability that a feature finishes sparsifying (in the band ``[0.8, 1.2]``) within the budget:

    E[X]   = n(n − 1)c² / (4m)
    Var X  = c²n(n − 1)[4m² − 4m − 4c²mn + 6c²m + c²n² − c²n] / (16 m²(m − 1))

``c`` is measured on the one-feature system (n = 1) trained with the same optimiser, lr, λ,
weight decay, init scale and steps: a reduced process with no interference. Its 512 runs cost
8–26 % of the wall time of 64 full runs at n = 32…64 (timed: ``theory/completeness_cost.py``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._repr import brief_repr
from ._checks import _integers, _real, _scalar_or_array
from .results import Estimate, Moments

#: Seeds of the one-feature system behind ``c`` (seeds 10⁶ … 10⁶ + S − 1, disjoint from the
#: seeds 0 … S−1 that experiments use for the full models).
COMPLETENESS_SEEDS = 512
COMPLETENESS_SEED0 = 10 ** 6


class Prediction(NamedTuple):
    """A model's polysemantic count per trained model: ``mean``, ``sd`` (spread across models) and
    ``mean_se`` (Monte Carlo error of ``mean`` from the measured constants; 0 when exact).

    Examples
    --------
    >>> from incipoly.analytic import Prediction
    >>> Prediction(mean=1.0, sd=0.5, mean_se=0.01)
    Prediction(mean=1, sd=0.5, mean_se=0.01)
    """
    mean: float
    sd: float
    mean_se: float = 0.0

    def __repr__(self) -> str:
        return brief_repr(self)


def exclusion_polysemantic(n, m, complete=1.0):
    """Mean and variance of the exclusion law's polysemantic count.

    Parameters
    ----------
    n, m : int or array of int
        Features and neurons, ``n ≤ m`` (with ``n > m`` a valid one-per-sign placement need not
        exist: that is necessary, not incidental, polysemanticity).
    complete : float in [0, 1]
        Probability ``c`` that a feature ends in the band.

    Returns
    -------
    Moments
        ``(mean, var)``: float or array each (a NamedTuple; unpacks as a pair).

    Raises
    ------
    ValueError
        For ``n > m``, ``n``, ``m`` below 1, or ``complete`` outside [0, 1].

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.exclusion_polysemantic(8, 64, complete=0.9)
    Moments(mean=0.1771875, var=0.16287802734375)
    """
    n_arr, m_arr = _integers("n", n, 1), _integers("m", m, 1)
    c = _real("complete", complete, 0.0)
    if c > 1:
        raise ValueError(f"complete must be a probability in [0, 1]; got {complete!r}")
    if np.any(n_arr > m_arr):
        raise ValueError("the exclusion law needs n <= m (one slot per sign and neuron); "
                         f"got n={n!r}, m={m!r}")
    pairs = n_arr * (n_arr - 1)
    mean = c * c * pairs / (4 * m_arr)
    bracket = (4 * m_arr ** 2 - 4 * m_arr - 4 * c * c * m_arr * n_arr + 6 * c * c * m_arr
               + c * c * n_arr ** 2 - c * c * n_arr)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(pairs > 0, c * c * pairs * bracket / (16 * m_arr ** 2 * np.maximum(m_arr - 1, 1)), 0.0)
    return Moments(_scalar_or_array(mean), _scalar_or_array(var))


def sparsification_completeness(config, seeds=COMPLETENESS_SEEDS):
    """Fraction ``c`` of one-feature models (n = 1, same optimiser, lr, λ, decay, init scale,
    noise and steps as ``config``) whose largest ``|w_k|`` lies in ``[0.8, 1.2]`` at the end.

    Parameters
    ----------
    config : Config
        The setting; its ``n_features`` and ``n_hidden`` set the count, the rest the one-feature runs.
    seeds : int
        One-feature models trained to measure ``c``.

    Returns
    -------
    Estimate
        ``(mean=c, se)`` with the binomial standard error (a NamedTuple; unpacks as ``c, se``).

    Raises
    ------
    TypeError, ValueError
        If ``config`` is not a Config, or not the paper's one-hot, tied, bias-free model.

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> ip.analytic.sparsification_completeness(cfg, seeds=8)   # 20 steps: few finish
    Estimate(mean=0.375, se=0.1711632992203644)
    """
    from ..config import Config
    from ..init import init_std
    from ..training import train
    if not isinstance(config, Config):
        raise TypeError(f"config must be an incipoly.Config; got {type(config).__name__}")
    if not config.is_default_model:
        raise ValueError("config: the exclusion law models the paper's setting (one-hot inputs, "
                         "tied, no bias, uniform importance, noise per step); got "
                         f"inputs={config.inputs!r}, tied={config.tied}, bias={config.bias}, "
                         f"importance={config.importance}, noise_scope={config.noise_scope!r}")
    count = int(_integers("seeds", seeds, 2))
    one = config.replace(n_features=1)
    rng = np.random.default_rng(COMPLETENESS_SEED0)
    W0 = (rng.standard_normal((count, 1, config.n_hidden)) * init_std(config)).astype(config.dtype)
    run = train(one, np.arange(COMPLETENESS_SEED0, COMPLETENESS_SEED0 + count), W0=W0,
                record=2, progress=False)
    peak = np.abs(run.W[:, 0, :]).max(axis=1)
    done = ((peak >= 0.8) & (peak <= 1.2)).astype(float)
    c = float(done.mean())
    return Estimate(c, float(np.sqrt(c * (1 - c) / count)))


def predicted_polysemantic(config, seeds=COMPLETENESS_SEEDS) -> Prediction:
    """The predictive model: exclusion law with the one-feature completeness ``c``.

    ``mean = n(n−1)c²/4m``; ``sd`` from the exclusion variance; ``mean_se = n(n−1)c·se(c)/2m``
    (delta method on the measured ``c``).

    Parameters
    ----------
    config : Config
        The setting; its ``n_features`` and ``n_hidden`` set the count, the rest the one-feature runs.
    seeds : int
        One-feature models trained to measure ``c``.

    Returns
    -------
    Prediction

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> ip.analytic.predicted_polysemantic(cfg, seeds=8)
    Prediction(mean=0.05273, sd=0.2235, mean_se=0.04814)
    """
    c, c_se = sparsification_completeness(config, seeds)
    n, m = config.n_features, config.n_hidden
    mean, var = exclusion_polysemantic(n, m, c)
    return Prediction(float(mean), float(np.sqrt(var)), float(n * (n - 1) * c * c_se / (2 * m)))


__all__ = ["Prediction", "exclusion_polysemantic", "sparsification_completeness", "predicted_polysemantic"]
