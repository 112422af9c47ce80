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

Sparse batches are drawn inside the compiled loop (:func:`draw_batch`) from the counter-based
generator of :mod:`incipoly.kernels.noise`, at position ``c = 2·((t·B + b)·n + i) + r`` of the
instance's input key for step ``t``, example ``b``, feature ``i``: draw ``r = 0`` decides presence,
``r = 1`` is the magnitude. Per-example hidden noise is
:func:`~incipoly.kernels.noise.noise_value` at "step" ``t·B + b``. Nothing is carried between
draws, so results do not depend on chunking, thread count or which seeds share a call.

Optimiser updates reuse :func:`incipoly.kernels.cpu._update` on each parameter array; the L1 term
acts on ``W`` only, weight decay on every parameter.
"""
import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from .cpu import _FAST, _JIT, _L1, _SIGMA, _all_finite, _step_scalars, _update
from .noise import mix64, noise_value, uniform01

INPUT_CODES = {"one-hot": 0, "sparse": 1}
CORRELATION_CODES = {"none": 0, "correlated": 1, "anticorrelated": 2}

#: The history's evaluation batch is drawn at step 0 of the key ``mix64(key ^ EVAL_SALT)``:
#: a stream of its own, the same batch at every record.
EVAL_SALT = np.uint64(0xD1B54A32D192ED03)


@register_jitable
def feature_value(key, step, B, n, b, i, p, corr):
    """Input ``X_bi`` of the sparse batch of ``step``: ``a·u`` with ``u ~ U(0, 1)``.

    Presence ``a ∈ {0, 1}``: ``none`` — ``u_{i,0} < p``; ``correlated`` — both features of the pair
    ``(2q, 2q+1)`` use ``u_{2q,0} < p``; ``anticorrelated`` — the pair is present if
    ``u_{2q,0} < 2p`` and then feature ``2q`` is the active one if ``u_{2q+1,0} < ½``, else
    ``2q+1``. An unpaired last feature (odd ``n``) is independent. ``u_{i,r}`` is
    :func:`~incipoly.kernels.noise.uniform01` at counter ``2·((step·B + b)·n + i) + r``.
    A pure function of its arguments: the CPU and CUDA kernels call it alike.
    """
    two = np.uint64(2)
    base = (np.uint64(step) * np.uint64(B) + np.uint64(b)) * np.uint64(n)
    lead = i - i % 2
    if corr == 0 or lead + 1 >= n:
        active = uniform01(key, two * (base + np.uint64(i))) < p
    elif corr == 1:
        active = uniform01(key, two * (base + np.uint64(lead))) < p
    else:
        present = uniform01(key, two * (base + np.uint64(lead))) < 2.0 * p
        first = uniform01(key, two * (base + np.uint64(lead + 1))) < 0.5
        active = present and (first == (i == lead))
    if active:
        return uniform01(key, two * (base + np.uint64(i)) + np.uint64(1))
    return 0.0


@njit(**_JIT)
def draw_batch(X, key, step, p, corr):
    """Fill ``X`` (B×n) with the sparse batch of ``step`` (:func:`feature_value` per entry)."""
    B, n = X.shape
    for b in range(B):
        for i in range(n):
            X[b, i] = feature_value(key, step, B, n, b, i, p, corr)


@njit(**_JIT)
def _fill_noise(Xi, kind, sigma, key, step, per_example):
    """Hidden noise of ``step``: row 0 only (shared by the batch), or row ``b`` for example ``b``."""
    rows, m = Xi.shape
    if per_example:
        for b in range(rows):
            for j in range(m):
                Xi[b, j] = noise_value(kind, sigma, key, step * rows + b, j, m)
    else:
        for j in range(m):
            Xi[0, j] = noise_value(kind, sigma, key, step, j, m)


@njit(**_JIT)
def make_scratch(B, n, m, dtype):
    """Work arrays of :func:`forward_backward`: ``H`` (B×m), ``E`` (B×n), ``Dᵀ`` and ``∂L/∂Dᵀ`` (m×n)."""
    return (np.empty((B, m), dtype), np.empty((B, n), dtype), np.empty((m, n), dtype),
            np.empty((m, n), dtype))


@njit(fastmath=_FAST, **_JIT)
def forward_backward(W, D, bvec, X, Xi, noisy, per_example, rho, tied, has_bias, need_grad,
                     scratch, gW, gD, gb):
    """Smooth loss ``Σ_bj ρ_j (ReLU(D_j·H_b + b_j) − X_bj)²`` (float64) and, with ``need_grad``,
    its gradients into ``gW``, ``gD`` (untied), ``gb`` (bias); see the module docstring.

    Loops run with the feature index ``j`` innermost (over ``Dᵀ``, so they vectorise for m ≪ n).
    Zero inputs ``X_bi`` are skipped, and without noise the empty examples (``X_b = 0``, so
    ``H_b = 0`` and ``P_bj = b_j``) are counted and handled once: their loss is
    ``count·Σ_j ρ_j ReLU(b_j)²`` and they only reach ``∂L/∂b``.
    """
    H, E, DT, gDT = scratch
    B, n = X.shape
    m = W.shape[1]
    zero = W[0, 0] * 0
    for k in range(m):
        for j in range(n):
            DT[k, j] = D[j, k]
    loss = 0.0
    empty = 0
    for b in range(B):
        r = b if per_example else 0
        nonzero = noisy
        for k in range(m):
            H[b, k] = Xi[r, k] if noisy else zero
        for i in range(n):
            x = X[b, i]
            if x != 0:
                nonzero = True
                for k in range(m):
                    H[b, k] += x * W[i, k]
        if not nonzero:
            empty += 1
            for j in range(n):
                E[b, j] = zero
            continue
        for j in range(n):
            E[b, j] = bvec[j] if has_bias else zero
        for k in range(m):
            h = H[b, k]
            for j in range(n):
                E[b, j] += h * DT[k, j]
        for j in range(n):
            p = E[b, j]
            pos = p > 0
            res = (p if pos else zero) - X[b, j]
            loss += float(rho[j]) * float(res) * float(res)
            e = rho[j] * (res + res)
            E[b, j] = e if pos else zero
    if has_bias and empty > 0:
        for j in range(n):
            p = bvec[j]
            if p > 0:
                loss += empty * float(rho[j]) * float(p) * float(p)
    if not need_grad:
        return loss
    for k in range(m):
        for j in range(n):
            gDT[k, j] = zero
    for j in range(n):
        if has_bias:
            gb[j] = zero
        for k in range(m):
            gW[j, k] = zero
    if has_bias and empty > 0:
        for j in range(n):
            p = bvec[j]
            if p > 0:
                gb[j] += empty * (rho[j] * (p + p))
    for b in range(B):
        if has_bias:
            for j in range(n):
                gb[j] += E[b, j]
        for k in range(m):
            h = H[b, k]
            if h != 0:
                for j in range(n):
                    gDT[k, j] += h * E[b, j]
        # g_b = Σ_j E_bj D_j, written over H's row (no longer needed).
        for k in range(m):
            acc = zero
            for j in range(n):
                acc += E[b, j] * DT[k, j]
            H[b, k] = acc
        for i in range(n):
            x = X[b, i]
            if x != 0:
                for k in range(m):
                    gW[i, k] += x * H[b, k]
    for j in range(n):
        for k in range(m):
            if tied:
                gW[j, k] += gDT[k, j]
            else:
                gD[j, k] = gDT[k, j]
    return loss


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
    for s in prange(S):
        if bad_step[s] >= 0:
            continue
        Ws = W[s]
        Ds = Ws if tied else Dec[s]
        bs = bias[s]
        X = np.zeros((B, n), W.dtype)
        if not sparse:
            for i in range(n):
                X[i, i] = 1
        Xi = np.zeros((B if per_example else 1, m), W.dtype)
        scratch = make_scratch(B, n, m, W.dtype)
        gW = np.empty((n, m), W.dtype)
        gD = np.empty((n, m), W.dtype)
        gb = np.empty(n, W.dtype)
        hp = hp64.astype(W.dtype)
        hp0 = hp.copy()         # decoder and bias: no L1 term
        hp0[_L1] = 0
        for t in range(t0, t0 + nsteps):
            if sparse:
                draw_batch(X, in_keys[s], t, p, corr)
            if noisy:
                _fill_noise(Xi, noise, hp64[_SIGMA], keys[s], t, per_example)
            loss = forward_backward(Ws, Ds, bs, X, Xi, noisy, per_example, rho, tied, has_bias,
                                    True, scratch, gW, gD, gb)
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
    for s in prange(S):
        Ws = W[s]
        Ds = Ws if tied else Dec[s]
        X = np.zeros((B, n), W.dtype)
        if sparse:
            draw_batch(X, mix64(in_keys[s] ^ EVAL_SALT), 0, p, corr)
        else:
            for i in range(n):
                X[i, i] = 1
        Xi = np.zeros((1, m), W.dtype)
        scratch = make_scratch(B, n, m, W.dtype)
        total = forward_backward(Ws, Ds, bias[s], X, Xi, False, False, rho, tied, has_bias,
                                 False, scratch, scratch[0], scratch[0], rho)
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


__all__ = ["feature_value", "draw_batch", "make_scratch", "forward_backward", "train_chunk", "eval_loss",
           "output_weights", "batch_size"]
