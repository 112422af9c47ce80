"""Compiled CPU kernels of the minibatch model: sparse / correlated inputs, importance, bias, untied.

One instance has encoder ``W`` (n×m), decoder ``D`` (n×m; ``D = W`` when tied), bias ``b`` (n; 0
without bias) and output weights ``ρ_j = c·r^j`` (``c = 1`` for one-hot inputs, ``1/B`` for sparse).
For a batch ``X`` (B×n) and hidden noise ``ξ_b`` (one vector per step, or one per example)::

    H_b  = Σ_i X_bi W_i + ξ_b,           P_bj = D_j·H_b + b_j,        R_bj = ReLU(P_bj) − X_bj
    L    = Σ_bj ρ_j R_bj²  (+ λ Σ|W|),   E_bj = ∂L/∂P_bj = 2 ρ_j R_bj [P_bj > 0]
    ∂L/∂D_j = Σ_b E_bj H_b,   ∂L/∂b_j = Σ_b E_bj,   ∂L/∂W_i = Σ_b X_bi (Σ_j E_bj D_j)
                                                      (+ ∂L/∂D_i when tied)

One-hot inputs are ``X = I`` (``B = n``), which with ``ρ = 1``, tied, no bias is exactly the model of
:mod:`incipoly.kernels.cpu` (that module's fast path serves that case; this one every other).

How a step runs (one instance; instances in parallel, each with private work arrays):

- Sparse batches are drawn inside the compiled loop by :mod:`~incipoly.kernels.sparse_sampler`,
  which visits only the active features: first the first present unit of every example (one
  independent draw each, so the draws overlap), then each example's features. Examples with
  no active feature and no per-example noise all have ``H_b = ξ``, so they are counted and
  enter once, as one column weighted by their count.
- The other examples are gathered into blocks of up to :data:`BLOCK` columns stored transposed
  (feature × example), and each block takes one of the two paths of
  :mod:`~incipoly.kernels.sparse_blocks`: the Gram path (``P_c = b + Dξ + Σ_active x_ic (DWᵀ)_i``,
  ``2n`` multiply–adds per active entry) for sparse blocks without per-example noise, else
  the hidden path (``H = XW + ξ``, ``P = DH + b``: long vectorised loops over examples, the
  encoder products over the active-entry list when the block is sparse).
- Arithmetic is in the weights' dtype (vectorised with reassociation), the loss in float64;
  optimiser updates reuse :func:`incipoly.kernels.cpu._update` on each parameter array (the L1
  term acts on ``W`` only, weight decay on every parameter).

Nothing is carried between steps but the parameters and moments, so results do not depend on
chunking, thread count or which seeds share a call.
"""
import numpy as np
from numba import njit, prange

from .cpu import _JIT, _L1, _SIGMA, _all_finite, _step_scalars, _update
from .noise import mix64, noise_value
from .sparse_blocks import (
    DENSE_FRACTION,
    GRAM_ENTRIES,
    block_backward,
    block_forward,
    block_residual,
    gram_backward,
    gram_finish,
    gram_forward,
    gram_setup,
)
from .sparse_sampler import (
    CORRELATION_CODES,
    block_entries,
    example_base,
    example_features,
    full_block,
    gap_scale,
    next_unit,
    units,
)

__all__ = ["INPUT_CODES", "CORRELATION_CODES", "EVAL_SALT", "BLOCK", "loss_and_grads",
           "train_chunk", "eval_loss", "output_weights", "batch_size"]

INPUT_CODES = {"one-hot": 0, "sparse": 1}
#: Source of a step's batch in :func:`loss_and_grads`: the identity, the sampler, a given array.
_ONE_HOT, _SAMPLED, _GIVEN = 0, 1, 2

#: The history's evaluation batch is drawn at step 0 of the key ``mix64(key ^ EVAL_SALT)``:
#: a stream of its own, the same batch at every record.
EVAL_SALT = np.uint64(0xD1B54A32D192ED03)

#: Examples per block (the block's arrays stay in the L1/L2 cache).
BLOCK = 128


