"""How incipoly's cost scales with n, m, seeds and threads, against the machine's GEMM throughput.

One parameter varies at a time around the base point n = 64, m = 256, 16 seeds, all numba threads
(float32, AdamW lr 1e-3, l1 1e-3, from init: the first ``--steps`` steps, while about half of the
residual is non-zero). Each sweep is timed with its points alternating, and a log–log slope is
fitted to the median s/step (ideal: n 2, m 1, seeds 1, threads −1). Throughput counts the
minimal ≈ 2·n²·m flops per seed-step and is compared with ``np.matmul`` float32 at
``--gemm-size`` with the same number of BLAS threads as numba threads.

Run: ``python bench/scaling.py`` (about 2 minutes on 2 cores); ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse

import numba
import numpy as np
from common import (
    WARMUP_NOTE,
    add_common_args,
    fmt_spread,
    incipoly_call,
    markdown_table,
    report,
    time_alternating,
)
from threadpoolctl import threadpool_limits

import incipoly as ip
from incipoly.init import initial_weights

BASE = {"n": 64, "m": 256, "seeds": 16}
SWEEPS = {"n": [32, 64, 128, 256], "m": [64, 128, 256, 512, 1024], "seeds": [4, 8, 16, 32, 64]}
QUICK_BASE = {"n": 32, "m": 128, "seeds": 4}
QUICK_SWEEPS = {"n": [16, 32, 64], "m": [64, 128, 256], "seeds": [2, 4, 8]}
IDEAL = {"n": 2, "m": 1, "seeds": 1, "threads": -1}


def thread_counts(maximum: int) -> list:
    """1, 2, 4, … up to ``maximum``, and ``maximum`` itself."""
    return sorted({min(2 ** k, maximum) for k in range(maximum.bit_length() + 1)})


def point_call(n, m, seeds, threads, steps):
    """A callable that trains the point's models from init for ``steps`` steps on ``threads``."""
    cfg = ip.Config(n_features=n, n_hidden=m, steps=steps, optimizer="adamw", lr=1e-3, l1=1e-3,
                    dtype="float32")
    train = incipoly_call(cfg, initial_weights(cfg, seeds), steps)

    def call():
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            train()
        finally:
            numba.set_num_threads(previous)
    return call


def gemm_gflops(threads: int, size: int, repeats: int) -> float:
    """Median float32 ``np.matmul`` throughput (GFLOP/s) of ``size``² matrices on ``threads``."""
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    C = np.empty_like(A)
    with threadpool_limits(limits=threads, user_api="blas"):
        t = time_alternating({"gemm": lambda: np.matmul(A, B, out=C)}, repeats)["gemm"]
    return 2 * size ** 3 / np.median(t) / 1e9


def fit_exponent(x, y) -> float:
    """Slope of ``log y`` against ``log x`` (least squares)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=5, steps=20)
    parser.add_argument("--gemm-size", type=int, default=2048,
                        help="matrix size of the GEMM throughput reference (default 2048)")
    args = parser.parse_args(argv)
    base, sweeps = (QUICK_BASE, QUICK_SWEEPS) if args.quick else (BASE, SWEEPS)
    if args.quick:
        args.repeats, args.steps, args.gemm_size = 2, 5, 512
    max_threads = numba.get_num_threads()
    base = {**base, "threads": max_threads}
    sweeps = {**sweeps, "threads": thread_counts(max_threads)}
    peak = {t: gemm_gflops(t, args.gemm_size, args.repeats) for t in sweeps["threads"]}

    rows, fits = [], []
    for name, values in sweeps.items():
        points = [{**base, name: v} for v in values]
        times = time_alternating({v: point_call(**p, steps=args.steps)
                                  for v, p in zip(values, points)}, args.repeats)
        medians = []
        for v, p in zip(values, points):
            per_step = times[v] / args.steps
            medians.append(np.median(per_step))
            gflops = 2 * p["n"] ** 2 * p["m"] * p["seeds"] / medians[-1] / 1e9
            rows.append([name, v, f"{p['n']}×{p['m']}×{p['seeds']}, {p['threads']} thr",
                         *fmt_spread(per_step), f"{gflops:.1f}",
                         f"{100 * gflops / peak[p['threads']]:.0f} %"])
        fits.append([name, f"{values[0]} … {values[-1]}", f"{fit_exponent(values, medians):.2f}",
                     IDEAL[name]])

    table = markdown_table(["sweep", "value", "n×m×seeds, threads", "s/step median",
                            "s/step min – max", "GFLOP/s (2n²m per seed-step)", "of GEMM peak"],
                           rows)
    table += "\n\n" + markdown_table(["sweep", "range", "fitted log–log exponent", "ideal"], fits)
    notes = [
        f"float32, AdamW lr 1e-3, l1 1e-3, from init; {args.steps} steps per timed call, "
        f"{args.repeats} repetitions; the points of each sweep alternate. {WARMUP_NOTE}",
        "GEMM peak (np.matmul float32, {}², BLAS threads = numba threads): {}. incipoly calls "
        "gemm single-threaded inside its numba-parallel loop over seeds, so this peak is its "
        "ceiling; its true flop count is higher than 2·n²·m (about 3·n²·m dense: half a "
        "symmetric Gram product plus (D + Dᵀ)W, and the optimiser's elementwise work), so the "
        "percentage understates the kernels' efficiency."
        .format(args.gemm_size, ", ".join(f"{t} thr {g:.0f} GFLOP/s" for t, g in peak.items())),
        "Each timed call includes one end-of-run loss evaluation (about one step).",
    ]
    report(args, "incipoly scaling with n, m, seeds and threads", table, notes)


if __name__ == "__main__":
    main()
