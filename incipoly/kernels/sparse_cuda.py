"""CUDA backend of the minibatch model (sparse inputs, importance, bias, untied, per-example noise).

Imported lazily by ``train(..., backend="cuda")`` for every model but the paper's default (that one
has :mod:`incipoly.kernels.cuda`). Same model and formulas as :mod:`incipoly.kernels.sparse_cpu`::

    H_b = Σ_i X_bi W_i + ξ_b,   P_bj = D_j·H_b + b_j,   E_bj = 2 ρ_j (ReLU(P_bj) − X_bj) [P_bj > 0]
    G_b = Σ_j E_bj D_j,   ∂W_i = Σ_b X_bi G_b (+ Σ_b E_bi H_b tied),   ∂D_j = Σ_b E_bj H_b,
    ∂b_j = Σ_b E_bj

Two launches per step, each spreading one instance over many blocks, so that a TMS-size job
(16–64 instances, batch 1024) fills a GPU:

* ``batch`` — grid (⌈B/rows⌉, S): block ``y`` of instance ``s`` takes the batch rows
  ``b ∈ [rows·y, rows·y + rows)`` and, phases separated by ``syncthreads``, draws them
  (:func:`~incipoly.kernels.sparse_sampler.example_features`, the very function the CPU calls, at
  the same counters), forms ``H`` (with the noise of :func:`~incipoly.kernels.noise.noise_value`),
  ``E`` and a float64 loss partial, then ``G``, and writes the partial gradients of its rows,
  ``∂W^(y)``, ``∂D^(y)``, ``∂b^(y)``, and its loss into per-block slots.
* ``update`` — grid (⌈(nm + n)/threads⌉, S), one thread per parameter: sums the partials over
  ``y = 0, 1, …`` in that fixed order (no atomics: same seed → same bits), sums the loss partials,
  and applies the optimiser update of :func:`incipoly.kernels.cuda_device._device_functions`
  (L1 on ``W`` only, weight decay on every parameter).

Divergence, as on the CPU: an instance whose step-``t`` loss is non-finite is flagged at ``t`` and
not updated; one whose updated parameters are non-finite at a chunk's last step is flagged there;
flagged instances are frozen (their ``batch`` blocks return at once).

Batch-sized scratch ``X``, ``H``, ``G``, ``E`` is ``(S, B, ·)`` in global memory, partials
``(S, ⌈B/rows⌉, n, m)`` (and ``(S, ⌈B/rows⌉, n)`` for the bias); shared memory holds only the loss
partials (``8·threads`` bytes). Sums run in another order than on the CPU, so results agree to
rounding, not bit for bit; the batches and noise are the same numbers.

The host keeps a :class:`incipoly.training._MinibatchCpuState` as its mirror: it builds the initial
state (decoder, bias, moments, keys) and evaluates the history on weights copied back.
"""
import functools
import math

import numpy as np
from numba import float64

from ..config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from .cpu import _L1, make_hyperparameters
from .cuda_device import _block_total, _device_functions, cuda, kernel, require_gpu, step_schedule
from .cuda_launch import MAX_GRID_YZ, check_block, check_range, launch
from .noise import noise_value
from .sparse_sampler import example_base, example_features, gap_scale, next_unit, units

#: Threads per block of both kernels.
THREADS = 128
#: Fewest batch rows per ``batch`` block (B = 1024: at most 32 blocks per instance).
ROWS = 32
#: Blocks a ``batch`` launch aims at when instances are few: an H100's 132 SMs hold 4 blocks of
#: 128 threads at ≈ 128 registers each; twice that.
TARGET_BLOCKS = 1024