@njit(**_JIT)
def make_work(n, m, B, dtype):
    """Work arrays of one instance: ``Xᵀ``, ``P``/``E`` (n×BLOCK), ``H``, ``G`` (m×BLOCK), column
    weights (BLOCK), active entries' column and feature (n·BLOCK each), one example's active
    features (n) and its inputs (n, kept zero between examples); for the Gram path
    ``Gᵀ = W Dᵀ`` and ``Tᵀ`` (n×n), ``b + Dξ`` and ``Σ_c E_c`` (n); each example's first
    present unit (B); the non-empty examples (B) and the scratch arrays of
    :func:`~incipoly.kernels.sparse_sampler.block_entries`; the Gram path's example-major ``P``/``E``
    and inputs (BLOCK×n, the inputs kept zero)."""
    scratch = (np.empty(BLOCK, np.int64), np.empty(BLOCK, np.int64), np.empty(BLOCK, np.int64),
               np.empty(BLOCK, np.int64), np.empty(n * BLOCK, np.int64),
               np.empty(n * BLOCK, np.int64))
    return (np.zeros((n, BLOCK), dtype), np.empty((n, BLOCK), dtype), np.empty((m, BLOCK), dtype),
            np.empty((m, BLOCK), dtype), np.empty(BLOCK, dtype), np.empty(n * BLOCK, np.int64),
            np.empty(n * BLOCK, np.int64), np.empty(n, np.int64), np.zeros(n, dtype),
            np.empty((n, n), dtype), np.empty((n, n), dtype), np.empty(n, dtype),
            np.empty(n, dtype), np.empty(B, np.int64), np.empty(B, np.int64), scratch,
            np.empty((BLOCK, n), dtype), np.zeros((BLOCK, n), dtype))


@njit(**_JIT)
def _flush(W, D, bvec, has_bias, rho, work, nnz, C, full, gram_ok, need_grad, gW, gD, gb):
    """Forward (and backward) of the gathered block; clears its ``Xᵀ`` (and ``Xr``) entries. Returns the loss
    and whether the Gram path ran (then :func:`gram_finish` completes the gradients). ``full``:
    every entry of the block is non-zero (no entry list)."""
    XT, P, H, G, colw, ent_c, ent_i, _, _, GT, Tt, bz, esum, _, _, _, Pr, Xr = work
    n, m = W.shape
    gram = gram_ok and not full and nnz <= GRAM_ENTRIES * m * C
    dense = full or nnz > DENSE_FRACTION * n * C
    if gram:
        gram_forward(bz, XT, Xr, Pr, GT, ent_c, ent_i, nnz, C)
        loss = block_residual(Pr, Xr, colw, rho, C, n)
        if need_grad:
            gram_backward(XT, Pr, Tt, esum, ent_c, ent_i, nnz, C)
    else:
        block_forward(W, D, bvec, has_bias, XT, H, P, ent_c, ent_i, nnz, C, dense)
        loss = block_residual(P, XT, rho, colw, n, C)
        if need_grad:
            block_backward(D, has_bias, XT, H, P, G, ent_c, ent_i, nnz, C, dense, gW, gD, gb)
    if full:
        XT[:, :C] = 0
    else:
        for e in range(nnz):
            XT[ent_i[e], ent_c[e]] = 0
            if gram:
                Xr[ent_c[e], ent_i[e]] = 0
    return loss, gram


