"""CUDA backend of the minibatch model (sparse inputs, importance, bias, untied, per-example noise).

Imported lazily by ``train(..., backend="cuda")`` for every model but the paper's default (that one
has :mod:`incipoly.kernels.cuda`). Same model and formulas as :mod:`incipoly.kernels.sparse_cpu`::

    H_b = Σ_i X_bi W_i + ξ_b,   P_bj = D_j·H_b + b_j,   E_bj = 2 ρ_j (ReLU(P_bj) − X_bj) [P_bj > 0]
    G_b = Σ_j E_bj D_j,   ∂W_i = Σ_b X_bi G_b (+ Σ_b E_bi H_b tied),   ∂D_j = Σ_b E_bj H_b,
    ∂b_j = Σ_b E_bj

One block of ``threads`` threads per instance runs a whole chunk of steps in one launch, phases
separated by ``syncthreads``: draw the batch (:func:`~incipoly.kernels.sparse_sampler.example_features`,
the very function the CPU calls, at the same counters) and the noise; ``H``; ``E`` with a float64
loss partial per thread; loss check; ``G``; gradients (one thread per weight, summing over the
batch); the optimiser update of :func:`incipoly.kernels.cuda._device_functions` (L1 on ``W`` only,
weight decay on every parameter). Batch-sized scratch (``X``, ``H``, ``G``, ``E``, ``ξ``) lives in
global memory, ``(S, B, ·)``, each block touching only its own instance; shared memory holds the
loss partials (``8·threads`` bytes). Sums run in another order than on the CPU, so results agree
to rounding, not bit for bit; the batches and noise are the same numbers.

The host keeps a :class:`incipoly.train._MinibatchCpuState` as its mirror: it builds the initial
state (decoder, bias, moments, keys) and evaluates the history on weights copied back.
"""
import functools
import math

import numpy as np
from numba import float64

from ..config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from .cpu import _L1, make_hyperparameters
from .cuda import _block_loss_is_finite, _device_functions, cuda, require_gpu, step_schedule
from .noise import noise_value
from .sparse_sampler import example_base, example_features, gap_scale, next_unit, units

#: Threads per block (one block per instance).
THREADS = 128


@functools.lru_cache(maxsize=None)
def _kernel(dtype, threads):
    """The chunk kernel for ``dtype`` and ``threads`` threads per block."""
    zero = dtype.type(0)
    _, update = _device_functions(dtype)
    block_loss_is_finite = _block_loss_is_finite()

    @cuda.jit
    def chunk(W, Dec, bias, MW, VW, MD, VD, Mb, Vb, keys, in_keys, X, Xi, H, G, E, gW, gD, gb,
              rho, hp, hp0, sched, t0, nsteps, opt, noise, sigma, per_example, sparse, corr, p,
              tied, has_bias, bad_step):
        """Steps ``t0 … t0+nsteps−1``; grid S, ``threads`` threads, ``8·threads`` shared bytes."""
        s = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        n, m = W.shape[1], W.shape[2]
        B = X.shape[1]
        rows = Xi.shape[1]
        part = cuda.shared.array(0, float64)
        if bad_step[s] >= 0:
            return
        noisy = noise != 0
        scale = gap_scale(p, corr)
        U = units(n, corr)
        finite = True
        for t in range(t0, t0 + nsteps):
            if sparse:
                for b in range(tid, B, threads):
                    for i in range(n):
                        X[s, b, i] = zero
                    first = next_unit(in_keys[s], example_base(t, B, b, U), 0, U, scale)
                    example_features(X[s, b], X[s, b, :0], in_keys[s], t, B, b, scale, corr,
                                     first)
            if noisy:
                for e in range(tid, rows * m, threads):
                    r = e // m
                    k = e - r * m
                    Xi[s, r, k] = noise_value(noise, sigma, keys[s], t * B + r if per_example
                                              else t, k, m)
            cuda.syncthreads()
            for e in range(tid, B * m, threads):
                b = e // m
                k = e - b * m
                acc = Xi[s, b if per_example else 0, k] if noisy else zero
                for i in range(n):
                    x = X[s, b, i]
                    if x != zero:
                        acc += x * W[s, i, k]
                H[s, b, k] = acc
            cuda.syncthreads()
            loss = 0.0
            for e in range(tid, B * n, threads):
                b = e // n
                j = e - b * n
                acc = bias[s, j] if has_bias else zero
                for k in range(m):
                    acc += (W[s, j, k] if tied else Dec[s, j, k]) * H[s, b, k]
                pos = acc > zero
                res = (acc if pos else zero) - X[s, b, j]
                loss += float64(rho[j]) * float64(res) * float64(res)
                g = rho[j] * (res + res)
                E[s, b, j] = g if pos else zero
            finite = block_loss_is_finite(part, loss, tid, threads, bad_step, s, t)
            if not finite:
                break
            for e in range(tid, B * m, threads):
                b = e // m
                k = e - b * m
                acc = zero
                for j in range(n):
                    acc += E[s, b, j] * (W[s, j, k] if tied else Dec[s, j, k])
                G[s, b, k] = acc
            cuda.syncthreads()
            for e in range(tid, n * m, threads):
                i = e // m
                k = e - i * m
                gw = zero
                gd = zero
                for b in range(B):
                    x = X[s, b, i]
                    if x != zero:
                        gw += x * G[s, b, k]
                    gd += E[s, b, i] * H[s, b, k]
                if tied:
                    gW[s, i, k] = gw + gd
                else:
                    gW[s, i, k] = gw
                    gD[s, i, k] = gd
            if has_bias:
                for j in range(tid, n, threads):
                    acc = zero
                    for b in range(B):
                        acc += E[s, b, j]
                    gb[s, j] = acc
            cuda.syncthreads()
            q = t - t0
            for e in range(tid, n * m, threads):
                i = e // m
                k = e - i * m
                if opt == 0:
                    W[s, i, k], MW[s, i, k], VW[s, i, k] = update(
                        opt, W[s, i, k], MW[s, i, k], VW[s, i, k], gW[s, i, k], hp, sched[q, 0],
                        sched[q, 1])
                    if not tied:
                        Dec[s, i, k], MD[s, i, k], VD[s, i, k] = update(
                            opt, Dec[s, i, k], MD[s, i, k], VD[s, i, k], gD[s, i, k], hp0,
                            sched[q, 0], sched[q, 1])
                else:
                    W[s, i, k], _, _ = update(opt, W[s, i, k], zero, zero, gW[s, i, k], hp,
                                              zero, zero)
                    if not tied:
                        Dec[s, i, k], _, _ = update(opt, Dec[s, i, k], zero, zero, gD[s, i, k],
                                                    hp0, zero, zero)
            if has_bias:
                for j in range(tid, n, threads):
                    if opt == 0:
                        bias[s, j], Mb[s, j], Vb[s, j] = update(
                            opt, bias[s, j], Mb[s, j], Vb[s, j], gb[s, j], hp0, sched[q, 0],
                            sched[q, 1])
                    else:
                        bias[s, j], _, _ = update(opt, bias[s, j], zero, zero, gb[s, j], hp0,
                                                  zero, zero)
            cuda.syncthreads()
        if finite:
            for e in range(tid, n * m, threads):
                i = e // m
                k = e - i * m
                ok = math.isfinite(W[s, i, k]) and (tied or math.isfinite(Dec[s, i, k]))
                if not ok:
                    bad_step[s] = t0 + nsteps - 1
            if has_bias:
                for j in range(tid, n, threads):
                    if not math.isfinite(bias[s, j]):
                        bad_step[s] = t0 + nsteps - 1

    return chunk


