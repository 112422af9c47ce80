"""Compiled CPU kernels (Numba ``@njit``): forward/backward, optimiser updates, training chunks.

For one instance with weights ``W`` (n×m), hidden noise ``ξ`` (length m) and ``z_j = W_j·ξ``:

    P_ij = (W_i + ξ)·W_j = G_ij + z_j,            G = W Wᵀ  (symmetric: half is computed)
    L    = Σ_ij (ReLU(P_ij) − δ_ij)²,             D_ij = ∂L/∂P_ij = 2 (P_ij − δ_ij) · [P_ij > 0]
    ∇_k  = Σ_j (D_kj + D_jk) W_j + (Σ_i D_ik) ξ   (noiseless: D is symmetric and ∇ = 2 D W)

Entries with ``P_ij ≤ 0`` give ``D_ij = 0``; once ``D + Dᵀ`` is sparse (gd-prox, with exact
zeros) the gradient loop skips them. Under AdamW + L1 about 40 % of the off-diagonal ``G_ij`` stay
in (0, 1e-3] for the whole run, so large shapes stay on the dense gemm product. Training runs a
whole chunk of steps per call, in parallel over instances (``prange``); each instance touches
only its own slice, so results do not depend on the thread count.
"""
import numpy as np
from numba import njit, prange

from .blas import syrk_lower
from .cache import use_source_keyed_cache
from .noise import noise_value

use_source_keyed_cache()      # before any cache=True kernel of the package is defined

#: Reassociation lets LLVM vectorise the dot-product reductions; no nnan/ninf, so divergence
#: checks still see NaN and inf.
_FAST = {"reassoc", "contract", "nsz"}
#: IEEE division (no Python ZeroDivisionError check, which would block vectorisation); cached
#: on disk under a key of every kernel source (see :mod:`incipoly.kernels.cache`).
_JIT = {"cache": True, "error_model": "numpy"}

OPT_CODES = {"adamw": 0, "sgd": 1, "gd-prox": 2}

#: Use BLAS (syrk Gram, gemm product) from this many weights per instance (n·m) on.
BLAS_MIN_SIZE = 4096
#: Dense gemm for (D + Dᵀ) W while more than this fraction of its entries are non-zero.
DENSE_FRACTION = 0.1

# Layout of the per-step scalar vector ``hp`` (cast to the weights' dtype each step).
_LR, _L1, _DECAY, _B1, _B1C, _B2, _B2C, _EPS, _STEP_SIZE, _BC2_SQRT, _SIGMA = range(11)
N_HP = 11


@njit(fastmath=_FAST, **_JIT)
def _row_dot(A, i, B, j):
    """``A_i · B_j`` for rows of two matrices (index loops: no views in the hot path)."""
    acc = A[i, 0] * B[j, 0]
    for k in range(1, A.shape[1]):
        acc += A[i, k] * B[j, k]
    return acc


@njit(fastmath=_FAST, **_JIT)
def _gram(W, G):
    """Upper triangle of ``G = W Wᵀ`` mirrored into the lower one."""
    n = W.shape[0]
    for i in range(n):
        for j in range(i, n):
            g = _row_dot(W, i, W, j)
            G[i, j] = g
            G[j, i] = g


@njit(**_JIT)
def _gram_blas(W, G):
    """``G = W Wᵀ`` by one BLAS ``syrk`` (half the multiply–adds of a gemm), mirrored."""
    syrk_lower(W, G)
    n = W.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            G[i, j] = G[j, i]


@njit(fastmath=_FAST, **_JIT)
def _residual(G, z, noisy, Sm, c):
    """``Sm = D + Dᵀ`` and, with noise, ``c_k = Σ_i D_ik``, from the full (mirrored) ``G``.

    Returns ``L = Σ (ReLU(P) − δ)²`` (float64) and the number of entries with ``P > 0`` (the
    density that picks the dense or sparse product). Off the diagonal ``D_ij = 2·ReLU(P_ij)``;
    the diagonal (target 1) is fixed up after a branch-free pass over all entries.
    """
    n = G.shape[0]
    loss = 0.0
    nnz = 0
    for i in range(n):
        for j in range(n):
            p = G[i, j] + z[j] if noisy else G[i, j]
            pos = p > 0
            d = p if pos else p - p
            d2 = d + d
            Sm[i, j] = d2 if noisy else d2 + d2
            loss += float(d) * float(d)
            nnz += pos
    for i in range(n):
        p = G[i, i] + z[i] if noisy else G[i, i]
        if p > 0:
            r = p - 1
            Sm[i, i] = r + r if noisy else (r + r) + (r + r)
            loss += float(r) * float(r) - float(p) * float(p)
        else:
            loss += 1.0
    if noisy:
        for j in range(n):
            c[j] = 0
        for i in range(n):
            for j in range(n):
                c[j] += Sm[i, j]
        for i in range(n):          # symmetrise in place: Sm ← D + Dᵀ
            Sm[i, i] += Sm[i, i]
            for j in range(i + 1, n):
                d = Sm[i, j] + Sm[j, i]
                Sm[i, j] = d
                Sm[j, i] = d
    return loss, nnz


