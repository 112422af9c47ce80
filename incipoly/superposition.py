"""Superposition statistics: feature dimensionality, represented features, neuron sharing, and the
split of polysemantic neurons into *necessary* and *incidental* (theory/README.md, last section).

Re-exported by :mod:`incipoly.metrics`. Like the rest of it, every function takes one instance
``(n, m)`` or a batch ``(instances, n, m)`` (row ``W_i`` = feature ``i``, column ``k`` = neuron) and
returns arrays with a leading instance axis, dropped again for a single 2-D input.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._deprecation import warn_renamed
from ._repr import brief_repr
from ._validate import unbatch as _out
from ._validate import weights_batch as _batch

#: ``‖W_i‖`` above which feature ``i`` counts as represented (TMS's reading of its norm plots).
REPRESENTED = 0.5
#: Feature ``i`` uses neuron ``k`` when ``|W_ik| ≥ USE_FRACTION · max_l |W_il|`` (and is represented).
USE_FRACTION = 0.5


def _positive(name, value, upper=None):
    ok = np.isfinite(value) and value > 0 and (upper is None or value <= upper)
    if not ok:
        rng = f"(0, {upper}]" if upper is not None else "> 0"
        raise ValueError(f"{name} must be a finite number {rng}; got {value!r}")
    return float(value)


def dimensions_per_feature(W, eps=1e-6):
    """Toy Models of Superposition's feature dimensionality, one value per feature.

    ``D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²`` with ``Ŵ_i = W_i / max(‖W_i‖, eps)`` (the sum includes
    ``j = i``, whose term is ``‖W_i‖²``): 1 for a feature with a dimension of its own, ½ for an
    antipodal pair, 2/5 for a pentagon in a plane, ~0 for a feature that is not represented.
    (The TMS / ARENA ``compute_dimensionality`` with features as rows.)

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    eps : float
        Floor of ``‖W_i‖`` in ``Ŵ_i``, > 0.

    Returns
    -------
    ndarray
        (instances, n) floats in [0, 1].

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or ``eps`` not > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> metrics.dimensions_per_feature(W)
    array([0.5525, 0.4505, 0.9901])
    """
    arr, single = _batch(W)
    _positive("eps", eps)
    a = arr.astype(np.float64)
    norms = np.sqrt((a * a).sum(axis=2))
    unit = a / np.maximum(norms, eps)[..., None]
    interference = (np.einsum("sik,sjk->sij", unit, a) ** 2).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(interference > 0, norms ** 2 / interference, 0.0)
    return _out(d, single)


def hidden_dimensions_per_feature(W):
    """TMS's "dimensions per feature" of a whole model, ``m / ‖W‖_F²`` (instances,).

    ``‖W‖_F² = Σ_i ‖W_i‖²`` counts the represented features when each has norm ≈ 1.

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.

    Returns
    -------
    numpy.ndarray or float
        One value per instance.

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> round(float(metrics.hidden_dimensions_per_feature(W)), 4)   # 2 / 2.82
    0.7092
    """
    arr, single = _batch(W)
    a = arr.astype(np.float64)
    fro = (a * a).sum(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return _out(arr.shape[2] / fro, single)


def represented_features(W, threshold=REPRESENTED):
    """Number of features with ``‖W_i‖ > threshold`` (instances,).

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    threshold : float
        > 0, default :data:`REPRESENTED` (0.5).

    Returns
    -------
    numpy.ndarray of int
        One count per instance.

    Raises
    ------
    ValueError, TypeError
        For weights not a finite, non-empty real array of 2 or 3 dims, or ``threshold`` not > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> int(metrics.represented_features(W)), int(metrics.represented_features(W, threshold=0.95))
    (3, 2)
    """
    arr, single = _batch(W)
    _positive("threshold", threshold)
    a = arr.astype(np.float64)
    return _out((np.sqrt((a * a).sum(axis=2)) > threshold).sum(axis=1), single)


def neuron_usage(W, fraction=USE_FRACTION, threshold=REPRESENTED):
    """Which neurons each represented feature uses, with the sign it uses them with.

    Feature ``i`` uses neuron ``k`` when ``‖W_i‖ > threshold`` and
    ``|W_ik| ≥ fraction · max_l |W_il|``: a relative criterion, so it does not assume unit norms
    (the paper's band ``|W_ik| ∈ [0.8, 1.2]`` does).

    Parameters
    ----------
    W : array_like, (n, m) or (instances, n, m)
        Weights, row ``W_i`` = feature ``i``; real, finite, non-empty.
    fraction : float
        In (0, 1], default :data:`USE_FRACTION` (0.5).
    threshold : float
        > 0, default :data:`REPRESENTED` (0.5).

    Returns
    -------
    ndarray
        (instances, n, m) int8: ``sign(W_ik)`` where feature ``i`` uses neuron ``k``, else 0.

    Raises
    ------
    ValueError, TypeError
        For bad weights, or ``fraction`` / ``threshold`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> metrics.neuron_usage(W).tolist()
    [[1, 0], [1, 0], [0, -1]]
    """
    arr, single = _batch(W)
    _positive("fraction", fraction, upper=1.0)
    _positive("threshold", threshold)
    a = np.abs(arr.astype(np.float64))
    rep = np.sqrt((a * a).sum(axis=2)) > threshold
    uses = (a >= fraction * a.max(axis=2, keepdims=True)) & rep[..., None] & (a > 0)
    return _out(np.where(uses, np.sign(arr), 0).astype(np.int8), single)


class Sharing(NamedTuple):
    """Polysemantic neurons under :func:`neuron_usage`, one count per instance.

    Attributes
    ----------
    polysemantic : (instances,) array
        Neurons used by more than one represented feature.
    same_sign : (instances,) array
        Neurons used by two or more features with the same sign (they conflict through
        the ReLU whenever both are active).
    opposite_sign : (instances,) array
        Neurons used by features of both signs (free of interference on one-hot
        inputs, the antipodal pairs of sparse ones). A neuron can be in both.
    represented : (instances,) array
        Features with ``‖W_i‖ > threshold``.
    necessary, incidental : (instances,) arrays
        The split of ``polysemantic`` (:func:`polysemanticity`).
    neuron_class : (instances, m) int8 array
        0 monosemantic or unused, 1 incidental, 2 necessary.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> metrics.polysemanticity(W)
    Sharing(polysemantic=1, same_sign=1, opposite_sign=0, represented=3, necessary=1, incidental=0)
    """
    polysemantic: np.ndarray
    same_sign: np.ndarray
    opposite_sign: np.ndarray
    represented: np.ndarray
    necessary: np.ndarray
    incidental: np.ndarray
    neuron_class: np.ndarray

    def __repr__(self) -> str:
        return brief_repr(self, self._fields[:-1])


def necessary_count(represented, n_hidden):
    """Fewest neurons any arrangement must share to host ``R`` features on ``m`` neurons with
    at most one feature per sign slot: ``min(m, max(0, R − m))`` (theory/README.md).

    Parameters
    ----------
    represented : int or array_like of int
        ``R``, represented features (:func:`represented_features`).
    n_hidden : int
        ``m``.

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> from incipoly import metrics
    >>> metrics.necessary_count([3, 5, 12], 4).tolist()
    [0, 1, 4]
    """
    R = np.asarray(represented, np.int64)
    return np.minimum(n_hidden, np.maximum(0, R - n_hidden))


def polysemanticity(W, *positional, W0=None, fraction=USE_FRACTION, threshold=REPRESENTED) -> Sharing:
    """Polysemantic neurons, split by sign and into *necessary* and *incidental*.

    Per instance with ``R`` represented features, ``m`` neurons and ``P`` polysemantic neurons:
    ``necessary = min(P, min(m, max(0, R − m)))`` — the sharing that no arrangement of ``R``
    features with one feature per sign slot avoids — and ``incidental = P − necessary``: for
    those a free slot existed that a feature could have taken at no extra loss. With ``m ≥ n``
    nothing is necessary.

    Which neurons carry the labels: polysemantic neurons are ordered so that those whose sharing
    was already present at initialisation (two or more of their users had them as the initial
    argmax ``argmax_k |W0_ik|``: the paper's incidental mechanism), then those with fewer users,
    come first; the first ``incidental`` of them are labelled incidental, the rest necessary.
    Without ``W0`` only the number of users orders them.

    Parameters
    ----------
    W : array (n, m) or (instances, n, m)
        Trained weights.
    W0 : array like ``W``, optional, keyword-only
        Initial weights (passing it positionally is deprecated: DeprecationWarning).
    fraction, threshold : float
        As in :func:`neuron_usage`.

    Returns
    -------
    Sharing

    Raises
    ------
    ValueError, TypeError
        For bad weights, ``W0`` of another shape than ``W``, or more than 3 positional arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import metrics
    >>> W = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]])   # 3 features, 2 neurons
    >>> W0 = np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]])
    >>> s = metrics.polysemanticity(W, W0=W0)    # 3 features on 2 neurons: one neuron must be shared
    >>> int(s.necessary), int(s.incidental), s.neuron_class.tolist()
    (1, 0, [2, 0])
    """
    if positional:
        if len(positional) > 3:
            raise TypeError(f"polysemanticity() takes W and at most 3 deprecated positional "
                            f"arguments; got {1 + len(positional)}")
        warn_renamed("polysemanticity(W, W0, ...) with W0 positional",
                     "polysemanticity(W, W0=W0): start-and-end functions take (W0, W), "
                     "optional arguments are keywords")
        W0, fraction, threshold = (*positional, *(W0, fraction, threshold)[len(positional):])
    arr, single = _batch(W)
    use = neuron_usage(arr, fraction, threshold)
    if use.ndim == 2:
        use = use[None]
    S, n, m = arr.shape
    users = (use != 0).sum(axis=1)
    pos = (use > 0).sum(axis=1)
    neg = (use < 0).sum(axis=1)
    poly = users > 1
    represented = represented_features(arr, threshold)
    represented = np.atleast_1d(represented)
    P = poly.sum(axis=1)
    nec = np.minimum(P, necessary_count(represented, m))
    collided = np.zeros((S, m), bool)
    if W0 is not None:
        a0, _ = _batch(W0, "W0")
        if a0.shape != arr.shape:
            raise ValueError(f"W0 and W must have the same shape; got {a0.shape} and {arr.shape}")
        first = np.abs(a0).argmax(axis=2)                       # (S, n)
        onehot = (first[..., None] == np.arange(m)) & (use != 0)
        collided = onehot.sum(axis=1) > 1
    cls = np.zeros((S, m), np.int8)
    for s in range(S):
        idx = np.flatnonzero(poly[s])
        order = idx[np.lexsort((users[s, idx], ~collided[s, idx]))]
        k_inc = P[s] - nec[s]
        cls[s, order[:k_inc]] = 1
        cls[s, order[k_inc:]] = 2
    out = Sharing(P, ((pos > 1) | (neg > 1)).sum(axis=1), ((pos > 0) & (neg > 0)).sum(axis=1),
                  represented, nec, P - nec, cls)
    return Sharing(*(x[0] for x in out)) if single else out


__all__ = ["dimensions_per_feature", "hidden_dimensions_per_feature", "represented_features",
           "neuron_usage", "polysemanticity", "necessary_count", "Sharing", "REPRESENTED",
           "USE_FRACTION"]
