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
  ``z``; *residual* (one thread per column j, coalesced; one block per ``tile`` rows, so many
  blocks per instance) turns ``G`` into ``D`` in place with partial sums of ``c_j`` and a
  float64 loss per block; *step* forms ∇ by shared tiles of ``D``, ``Dᵀ``
  and ``W`` and applies the update, reading W from one buffer and writing the other (double
  buffering: other blocks still read the old W).

Kernels live in :mod:`~incipoly.kernels.cuda_small` and :mod:`~incipoly.kernels.cuda_tiled`,
device functions in :mod:`~incipoly.kernels.cuda_device`; block sizes are checked against the
compiled kernels' registers and shared memory before anything runs
(:mod:`~incipoly.kernels.cuda_launch`). Both paths use only dynamic shared memory (also the one
kind that numba-cuda's simulator allocates without a race between its threads).

Memory: all arrays stay on the device for the whole run, C-contiguous, instance-major:
``W`` (S, n, m) (×2 on the tiled path), AdamW moments (S, n, m) (a (S, 1, 1) placeholder for
other optimisers), ``keys`` (S,), ``bad_step`` (S,); tiled scratch ``G/D`` (S, n, n), ``z`` (S, n),
``c`` partials (S, ⌈n/tile⌉, n), ``ξ`` (S, m), loss partials (S, ⌈n/tile⌉·⌈n/tile²⌉) float64.
Only ``bad_step`` comes back per chunk; :meth:`CudaState.weights` copies W on demand.

Noise parity: kernels call the same ``register_jitable`` :func:`~incipoly.kernels.noise.noise_value`
with the same counters (instance key, 0-based step, hidden unit), computed in float64 and then
stored in the weights' dtype, exactly as the CPU loop does, so both backends draw the same
noise (bernoulli bit for bit; gaussian up to the last bit of the GPU's ``log``/``cos``).

Divergence: as on the CPU, an instance is flagged at step ``t`` when step ``t``'s loss (a float64
sum of the ``(ReLU(P) − δ)²``, each squared in the weights' dtype as the CPU does) is non-finite,
and at the chunk's last step when its updated weights are non-finite; flagged instances are
frozen (the tiled path then only copies W between its buffers).
"""
import numpy as np

from ..config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from . import cpu
from .cpu import OPT_CODES, make_hyperparameters
from .cuda_device import INSTALL_HINT, cuda, require_gpu, step_schedule
from .cuda_launch import MAX_GRID_YZ, SHARED_LIMIT, check_block, check_range, launch
from .cuda_small import _small_kernel, small_shared_bytes
from .cuda_tiled import _tiled_kernels
from .noise import NOISE_CODES

#: Largest shared memory (bytes, :func:`small_shared_bytes`) of a small-path block; larger
#: problems take the tiled path. 48 KiB: what every GPU gives a block without opting in.
SMALL_MAX_BYTES = SHARED_LIMIT
#: Threads per block on the small path.
SMALL_THREADS = 128
#: Tile edge of the tiled path (blocks of TILE×TILE threads).
TILE = 16
#: Largest tile edge accepted. Up to 16 the launch bound (65536/tile² ≥ 256 registers) does not
#: constrain the compiler, so no tile spills where the default does not. Above, the tiled
#: kernels' loops over a tile are unrolled into different code per edge, needing up to 122
#: registers (float64 gram, tile 22), and they spill from 24 on (float64 gram, sm_80 and sm_90;
#: float32 gram at 28) — measured with :mod:`incipoly.kernels.cuda_check`.
MAX_TILE = 16
#: The tiled path puts instances on grid axes y/z, which CUDA caps at this many blocks.
MAX_TILED_INSTANCES = MAX_GRID_YZ


def tiled_launches(S, n, m, dtype, tile):
    """``{kernel: (grid, block, dynamic shared bytes)}`` of the tiled path's four kernels."""
    threads, nt, size = tile * tile, -(-n // tile), np.dtype(dtype).itemsize
    tile_bytes = tile * (tile + 1) * size
    return {
        "noise": ((-(-m // threads), S), threads, 0),
        "gram": ((nt * (nt + 1) // 2, S), (tile, tile), 2 * tile_bytes + tile * size),
        "residual": ((-(-n // threads), nt, S), threads, 8 * threads),
        "step": ((-(-m // tile), nt, S), (tile, tile), 3 * tile_bytes),
    }


def choose_path(S, n, m, dtype, small_max_bytes, small_threads, tile):
    """Validate the launch parameters of a one-hot run and pick its path.

    Returns
    -------
    path : {"small", "tiled"}
    launches : dict
        ``{kernel: (grid, block, dynamic shared bytes)}`` of the kernels that path launches.

    Raises
    ------
    ValueError
        Naming ``small_max_bytes``, ``small_threads``, ``tile`` or ``instances`` when outside
        its accepted range (block sizes: :func:`incipoly.kernels.cuda_launch.check_block`).
    """
    check_range("small_max_bytes", small_max_bytes, 0, SHARED_LIMIT,
                "shared memory of one block without an opt-in")
    check_range("small_threads", small_threads, 1, 1024, "threads per CUDA block")
    check_range("tile", tile, 1, MAX_TILE, "tile² threads per CUDA block; larger tiles spill")
    shared = small_shared_bytes(n, m, dtype, small_threads)
    if shared <= small_max_bytes:
        check_block("small", dtype, "small_threads", small_threads, small_threads, shared)
        return "small", {"small": (S, small_threads, shared)}
    check_range("instances", S, 1, MAX_TILED_INSTANCES,
                "the tiled CUDA path's grid y/z extent; split the seeds")
    launches = tiled_launches(S, n, m, dtype, tile)
    for name, (_, _, dyn) in launches.items():
        check_block(name, dtype, "tile", tile, tile * tile, dyn)
    return "tiled", launches


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
        Path threshold (bytes of :func:`small_shared_bytes`, at most 48 KiB), block size of the
        small path and tile edge of the tiled path; module defaults :data:`SMALL_MAX_BYTES`,
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
    ValueError
        Launch parameters the compiled kernels cannot run with (:func:`choose_path`), checked
        first, before the GPU is looked for.
    ImportError, RuntimeError
        Without numba-cuda, or without a usable GPU (message says how to install).
    """

    def __init__(self, config, W, keys, *, small_max_bytes=None, small_threads=None, tile=None):
        S, n, m = W.shape
        self.dtype = np.dtype(W.dtype)
        self.small_max_bytes = SMALL_MAX_BYTES if small_max_bytes is None else small_max_bytes
        self.small_threads = SMALL_THREADS if small_threads is None else small_threads
        self.tile = TILE if tile is None else tile
        self.path, self._launch = choose_path(S, n, m, self.dtype, self.small_max_bytes,
                                              self.small_threads, self.tile)
        require_gpu()
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
            nt = -(-n // self.tile)
            self._W_out = cuda.device_array_like(self._W)
            self._G = cuda.device_array((S, n, n), self.dtype)
            self._z = cuda.to_device(np.zeros((S, n), self.dtype))
            self._cp = cuda.device_array((S, nt, n), self.dtype)
            self._xi = cuda.device_array((S, m if self.noise else 1), self.dtype)
            self._lossp = cuda.device_array((S, nt * -(-n // self.tile ** 2)), np.float64)

    def advance(self, t0, nsteps):
        """Run steps ``t0 … t0+nsteps−1`` on the device; return the indices of diverged instances."""
        sched = cuda.to_device(step_schedule(self._hp64, t0, nsteps, self.dtype))
        if self.path == "small":
            launch("small", self._kernel, *self._launch["small"],
                   self._W, self._M1, self._V, self._keys, self._hp, sched, t0, nsteps, self.opt,
                   self.noise, self.sigma, self._bad)
        else:
            self._advance_tiled(t0, nsteps, sched)
        self._bad.copy_to_host(self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def _advance_tiled(self, t0, nsteps, sched):
        noise_k, gram_k, residual_k, step_k = self._kernels
        at = self._launch
        noisy = self.noise != 0
        for q in range(nsteps):
            t = t0 + q
            if noisy:
                launch("noise", noise_k, *at["noise"], self._xi, self._keys, t, self.noise,
                       self.sigma, self._bad)
            launch("gram", gram_k, *at["gram"], self._W, self._xi, self._G, self._z, noisy,
                   self._bad)
            launch("residual", residual_k, *at["residual"], self._G, self._z, self._cp,
                   self._lossp, noisy, self._bad)
            launch("step", step_k, *at["step"], self._W, self._W_out, self._M1, self._V, self._G,
                   self._cp, self._xi, self._lossp, self._hp, sched, q, t, t0 + nsteps - 1,
                   self.opt, noisy, self._bad)
            self._W, self._W_out = self._W_out, self._W

    def weights(self):
        """Host copy of the current weights, shape (S, n, m)."""
        return self._W.copy_to_host()


__all__ = ["CudaState", "INSTALL_HINT", "require_gpu", "small_shared_bytes", "step_schedule",
           "choose_path", "tiled_launches", "SMALL_MAX_BYTES", "SMALL_THREADS", "TILE", "MAX_TILE"]