@njit(fastmath=_FAST, **_JIT)
def _sparse_rows_times(Sm, W, grad):
    """``grad = Sm W`` visiting only the non-zero entries of ``Sm`` (row-by-row axpy)."""
    n, m = W.shape
    for k in range(n):
        for l in range(m):
            grad[k, l] = 0
        for j in range(n):
            s = Sm[k, j]
            if s != 0:
                for l in range(m):
                    grad[k, l] += s * W[j, l]


@njit(fastmath=_FAST, **_JIT)
def _smooth_grad(W, xi, noisy, use_blas, G, Sm, z, c, grad):
    """Gradient of the smooth loss into ``grad``; returns the smooth loss.

    ``use_blas``: form ``G = W Wᵀ`` with BLAS syrk (faster than the hand-written symmetric loop
    from moderate sizes on, see bench/RESULTS.md), and ``(D + Dᵀ) W`` with gemm while ``D + Dᵀ``
    is denser than ``DENSE_FRACTION``; otherwise the product visits only its non-zero entries.
    """
    n, m = W.shape
    if noisy:
        for j in range(n):
            acc = W[j, 0] * xi[0]
            for l in range(1, m):
                acc += W[j, l] * xi[l]
            z[j] = acc
    if use_blas:
        _gram_blas(W, G)
    else:
        _gram(W, G)
    loss, nnz = _residual(G, z, noisy, Sm, c)
    if use_blas and nnz > DENSE_FRACTION * n * n:
        np.dot(Sm, W, grad)
    else:
        _sparse_rows_times(Sm, W, grad)
    if noisy:
        for k in range(n):
            ck = c[k]
            if ck != 0:
                for l in range(m):
                    grad[k, l] += ck * xi[l]
    return loss


@njit(**_JIT)
def _update(w, m1, v, g, opt, hp):
    """One optimiser step on flat views, in place (``hp``: the step's scalars in w's dtype).

    adamw (torch.optim.AdamW): ``w ← w(1 − lr·wd)``; ``m ← m + (1−β₁)(g − m)``;
    ``v ← β₂v + (1−β₂)g²``; ``w ← w − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)``.
    sgd: ``w ← w(1 − lr·wd) − lr·g``.  In both ``g = ∇ + λ·sign(w)``.
    gd-prox: ``u = w(1 − lr·wd) − lr·∇``, ``w ← sign(u)·max(|u| − lr·λ, 0)``.
    """
    lr, l1, decay = hp[_LR], hp[_L1], hp[_DECAY]
    neg_lr = -lr
    if opt == 0:
        b1c, b2, b2c, eps = hp[_B1C], hp[_B2], hp[_B2C], hp[_EPS]
        neg_step, bc2_sqrt = -hp[_STEP_SIZE], hp[_BC2_SQRT]
        for k in range(w.shape[0]):
            gk = g[k] + l1 * np.sign(w[k])
            mk = m1[k] + b1c * (gk - m1[k])
            vk = v[k] * b2 + b2c * gk * gk
            m1[k] = mk
            v[k] = vk
            w[k] = w[k] * decay + neg_step * mk / (np.sqrt(vk) / bc2_sqrt + eps)
    elif opt == 1:
        for k in range(w.shape[0]):
            w[k] = w[k] * decay + neg_lr * (g[k] + l1 * np.sign(w[k]))
    else:
        thr = lr * l1
        for k in range(w.shape[0]):
            u = w[k] * decay + neg_lr * g[k]
            a = abs(u) - thr
            w[k] = np.sign(u) * a if a > 0 else u * 0


@njit(fastmath=_FAST, **_JIT)
def _all_finite(w):
    """True unless ``w`` holds a NaN or ±inf (``Σ w·0`` is NaN exactly then)."""
    acc = w[0] * 0
    for k in range(1, w.shape[0]):
        acc += w[k] * 0
    return np.isfinite(acc)


@njit(**_JIT)
def _step_scalars(hp64, t, hp):
    """AdamW's bias-corrected scalars for the 1-based step ``t``, cast into ``hp`` (weights' dtype):
    ``lr / (1 − β₁ᵗ)`` and ``√(1 − β₂ᵗ)``, computed in float64 as torch does."""
    hp[_STEP_SIZE] = hp64[_LR] / (1.0 - hp64[_B1] ** float(t))
    hp[_BC2_SQRT] = np.sqrt(1.0 - hp64[_B2] ** float(t))


