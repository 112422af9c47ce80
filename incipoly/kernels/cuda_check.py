"""Compile every CUDA kernel for real GPUs without one: PTX (NVVM) and cubin (ptxas), with resources.

    python -m incipoly.kernels.cuda_check [--cc 80 90] [--markdown FILE] [--write]

Each kernel is compiled at the argument types it is launched with (:func:`signatures`; the
simulator tests check that the backend launches nothing else), for float32 and float64, at the
default block sizes (and, with ``--largest``, at the largest that launch validation accepts),
with the ``launch_bounds`` it carries, for each compute capability: PTX by
``numba.cuda.compile_ptx``, then cubin by ``ptxas -v``, whose report gives registers per thread,
spill stores/loads, stack frame (local memory) and static shared memory. Any spill fails the
check (exit status 1). ``--write`` regenerates :mod:`incipoly.kernels.cuda_resources`, the table
:mod:`incipoly.kernels.cuda_launch` validates launch parameters against.

numba-cuda asks the driver for the compute capability when it compiles a device function that a
kernel calls; here there is no driver, so that question is answered with the target being
compiled for. Each compute capability compiles in its own process (device functions are cached
per argument types, not per target), the processes side by side.

Needs ``numba-cuda[cu12]`` (the ``[cuda]`` extra plus NVVM and ptxas from
``nvidia-cuda-nvcc-cu12``); no GPU, no driver.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CCS = ((8, 0), (9, 0))
DTYPES = ("float32", "float64")
KERNELS = ("small", "noise", "gram", "residual", "step", "sparse_batch", "sparse_update")
_PTXAS_LINE = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_PTXAS_REGS = re.compile(r"Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?")


def signatures(dtype):
    """``{kernel: argument-type tuple}`` of every launch, for weights of ``dtype``.

    The scalars are what the host passes: Python ``int`` (int64), ``float`` (float64) and
    ``bool`` (boolean); the arrays C-contiguous.
    """
    from numba import types
    f = getattr(types, dtype)
    i64, f64, b = types.int64, types.float64, types.boolean

    def a(t, nd):
        return types.Array(t, nd, "C")

    w1, w2, w3, w4 = a(f, 1), a(f, 2), a(f, 3), a(f, 4)
    u1, bad, loss = a(types.uint64, 1), a(i64, 1), a(f64, 2)
    return {
        "small": (w3, w3, w3, u1, w1, w2, i64, i64, i64, i64, f64, bad),
        "noise": (w2, u1, i64, i64, f64, bad),
        "gram": (w3, w2, w3, w2, b, bad),
        "residual": (w3, w2, w3, loss, b, bad),
        "step": (w3, w3, w3, w3, w3, w3, w2, loss, w1, w2, i64, i64, i64, i64, b, bad),
        "sparse_batch": (w3, w3, w2, u1, u1, w3, w3, w3, w3, w4, w4, w3, loss, w1, i64, i64, i64,
                         f64, b, b, i64, f64, b, b, bad),
        "sparse_update": (w3, w3, w2, w3, w3, w3, w3, w2, w2, w4, w4, w3, loss, w1, w1, w2, i64,
                          i64, i64, i64, b, b, bad),
    }


def kernels(dtype, largest=False):
    """``{kernel: dispatcher}`` at the backend's default block sizes, or (``largest``) at the
    largest that :mod:`incipoly.kernels.cuda_launch` accepts for ``dtype``."""
    import math

    import numpy as np

    from . import cuda as kc
    from . import sparse_cuda
    from .cuda_launch import max_threads
    from .cuda_small import _small_kernel
    from .cuda_tiled import _tiled_kernels
    dt = np.dtype(dtype)
    small, tile, threads = kc.SMALL_THREADS, kc.TILE, sparse_cuda.THREADS
    if largest:
        small = max_threads("small", dt)
        tile = min(kc.MAX_TILE, math.isqrt(min(max_threads(k, dt)
                                               for k in ("noise", "gram", "residual", "step"))))
        threads = min(max_threads(k, dt) for k in ("sparse_batch", "sparse_update"))
    noise, gram, residual, step = _tiled_kernels(dt, tile)
    batch, update = sparse_cuda._kernels(dt, threads)
    return {"small": _small_kernel(dt, small), "noise": noise, "gram": gram,
            "residual": residual, "step": step, "sparse_batch": batch, "sparse_update": update}


def ptxas_path():
    """ptxas from the ``nvidia-cuda-nvcc-cu12`` wheel, else from ``PATH``."""
    try:
        import nvidia.cuda_nvcc as nvcc
        for root in nvcc.__path__:
            candidate = Path(root, "bin", "ptxas")
            if candidate.exists():
                return str(candidate)
    except ImportError:
        pass
    found = shutil.which("ptxas")
    if found is None:
        raise SystemExit('ptxas not found: pip install "numba-cuda[cu12]" (nvidia-cuda-nvcc-cu12)')
    return found


def parse_ptxas(report):
    """``{registers, shared, stack, spill_stores, spill_loads}`` from ``ptxas -v`` output."""
    regs = _PTXAS_REGS.search(report)
    frame = _PTXAS_LINE.search(report)
    if regs is None or frame is None:
        raise ValueError(f"unrecognised ptxas report:\n{report}")
    return {"registers": int(regs.group(1)), "shared": int(regs.group(2) or 0),
            "stack": int(frame.group(1)), "spill_stores": int(frame.group(2)),
            "spill_loads": int(frame.group(3))}


class _Target:
    """What ``get_current_device()`` answers while compiling for ``cc`` without a driver."""

    def __init__(self, cc):
        self.compute_capability = cc


def compile_one_cc(cc, largest=False):
    """Rows ``{kernel, dtype, cc, variant, registers, shared, stack, spill_*, ptx_bytes,
    seconds}``: every kernel at the default block sizes and, with ``largest``, again at the
    largest accepted ones (variant ``"largest"``)."""
    from numba import cuda
    from numba.cuda import dispatcher
    dispatcher.get_current_device = lambda: _Target(cc)
    ptxas = ptxas_path()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, dtype in [(v, d) for v in ("default", "largest")[:1 + largest] for d in DTYPES]:
            sigs = signatures(dtype)
            for name, kern in kernels(dtype, variant == "largest").items():
                start = time.perf_counter()
                bounds = kern.targetoptions.get("launch_bounds")
                ptx, _ = cuda.compile_ptx(kern.py_func, sigs[name], cc=cc, launch_bounds=bounds)
                src, cubin = Path(tmp, f"{name}.ptx"), Path(tmp, f"{name}.cubin")
                src.write_text(ptx)
                proc = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", str(src), "-o",
                                       str(cubin)], capture_output=True, text=True)
                if proc.returncode != 0 or not cubin.stat().st_size:
                    raise RuntimeError(f"ptxas failed on {name} {dtype} sm_{cc[0]}{cc[1]}:\n"
                                       f"{proc.stderr}")
                row = {"kernel": name, "dtype": dtype, "cc": f"{cc[0]}{cc[1]}", "variant": variant,
                       "launch_bounds": bounds, **parse_ptxas(proc.stdout + proc.stderr),
                       "ptx_bytes": len(ptx), "cubin_bytes": cubin.stat().st_size}
                row["seconds"] = round(time.perf_counter() - start, 2)
                rows.append(row)
    return rows


def markdown(rows):
    """The resource table as markdown, one row per kernel × dtype × cc."""
    head = ("| kernel | dtype | sm | block | launch bound | registers | spill stores/loads (B) "
            "| stack (B) | static smem (B) | cubin (B) |\n|---|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['kernel']} | {r['dtype']} | sm_{r['cc']} | {r['variant']} | {r['launch_bounds']} "
        f"| {r['registers']} "
        f"| {r['spill_stores']}/{r['spill_loads']} | {r['stack']} | {r['shared']} "
        f"| {r['cubin_bytes']} |\n" for r in rows)
    return head + body


def write_resources(rows, path):
    """Regenerate :mod:`incipoly.kernels.cuda_resources` from ``rows``."""
    entries = "".join(
        f"    ({r['kernel']!r}, {r['dtype']!r}, {r['cc']!r}): "
        f"{{\"registers\": {r['registers']}, \"shared\": {r['shared']}}},\n" for r in rows
        if r["variant"] == "default")
    Path(path).write_text(
        '"""Registers per thread and static shared memory (bytes) of each CUDA kernel at the default\n'
        "block sizes, per (kernel, dtype, compute capability): generated by\n"
        "``python -m incipoly.kernels.cuda_check --write`` (NVVM + ptxas); do not edit by hand.\n"
        '"""\n\nRESOURCES = {\n' + entries + '}\n\n\n__all__ = ["RESOURCES"]\n')


