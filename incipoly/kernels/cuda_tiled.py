"""The tiled path of the one-hot CUDA backend (the paper's n=256, m up to 4096+): per step 3
launches (4 with noise), instances on the slowest grid axis, many blocks per instance.

*noise* writes ξ; *gram* forms the upper tiles ``ti ≤ tj`` of ``G = W Wᵀ`` from shared-memory
tiles of W (padded rows: no bank conflicts) and mirrors them, its diagonal tiles also giving ``z``;
*residual* turns ``G`` into ``D`` in place, one block per ``tile`` rows × ``tile²`` columns, with
partial column sums ``c`` and float64 loss partials per block; *step* forms ∇ by shared tiles of
``D``, ``Dᵀ`` and ``W``, sums the ``c`` partials in row-block order, and applies the update,
reading W from one buffer and writing the other (double buffering: other blocks still read the
old W). Equations: :mod:`incipoly.kernels.cuda`.
"""
import functools
import math

from numba import float64, from_dtype

from .cuda_device import _block_total, _device_functions, cuda, kernel
from .noise import noise_value


@functools.cache
def _tiled_kernels(dtype, tile):
    """``(noise, gram, residual, step)`` kernels of the tiled path for ``dtype`` and ``tile``."""
    zero = dtype.type(0)
    residual, update = _device_functions(dtype)
    block_total = _block_total()
    nbtype = from_dtype(dtype)
    threads = tile * tile
    pad = tile + 1  # padded rows: column reads of a tile hit distinct banks

    @kernel(threads)
    def noise_kernel(xi, keys, t, noise, sigma, bad_step):
        """``ξ[s, u]`` for step ``t``; grid (⌈m/tile²⌉, S), tile² threads."""
        s = cuda.blockIdx.y
        u = cuda.blockIdx.x * threads + cuda.threadIdx.x
        m = xi.shape[1]
        if u < m and bad_step[s] < 0:
            xi[s, u] = noise_value(noise, sigma, keys[s], t, u, m)

    @kernel(threads)
    def gram_kernel(W, xi, G, z, noisy, bad_step):
        """``G = W Wᵀ`` by upper tiles ``(ti ≤ tj)``, mirrored; diagonal tiles also give
        ``z = W ξ``. Grid (T(T+1)/2, S) with ``T = ⌈n/tile⌉``, blocks (tile, tile)."""
        s = cuda.blockIdx.y
        if bad_step[s] >= 0:
            return
        n, m = W.shape[1], W.shape[2]
        nt = (n + tile - 1) // tile
        ti = 0
        r = cuda.blockIdx.x
        while r >= nt - ti:
            r -= nt - ti
            ti += 1
        tj = ti + r
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        sh = cuda.shared.array(0, nbtype)  # A, B: (tile, pad) row-major; X: (tile,)
        A = sh[:tile * pad]
        B = sh[tile * pad:2 * tile * pad]
        X = sh[2 * tile * pad:2 * tile * pad + tile]
        row_a, row_b = ti * tile + ty, tj * tile + ty
        with_z = noisy and ti == tj and ty == 0
        acc = zero
        zacc = zero
        for l0 in range(0, m, tile):
            u = l0 + tx
            A[ty * pad + tx] = W[s, row_a, u] if row_a < n and u < m else zero
            B[ty * pad + tx] = W[s, row_b, u] if row_b < n and u < m else zero
            if with_z:
                X[tx] = xi[s, u] if u < m else zero
            cuda.syncthreads()
            for q in range(tile):
                acc += A[ty * pad + q] * B[tx * pad + q]
            if with_z:
                for q in range(tile):
                    zacc += B[tx * pad + q] * X[q]
            cuda.syncthreads()
        i, j = ti * tile + ty, tj * tile + tx
        if i < n and j < n:
            G[s, i, j] = acc
            G[s, j, i] = acc
            if with_z:
                z[s, j] = zacc

    @kernel(threads)
    def residual_kernel(G, z, cp, lossp, noisy, bad_step):
        """In place ``G → D`` on rows ``i ∈ [tile·y, tile·y + tile)``, the partial column sums
        ``cp[s, y, j] = Σ_i D_ij`` over those rows and this block's float64 loss into
        ``lossp[s, y·⌈n/tile²⌉ + x]``; one thread per column j (coalesced), grid
        (⌈n/tile²⌉, ⌈n/tile⌉, S), tile² threads. Many blocks per instance; the step kernel sums
        ``cp`` over y in a fixed order (deterministic)."""
        s = cuda.blockIdx.z
        if bad_step[s] >= 0:
            return
        tid = cuda.threadIdx.x
        j = cuda.blockIdx.x * threads + tid
        i0 = cuda.blockIdx.y * tile
        n = G.shape[1]
        part = cuda.shared.array(0, float64)
        loss = 0.0
        if j < n:
            zj = z[s, j]
            cj = zero
            for i in range(i0, min(i0 + tile, n)):
                d, r2 = residual(G[s, i, j] + zj if noisy else G[s, i, j], i == j)
                G[s, i, j] = d
                cj += d
                loss += r2
            cp[s, cuda.blockIdx.y, j] = cj
        loss = block_total(part, loss, tid, threads)
        if tid == 0:
            lossp[s, cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x] = loss

    @kernel(threads)
    def step_kernel(W, W_out, M1, V, D, cp, xi, lossp, hp, sched, q, t, t_last, opt, noisy,
                    bad_step):
        """``∇ = (D + Dᵀ) W + c ξᵀ`` (``c`` summed from ``cp``) by (tile, tile) tiles and the
        update ``W → W_out``; flags step ``t`` when its loss is non-finite (then copies W).
        Grid (⌈m/tile⌉, ⌈n/tile⌉, S)."""
        s = cuda.blockIdx.z
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        kb = cuda.blockIdx.y * tile
        k, u = kb + ty, cuda.blockIdx.x * tile + tx
        n, m = W.shape[1], W.shape[2]
        inside = k < n and u < m
        # Flags from earlier steps only: blocks of this launch may be writing t meanwhile.
        flagged = bad_step[s]
        frozen = flagged >= 0 and flagged < t
        if not frozen:
            total = 0.0
            for b in range(lossp.shape[1]):
                total += lossp[s, b]
            if not math.isfinite(total):
                frozen = True
                if k == 0 and u == 0:
                    bad_step[s] = t
        if frozen:
            if inside:
                W_out[s, k, u] = W[s, k, u]
            return
        sh = cuda.shared.array(0, nbtype)  # A, B, Wt: (tile, pad) row-major
        A = sh[:tile * pad]
        B = sh[tile * pad:2 * tile * pad]
        Wt = sh[2 * tile * pad:3 * tile * pad]
        acc = zero
        for j0 in range(0, n, tile):
            A[ty * pad + tx] = D[s, k, j0 + tx] if k < n and j0 + tx < n else zero
            B[ty * pad + tx] = D[s, j0 + ty, kb + tx] if j0 + ty < n and kb + tx < n else zero
            Wt[ty * pad + tx] = W[s, j0 + ty, u] if j0 + ty < n and u < m else zero
            cuda.syncthreads()
            for jj in range(tile):
                acc += (A[ty * pad + jj] + B[jj * pad + ty]) * Wt[jj * pad + tx]
            cuda.syncthreads()
        if inside:
            if noisy:
                ck = cp[s, 0, k]
                for r in range(1, cp.shape[1]):
                    ck += cp[s, r, k]
                g = acc + ck * xi[s, u]
            else:
                g = acc
            if opt == 0:
                w, M1[s, k, u], V[s, k, u] = update(opt, W[s, k, u], M1[s, k, u], V[s, k, u], g,
                                                    hp, sched[q, 0], sched[q, 1])
            else:
                w, _, _ = update(opt, W[s, k, u], zero, zero, g, hp, zero, zero)
            W_out[s, k, u] = w
            if t == t_last and not math.isfinite(w):
                bad_step[s] = t

    return noise_kernel, gram_kernel, residual_kernel, step_kernel


__all__ = []
