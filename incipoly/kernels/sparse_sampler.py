"""Sparse input batches drawn position by position: geometric gaps between active units.

Feature ``i`` of an example is active with probability ``p`` (pairs of features move together or
exclude each other under ``correlation``); an active feature has magnitude ``u ~ U(0, 1)``. The
features of an example are grouped into *units*: ``U = n`` single features (``none``), or
``U = ⌈n/2⌉`` pairs ``(2k, 2k+1)`` with an unpaired last feature when ``n`` is odd (``correlated``,
``anticorrelated``). Each unit is present independently with probability ``q``, and only the
present units are visited: from position ``k₀`` (0, or one past the previous present unit) the
next present unit is ``k₀ + g`` with the geometric gap

    g = ⌊ln u₀ · (1 / ln(1 − q))⌋  (ln(1 − q) by log1p),,   P(g = j) = (1 − q)ʲ q,

``u₀`` drawn at ``k₀`` (no draw when ``q = 1``). A present unit ``k`` then makes active:

- ``none``, ``q = p``: feature ``k``;
- ``correlated``, ``q = p``: both features of the pair (or the unpaired one);
- ``anticorrelated``, ``q = 2p``: feature ``2k`` if ``u₁ < ½`` else ``2k+1``; an unpaired last
  feature if ``u₁ < ½`` (so it is active with probability ``2p·½ = p``).

Feature ``2k + d`` (``d ∈ {0, 1}``; ``none``: feature ``k``, ``d = 0``) gets the magnitude ``u_{2+d}``.
Draw ``r`` of unit ``k`` of example ``b`` at step ``t`` is :func:`~incipoly.kernels.noise.uniform01`
at counter ``4·((t·B + b)·U + k) + r`` of the instance's input key, so each example is a pure
function of ``(key, t, b)``: the cost is ``O(1 + q·U)`` draws per example, results do not depend on
chunking, threads or which instances share a call, and CPU and GPU kernels draw alike.
"""
import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .noise import uniform01

CORRELATION_CODES = {"none": 0, "correlated": 1, "anticorrelated": 2}


@register_jitable
def units(n, corr):
    """Units per example: ``n`` features (``corr == 0``) or ``⌈n/2⌉`` pairs."""
    return n if corr == 0 else (n + 1) // 2


@register_jitable
def unit_probability(p, corr):
    """Probability ``q`` that a unit is present: ``2p`` for anticorrelated pairs, else ``p``."""
    return 2.0 * p if corr == 2 else p


@register_jitable
def gap_scale(p, corr):
    """``1 / ln(1 − q)`` for the geometric gaps (0 when ``q = 1``: every unit is present)."""
    q = unit_probability(p, corr)
    return 1.0 / math.log1p(-q) if q < 1.0 else 0.0


@register_jitable
def next_unit(key, base, k, U, scale):
    """The first present unit at or after ``k`` (``U`` if none): ``k + g``, the gap ``g``
    drawn at counter ``4·(base + k)`` (``base = (step·B + b)·U``); ``k`` itself when
    ``scale = 0`` (``q = 1``). Branch-free, so a loop over examples overlaps the draws."""
    if scale == 0.0 or k >= U:
        return k
    gap = math.log(uniform01(key, np.uint64(4) * (base + np.uint64(k)))) * scale
    return U if gap >= U - k else k + int(gap)


@register_jitable
def example_base(step, B, b, U):
    """``(step·B + b)·U``: the counter base of example ``b`` of ``step`` (uint64)."""
    return (np.uint64(step) * np.uint64(B) + np.uint64(b)) * np.uint64(U)