@njit(**_JIT)
def loss_and_grads(W, D, bvec, rho, source, X, key, step, B, p, corr, Xi, noisy, per_example,
                   tied, has_bias, need_grad, work, gW, gD, gb):
    """Smooth loss ``Σ_bj ρ_j (ReLU(D_j·H_b + b_j) − X_bj)²`` (float64) of one step and, with
    ``need_grad``, its gradients into ``gW`` (``+ ∂L/∂D`` when tied), ``gD``, ``gb``.

    Parameters
    ----------
    W, D : ndarray (n, m)
        Encoder and decoder (the same array when tied).
    bvec : ndarray (n,)
        Bias (read only when ``has_bias``).
    rho : ndarray (n,)
        Output weights ``ρ_j``.
    source : int
        0: one-hot batch ``X = I`` (``B = n``); 1: the sampler's batch of ``step`` under ``key``
        with probability ``p`` and correlation code ``corr``; 2: the given ``X``.
    X : ndarray (B, n)
        The batch when ``source == 2`` (otherwise unread).
    Xi : ndarray (1 or B, m)
        Hidden noise, one row per step or per example (``per_example``); read when ``noisy``.
    work : tuple
        :func:`make_work` arrays (``Xᵀ`` must hold zeros; it is left so).
    gW, gD, gb : ndarray
        Outputs (overwritten); ``gD`` receives ``∂L/∂D`` even when tied (then also added to gW).

    Returns
    -------
    float
        The loss.
    """
    XT, _, H, _, colw, ent_c, ent_i, idx, xrow, GT, Tt, bz, esum, first, cols, scratch, _, _ = work
    n, m = W.shape
    zero = W[0, 0] * 0
    if need_grad:
        gW[:] = zero
        gD[:] = zero
        if has_bias:
            gb[:] = zero
    every = noisy and per_example
    scale = gap_scale(p, corr) if source == _SAMPLED else 0.0
    if source == _SAMPLED:
        U = units(n, corr)
        for b in range(B):       # the first gap of every example: independent draws
            first[b] = next_unit(key, example_base(step, B, b, U), 0, U, scale)
    if not every:
        gram_setup(W, D, bvec, has_bias, Xi[0], noisy, GT, Tt, bz, esum)
    used_gram = False
    loss = 0.0
    full = source == _SAMPLED and scale == 0.0 and corr == 0
    for b0 in range(0, B if full else 0, BLOCK):     # p = 1: every feature of every example
        C = min(BLOCK, B - b0)
        full_block(XT, key, step, B, b0, C)
        for c in range(C):
            colw[c] = 1
            for k in range(m):
                H[k, c] = Xi[b0 + c if every else 0, k] if noisy else zero
        part, _ = _flush(W, D, bvec, has_bias, rho, work, n * C, C, True, False, need_grad, gW,
                         gD, gb)
        loss += part
    # no correlation, one noise vector: the sampler's blocks drawn in passes (block_entries)
    passes = source == _SAMPLED and corr == 0 and not full and not every
    ncols = 0
    for b in range(B if passes else 0):
        cols[ncols] = b
        ncols += first[b] < n
    empty = B - ncols
    spans = ncols + (empty > 0) if passes else 0    # columns: the non-empty, then the empty
    for c0 in range(0, spans, BLOCK):
        C = min(BLOCK, spans - c0)
        Cs = min(C, ncols - c0)
        nnz = block_entries(XT, ent_c, ent_i, key, step, B, cols[c0:c0 + Cs], first, Cs, scale,
                            scratch)
        for c in range(C):
            colw[c] = 1 if c < Cs else empty
            for k in range(m):
                H[k, c] = Xi[0, k] if noisy else zero
        part, gram = _flush(W, D, bvec, has_bias, rho, work, nnz, C, False, True, need_grad, gW,
                            gD, gb)
        loss += part
        used_gram = used_gram or gram
    C = 0
    nnz = 0
    empty = 0
    for b in range(0 if full or passes else B + 1):   # b = B: the empty examples' weighted column
        if b < B:
            if source == _SAMPLED:
                count = example_features(xrow, idx, key, step, B, b, scale, corr, first[b])
                for a in range(count):
                    i = idx[a]
                    XT[i, C] = xrow[i]
                    xrow[i] = 0
                    ent_c[nnz + a] = C
                    ent_i[nnz + a] = i
            elif source == _ONE_HOT:
                XT[b, C] = 1
                ent_c[nnz] = C
                ent_i[nnz] = b
                count = 1
            else:
                count = 0
                for i in range(n):
                    if X[b, i] != 0:
                        XT[i, C] = X[b, i]
                        ent_c[nnz + count] = C
                        ent_i[nnz + count] = i
                        count += 1
            if count == 0 and not every:
                empty += 1
                continue
            weight, r = 1, b if every else 0
        elif empty == 0:
            break
        else:
            count, weight, r = 0, empty, 0
        nnz += count
        colw[C] = weight
        for k in range(m):
            H[k, C] = Xi[r, k] if noisy else zero
        C += 1
        if C == BLOCK or b == B or (b == B - 1 and empty == 0):
            part, gram = _flush(W, D, bvec, has_bias, rho, work, nnz, C, False, not every, need_grad,
                                gW, gD, gb)
            loss += part
            used_gram = used_gram or gram
            C = 0
            nnz = 0
    if need_grad and used_gram:
        gram_finish(W, D, has_bias, Xi[0], noisy, Tt, esum, gW, gD, gb)
    if need_grad and tied:
        for i in range(n):
            for k in range(m):
                gW[i, k] += gD[i, k]
    return loss


@njit(**_JIT)
def _fill_noise(Xi, kind, sigma, key, step, per_example):
    """Hidden noise of ``step``: row 0 only (shared by the batch), or row ``b`` for example ``b``
    (:func:`~incipoly.kernels.noise.noise_value` at "step" ``step·B + b``)."""
    rows, m = Xi.shape
    if per_example:
        for b in range(rows):
            for j in range(m):
                Xi[b, j] = noise_value(kind, sigma, key, step * rows + b, j, m)
    else:
        for j in range(m):
            Xi[0, j] = noise_value(kind, sigma, key, step, j, m)


