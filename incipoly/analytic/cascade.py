"""Cascade: deferred acceptance on (neuron, sign) slots ranked by ``|W0|`` (theory/cascade.py)."""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int
from ._checks import _weights
from .results import Estimate


def _cascade(W0):
    """Feature-proposing deferred acceptance for a batch ``W0`` of shape ``(S, n, m)``.

    All free features propose at once (one round), each to its best neuron not yet tried; every
    slot keeps the best of its holder and its proposers. Priority of a pair ``(i, k)`` is
    ``(|W0_ik|, −i, −k)`` lexicographically (ties: lower feature, then lower neuron, first), one
    global order shared by features and slots, so the stable matching is unique and the rounds
    reach it. Entries ``W0_ik = 0`` have no sign and are never proposed.

    Returns ``(assigned, holder)``: neuron per feature (``−1`` if none) of shape ``(S, n)``, and the
    feature in each slot (``−1`` if empty) of shape ``(S, m, 2)``, slot 1 = positive sign.
    """
    S, n, m = W0.shape
    rows = np.where(W0 != 0, np.abs(W0), -np.inf).reshape(S * n, m)   # untried options per feature
    positive = (W0 > 0).reshape(S * n, m)
    holder = np.full(S * m * 2, -1, dtype=np.int64)
    held = np.full(S * m * 2, -np.inf)
    assigned = np.full(S * n, -1, dtype=np.int64)
    free = np.arange(S * n)
    while free.size:
        k = rows[free].argmax(axis=1)
        value = rows[free, k]
        alive = value > -np.inf                     # features with options left
        free, k, value = free[alive], k[alive], value[alive]
        rows[free, k] = -np.inf
        s, i = np.divmod(free, n)
        slot = (s * m + k) * 2 + positive[free, k]
        order = np.lexsort((i, -value, slot))       # per slot: largest |W0|, then lowest feature
        first = np.ones(order.size, dtype=bool)
        first[1:] = slot[order][1:] != slot[order][:-1]
        best = order[first]
        bslot = slot[best]
        wins = (value[best] > held[bslot]) | ((value[best] == held[bslot]) & (i[best] < holder[bslot]))
        best, bslot = best[wins], bslot[wins]
        previous = holder[bslot]
        kept = previous >= 0
        displaced = (bslot[kept] // (2 * m)) * n + previous[kept]     # flat ids of evicted features
        assigned[displaced] = -1
        holder[bslot], held[bslot] = i[best], value[best]
        assigned[free[best]] = k[best]
        free = np.concatenate([free[assigned[free] < 0], displaced])
    return assigned.reshape(S, n), holder.reshape(S, m, 2)


def _batch(W0):
    arr = _weights("W0", W0, (2, 3))
    return (arr[None], True) if arr.ndim == 2 else (arr, False)


def cascade_assignment(W0):
    """Neuron each feature ends on in the conflict-resolution cascade started from ``W0``.

    Feature ``i`` ranks neurons by ``|W0_ik|`` (descending) and wants the slot of sign
    ``sign(W0_ik)``; each neuron has one slot per sign, which keeps the proposer with the larger
    ``|W0_ik|``; a rejected or displaced feature proposes to its next neuron. This is
    feature-proposing deferred acceptance (Gale–Shapley). Because features and slots rank pairs
    by the same numbers ``|W0_ik|`` the stable matching is unique — equal to greedily accepting
    pairs in decreasing ``|W0_ik|`` — so the result does not depend on the order of proposals.

    Parameters
    ----------
    W0 : array of shape (n, m) or (instances, n, m)
        Initial weights (finite). Ties in ``|W0|`` are broken by lower feature, then lower neuron.

    Returns
    -------
    ndarray of int64, shape (n,) or (instances, n)
        Neuron index per feature, or ``−1`` when every slot it could take went to a stronger
        feature (possible only if ``n > m`` or its row has zeros). Its sign is ``sign(W0[i, k])``.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import analytic
    >>> W0 = np.array([[0.5, 0.1], [0.4, -0.2], [0.1, -0.3]])
    >>> analytic.cascade_assignment(W0).tolist()   # feature 1 loses both slots it could take
    [0, -1, 1]
    """
    arr, single = _batch(W0)
    assigned, _ = _cascade(arr)
    return assigned[0] if single else assigned


def cascade_polysemantic(W0):
    """Number of neurons with both sign slots filled after the cascade (:func:`cascade_assignment`).

    Parameters
    ----------
    W0 : array of shape (n, m) or (instances, n, m)

    Returns
    -------
    int or ndarray of int64, one count per instance

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly import analytic
    >>> W0 = np.array([[0.5, 0.1], [-0.4, -0.2], [0.1, -0.3]])
    >>> int(analytic.cascade_polysemantic(W0))     # neuron 0 keeps +feature 0 and −feature 1
    1
    """
    arr, single = _batch(W0)
    _, holder = _cascade(arr)
    counts = (holder >= 0).all(axis=-1).sum(axis=-1)
    return int(counts[0]) if single else counts


#: Largest ``n·m`` :func:`expected_cascade_polysemantic` draws (2²⁷ float64 = 1 GiB per seed).
MAX_DRAW_ENTRIES = 2 ** 27


def expected_cascade_polysemantic(n, m, seeds=1000, init="normal"):
    """Monte Carlo mean and standard error of :func:`cascade_polysemantic` over seeds.

    ``W0`` for seed ``s`` is exactly the trainer's initial weights for that seed
    (:func:`incipoly.init.initial_weights`, float64), so per-seed predictions can be compared with
    trained runs. The mean is ``n(n−1)/4m + O(n⁴/m³)`` (derived to order ``m⁻²`` in
    ``theory/README.md``; Monte Carlo puts the remainder within 0.06 for ``n ≤ m``).

    Parameters
    ----------
    n, m : int
        Features and neurons, ``>= 1``.
    seeds : int or sequence of int
        ``k`` → seeds ``0 … k−1`` (``k >= 2``), or an explicit list of at least two distinct seeds.
    init : {"normal", "xavier"}
        Initial distribution, as in :class:`incipoly.Config`.

    Returns
    -------
    Estimate
        ``(mean, se)``: sample mean and its standard error ``sd/√S``.

    Raises
    ------
    ValueError
        If ``n·m`` exceeds :data:`MAX_DRAW_ENTRIES` (refused before allocating, with the sizes),
        or for a bad ``n``, ``m``, ``seeds`` or ``init``.

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.expected_cascade_polysemantic(8, 64, seeds=200)  # doctest: +ELLIPSIS
    Estimate(mean=0.215, se=0.0323...)
    """
    from ..config import Config
    from ..init import initial_weights, normalize_seeds

    n, m = check_int("n", n, 1), check_int("m", m, 1)
    if n * m > MAX_DRAW_ENTRIES:        # refuse before allocating one seed's weights
        gib = str(n * m * 8 >> 30)     # integers: n and m may exceed a float's range
        gib = gib if len(gib) <= 12 else f"{gib[0]}.{gib[1:3]}e+{len(gib) - 1}"
        raise ValueError(f"n·m must be at most {MAX_DRAW_ENTRIES} (one seed's float64 weights, "
                         f"1 GiB); got n={n}, m={m}: about {gib} GiB per seed")
    seed_list = normalize_seeds(seeds)
    if seed_list.size < 2:
        raise ValueError(f"seeds must give at least 2 seeds for a standard error; got {seeds!r}")
    check_choice("init", init, ("normal", "xavier"))
    config = Config(n_features=int(n), n_hidden=int(m), init=init, dtype="float64")
    chunk = max(1, (1 << 21) // (int(n) * int(m)))
    counts = np.concatenate([cascade_polysemantic(initial_weights(config, seed_list[i:i + chunk]))
                             for i in range(0, seed_list.size, chunk)])
    return Estimate(float(counts.mean()), float(counts.std(ddof=1) / np.sqrt(counts.size)))


__all__ = ["cascade_assignment", "cascade_polysemantic", "expected_cascade_polysemantic"]
