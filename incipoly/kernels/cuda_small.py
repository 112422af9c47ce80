"""The small path of the one-hot CUDA backend: one block per instance runs a whole chunk of steps.

Kernel ``chunk`` (see :mod:`incipoly.kernels.cuda` for the step's equations): one block of
``threads`` threads per instance, W and all scratch in dynamic shared memory
(:func:`small_shared_bytes`), phases (ξ; z; G and D with the loss; loss check; ∇; update)
separated by ``syncthreads``. Each ``G_ij``, ``i ≤ j``, is formed once and gives both ``D_ij``
and ``D_ji``.
"""
import functools
import math

import numpy as np
from numba import float64, from_dtype

from .cuda_device import _block_total, _device_functions, cuda, kernel
from .noise import noise_value


def small_shared_bytes(n, m, dtype, threads):
    """Shared memory of one small-path block: a float64 loss partial per thread, then W, D, ∇,
    ξ and z: ``8·threads + (2nm + n² + m + n)·itemsize`` bytes."""
    return 8 * threads + (2 * n * m + n * n + m + n) * np.dtype(dtype).itemsize


@functools.cache
def _block_loss_is_finite():
    """Device function ``finite = f(part, loss, tid, threads, bad_step, s, t)`` for the
    one-block-per-instance kernel: sums every thread's float64 ``loss`` into ``part[0]``
    (:func:`~incipoly.kernels.cuda_device._block_total`), flags ``bad_step[s] = t`` when it is not
    finite, and returns that verdict to every thread. Both barriers are inside: every thread of
    the block must call it. ``part[0]`` is next written after two more barriers."""

    block_total = _block_total()

    @cuda.jit(device=True)
    def block_loss_is_finite(part, loss, tid, threads, bad_step, s, t):
        loss = block_total(part, loss, tid, threads)
        if tid == 0:
            part[0] = loss
            if not math.isfinite(loss):
                bad_step[s] = t
        cuda.syncthreads()
        return math.isfinite(part[0])

    return block_loss_is_finite


@functools.cache
def _small_kernel(dtype, threads):
    """One block per instance, ``nsteps`` steps per launch, everything in shared memory."""
    zero = dtype.type(0)
    residual, update = _device_functions(dtype)
    block_loss_is_finite = _block_loss_is_finite()
    nbtype = from_dtype(dtype)
    base = threads * 8 // dtype.itemsize  # the weights' arrays start after the float64 partials

    @kernel(threads)
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
                    for u in range(1, m):
                        acc += w[j * m + u] * xi[u]
                    z[j] = acc
                cuda.syncthreads()
            loss = 0.0
            for e in range(tid, nn, threads):
                i = e // n
                j = e - i * n
                if i <= j:
                    g = w[i * m] * w[j * m]
                    for u in range(1, m):
                        g += w[i * m + u] * w[j * m + u]
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
                u = e - k * m
                acc = zero
                ck = zero
                for j in range(n):
                    djk = D[j * n + k]
                    acc += (D[k * n + j] + djk) * w[j * m + u]
                    ck += djk
                grad[e] = acc + ck * xi[u] if noisy else acc
            cuda.syncthreads()
            q = t - t0
            for e in range(tid, nm, threads):
                if opt == 0:
                    k = e // m
                    u = e - k * m
                    w[e], M1[s, k, u], V[s, k, u] = update(
                        opt, w[e], M1[s, k, u], V[s, k, u], grad[e], hp, sched[q, 0], sched[q, 1])
                else:
                    w[e], _, _ = update(opt, w[e], zero, zero, grad[e], hp, zero, zero)
            cuda.syncthreads()
        for e in range(tid, nm, threads):
            W[s, e // m, e % m] = w[e]
            if finite and not math.isfinite(w[e]):
                bad_step[s] = t0 + nsteps - 1

    return chunk


__all__ = ['small_shared_bytes']