@njit(parallel=True, **_JIT)
def train_chunk(W, Dec, bias, MW, VW, MD, VD, Mb, Vb, keys, in_keys, t0, nsteps, opt, noise,
                per_example, sparse, corr, p, B, rho, tied, has_bias, hp64, bad_step):
    """Advance every instance from step ``t0`` by ``nsteps`` steps, in place.

    ``Dec``/``MD``/``VD`` are read only when untied, ``bias``/``Mb``/``Vb`` only with a bias
    (placeholders otherwise). ``B`` is the batch size (``n`` for one-hot inputs). Divergence is
    flagged in ``bad_step`` as in :func:`incipoly.kernels.cpu.train_chunk`.
    """
    S, n, m = W.shape
    noisy = noise != 0
    source = _SAMPLED if sparse else _ONE_HOT
    for s in prange(S):
        if bad_step[s] >= 0:
            continue
        Ws = W[s]
        Ds = Ws if tied else Dec[s]
        bs = bias[s]
        X = np.empty((0, n), W.dtype)
        Xi = np.zeros((B if per_example else 1, m), W.dtype)
        work = make_work(n, m, B, W.dtype)
        gW = np.empty((n, m), W.dtype)
        gD = np.empty((n, m), W.dtype)
        gb = np.empty(n, W.dtype)
        hp = hp64.astype(W.dtype)
        hp0 = hp.copy()         # decoder and bias: no L1 term
        hp0[_L1] = 0
        for t in range(t0, t0 + nsteps):
            if noisy:
                _fill_noise(Xi, noise, hp64[_SIGMA], keys[s], t, per_example)
            loss = loss_and_grads(Ws, Ds, bs, rho, source, X, in_keys[s], t, B, p, corr, Xi, noisy,
                                  per_example, tied, has_bias, True, work, gW, gD, gb)
            if not np.isfinite(loss):
                bad_step[s] = t
                break
            if opt == 0:
                _step_scalars(hp64, t + 1, hp)
                _step_scalars(hp64, t + 1, hp0)
            _update(Ws.ravel(), MW[s].ravel(), VW[s].ravel(), gW.ravel(), opt, hp)
            if not tied:
                _update(Ds.ravel(), MD[s].ravel(), VD[s].ravel(), gD.ravel(), opt, hp0)
            if has_bias:
                _update(bs, Mb[s], Vb[s], gb, opt, hp0)
        if bad_step[s] < 0:
            ok = _all_finite(Ws.ravel())
            if not tied:
                ok = ok and _all_finite(Ds.ravel())
            if has_bias:
                ok = ok and _all_finite(bs)
            if not ok:
                bad_step[s] = t0 + nsteps - 1


@njit(parallel=True, **_JIT)
def eval_loss(W, Dec, bias, in_keys, sparse, corr, p, B, rho, tied, has_bias, l1, loss):
    """Noiseless loss (incl. ``λΣ|W|``) per instance on the evaluation batch: the full one-hot
    batch, or the sparse batch of step 0 under the key ``mix64(key ^ EVAL_SALT)``."""
    S, n, m = W.shape
    source = _SAMPLED if sparse else _ONE_HOT
    for s in prange(S):
        Ws = W[s]
        Ds = Ws if tied else Dec[s]
        X = np.empty((0, n), W.dtype)
        Xi = np.zeros((1, m), W.dtype)
        work = make_work(n, m, B, W.dtype)
        key = mix64(in_keys[s] ^ EVAL_SALT)
        total = loss_and_grads(Ws, Ds, bias[s], rho, source, X, key, 0, B, p, corr, Xi, False,
                               False, tied, has_bias, False, work, Ws, Ws, rho)
        for i in range(n):
            for k in range(m):
                total += l1 * abs(float(Ws[i, k]))
        loss[s] = total


def output_weights(config):
    """``ρ_j = c·r^j`` in the config's dtype: ``c = 1`` (one-hot, summed) or ``1/B`` (sparse, mean)."""
    scale = 1.0 / config.batch_size if config.inputs == "sparse" else 1.0
    return (scale * config.importance ** np.arange(config.n_features, dtype=np.float64)
            ).astype(config.dtype)


def batch_size(config):
    """Examples per step: ``batch_size`` for sparse inputs, the ``n`` one-hot vectors otherwise."""
    return config.batch_size if config.inputs == "sparse" else config.n_features
