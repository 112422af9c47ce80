"""Statistics of trained (and initial) weights.

Every function takes one instance ``(n, m)`` or a batch ``(instances, n, m)`` and returns arrays
with a leading instance axis (dropped again for a single 2-D input). Weights must be real
(integer or float; not bool or complex), finite and non-empty: anything else raises ``ValueError``
(``TypeError`` for a wrong type) naming the argument, never a count computed from NaN.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate
from ._repr import brief_repr
from ._validate import unbatch as _out
from ._validate import weights_batch as _batch
from .config import POLYSEMANTIC_BAND
from .superposition import (
    Sharing,
    dimensions_per_feature,
    hidden_dimensions_per_feature,
    necessary_count,
    neuron_usage,
    polysemanticity,
    represented_features,
)


def _check_band(band):
    return _validate.check_band("band", band)


def polysemantic_neurons(W, band=POLYSEMANTIC_BAND):
    """Number of neurons where more than one feature has ``|W_ik| ∈ [low, high]`` (the paper's count).

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    band : (float, float)
        ``(low, high)``, default the paper's :data:`~incipoly.config.POLYSEMANTIC_BAND` (0.8, 1.2).

    Returns
    -------
    numpy.ndarray of int
        One count per instance (a scalar for 2-D ``W``).

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or a bad band.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> int(metrics.polysemantic_neurons(W))   # features 0 and 1 share neuron 0
    1
    >>> metrics.polysemantic_neurons(np.stack([W, np.eye(3, 2)])).tolist()
    [1, 0]
    """
    arr, single = _batch(W)
    lo, hi = _check_band(band)
    a = np.abs(arr)
    in_band = (a >= lo) & (a <= hi)
    return _out((in_band.sum(axis=1) > 1).sum(axis=1), single)


def polysemantic_neurons_above(W, threshold=0.5):
    """Number of neurons where more than one feature has ``|W_ik| > threshold``.

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    threshold : float

    Returns
    -------
    numpy.ndarray of int
        One count per instance (a scalar for 2-D ``W``).

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> int(metrics.polysemantic_neurons_above(W, threshold=0.05))
    2
    """
    _validate.check_real("threshold", threshold)
    arr, single = _batch(W)
    return _out(((np.abs(arr) > threshold).sum(axis=1) > 1).sum(axis=1), single)


class Assignment(NamedTuple):
    """Which neuron(s) carry each feature.

    neuron, sign : (instances, n) — the neuron with the largest ``|W_ik|`` and the sign there.
    carried : (instances, n, m) int8 — ``sign(W_ik)`` where ``|W_ik|`` is in the band, else 0.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> metrics.assignments(W)
    Assignment(3 (feature, neuron) pairs in band; neuron=[0, 0, 1], sign=[1, 1, -1])
    """
    neuron: np.ndarray
    sign: np.ndarray
    carried: np.ndarray

    def __repr__(self) -> str:
        return brief_repr(self, ("neuron", "sign"),
                          head=f"{int(np.count_nonzero(self.carried))} (feature, neuron) pairs in band")


def assignments(W, band=POLYSEMANTIC_BAND) -> Assignment:
    """Each feature's strongest neuron with its sign, and every (feature, neuron) pair in the band.

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    band : (float, float)
        As in :func:`polysemantic_neurons`.

    Returns
    -------
    Assignment

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or a bad band.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> a = metrics.assignments(W)
    >>> a.neuron.tolist(), a.sign.tolist()
    ([0, 0, 1], [1, 1, -1])
    """
    arr, single = _batch(W)
    lo, hi = _check_band(band)
    neuron = np.abs(arr).argmax(axis=2)
    sign = np.sign(np.take_along_axis(arr, neuron[..., None], axis=2)[..., 0]).astype(np.int8)
    a = np.abs(arr)
    carried = np.where((a >= lo) & (a <= hi), np.sign(arr), 0).astype(np.int8)
    if single:
        return Assignment(neuron[0], sign[0], carried[0])
    return Assignment(neuron, sign, carried)


class Collisions(NamedTuple):
    """Collisions of the initial argmax neurons.

    Attributes
    ----------
    neuron, sign : (instances, n) arrays
        Argmax ``|W0_ik|`` per feature and the sign of that weight.
    pairs : (instances,) array
        Feature pairs that share their argmax neuron.
    same_sign_pairs : (instances,) array
        Those pairs whose signs agree (they conflict through the ReLU).
    mixed_neurons : (instances,) array
        Neurons that are the argmax of features of both signs
        (the birthday-with-signs count of :func:`incipoly.analytic.expected_polysemantic`).

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> metrics.initial_collisions(np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]]))
    Collisions(argmax neurons 3; pairs=1, same_sign_pairs=1, mixed_neurons=0)
    """
    neuron: np.ndarray
    sign: np.ndarray
    pairs: np.ndarray
    same_sign_pairs: np.ndarray
    mixed_neurons: np.ndarray

    def __repr__(self) -> str:
        shape = " × ".join(map(str, np.shape(self.neuron)))
        return brief_repr(self, ("pairs", "same_sign_pairs", "mixed_neurons"),
                          head=f"argmax neurons {shape}")


def initial_collisions(W0) -> Collisions:
    """Argmax neuron of each feature at initialisation and how the features collide there.

    Parameters
    ----------
    W0 : array_like, (n, m) or (instances, n, m)
        Initial weights.

    Returns
    -------
    Collisions

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W0 = np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]])
    >>> c = metrics.initial_collisions(W0)   # features 0 and 1 both start on neuron 0, same sign
    >>> c.neuron.tolist(), int(c.same_sign_pairs), int(c.mixed_neurons)
    ([0, 0, 1], 1, 0)
    """
    arr, single = _batch(W0, "W0")
    S, n, m = arr.shape
    neuron = np.abs(arr).argmax(axis=2)
    sign = np.sign(np.take_along_axis(arr, neuron[..., None], axis=2)[..., 0]).astype(np.int8)
    pos = np.zeros((S, m), np.int64)
    neg = np.zeros((S, m), np.int64)
    rows = np.repeat(np.arange(S), n)
    np.add.at(pos, (rows, neuron.ravel()), (sign > 0).ravel())
    np.add.at(neg, (rows, neuron.ravel()), (sign < 0).ravel())
    tot = pos + neg
    pairs = (tot * (tot - 1) // 2).sum(axis=1)
    same = (pos * (pos - 1) // 2 + neg * (neg - 1) // 2).sum(axis=1)
    mixed = ((pos > 0) & (neg > 0)).sum(axis=1)
    out = Collisions(neuron, sign, pairs, same, mixed)
    return Collisions(*(x[0] for x in out)) if single else out


def winner_rank(W0, W):
    """Rank of each feature's final argmax neuron in its initial ``|W0_i·|`` order (0 = initial argmax).

    Parameters
    ----------
    W0, W : array_like, (n, m) or (instances, n, m)
        Initial and trained weights, of one shape.

    Returns
    -------
    numpy.ndarray of int
        (instances, n); (n,) for 2-D input.

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or ``W0``, ``W`` of two shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> W0 = np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]])
    >>> metrics.winner_rank(W0, W).tolist()   # every feature ends on its initial argmax
    [0, 0, 0]
    """
    a0, single = _batch(W0, "W0")
    a1, _ = _batch(W, "W")
    if a0.shape != a1.shape:
        raise ValueError(f"W0 and W must have the same shape; got {a0.shape} and {a1.shape}")
    final = np.abs(a1).argmax(axis=2)
    init_at_final = np.take_along_axis(np.abs(a0), final[..., None], axis=2)
    return _out((np.abs(a0) > init_at_final).sum(axis=2), single)


def start_end_correlation(W0, W):
    """Pearson correlation between each feature's initial row ``W0_i`` and final row ``W_i``.

    Parameters
    ----------
    W0, W : array_like, (n, m) or (instances, n, m)
        Initial and trained weights, of one shape.

    Returns
    -------
    numpy.ndarray
        (instances, n), (n,) for 2-D input; rows with zero variance give NaN.

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or ``W0``, ``W`` of two shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> W0 = np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]])
    >>> metrics.start_end_correlation(W0, W)
    array([1., 1., 1.])
    """
    a0, single = _batch(W0, "W0")
    a1, _ = _batch(W, "W")
    if a0.shape != a1.shape:
        raise ValueError(f"W0 and W must have the same shape; got {a0.shape} and {a1.shape}")
    x = a0 - a0.mean(axis=2, keepdims=True)
    y = a1 - a1.mean(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=2) / np.sqrt((x * x).sum(axis=2) * (y * y).sum(axis=2))
    return _out(r, single)


def feature_norms(W):
    """Per-feature ``‖W_i‖₂`` and ``‖W_i‖₄⁴ = Σ_k W_ik⁴``, each (instances, n).

    ``‖W_i‖₂`` is computed as ``s·‖W_i/s‖₂`` with ``s = max_k |W_ik|``, so it does not overflow
    while the norm itself fits a float; ``‖W_i‖₄⁴`` is ``inf`` where it does not fit.

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.

    Returns
    -------
    l2, l4 : numpy.ndarray
        ``‖W_i‖₂`` and ``‖W_i‖₄⁴``, (instances, n) float64; (n,) for 2-D input.

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> l2, l4 = metrics.feature_norms(W)
    >>> l2, l4
    (array([1.    , 0.9055, 1.    ]), array([1.    , 0.6562, 1.    ]))
    """
    arr, single = _batch(W)
    a = arr.astype(np.float64)
    scale = np.abs(a).max(axis=2, keepdims=True)
    unit = np.divide(a, scale, out=np.zeros_like(a), where=scale > 0)
    l2 = scale[..., 0] * np.sqrt((unit * unit).sum(axis=2))
    with np.errstate(over="ignore"):
        l4 = (a ** 4).sum(axis=2)
    return _out(l2, single), _out(l4, single)


def mean_se(x, axis=None):
    """Mean and standard error ``std(ddof=1)/√k`` over ``axis`` (all entries when None).

    The standard error is NaN where fewer than two values are averaged. ``x`` must be a
    non-empty, finite real array (ValueError / TypeError naming ``x`` otherwise).

    Parameters
    ----------
    x : array_like
    axis : int, optional

    Returns
    -------
    mean, se : numpy.ndarray or float

    Raises
    ------
    ValueError, TypeError
        For ``x`` not a finite, non-empty real array, or ``axis`` out of range.

    Examples
    --------
    >>> from incipoly import metrics
    >>> mean, se = metrics.mean_se([1.0, 2.0, 3.0, 4.0])
    >>> float(mean), round(float(se), 4)
    (2.5, 0.6455)
    """
    arr = _validate.check_real_array("x", x).astype(np.float64)
    if axis is not None:
        axis = _validate.check_int("axis", axis, -arr.ndim, arr.ndim - 1)
    k = arr.size if axis is None else arr.shape[axis]
    mean = arr.mean(axis=axis)
    if k < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, arr.std(axis=axis, ddof=1) / np.sqrt(k)


__all__ = ["polysemantic_neurons", "polysemantic_neurons_above", "Assignment", "assignments",
           "Collisions", "initial_collisions", "winner_rank", "start_end_correlation", "feature_norms",
           "mean_se", "Sharing", "dimensions_per_feature", "hidden_dimensions_per_feature",
           "necessary_count", "neuron_usage", "polysemanticity", "represented_features"]
