"""CUDA backend (numba-cuda): the CPU kernels' training step, batched over instances on one GPU.

Imported lazily by ``train(..., backend="cuda")``; ``import incipoly`` never loads it.

Each step computes, per instance, with ``z_j = W_j·ξ`` (as in :mod:`incipoly.kernels.cpu`)::

    G = W Wᵀ,  P_ij = G_ij + z_j,  D_ij = 2 (P_ij − δ_ij) · [P_ij > 0],  c_k = Σ_i D_ik
    ∇_kl = Σ_j (D_kj + D_jk) W_jl + c_k ξ_l

then the optimiser update of :func:`incipoly.kernels.cpu._update` (same formulas, same operation
order, scalars ``hp`` cast to the weights' dtype; AdamW's per-step ``lr/(1−β₁ᵗ)`` and
``√(1−β₂ᵗ)`` computed in float64 on the host, as :func:`~incipoly.kernels.cpu._step_scalars`
does, then cast). Results agree with the CPU backend to rounding: sums run in another order
(and the GPU fuses multiply-adds), so bits may differ.

Two paths, chosen per run by the shared memory one small-path block needs,
``8·threads + (2nm + n² + m + n)·itemsize`` bytes (:func:`small_shared_bytes`: float64 loss
partials, then W, D, ∇, ξ, z):

* **small** (at most ``small_max_bytes``, default :data:`SMALL_MAX_BYTES`): one block of
  ``small_threads`` threads per instance runs a whole chunk of steps in one launch, W and all
  scratch in shared memory, phases (ξ; z; G and D with the loss; loss check; ∇; update)
  separated by ``syncthreads``. Tiny models (n=8, m=16) are bound by launch overhead, which
  this pays once per chunk instead of a few times per step. Each ``G_ij``, ``i ≤ j``, is formed
  once and gives both ``D_ij`` and ``D_ji``.
* **tiled** (otherwise; the paper's n=256, m up to 4096+): per step 3 launches (4 with noise),
  instances on the slowest grid axis, ``tile×tile``-thread blocks (default :data:`TILE`):
  *noise* writes ξ; *gram* forms the upper tiles ``ti ≤ tj`` of ``G = W Wᵀ`` from shared-memory
  tiles of W (padded rows: no bank conflicts) and mirrors them, its diagonal tiles also giving
  ``z``; *residual* (one thread per column j, coalesced) turns ``G`` into ``D`` in place and
  sums ``c_j`` and a float64 loss per block; *step* forms ∇ by shared tiles of ``D``, ``Dᵀ``
  and ``W`` and applies the update, reading W from one buffer and writing the other (double
  buffering: other blocks still read the old W).

Both paths use only dynamic shared memory (also the one kind that numba-cuda's simulator
allocates without a race between its threads).

Memory: all arrays stay on the device for the whole run, C-contiguous, instance-major:
``W`` (S, n, m) (×2 on the tiled path), AdamW moments (S, n, m) (a (S, 1, 1) placeholder for
other optimisers), ``keys`` (S,), ``bad_step`` (S,); tiled scratch ``G/D`` (S, n, n), ``z``, ``c``
(S, n), ``ξ`` (S, m), loss partials (S, ⌈n/tile²⌉) float64. Only ``bad_step`` comes back per
chunk; :meth:`CudaState.weights` copies W on demand.

Noise parity: kernels call the same ``register_jitable`` :func:`~incipoly.kernels.noise.noise_value`
with the same counters (instance key, 0-based step, hidden unit), computed in float64 and then
stored in the weights' dtype, exactly as the CPU loop does, so both backends draw the same
noise (bernoulli bit for bit; gaussian up to the last bit of the GPU's ``log``/``cos``).

Divergence: as on the CPU, an instance is flagged at step ``t`` when step ``t``'s loss (a float64
sum of the ``(ReLU(P) − δ)²``, each squared in the weights' dtype as the CPU does) is non-finite,
and at the chunk's last step when its updated weights are non-finite; flagged instances are
frozen (the tiled path then only copies W between its buffers).
"""
import functools
import math

import numpy as np

