"""Launch parameters of the CUDA kernels, checked against their compiled resource use before launch.

A block of ``T`` threads of a kernel that uses ``r`` registers per thread needs
``⌈T/32⌉ · ⌈32r/256⌉ · 256`` registers (warps allocate in units of 256), which must not exceed
the 65536 registers a block may hold on sm_80 and sm_90; ``T ≤ 1024``; and its shared memory
(static + dynamic) must not exceed 48 KiB, what every GPU gives a block without the opt-in that
numba-cuda does not make. ``r`` and the static shared memory come from
:data:`incipoly.kernels.cuda_resources.RESOURCES`, written by :mod:`incipoly.kernels.cuda_check`
from NVVM + ptxas (no GPU needed) at the default block sizes; the larger of the sm_80 and sm_90
values is used. Kernels are compiled with ``launch_bounds`` equal to their block size, so a block
size accepted here also cannot make the compiler exceed the register budget.

Pure Python: importable and testable without numba-cuda or a GPU.
"""
import math

import numpy as np

from .cuda_resources import RESOURCES

MAX_THREADS = 1024
REGISTERS_PER_BLOCK = 65536
#: Shared memory per block without an opt-in (bytes).
SHARED_LIMIT = 48 * 1024
#: Largest grid extent on the y and z axes.
MAX_GRID_YZ = 65535

_recorded = None


def kernel_resources(name, dtype):
    """``(registers per thread, static shared bytes)`` of kernel ``name`` for ``dtype``: the
    larger value over the compute capabilities in the table.

    Raises
    ------
    KeyError
        If the table has no entry (run ``python -m incipoly.kernels.cuda_check --write``).
    """
    rows = [v for (k, d, _), v in RESOURCES.items() if k == name and d == np.dtype(dtype).name]
    if not rows:
        raise KeyError(f"no compiled resources recorded for CUDA kernel {name!r} ({dtype}); "
                       "run: python -m incipoly.kernels.cuda_check --write")
    return max(r["registers"] for r in rows), max(r["shared"] for r in rows)


def block_registers(registers, threads):
    """Registers a block of ``threads`` threads occupies: ``⌈T/32⌉ · ⌈32r/256⌉ · 256``."""
    return -(-threads // 32) * (-(-32 * registers // 256) * 256)


def max_threads(name, dtype):
    """Largest block size (threads) at which kernel ``name`` fits the register file, ≤ 1024."""
    registers, _ = kernel_resources(name, dtype)
    warps = REGISTERS_PER_BLOCK // block_registers(registers, 32)
    return min(MAX_THREADS, 32 * warps)


def check_block(name, dtype, param, value, threads, dynamic_shared=0):
    """Raise unless a block of ``threads`` threads and ``dynamic_shared`` bytes of kernel ``name``
    can launch.

    Parameters
    ----------
    name : str
        Kernel name in the resource table.
    dtype : numpy dtype
    param : str
        The user-facing parameter that set the block (``"tile"``, ``"small_threads"``,
        ``"threads"``), named in the error.
    value : int
        Its value. ``threads`` is ``value`` or, for ``tile``, ``value²``.
    threads : int
    dynamic_shared : int
        Dynamic shared memory per block, bytes.

    Raises
    ------
    ValueError
        Naming ``param``, its value and the accepted range, when ``threads`` is outside
        ``[1, min(1024, 65536 / registers)]`` or the shared memory exceeds 48 KiB.
    """
    top = max_threads(name, dtype)
    registers, static = kernel_resources(name, dtype)
    hi = math.isqrt(top) if param == "tile" else top
    if not 1 <= threads <= top:
        raise ValueError(
            f"{param} must lie in [1, {hi}] for CUDA kernel {name!r} ({np.dtype(dtype).name}): "
            f"it uses {registers} registers per thread, so a block holds at most {top} threads "
            f"(65536 registers, 1024 threads per block); got {param}={value} ({threads} threads)")
    if static + dynamic_shared > SHARED_LIMIT:
        raise ValueError(
            f"{param}={value} needs {static + dynamic_shared} bytes of shared memory per block in "
            f"CUDA kernel {name!r}; accepted: at most {SHARED_LIMIT} (48 KiB, the limit without "
            "an opt-in)")


def check_range(param, value, lo, hi, why):
    """Raise ``ValueError`` naming ``param`` unless ``lo ≤ value ≤ hi``."""
    if not lo <= value <= hi:
        raise ValueError(f"{param} must lie in [{lo}, {hi}] ({why}); got {value}")


def record_signatures():
    """Start recording ``(kernel, argument types)`` of every launch; return the set they go in.

    Used by the simulator tests to check that :mod:`incipoly.kernels.cuda_check` compiles exactly
    the signatures the backend launches.
    """
    global _recorded
    _recorded = set()
    return _recorded


def launch(name, kern, grid, block, shared, *args):
    """``kern[grid, block, 0, shared](*args)``, recording the signature when asked to."""
    if _recorded is not None:
        from numba import typeof
        _recorded.add((name, tuple(str(typeof(a)) for a in args)))
    kern[grid, block, 0, shared](*args)


__all__ = ["MAX_THREADS", "REGISTERS_PER_BLOCK", "SHARED_LIMIT", "MAX_GRID_YZ", "kernel_resources",
           "block_registers", "max_threads", "check_block", "check_range", "record_signatures", "launch"]