@register_jitable
def example_features(x, idx, key, step, B, b, scale, corr, k):
    """Write the active features of example ``b`` of ``step`` into ``x`` (length ``n``).

    Parameters
    ----------
    x : 1-D float array of length n
        Must hold zeros on entry; active features receive their magnitudes ``u ∈ (0, 1)``.
    idx : 1-D int array
        If its length is at least ``n``, the active features in increasing order are written
        to ``idx[0:count]``; a zero-length array skips this.
    key : uint64
        The instance's input key.
    step, B, b : int
        Step, batch size and example index.
    scale : float
        :func:`gap_scale` of the feature probability ``p`` (computed once per batch).
    corr : int
        :data:`CORRELATION_CODES` value.
    k : int
        The example's first present unit, ``next_unit(key, example_base(step, B, b, U), 0, U,
        scale)`` (callers may draw it for many examples at once).

    Returns
    -------
    int
        Number of active features.
    """
    n = x.shape[0]
    record = idx.shape[0] >= n
    U = units(n, corr)
    base = example_base(step, B, b, U)
    count = 0
    while k < U:
        c = np.uint64(4) * (base + np.uint64(k))
        if corr == 0:
            first, last = k, k
        elif corr == 1:
            first, last = 2 * k, min(2 * k + 1, n - 1)
        else:
            lead = uniform01(key, c + np.uint64(1)) < 0.5
            if 2 * k + 1 < n:
                first = 2 * k if lead else 2 * k + 1
            elif lead:
                first = 2 * k
            else:
                first = n
            last = first
        for i in range(first, min(last, n - 1) + 1):
            d = i - 2 * k if corr != 0 else 0
            x[i] = uniform01(key, c + np.uint64(2 + d))
            if record:
                idx[count] = i
            count += 1
        k = next_unit(key, base, k + 1, U, scale)
    return count


@register_jitable
def full_block(XT, key, step, B, b0, C):
    """``q = 1``, no correlation (every feature of every example active): examples
    ``b0 … b0+C−1`` as the columns of ``XT`` (n×≥C), ``XT[i, c] = u₂`` of unit ``i`` of example
    ``b0 + c`` — the values :func:`example_features` gives, in a loop that vectorises."""
    n = XT.shape[0]
    for i in range(n):
        for c in range(C):
            base = example_base(step, B, b0 + c, n)
            XT[i, c] = uniform01(key, np.uint64(4) * (base + np.uint64(i)) + np.uint64(2))


@register_jitable
def block_entries(XT, ent_c, ent_i, key, step, B, cols, first, C, scale, scratch):
    """No correlation: the features of examples ``cols[0:C]`` (first present units ``first[b]``,
    all ``< n``) as the columns of ``XT`` (n×≥C, zero on entry), and the active entries
    ``(ent_c, ent_i)`` sorted by column, then feature: exactly what :func:`example_features`
    gives per example, drawn in passes (the ``r``-th active feature of every column in pass
    ``r``) so that the draws of different examples, each a logarithm, overlap.

    ``scratch`` is a tuple of int64 work arrays: four of length ≥ C, two of length ≥ n·C.
    Returns the number of entries.
    """
    n = XT.shape[0]
    cur, alive, cnt, start, pc, pi = scratch
    for c in range(C):
        cur[c] = first[cols[c]]
        alive[c] = c
        cnt[c] = 0
    live = C
    ne = 0
    while live > 0:
        keep = 0
        for a in range(live):
            c = alive[a]
            k = cur[c]
            base = example_base(step, B, cols[c], n)
            XT[k, c] = uniform01(key, np.uint64(4) * (base + np.uint64(k)) + np.uint64(2))
            pc[ne] = c
            pi[ne] = k
            ne += 1
            cnt[c] += 1
            nk = next_unit(key, base, k + 1, n, scale)
            cur[c] = nk
            alive[keep] = c
            keep += nk < n
        live = keep
    total = 0
    for c in range(C):
        start[c] = total
        total += cnt[c]
    for e in range(ne):
        c = pc[e]
        slot = start[c]
        start[c] = slot + 1
        ent_c[slot] = c
        ent_i[slot] = pi[e]
    return ne


@njit(cache=True)
def fill_batch(X, key, step, p, corr):
    """Fill ``X`` (B×n) with the batch of ``step`` (:func:`example_features` per row).

    Returns
    -------
    int
        Number of active entries.
    """
    B = X.shape[0]
    nothing = np.empty(0, np.int64)
    scale = gap_scale(p, corr)
    total = 0
    U = units(X.shape[1], corr)
    for b in range(B):
        X[b, :] = 0
        first = next_unit(key, example_base(step, B, b, U), 0, U, scale)
        total += example_features(X[b], nothing, key, step, B, b, scale, corr, first)
    return total


__all__ = ["CORRELATION_CODES", "units", "unit_probability", "gap_scale", "next_unit", "example_base",
           "example_features", "block_entries", "full_block",
           "fill_batch"]