from ..config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from . import cpu
from .cpu import _B1, _B1C, _B2, _B2C, _DECAY, _EPS, _L1, _LR, OPT_CODES, make_hyperparameters
from .noise import NOISE_CODES, noise_value

try:
    from numba import cuda
except ImportError:  # numba without a CUDA target and numba-cuda not installed
    cuda = None
from numba import float64, from_dtype

#: Largest shared memory (bytes, :func:`small_shared_bytes`) of a small-path block; larger
#: problems take the tiled path. 48 KiB: what every GPU gives a block without opting in.
SMALL_MAX_BYTES = 48 * 1024
#: Threads per block on the small path.
SMALL_THREADS = 128
#: Tile edge of the tiled path (blocks of TILE×TILE threads).
TILE = 16
#: The tiled path puts instances on grid axes y/z, which CUDA caps at this many blocks.
MAX_TILED_INSTANCES = 65535

INSTALL_HINT = 'pip install "incipoly[cuda]"'


def require_gpu():
    """Raise a clear error unless numba-cuda is importable and sees a usable GPU."""
    if cuda is None:
        raise ImportError(
            'backend="cuda" needs numba-cuda (numba\'s CUDA target), which is not installed. '
            f'Install it with: {INSTALL_HINT} (it also needs an NVIDIA driver; add the CUDA '
            'libraries with pip install "numba-cuda[cu12]" or "numba-cuda[cu13]" to match it).')
    if not cuda.is_available():
        raise RuntimeError(
            'backend="cuda" found no usable NVIDIA GPU: numba.cuda.is_available() is False '
            '(no GPU, no driver, or no CUDA libraries). On a machine with a GPU: '
            f'{INSTALL_HINT}, plus "numba-cuda[cu12]" or "numba-cuda[cu13]" for the CUDA '
            'libraries matching the driver. incipoly.available_backends() lists what works here; '
            'backend="cpu" always does.')


def small_shared_bytes(n, m, dtype, threads):
    """Shared memory of one small-path block: a float64 loss partial per thread, then W, D, ∇,
    ξ and z: ``8·threads + (2nm + n² + m + n)·itemsize`` bytes."""
    return 8 * threads + (2 * n * m + n * n + m + n) * np.dtype(dtype).itemsize


def step_schedule(hp64, t0, nsteps, dtype):
    """AdamW's ``lr/(1 − β₁ᵗ)`` and ``√(1 − β₂ᵗ)`` for the 1-based steps ``t0+1 … t0+nsteps``.

    Float64 (libm ``pow``, like :func:`incipoly.kernels.cpu._step_scalars`), then cast: shape
    ``(nsteps, 2)`` in ``dtype``.
    """
    lr, b1, b2 = float(hp64[_LR]), float(hp64[_B1]), float(hp64[_B2])
    out = np.empty((nsteps, 2))
    for q in range(nsteps):
        t = float(t0 + q + 1)
        out[q, 0] = lr / (1.0 - b1 ** t)
        out[q, 1] = math.sqrt(1.0 - b2 ** t)
    return out.astype(dtype)


@functools.lru_cache(maxsize=None)
def _device_functions(dtype):
    """Residual and optimiser update as device functions for ``dtype`` (typed constants keep
    float32 arithmetic in float32)."""
    zero, one = dtype.type(0), dtype.type(1)

    @cuda.jit(device=True)
    def sign(x):
        """``np.sign``: ±1, zero at ±0, NaN at NaN."""
        if x > zero:
            return one
        if x < zero:
            return -one
        return x * zero

    @cuda.jit(device=True)
    def residual(p, diag):
        """``(D, r²)`` for one entry: ``d = ReLU(p)``, ``r = d − δ``, ``D = 2r`` where ``p > 0``
        else ``0``. ``r²`` is squared in the weights' dtype, as the CPU loss is (Numba's
        ``float()`` keeps float32), then widened for the float64 sum, so both backends see a
        non-finite loss at the same step; ``p − p`` (not 0) lets NaN and ±inf reach it."""
        d = p if p > zero else p - p
        r = d - one if diag else d
        return (r + r if p > zero else d + d), float64(r * r)

    @cuda.jit(device=True)
    def update(opt, w, m1, v, g, hp, step_size, bc2_sqrt):
        """One weight's optimiser step, the CPU ``_update`` formula for formula; ``(w, m1, v)``.

        adamw: ``g ← g + λ sign(w)``, ``m ← m + (1−β₁)(g − m)``, ``v ← β₂v + (1−β₂)g²``,
        ``w ← w(1 − lr·wd) − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)``; sgd:
        ``w ← w(1 − lr·wd) − lr(g + λ sign(w))``; gd-prox: ``u = w(1 − lr·wd) − lr·g``,
        ``w ← sign(u)·max(|u| − lr·λ, 0)``.
        """
        lr, l1, decay = hp[_LR], hp[_L1], hp[_DECAY]
        if opt == 0:
            gk = g + l1 * sign(w)
            mk = m1 + hp[_B1C] * (gk - m1)
            vk = v * hp[_B2] + hp[_B2C] * gk * gk
            return w * decay + -step_size * mk / (math.sqrt(vk) / bc2_sqrt + hp[_EPS]), mk, vk
        if opt == 1:
            return w * decay + -lr * (g + l1 * sign(w)), m1, v
        u = w * decay + -lr * g
        a = abs(u) - lr * l1
        return (sign(u) * a if a > zero else u * zero), m1, v

    return residual, update