def default_rows(S, B):
    """Batch rows per block: ``⌈B/k⌉`` with ``k = min(⌈B/ROWS⌉, max(1, ⌈TARGET_BLOCKS/S⌉))``
    blocks per instance, so that few instances still fill the GPU while many instances (which
    fill it anyway) keep one block each, and the partial gradients ``(S, k, n, m)`` stay small."""
    k = min(-(-B // ROWS), max(1, -(-TARGET_BLOCKS // S)))
    return -(-B // k)


@functools.cache
def _kernels(dtype, threads):
    """``(batch, update)`` kernels for ``dtype`` and ``threads`` threads per block."""
    zero = dtype.type(0)
    _, update = _device_functions(dtype)
    block_total = _block_total()

    @kernel(threads)
    def batch(W, Dec, bias, keys, in_keys, X, H, G, E, gWp, gDp, gbp, lossp, rho, rows, t, noise,
              sigma, per_example, sparse, corr, p, tied, has_bias, bad_step):
        """Rows ``[rows·y, rows·y + rows)`` of step ``t``'s batch: partial gradients and loss."""
        s = cuda.blockIdx.y
        y = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        if bad_step[s] >= 0:
            return
        n, m = W.shape[1], W.shape[2]
        B = X.shape[1]
        b0 = y * rows
        nb = min(rows, B - b0)
        if sparse:
            scale = gap_scale(p, corr)
            U = units(n, corr)
            for b in range(b0 + tid, b0 + nb, threads):
                for i in range(n):
                    X[s, b, i] = zero
                first = next_unit(in_keys[s], example_base(t, B, b, U), 0, U, scale)
                example_features(X[s, b], X[s, b, :0], in_keys[s], t, B, b, scale, corr, first)
            cuda.syncthreads()
        for e in range(tid, nb * m, threads):
            b = b0 + e // m
            k = e % m
            acc = zero
            if noise != 0:
                acc = noise_value(noise, sigma, keys[s], t * B + b if per_example else t, k, m)
            for i in range(n):
                x = X[s, b, i]
                if x != zero:
                    acc += x * W[s, i, k]
            H[s, b, k] = acc
        cuda.syncthreads()
        part = cuda.shared.array(0, float64)
        loss = 0.0
        for e in range(tid, nb * n, threads):
            b = b0 + e // n
            j = e % n
            acc = bias[s, j] if has_bias else zero
            for k in range(m):
                acc += (W[s, j, k] if tied else Dec[s, j, k]) * H[s, b, k]
            pos = acc > zero
            res = (acc if pos else zero) - X[s, b, j]
            loss += float64(rho[j]) * float64(res) * float64(res)
            g = rho[j] * (res + res)
            E[s, b, j] = g if pos else zero
        loss = block_total(part, loss, tid, threads)
        if tid == 0:
            lossp[s, y] = loss
        for e in range(tid, nb * m, threads):
            b = b0 + e // m
            k = e % m
            acc = zero
            for j in range(n):
                acc += E[s, b, j] * (W[s, j, k] if tied else Dec[s, j, k])
            G[s, b, k] = acc
        cuda.syncthreads()
        for e in range(tid, n * m, threads):
            i = e // m
            k = e % m
            gw = zero
            gd = zero
            for b in range(b0, b0 + nb):
                x = X[s, b, i]
                if x != zero:
                    gw += x * G[s, b, k]
                gd += E[s, b, i] * H[s, b, k]
            if tied:
                gWp[s, y, i, k] = gw + gd
            else:
                gWp[s, y, i, k] = gw
                gDp[s, y, i, k] = gd
        if has_bias:
            for j in range(tid, n, threads):
                acc = zero
                for b in range(b0, b0 + nb):
                    acc += E[s, b, j]
                gbp[s, y, j] = acc

    @kernel(threads)
    def update_params(W, Dec, bias, MW, VW, MD, VD, Mb, Vb, gWp, gDp, gbp, lossp, hp, hp0, sched,
                      q, t, t_last, opt, tied, has_bias, bad_step):
        """Sum the partials (fixed order) and update one parameter per thread: ``W`` (and the
        decoder) for ``e < nm``, the bias for ``nm ≤ e < nm + n``."""
        s = cuda.blockIdx.y
        e = cuda.blockIdx.x * threads + cuda.threadIdx.x
        n, m = W.shape[1], W.shape[2]
        nm = n * m
        if e >= nm + (n if has_bias else 0):
            return
        # Flags from earlier steps only: blocks of this launch may be writing t meanwhile.
        flagged = bad_step[s]
        if flagged >= 0 and flagged < t:
            return
        total = 0.0
        for y in range(lossp.shape[1]):
            total += lossp[s, y]
        if not math.isfinite(total):
            if e == 0:
                bad_step[s] = t
            return
        a, c = sched[q, 0], sched[q, 1]
        ok = True
        if e < nm:
            i = e // m
            k = e % m
            g = gWp[s, 0, i, k]
            for y in range(1, gWp.shape[1]):
                g += gWp[s, y, i, k]
            if opt == 0:
                W[s, i, k], MW[s, i, k], VW[s, i, k] = update(opt, W[s, i, k], MW[s, i, k],
                                                              VW[s, i, k], g, hp, a, c)
            else:
                W[s, i, k], _, _ = update(opt, W[s, i, k], zero, zero, g, hp, zero, zero)
            ok = math.isfinite(W[s, i, k])
            if not tied:
                g = gDp[s, 0, i, k]
                for y in range(1, gDp.shape[1]):
                    g += gDp[s, y, i, k]
                if opt == 0:
                    Dec[s, i, k], MD[s, i, k], VD[s, i, k] = update(
                        opt, Dec[s, i, k], MD[s, i, k], VD[s, i, k], g, hp0, a, c)
                else:
                    Dec[s, i, k], _, _ = update(opt, Dec[s, i, k], zero, zero, g, hp0, zero, zero)
                ok = ok and math.isfinite(Dec[s, i, k])
        else:
            j = e - nm
            g = gbp[s, 0, j]
            for y in range(1, gbp.shape[1]):
                g += gbp[s, y, j]
            if opt == 0:
                bias[s, j], Mb[s, j], Vb[s, j] = update(opt, bias[s, j], Mb[s, j], Vb[s, j], g,
                                                        hp0, a, c)
            else:
                bias[s, j], _, _ = update(opt, bias[s, j], zero, zero, g, hp0, zero, zero)
            ok = math.isfinite(bias[s, j])
        if t == t_last and not ok:
            bad_step[s] = t

    return batch, update_params


def sparse_launches(S, n, m, B, dtype, threads, rows, bias):
    """Validate the launch parameters of a minibatch run; ``{kernel: (grid, block, shared)}``.

    Raises
    ------
    ValueError
        Naming ``threads``, ``rows`` or ``instances`` when outside the accepted range
        (block size: :func:`incipoly.kernels.cuda_launch.check_block`).
    """
    check_range("threads", threads, 1, 1024, "threads per CUDA block")
    check_range("rows", rows, 1, B, "batch rows per block, at most the batch size")
    check_range("instances", S, 1, MAX_GRID_YZ, "the grid's y extent; split the seeds")
    launches = {"sparse_batch": ((-(-B // rows), S), threads, 8 * threads),
                "sparse_update": ((-(-(n * m + (n if bias else 0)) // threads), S), threads, 0)}
    for name, (_, _, dyn) in launches.items():
        check_block(name, dtype, "threads", threads, threads, dyn)
    return launches


class SparseCudaState:
    """Device-side state of a minibatch-model run; the interface of ``train``'s CPU states.

    Parameters
    ----------
    host : incipoly.training._MinibatchCpuState
        The host mirror: initial weights, decoder, bias, moments and keys are uploaded from it;
        :meth:`weights` copies the device arrays back into it.
    threads, rows : int, optional
        Threads per block and batch rows per ``batch`` block (defaults :data:`THREADS` and
        :func:`default_rows`, read at construction).

    Raises
    ------
    ValueError
        Launch parameters the compiled kernels cannot run with (:func:`sparse_launches`),
        checked before the GPU is looked for.
    ImportError, RuntimeError
        Without numba-cuda, or without a usable GPU.
    """

    def __init__(self, host, threads=None, rows=None):
        cfg = host.config
        S, n, m = host.W.shape
        B = host.B
        self.dtype = np.dtype(host.W.dtype)
        self.threads = THREADS if threads is None else threads
        self.rows = default_rows(S, B) if rows is None else rows
        self._launch = sparse_launches(S, n, m, B, self.dtype, self.threads, self.rows, cfg.bias)
        require_gpu()
        self.host = host
        nblk = -(-B // self.rows)
        dev = cuda.to_device
        self._hp64 = make_hyperparameters(cfg, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        hp = self._hp64.astype(self.dtype)
        hp0 = hp.copy()
        hp0[_L1] = 0
        self._hp, self._hp0 = dev(hp), dev(hp0)
        names = ("W", "Dec", "bias", "M1", "V", "MD", "VD", "Mb", "Vb", "keys", "in_keys", "rho")
        self._d = {k: dev(np.ascontiguousarray(getattr(host, k))) for k in names}
        X = np.zeros((S, B, n), self.dtype)
        if not host.sparse:      # one-hot: X = I, written once
            X[:, np.arange(n), np.arange(n)] = 1
        empty = cuda.device_array
        self._scratch = {"X": dev(X), "H": empty((S, B, m), self.dtype),
                         "G": empty((S, B, m), self.dtype), "E": empty((S, B, n), self.dtype),
                         "gWp": empty((S, nblk, n, m), self.dtype),
                         "gDp": empty((S, nblk, n, m) if not cfg.tied else (S, 1, 1, 1),
                                      self.dtype),
                         "gbp": empty((S, nblk, n) if cfg.bias else (S, 1, 1), self.dtype),
                         "lossp": empty((S, nblk), np.float64)}
        self.bad_step = host.bad_step
        self._bad = dev(self.bad_step)
        self._kernels = _kernels(self.dtype, self.threads)
        self.row_stats = host.row_stats

    def advance(self, t0, nsteps):
        """Run steps ``t0 … t0+nsteps−1`` on the device; return the indices of diverged instances."""
        h, d, x = self.host, self._d, self._scratch
        cfg = h.config
        sched = cuda.to_device(step_schedule(self._hp64, t0, nsteps, self.dtype))
        batch, update = self._kernels
        at = self._launch
        per_example = cfg.noise_scope == "example"
        sigma, p = float(cfg.noise_std), float(cfg.feature_prob)
        for q in range(nsteps):
            t = t0 + q
            launch("sparse_batch", batch, *at["sparse_batch"],
                   d["W"], d["Dec"], d["bias"], d["keys"], d["in_keys"], x["X"], x["H"], x["G"],
                   x["E"], x["gWp"], x["gDp"], x["gbp"], x["lossp"], d["rho"], self.rows, t,
                   h.noise, sigma, per_example, h.sparse, h.corr, p, h.tied, h.has_bias, self._bad)
            launch("sparse_update", update, *at["sparse_update"],
                   d["W"], d["Dec"], d["bias"], d["M1"], d["V"], d["MD"], d["VD"], d["Mb"],
                   d["Vb"], x["gWp"], x["gDp"], x["gbp"], x["lossp"], self._hp, self._hp0, sched,
                   q, t, t0 + nsteps - 1, h.opt, h.tied, h.has_bias, self._bad)
        self._bad.copy_to_host(self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def weights(self):
        """Copy ``W``, the decoder and the bias back into the host mirror; return ``W``."""
        for k in ("W", "Dec", "bias"):
            self._d[k].copy_to_host(getattr(self.host, k))
        return self.host.W

    def extra_params(self):
        """The host mirror's extra parameters (decoder, bias) after copying them back."""
        self.weights()
        return self.host.extra_params()


__all__ = ["THREADS", "ROWS", "TARGET_BLOCKS", "default_rows", "sparse_launches", "SparseCudaState"]