def run_all(ccs, largest=False):
    """Compile for every cc in ``ccs``, one subprocess each, side by side; all rows."""
    cmd = [sys.executable, "-m", "incipoly.kernels.cuda_check"] + ["--largest"] * largest
    procs = [subprocess.Popen(cmd + ["--one-cc", str(cc)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, NUMBA_ENABLE_CUDASIM="0"))
             for cc in ccs]
    rows = []
    for cc, proc in zip(ccs, procs, strict=True):
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"compiling for sm_{cc} failed:\n{err[-4000:]}")
        rows += json.loads(out)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cc", nargs="+", default=[f"{a}{b}" for a, b in CCS],
                        help="compute capabilities, e.g. 80 90")
    parser.add_argument("--markdown", help="write the resource table to this file")
    parser.add_argument("--json", help="write the rows as JSON to this file")
    parser.add_argument("--write", action="store_true",
                        help="regenerate incipoly/kernels/cuda_resources.py")
    parser.add_argument("--largest", action="store_true",
                        help="also compile at the largest accepted block sizes (no spills there "
                             "either)")
    parser.add_argument("--one-cc", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_cc:
        cc = (int(args.one_cc[:-1]), int(args.one_cc[-1]))
        print(json.dumps(compile_one_cc(cc, args.largest)))
        return 0
    start = time.perf_counter()
    rows = run_all(args.cc, args.largest)
    table = markdown(rows)
    print(table)
    print(f"compiled {len(rows)} kernels in {time.perf_counter() - start:.1f} s")
    if args.markdown:
        Path(args.markdown).write_text(
            "# CUDA kernels: resources from NVVM + ptxas (`python -m incipoly.kernels.cuda_check`)\n\n"
            + table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.write:
        write_resources(rows, Path(__file__).with_name("cuda_resources.py"))
    spilling = [r for r in rows if r["spill_stores"] or r["spill_loads"]]
    for r in spilling:
        print(f"SPILLS: {r['kernel']} {r['dtype']} sm_{r['cc']}: {r['spill_stores']} B stored, "
              f"{r['spill_loads']} B loaded", file=sys.stderr)
    return 1 if spilling else 0


__all__ = ["CCS", "DTYPES", "KERNELS", "signatures", "kernels", "ptxas_path", "parse_ptxas",
           "compile_one_cc", "markdown", "write_resources", "run_all", "main"]


if __name__ == "__main__":
    sys.exit(main())