class SparseCudaState:
    """Device-side state of a minibatch-model run; the interface of ``train``'s CPU states.

    Parameters
    ----------
    host : incipoly.train._MinibatchCpuState
        The host mirror: initial weights, decoder, bias, moments and keys are uploaded from it;
        :meth:`weights` copies the device arrays back into it.
    threads : int, optional
        Threads per block (default :data:`THREADS`, read at construction).
    """

    def __init__(self, host, threads=None):
        require_gpu()
        self.host = host
        self.threads = THREADS if threads is None else threads
        if not 1 <= self.threads <= 1024:
            raise ValueError(f"threads must lie in [1, 1024]; got {self.threads}")
        cfg = host.config
        S, n, m = host.W.shape
        self.dtype = np.dtype(host.W.dtype)
        B = host.B
        rows = B if cfg.noise_scope == "example" else 1
        dev = cuda.to_device
        self._hp64 = make_hyperparameters(cfg, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        hp = self._hp64.astype(self.dtype)
        hp0 = hp.copy()
        hp0[_L1] = 0
        self._hp, self._hp0 = dev(hp), dev(hp0)
        names = ("W", "Dec", "bias", "M1", "V", "MD", "VD", "Mb", "Vb", "keys", "in_keys", "rho")
        self._d = {k: dev(np.ascontiguousarray(getattr(host, k))) for k in names}
        self._scratch = {"X": dev(np.zeros((S, B, n), self.dtype)),
                         "Xi": dev(np.zeros((S, rows, m), self.dtype)),
                         "H": cuda.device_array((S, B, m), self.dtype),
                         "G": cuda.device_array((S, B, m), self.dtype),
                         "E": cuda.device_array((S, B, n), self.dtype),
                         "gW": cuda.device_array((S, n, m), self.dtype),
                         "gD": cuda.device_array((S, n, m) if not cfg.tied else (S, 1, 1),
                                                 self.dtype),
                         "gb": cuda.device_array((S, n) if cfg.bias else (S, 1), self.dtype)}
        if not host.sparse:      # one-hot: X = I, written once
            X = np.zeros((S, B, n), self.dtype)
            X[:, np.arange(n), np.arange(n)] = 1
            self._scratch["X"] = dev(X)
        self.bad_step = host.bad_step
        self._bad = dev(self.bad_step)
        self._kernel = _kernel(self.dtype, self.threads)
        self.row_stats = host.row_stats

    def advance(self, t0, nsteps):
        """Run steps ``t0 … t0+nsteps−1`` on the device; return the indices of diverged instances."""
        h, d, x = self.host, self._d, self._scratch
        cfg = h.config
        sched = cuda.to_device(step_schedule(self._hp64, t0, nsteps, self.dtype))
        S = h.W.shape[0]
        self._kernel[S, self.threads, 0, 8 * self.threads](
            d["W"], d["Dec"], d["bias"], d["M1"], d["V"], d["MD"], d["VD"], d["Mb"], d["Vb"],
            d["keys"], d["in_keys"], x["X"], x["Xi"], x["H"], x["G"], x["E"], x["gW"], x["gD"],
            x["gb"], d["rho"], self._hp, self._hp0, sched, t0, nsteps, h.opt, h.noise,
            float(cfg.noise_std), cfg.noise_scope == "example", h.sparse, h.corr,
            float(cfg.feature_prob), h.tied, h.has_bias, self._bad)
        self._bad.copy_to_host(self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def weights(self):
        """Copy ``W``, the decoder and the bias back into the host mirror; return ``W``."""
        for k in ("W", "Dec", "bias"):
            self._d[k].copy_to_host(getattr(self.host, k))
        return self.host.W

    def extra_params(self):
        self.weights()
        return self.host.extra_params()
