"""Shared pieces of the CUDA backend (numba-cuda): the GPU check, AdamW's per-step scalars, the
kernel decorator, and the device functions every kernel calls (residual, optimiser update, block
loss total).

Imported lazily (by :mod:`incipoly.kernels.cuda` and :mod:`incipoly.kernels.sparse_cuda`);
``import incipoly`` never loads it.
"""
import functools
import math

import numpy as np
from numba import config as numba_config
from numba import float64

from .cpu import _B1, _B1C, _B2, _B2C, _DECAY, _EPS, _L1, _LR

try:
    from numba import cuda
except ImportError:  # numba without a CUDA target and numba-cuda not installed
    cuda = None

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


def kernel(threads):
    """``cuda.jit`` for a kernel launched with at most ``threads`` threads per block.

    On hardware the bound is passed as ``launch_bounds``, so the compiler keeps registers within
    what a block of ``threads`` threads can have (65536 per block): the launch cannot fail for lack
    of registers (:mod:`incipoly.kernels.cuda_check` verifies that nothing spills at the defaults).
    The simulator's ``jit`` takes no launch bounds.
    """
    if numba_config.ENABLE_CUDASIM:
        return cuda.jit
    return cuda.jit(launch_bounds=threads)


@functools.cache
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


@functools.cache
def _block_total():
    """Device function ``total = f(part, x, tid, threads)``: thread 0 gets ``Σ x`` over the block's
    threads, summed in thread order (the total does not depend on timing); the other threads get
    their own ``x``. ``part`` is shared memory of ``threads`` float64; one barrier inside, so
    every thread of the block must call it."""

    @cuda.jit(device=True)
    def block_total(part, x, tid, threads):
        part[tid] = x
        cuda.syncthreads()
        if tid == 0:
            for q in range(1, threads):
                x += part[q]
        return x

    return block_total


__all__ = ['INSTALL_HINT', 'require_gpu', 'step_schedule', 'kernel']
