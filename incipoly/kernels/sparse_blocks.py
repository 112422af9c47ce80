"""Arithmetic on one block of examples of the minibatch model (see :mod:`.sparse_cpu`).

A block holds ``C`` examples as columns: inputs ``Xᵀ`` (n×C), hidden ``H`` (m×C), outputs ``P``
(n×C, overwritten by ``E = ∂L/∂P``), column weights ``w_c`` (the count of examples a column
stands for) and the list of active entries ``(c, i)``. Two ways to the same sums:

- *hidden path*: ``H = Wᵀ Xᵀ + ξ``, ``P = D H + b``; backward ``∂L/∂D += E Hᵀ``,
  ``G = Dᵀ E``, ``∂L/∂W += X Gᵀ`` — long vectorised loops over the block's examples;
- *Gram path* (no per-example noise): with ``G = D Wᵀ`` (n×n, once per step),
  ``P_c = b + Dξ + Σ_{i active} x_ic G_i`` and ``T_ji += Σ_c E_jc x_ic``; at the end of the step
  ``∂L/∂D += T W + (Σ_c E_c) ξᵀ``, ``∂L/∂W += Tᵀ D``, ``∂L/∂b += Σ_c E_c``. It costs ``2n``
  multiply–adds per active entry instead of ``≈ 3nm`` per example, so it serves sparse blocks.
  It keeps ``P``/``E`` and the inputs example-major (C×n), so that each entry's ``n`` updates
  are one contiguous, vectorised row.
"""
from numba import njit

from .cpu import _FAST, _JIT

#: Dense encoder products (hidden path) above this fraction of non-zero entries in a block.
DENSE_FRACTION = 0.125
#: Gram path for a block with at most this many active entries per example and hidden unit.
GRAM_ENTRIES = 0.75


@njit(fastmath=_FAST, **_JIT)
def block_forward(W, D, bvec, has_bias, XT, H, P, ent_c, ent_i, nnz, C, dense):
    """``H[:, :C] += Wᵀ Xᵀ`` (H holds the noise on entry) and ``P = D H + b`` for a block."""
    n, m = W.shape
    if dense:
        for i in range(n):
            for k in range(m):
                w = W[i, k]
                for c in range(C):
                    H[k, c] += w * XT[i, c]
    else:
        for e in range(nnz):
            c = ent_c[e]
            i = ent_i[e]
            x = XT[i, c]
            for k in range(m):
                H[k, c] += x * W[i, k]
    zero = W[0, 0] * 0
    for j in range(n):
        bj = bvec[j] if has_bias else zero
        for c in range(C):
            P[j, c] = bj
        for k in range(m):
            d = D[j, k]
            for c in range(C):
                P[j, c] += d * H[k, c]


@njit(fastmath=_FAST, **_JIT)
def block_residual(P, X, wrow, wcol, R, K):
    """Loss ``Σ_rk wrow_r wcol_k R_rk²`` (float64) of a block held as ``P``, ``X`` (rows × columns,
    first ``R`` × ``K``); ``P`` is overwritten by ``E_rk = wrow_r wcol_k 2R_rk [P_rk > 0]``
    (``R = ReLU(P) − X``). Feature-major blocks pass ``(ρ, w)``, example-major ``(w, ρ)``
    (``w_c``: the column's count of examples, ``ρ_j``: the output weights)."""
    zero = P[0, 0] * 0
    loss = 0.0
    for r in range(R):
        a = wrow[r]
        acc = 0.0
        for k in range(K):
            p = P[r, k]
            pos = p > 0
            res = (p if pos else zero) - X[r, k]
            acc += float(wcol[k]) * float(res) * float(res)
            e = a * wcol[k] * (res + res)
            P[r, k] = e if pos else zero
        loss += float(a) * acc
    return loss


