"""Numeric theory of incidental polysemanticity (numpy/scipy only), one module per model.

Each module mirrors a derivation in ``theory/`` (sympy checks there, the reasoning in
``theory/README.md``). Throughout, ``n`` is the number of features, ``m`` the number of hidden
neurons, and the model is ``y_ij = ReLU(W_j · h_i)`` with ``h_i = W_i (+ ξ)`` and loss
``Σ_ij (y_ij − δ_ij)² + λ Σ|W|``.

* :mod:`.birthday` — every feature on a uniformly random neuron with a random sign; a neuron is
  polysemantic iff it holds features of both signs. Also prediction intervals for means.
* :mod:`.cascade` — deferred acceptance from ``W0``: one slot per (neuron, sign), ranked by ``|W0_ik|``.
* :mod:`.sparsification` — exact reduced form of the one-feature L1 gradient flow.
* :mod:`.noise` — expected loss under hidden noise and its fourth-cumulant (kurtosis) term.
* :mod:`.exclusion` — the predictive model: the end state as two independent uniform placements
  (one per sign) of the features that finished sparsifying; ``predicted_polysemantic(config)``.

Results with an uncertainty are NamedTuples (:mod:`.results`: ``Estimate(mean, se)``,
``Interval(low, high)``, ``Moments(mean, var)``; ``Prediction(mean, sd, mean_se)``), so they
unpack like tuples and name their fields.

Every bad argument raises ``ValueError`` naming the argument, the value and the accepted range.
"""
from .birthday import (
                       asymptotic_polysemantic,
                       expected_colliding_pairs,
                       expected_polysemantic,
                       polysemantic_variance,
                       prediction_interval,
)
from .cascade import cascade_assignment, cascade_polysemantic, expected_cascade_polysemantic
from .exclusion import Prediction, exclusion_polysemantic, predicted_polysemantic, sparsification_completeness
from .noise import expected_noisy_loss, kurtosis_loss_term, noise_kurtosis
from .results import Estimate, Interval, Moments
from .sparsification import Sparsification, monosemantic_time, paper_sparsification, sparsification_trajectory

__all__ = [
    "expected_polysemantic", "polysemantic_variance", "expected_colliding_pairs",
    "asymptotic_polysemantic", "prediction_interval",
    "cascade_assignment", "cascade_polysemantic", "expected_cascade_polysemantic",
    "Sparsification", "sparsification_trajectory", "monosemantic_time", "paper_sparsification",
    "noise_kurtosis", "expected_noisy_loss", "kurtosis_loss_term",
    "Estimate", "Interval", "Moments",
    "Prediction", "exclusion_polysemantic", "sparsification_completeness", "predicted_polysemantic",
]