@njit(parallel=True, **_JIT)
def train_chunk(W, M1, V, keys, t0, nsteps, opt, noise, use_blas, hp64, bad_step):
    """Advance every instance from step ``t0`` by ``nsteps`` steps, in place.

    ``bad_step[s]`` is set to the (0-based) step at which instance ``s`` was found non-finite:
    the forward pass of every step sees a non-finite loss if any weight is NaN/inf, and the
    weights are checked once more after the chunk's last step. That instance then stops;
    instances with ``bad_step >= 0`` are skipped.
    """
    S, n, m = W.shape
    noisy = noise != 0
    for s in prange(S):
        if bad_step[s] >= 0:
            continue
        Ws = W[s]
        w, m1, v = Ws.ravel(), M1[s].ravel(), V[s].ravel()
        G = np.empty((n, n), W.dtype)
        Sm = np.empty((n, n), W.dtype)
        grad = np.empty((n, m), W.dtype)
        xi = np.zeros(m, W.dtype)
        z = np.zeros(n, W.dtype)
        c = np.zeros(n, W.dtype)
        hp = hp64.astype(W.dtype)
        for t in range(t0, t0 + nsteps):
            if noisy:
                for j in range(m):
                    xi[j] = noise_value(noise, hp64[_SIGMA], keys[s], t, j, m)
            loss = _smooth_grad(Ws, xi, noisy, use_blas, G, Sm, z, c, grad)
            if not np.isfinite(loss):
                bad_step[s] = t
                break
            if opt == 0:
                _step_scalars(hp64, t + 1, hp)
            _update(w, m1, v, grad.ravel(), opt, hp)
        if bad_step[s] < 0 and not _all_finite(w):
            bad_step[s] = t0 + nsteps - 1


@njit(**_JIT)
def loss_and_grad(W, xi, l1, use_blas=False):
    """Loss ``Σ (ReLU((W_i+ξ)·W_j) − δ_ij)² + λΣ|W|`` and its (sub)gradient for one instance."""
    n, m = W.shape
    G = np.empty((n, n), W.dtype)
    Sm = np.empty((n, n), W.dtype)
    z = np.zeros(n, W.dtype)
    c = np.zeros(n, W.dtype)
    grad = np.empty((n, m), W.dtype)
    loss = _smooth_grad(W, xi, True, use_blas, G, Sm, z, c, grad)
    for k in range(n):
        for l in range(m):
            grad[k, l] += l1 * np.sign(W[k, l])
            loss += l1 * abs(W[k, l])
    return loss, grad


@njit(parallel=True, fastmath=_FAST, **_JIT)
def row_stats(W, l1, tol, loss, l1n, l2n, l4n, active):
    """Noiseless loss per instance and per-feature Σ|w|, Σw², Σw⁴ and #{|w| > tol}.

    The Gram matrix is formed as in training (syrk from ``BLAS_MIN_SIZE`` weights on), so a
    history record costs less than one training step.
    """
    S, n, m = W.shape
    use_blas = n * m >= BLAS_MIN_SIZE
    for s in prange(S):
        Ws = W[s]
        G = np.empty((n, n), W.dtype)
        if use_blas:
            _gram_blas(Ws, G)
        else:
            _gram(Ws, G)
        total = 0.0
        for i in range(n):
            a1 = 0.0
            a2 = 0.0
            a4 = 0.0
            cnt = 0
            for l in range(m):
                w = float(Ws[i, l])
                w2 = w * w
                a1 += abs(w)
                a2 += w2
                a4 += w2 * w2
                cnt += abs(w) > tol
            l1n[s, i] = a1
            l2n[s, i] = a2
            l4n[s, i] = a4
            active[s, i] = cnt
            total += l1 * a1
            for j in range(n):
                p = float(G[i, j])
                y = p if p > 0 else 0.0
                r = y - 1.0 if i == j else y
                total += r * r
        loss[s] = total


def make_hyperparameters(config, beta1, beta2, eps):
    """Float64 constants ``hp64`` for :func:`train_chunk` from a :class:`~incipoly.Config`."""
    hp = np.zeros(N_HP)
    hp[_LR], hp[_L1] = config.lr, config.l1
    hp[_DECAY] = 1.0 - config.lr * config.weight_decay
    hp[_B1], hp[_B1C], hp[_B2], hp[_B2C], hp[_EPS] = beta1, 1.0 - beta1, beta2, 1.0 - beta2, eps
    hp[_SIGMA] = config.noise_std
    return hp


__all__ = ["OPT_CODES", "BLAS_MIN_SIZE", "DENSE_FRACTION", "N_HP", "train_chunk", "loss_and_grad",
           "row_stats", "make_hyperparameters"]