@njit(fastmath=_FAST, **_JIT)
def block_backward(D, has_bias, XT, H, E, G, ent_c, ent_i, nnz, C, dense, gW, gD, gb):
    """Add a block's ``∂L/∂b = Σ_c E_c``, ``∂L/∂D = E Hᵀ`` and ``∂L/∂W = X (E D)`` (G = Dᵀ E)."""
    n, m = D.shape
    zero = D[0, 0] * 0
    for j in range(n):
        if has_bias:
            acc = zero
            for c in range(C):
                acc += E[j, c]
            gb[j] += acc
        for k in range(m):
            acc = zero
            for c in range(C):
                acc += E[j, c] * H[k, c]
            gD[j, k] += acc
    for k in range(m):
        for c in range(C):
            G[k, c] = zero
        for j in range(n):
            d = D[j, k]
            for c in range(C):
                G[k, c] += d * E[j, c]
    if dense:
        for i in range(n):
            for k in range(m):
                acc = zero
                for c in range(C):
                    acc += XT[i, c] * G[k, c]
                gW[i, k] += acc
    else:
        for e in range(nnz):
            c = ent_c[e]
            i = ent_i[e]
            x = XT[i, c]
            for k in range(m):
                gW[i, k] += x * G[k, c]


@njit(fastmath=_FAST, **_JIT)
def gram_setup(W, D, bvec, has_bias, xi, noisy, GT, Tt, bz, esum):
    """Per step: ``Gᵀ_ij = W_i·D_j``, ``bz = b + Dξ``, ``Tᵀ = 0``, ``Σ E = 0``."""
    n, m = W.shape
    zero = W[0, 0] * 0
    for i in range(n):
        for j in range(n):
            acc = zero
            for k in range(m):
                acc += W[i, k] * D[j, k]
            GT[i, j] = acc
            Tt[i, j] = zero
        acc = bvec[i] if has_bias else zero
        if noisy:
            for k in range(m):
                acc += D[i, k] * xi[k]
        bz[i] = acc
        esum[i] = zero


@njit(fastmath=_FAST, **_JIT)
def gram_forward(bz, XT, Xr, Pr, GT, ent_c, ent_i, nnz, C):
    """``P_c = b + Dξ + Σ_{i active} x_ic G_i`` (``G = D Wᵀ``): ``n`` multiply–adds per entry,
    into the example-major ``Pr`` (C×n, one contiguous row per example); copies the inputs to
    the example-major ``Xr`` (zero on entry)."""
    n = Pr.shape[1]
    for c in range(C):
        for j in range(n):
            Pr[c, j] = bz[j]
    for e in range(nnz):
        c = ent_c[e]
        i = ent_i[e]
        x = XT[i, c]
        Xr[c, i] = x
        for j in range(n):
            Pr[c, j] += x * GT[i, j]


@njit(fastmath=_FAST, **_JIT)
def gram_backward(XT, Er, Tt, esum, ent_c, ent_i, nnz, C):
    """``Σ_c E_c`` and ``Tᵀ_i += Σ_c x_ic E_c`` over the block's active entries (``Er``: C×n)."""
    n = Er.shape[1]
    for c in range(C):
        for j in range(n):
            esum[j] += Er[c, j]
    for e in range(nnz):
        c = ent_c[e]
        i = ent_i[e]
        x = XT[i, c]
        for j in range(n):
            Tt[i, j] += x * Er[c, j]


@njit(fastmath=_FAST, **_JIT)
def gram_finish(W, D, has_bias, xi, noisy, Tt, esum, gW, gD, gb):
    """Gradients of the Gram-path blocks: ``∂L/∂D = T W + (Σ E) ξᵀ``, ``∂L/∂W = Tᵀ D``,
    ``∂L/∂b = Σ E`` (``T_ji = Σ_c E_jc x_ic``)."""
    n, m = W.shape
    for j in range(n):
        if has_bias:
            gb[j] += esum[j]
        for k in range(m):
            a = W[0, 0] * 0
            g = a
            for i in range(n):
                a += Tt[i, j] * W[i, k]
                g += Tt[j, i] * D[i, k]
            if noisy:
                a += esum[j] * xi[k]
            gD[j, k] += a
            gW[j, k] += g


__all__ = ["DENSE_FRACTION", "GRAM_ENTRIES", "block_forward", "block_residual", "block_backward",
           "gram_setup", "gram_forward", "gram_backward", "gram_finish"]
