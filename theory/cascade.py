"""The conflict-resolution cascade, written out as slowly and plainly as its definition.

From ``W0`` (``n × m``): feature ``i`` ranks neurons by ``|W0_ik|`` (largest first) and wants the
slot of sign ``sign(W0_ik)`` at neuron ``k``; each neuron has one slot per sign. A slot keeps the
proposer with the larger ``|W0_ik|``; the rejected or displaced feature proposes to its next
neuron. Ties: priority of pair ``(i, k)`` is ``(|W0_ik|, −i, −k)``. Zero entries are never proposed.

Two references for :func:`incipoly.analytic.cascade_assignment`:

* :func:`by_proposals` — deferred acceptance one proposal at a time, the next proposer drawn at
  random among free features (any order must give the same matching);
* :func:`greedy` — accept pairs in decreasing priority if feature and slot are both free. Because
  features and slots rank pairs by the same numbers, the top remaining pair is each side's first
  choice, so it is in every stable matching: the stable matching is unique and equals this greedy.

:func:`second_order_expansion` derives ``E_cascade = n(n−1)/4m + O(m⁻³)`` (see README).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

n, m = sp.symbols("n m", positive=True)


def _preferences(W0, i):
    """Neurons with ``W0_ik ≠ 0`` in decreasing ``(|W0_ik|, −k)``."""
    return sorted((k for k in range(W0.shape[1]) if W0[i, k] != 0), key=lambda k: (-abs(W0[i, k]), k))


def _slot(W0, i, k):
    return k, int(W0[i, k] > 0)


def _beats(W0, i, j, k):
    """Does feature ``i`` beat feature ``j`` for neuron ``k``'s slot?"""
    return (abs(W0[i, k]), -i) > (abs(W0[j, k]), -j)


def by_proposals(W0, rng):
    """Deferred acceptance with the next proposer chosen by ``rng`` among free features.

    Returns a list: the neuron of each feature, or ``−1``.
    """
    W0 = np.asarray(W0, dtype=float)
    prefs = [_preferences(W0, i) for i in range(W0.shape[0])]
    tried = [0] * len(prefs)
    holder = {}
    neuron = [-1] * len(prefs)
    free = [i for i, p in enumerate(prefs) if p]
    while free:
        i = free.pop(int(rng.integers(len(free))))
        k = prefs[i][tried[i]]
        tried[i] += 1
        slot = _slot(W0, i, k)
        j = holder.get(slot)
        if j is None or _beats(W0, i, j, k):
            holder[slot], neuron[i] = i, k
            if j is not None:
                neuron[j] = -1
                if tried[j] < len(prefs[j]):
                    free.append(j)
        elif tried[i] < len(prefs[i]):
            free.append(i)
    return neuron


def greedy(W0):
    """Accept pairs ``(i, k)`` in decreasing ``(|W0_ik|, −i, −k)`` when feature and slot are free."""
    W0 = np.asarray(W0, dtype=float)
    pairs = sorted(zip(*np.nonzero(W0), strict=True), key=lambda p: (-abs(W0[p]), p[0], p[1]))
    neuron, taken = [-1] * W0.shape[0], set()
    for i, k in pairs:
        if neuron[i] < 0 and _slot(W0, i, k) not in taken:
            neuron[i] = k
            taken.add(_slot(W0, i, k))
    return neuron


def polysemantic_count(W0, neuron):
    """Neurons holding two features (necessarily one per sign, since a slot holds one)."""
    used = [k for k in neuron if k >= 0]
    return sum(used.count(k) == 2 for k in set(used))


def initial_both_signs(W0):
    """Neurons that are the first choice of a positive and of a negative feature.

    These stay polysemantic (a slot, once proposed to, is never empty again), so the cascade count
    is at least this; and first choices are i.i.d. uniform (neuron, sign), so this count follows
    the birthday law exactly.
    """
    W0 = np.asarray(W0, dtype=float)
    prefs = [_preferences(W0, i) for i in range(W0.shape[0])]
    cells = {_slot(W0, i, p[0]) for i, p in enumerate(prefs) if p}
    return sum((k, 0) in cells and (k, 1) in cells for k in range(W0.shape[1]))


def second_order_expansion():
    """``E_cascade`` through order ``m⁻²``, from the birthday series plus displacements.

    Cascade count = birthday count + neurons made polysemantic by displaced features. To order
    ``m⁻²`` the only displacements come from same-sign pairs alone on a neuron (expected
    ``C(n,2)/2m``); the loser's next neuron is uniform among the others with a fair sign, and
    completes a neuron iff one of the other ``n − 2`` features sits in the opposite slot there
    (probability ``(n − 2)/2m``). Returns ``(birthday terms, displacement term, their sum)``.
    """
    birthday = n * (n - 1) / (4 * m) - n * (n - 1) * (n - 2) / (8 * m ** 2)
    displaced = sp.binomial(n, 2) / (2 * m) * (n - 2) / (2 * m)
    return birthday, displaced, sp.factor(sp.expand_func(birthday + displaced))