@functools.lru_cache(maxsize=None)
def _block_loss_is_finite():
    """Device function ``finite = f(part, loss, tid, threads, bad_step, s, t)`` for one-block-per-
    instance kernels: sums every thread's float64 ``loss`` into ``part[0]`` (thread 0, in thread
    order, so the total does not depend on timing), flags ``bad_step[s] = t`` when it is not
    finite, and returns that verdict to every thread. Both barriers are inside: every thread of
    the block must call it. ``part[0]`` is next written after two more barriers."""

    @cuda.jit(device=True)
    def block_loss_is_finite(part, loss, tid, threads, bad_step, s, t):
        part[tid] = loss
        cuda.syncthreads()
        if tid == 0:
            for q in range(1, threads):
                loss += part[q]
            part[0] = loss
            if not math.isfinite(loss):
                bad_step[s] = t
        cuda.syncthreads()
        return math.isfinite(part[0])

    return block_loss_is_finite


@functools.lru_cache(maxsize=None)
def _small_kernel(dtype, threads):
    """One block per instance, ``nsteps`` steps per launch, everything in shared memory."""
    zero = dtype.type(0)
    residual, update = _device_functions(dtype)
    block_loss_is_finite = _block_loss_is_finite()
    nbtype = from_dtype(dtype)
    base = threads * 8 // dtype.itemsize  # the weights' arrays start after the float64 partials

    @cuda.jit
    def chunk(W, M1, V, keys, hp, sched, t0, nsteps, opt, noise, sigma, bad_step):
        """Steps ``t0 … t0+nsteps−1``; grid S, ``threads`` threads, dynamic shared memory
        :func:`small_shared_bytes`."""
        s = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        n, m = W.shape[1], W.shape[2]
        nm, nn = n * m, n * n
        part = cuda.shared.array(0, float64)
        buf = cuda.shared.array(0, nbtype)
        w = buf[base:base + nm]
        D = buf[base + nm:base + nm + nn]
        grad = buf[base + nm + nn:base + 2 * nm + nn]
        xi = buf[base + 2 * nm + nn:base + 2 * nm + nn + m]
        z = buf[base + 2 * nm + nn + m:base + 2 * nm + nn + m + n]
        if bad_step[s] >= 0:
            return
        for e in range(tid, nm, threads):
            w[e] = W[s, e // m, e % m]
        cuda.syncthreads()
        noisy = noise != 0
        finite = True
        for t in range(t0, t0 + nsteps):
            if noisy:
                for j in range(tid, m, threads):
                    xi[j] = noise_value(noise, sigma, keys[s], t, j, m)
                cuda.syncthreads()
                for j in range(tid, n, threads):
                    acc = w[j * m] * xi[0]
                    for l in range(1, m):
                        acc += w[j * m + l] * xi[l]
                    z[j] = acc
                cuda.syncthreads()
            loss = 0.0
            for e in range(tid, nn, threads):
                i = e // n
                j = e - i * n
                if i <= j:
                    g = w[i * m] * w[j * m]
                    for l in range(1, m):
                        g += w[i * m + l] * w[j * m + l]
                    d, r2 = residual(g + z[j] if noisy else g, i == j)
                    D[e] = d
                    loss += r2
                    if i < j:
                        d, r2 = residual(g + z[i] if noisy else g, False)
                        D[j * n + i] = d
                        loss += r2
            finite = block_loss_is_finite(part, loss, tid, threads, bad_step, s, t)
            if not finite:
                break
            for e in range(tid, nm, threads):
                k = e // m
                l = e - k * m
                acc = zero
                ck = zero
                for j in range(n):
                    djk = D[j * n + k]
                    acc += (D[k * n + j] + djk) * w[j * m + l]
                    ck += djk
                grad[e] = acc + ck * xi[l] if noisy else acc
            cuda.syncthreads()
            q = t - t0
            for e in range(tid, nm, threads):
                if opt == 0:
                    k = e // m
                    l = e - k * m
                    w[e], M1[s, k, l], V[s, k, l] = update(
                        opt, w[e], M1[s, k, l], V[s, k, l], grad[e], hp, sched[q, 0], sched[q, 1])
                else:
                    w[e], _, _ = update(opt, w[e], zero, zero, grad[e], hp, zero, zero)
            cuda.syncthreads()
        for e in range(tid, nm, threads):
            W[s, e // m, e % m] = w[e]
            if finite and not math.isfinite(w[e]):
                bad_step[s] = t0 + nsteps - 1

    return chunk


@functools.lru_cache(maxsize=None)
def _tiled_kernels(dtype, tile):
    """``(noise, gram, residual, step)`` kernels of the tiled path for ``dtype`` and ``tile``."""
    zero = dtype.type(0)
    residual, update = _device_functions(dtype)
    nbtype = from_dtype(dtype)
    threads = tile * tile
    pad = tile + 1  # padded rows: column reads of a tile hit distinct banks

    @cuda.jit
    def noise_kernel(xi, keys, t, noise, sigma, bad_step):
        """``ξ[s, l]`` for step ``t``; grid (⌈m/tile²⌉, S), tile² threads."""
        s = cuda.blockIdx.y
        l = cuda.blockIdx.x * threads + cuda.threadIdx.x
        m = xi.shape[1]
        if l < m and bad_step[s] < 0:
            xi[s, l] = noise_value(noise, sigma, keys[s], t, l, m)

    @cuda.jit
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
            l = l0 + tx
            A[ty * pad + tx] = W[s, row_a, l] if row_a < n and l < m else zero
            B[ty * pad + tx] = W[s, row_b, l] if row_b < n and l < m else zero
            if with_z:
                X[tx] = xi[s, l] if l < m else zero
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

    @cuda.jit
    def residual_kernel(G, z, c, lossp, noisy, bad_step):
        """In place ``G → D``, ``c_j = Σ_i D_ij`` and this block's float64 loss into
        ``lossp[s, block]``; one thread per column, grid (⌈n/tile²⌉, S), tile² threads."""
        s = cuda.blockIdx.y
        if bad_step[s] >= 0:
            return
        tid = cuda.threadIdx.x
        j = cuda.blockIdx.x * threads + tid
        n = G.shape[1]
        part = cuda.shared.array(0, float64)
        loss = 0.0
        if j < n:
            zj = z[s, j]
            cj = zero
            for i in range(n):
                d, r2 = residual(G[s, i, j] + zj if noisy else G[s, i, j], i == j)
                G[s, i, j] = d
                cj += d
                loss += r2
            c[s, j] = cj
        part[tid] = loss
        cuda.syncthreads()
        if tid == 0:
            total = part[0]
            for q in range(1, threads):
                total += part[q]
            lossp[s, cuda.blockIdx.x] = total

    @cuda.jit
    def step_kernel(W, W_out, M1, V, D, c, xi, lossp, hp, sched, q, t, t_last, opt, noisy,
                    bad_step):
        """``∇ = (D + Dᵀ) W + c ξᵀ`` by (tile, tile) tiles and the update ``W → W_out``; flags
        step ``t`` when its loss is non-finite (then copies W). Grid (⌈m/tile⌉, ⌈n/tile⌉, S)."""
        s = cuda.blockIdx.z
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        kb = cuda.blockIdx.y * tile
        k, l = kb + ty, cuda.blockIdx.x * tile + tx
        n, m = W.shape[1], W.shape[2]
        inside = k < n and l < m
        # Flags from earlier steps only: blocks of this launch may be writing t meanwhile.
        flagged = bad_step[s]
        frozen = flagged >= 0 and flagged < t
        if not frozen:
            total = 0.0
            for b in range(lossp.shape[1]):
                total += lossp[s, b]
            if not math.isfinite(total):
                frozen = True
                if k == 0 and l == 0:
                    bad_step[s] = t
        if frozen:
            if inside:
                W_out[s, k, l] = W[s, k, l]
            return
        sh = cuda.shared.array(0, nbtype)  # A, B, Wt: (tile, pad) row-major
        A = sh[:tile * pad]
        B = sh[tile * pad:2 * tile * pad]
        Wt = sh[2 * tile * pad:3 * tile * pad]
        acc = zero
        for j0 in range(0, n, tile):
            A[ty * pad + tx] = D[s, k, j0 + tx] if k < n and j0 + tx < n else zero
            B[ty * pad + tx] = D[s, j0 + ty, kb + tx] if j0 + ty < n and kb + tx < n else zero
            Wt[ty * pad + tx] = W[s, j0 + ty, l] if j0 + ty < n and l < m else zero
            cuda.syncthreads()
            for jj in range(tile):
                acc += (A[ty * pad + jj] + B[jj * pad + ty]) * Wt[jj * pad + tx]
            cuda.syncthreads()
        if inside:
            g = acc + c[s, k] * xi[s, l] if noisy else acc
            if opt == 0:
                w, M1[s, k, l], V[s, k, l] = update(opt, W[s, k, l], M1[s, k, l], V[s, k, l], g,
                                                    hp, sched[q, 0], sched[q, 1])
            else:
                w, _, _ = update(opt, W[s, k, l], zero, zero, g, hp, zero, zero)
            W_out[s, k, l] = w
            if t == t_last and not math.isfinite(w):
                bad_step[s] = t

    return noise_kernel, gram_kernel, residual_kernel, step_kernel


class CudaState:
    """Device-side state of a CUDA run; the interface of ``train``'s CPU state.

    Parameters
    ----------
    config : Config
    W : ndarray, shape (S, n, m)
        Initial weights in ``config.dtype``; copied to the device.
    keys : ndarray of uint64, shape (S,)
        Noise keys (:func:`incipoly.init.noise_keys`).
    small_max_bytes, small_threads, tile : int, optional
        Path threshold (bytes of :func:`small_shared_bytes`), block size of the small path and
        tile edge of the tiled path; module defaults :data:`SMALL_MAX_BYTES`,
        :data:`SMALL_THREADS`, :data:`TILE` (read at construction, so tests can change them).

    Attributes
    ----------
    path : {"small", "tiled"}
    bad_step : ndarray of int64, shape (S,)
        Host copy: step at which an instance was found non-finite, −1 otherwise.
    row_stats : callable
        :func:`incipoly.kernels.cpu.row_stats`, applied by ``train`` to :meth:`weights`.

    Raises
    ------
    ImportError, RuntimeError
        Without numba-cuda, or without a usable GPU (message says how to install).
    """

    def __init__(self, config, W, keys, *, small_max_bytes=None, small_threads=None, tile=None):
        require_gpu()
        S, n, m = W.shape
        self.dtype = np.dtype(W.dtype)
        self.small_max_bytes = SMALL_MAX_BYTES if small_max_bytes is None else small_max_bytes
        self.small_threads = SMALL_THREADS if small_threads is None else small_threads
        self.tile = TILE if tile is None else tile
        if not (1 <= self.small_threads <= 1024 and 1 <= self.tile <= 32):
            raise ValueError("small_threads must lie in [1, 1024] and tile in [1, 32] (CUDA "
                             f"blocks hold 1024 threads); got {self.small_threads}, {self.tile}")
        self._shared = small_shared_bytes(n, m, self.dtype, self.small_threads)
        self.path = "small" if self._shared <= self.small_max_bytes else "tiled"
        if self.path == "tiled" and S > MAX_TILED_INSTANCES:
            raise ValueError(f"the tiled CUDA path trains at most {MAX_TILED_INSTANCES} instances "
                             f"per call; got {S} (split the seeds)")
        self.opt = OPT_CODES[config.optimizer]
        self.noise = NOISE_CODES[config.noise]
        self.sigma = float(config.noise_std)
        self._hp64 = make_hyperparameters(config, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        self._hp = cuda.to_device(self._hp64.astype(self.dtype))
        self._W = cuda.to_device(np.ascontiguousarray(W))
        moment_shape = W.shape if config.optimizer == "adamw" else (S, 1, 1)
        self._M1 = cuda.to_device(np.zeros(moment_shape, self.dtype))
        self._V = cuda.to_device(np.zeros(moment_shape, self.dtype))
        self._keys = cuda.to_device(np.ascontiguousarray(keys, dtype=np.uint64))
        self.bad_step = np.full(S, -1, np.int64)
        self._bad = cuda.to_device(self.bad_step)
        self.row_stats = cpu.row_stats
        if self.path == "small":
            self._kernel = _small_kernel(self.dtype, self.small_threads)
        else:
            self._kernels = _tiled_kernels(self.dtype, self.tile)
            threads = self.tile * self.tile
            self._W_out = cuda.device_array_like(self._W)
            self._G = cuda.device_array((S, n, n), self.dtype)
            self._z = cuda.to_device(np.zeros((S, n), self.dtype))
            self._c = cuda.device_array((S, n), self.dtype)
            self._xi = cuda.device_array((S, m if self.noise else 1), self.dtype)
            self._lossp = cuda.device_array((S, -(-n // threads)), np.float64)
            # (grid, block, stream, dynamic shared bytes) of each kernel
            tile, nt, size = self.tile, -(-n // self.tile), self.dtype.itemsize
            tile_bytes = tile * (tile + 1) * size
            self._launch = {
                "noise": ((-(-m // threads), S), threads, 0, 0),
                "gram": ((nt * (nt + 1) // 2, S), (tile, tile), 0, 2 * tile_bytes + tile * size),
                "residual": ((-(-n // threads), S), threads, 0, 8 * threads),
                "step": ((-(-m // tile), nt, S), (tile, tile), 0, 3 * tile_bytes),
            }

    def advance(self, t0, nsteps):
        """Run steps ``t0 … t0+nsteps−1`` on the device; return the indices of diverged instances."""
        sched = cuda.to_device(step_schedule(self._hp64, t0, nsteps, self.dtype))
        S = self.bad_step.shape[0]
        if self.path == "small":
            self._kernel[S, self.small_threads, 0, self._shared](
                self._W, self._M1, self._V, self._keys, self._hp, sched, t0, nsteps, self.opt,
                self.noise, self.sigma, self._bad)
        else:
            self._advance_tiled(t0, nsteps, sched)
        self._bad.copy_to_host(self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def _advance_tiled(self, t0, nsteps, sched):
        noise_k, gram_k, residual_k, step_k = self._kernels
        noisy = self.noise != 0
        for q in range(nsteps):
            t = t0 + q
            if noisy:
                noise_k[self._launch["noise"]](self._xi, self._keys, t, self.noise, self.sigma,
                                               self._bad)
            gram_k[self._launch["gram"]](self._W, self._xi, self._G, self._z, noisy, self._bad)
            residual_k[self._launch["residual"]](self._G, self._z, self._c, self._lossp, noisy,
                                                 self._bad)
            step_k[self._launch["step"]](
                self._W, self._W_out, self._M1, self._V, self._G, self._c, self._xi, self._lossp,
                self._hp, sched, q, t, t0 + nsteps - 1, self.opt, noisy, self._bad)
            self._W, self._W_out = self._W_out, self._W

    def weights(self):
        """Host copy of the current weights, shape (S, n, m)."""
        return self._W.copy_to_host()


__all__ = ["CudaState", "require_gpu", "small_shared_bytes", "step_schedule", "SMALL_MAX_BYTES",
           "SMALL_THREADS", "TILE"]
