"""Where one training step's time goes at the paper shape, and the floor it implies.

Each phase of an AdamW step runs alone on one instance, one thread, ``--steps`` times per timed
call: the syrk Gram matrix, the ReLU residual, the dense gemm product ``(D + Dᵀ)W`` and the
optimiser update. Then the whole compiled step (``train_chunk``) on one instance and one thread,
and on two instances with two threads at once, which shows how much the second core adds. The
floor for ``--seeds`` instances is ``seeds × (one instance-step) / threads``, the best the
per-instance layout can do; compare it with bench/paper_shape.py.

Run: ``python bench/profile_step.py`` (about a minute); ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse

import numba
import numpy as np
from common import WARMUP_NOTE, add_common_args, fmt_spread, markdown_table, report, time_alternating
from numba import njit
from scaling import gemm_gflops

import incipoly as ip
from incipoly.config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS
from incipoly.init import initial_weights, noise_keys
from incipoly.kernels import cpu
from incipoly.training import _single_threaded_blas

PHASES = ("gram (syrk)", "residual", "product (gemm)", "update (adamw)")


@njit(**cpu._JIT)
def _inputs(W, hp64):
    """Buffers of one real forward pass: ``G``, ``Sm = D + Dᵀ``, the gradient, step scalars."""
    n, m = W.shape
    G, Sm = np.empty((n, n), W.dtype), np.empty((n, n), W.dtype)
    grad = np.empty((n, m), W.dtype)
    z, c = np.zeros(n, W.dtype), np.zeros(n, W.dtype)
    hp = hp64.astype(W.dtype)
    cpu._step_scalars(hp64, 1, hp)
    cpu._gram_blas(W, G)
    cpu._residual(G, z, False, Sm, c)
    np.dot(Sm, W, grad)
    return G, Sm, grad, z, c, hp


@njit(**cpu._JIT)
def _phase(W, M1, V, G, Sm, grad, z, c, hp, phase, inner):
    """Run one phase ``inner`` times on one instance's buffers (``W``, ``M1``, ``V`` change)."""
    w, m1, v, g = W.ravel(), M1.ravel(), V.ravel(), grad.ravel()
    for _ in range(inner):
        if phase == 0:
            cpu._gram_blas(W, G)
        elif phase == 1:
            cpu._residual(G, z, False, Sm, c)
        elif phase == 2:
            np.dot(Sm, W, grad)
        else:
            cpu._update(w, m1, v, g, 0, hp)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="features (default 256)")
    parser.add_argument("--m", type=int, default=1024, help="hidden neurons (default 1024)")
    parser.add_argument("--seeds", type=int, default=16,
                        help="instances the floor is computed for (default 16)")
    add_common_args(parser, repeats=7, steps=20)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.m, args.steps, args.repeats = 64, 128, 3, 2
    cfg = ip.Config(n_features=args.n, n_hidden=args.m, optimizer="adamw", lr=1e-3, l1=1e-3,
                    dtype="float32")
    W0 = initial_weights(cfg, 2)
    hp64 = cpu.make_hyperparameters(cfg, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
    keys = noise_keys(np.arange(2))
    M = np.zeros_like(W0)
    threads = numba.get_num_threads()

    def step_call(instances, nthreads):
        def call():
            W, M1, V = W0[:instances].copy(), M[:instances].copy(), M[:instances].copy()
            bad = np.full(instances, -1, np.int64)
            numba.set_num_threads(nthreads)
            try:
                cpu.train_chunk(W, M1, V, keys, 0, args.steps, 0, 0, True, hp64, bad)
            finally:
                numba.set_num_threads(threads)
        return call

    buffers = (W0[0].copy(), M[0].copy(), M[0].copy()) + _inputs(W0[0], hp64)
    impls = {name: (lambda k=k: _phase(*buffers, k, args.steps)) for k, name in enumerate(PHASES)}
    impls["step, 1 instance, 1 thread"] = step_call(1, 1)
    impls[f"step, {threads} instances, {threads} threads"] = step_call(threads, threads)
    limit = _single_threaded_blas()
    try:
        times = time_alternating(impls, args.repeats)
    finally:
        limit.unregister()
    per = {k: np.asarray(t) / args.steps for k, t in times.items()}
    peak = gemm_gflops(1, 1024 if args.quick else 2048, args.repeats) / 2   # GFMA/s, 1 thread
    n, m = args.n, args.m
    fma = {"gram (syrk)": n * (n + 1) / 2 * m, "product (gemm)": n * n * m}
    rows = []
    for name, t in per.items():
        med, rng = fmt_spread(t)
        rate = fma.get(name)
        rows.append([name, med, rng,
                     f"{rate / np.median(t) / 1e9:.1f} ({rate / np.median(t) / 1e9 / peak:.0%})"
                     if rate else ""])
    one = np.median(per["step, 1 instance, 1 thread"])
    two = np.median(per[f"step, {threads} instances, {threads} threads"])
    table = markdown_table(["phase (per instance-step)", "median", "min – max",
                            "GFMA/s (of 1-thread gemm peak)"], rows)
    notes = [
        f"n={n}, m={m}, float32, AdamW lr 1e-3, l1 1e-3, from init; {args.steps} runs per timed "
        f"call, {args.repeats} repetitions; BLAS single-threaded. {WARMUP_NOTE}",
        f"Single-thread float32 gemm peak (np.matmul, 2048²): {peak:.1f} GFMA/s. Minimal "
        f"multiply–adds per instance-step: syrk n(n+1)m/2 + gemm n²m = "
        f"{(fma['gram (syrk)'] + fma['product (gemm)']) / 1e6:.0f} M → "
        f"{(fma['gram (syrk)'] + fma['product (gemm)']) / peak / 1e6:.2f} ms at peak.",
        f"Floor for {args.seeds} instances on {threads} threads: {args.seeds} × {one * 1e3:.2f} ms"
        f" / {threads} = {args.seeds * one / threads * 1e3:.1f} ms/step if the threads scaled "
        f"perfectly; with the measured {threads}-thread instance-step ({two * 1e3:.2f} ms per "
        f"thread): {args.seeds * two / threads * 1e3:.1f} ms/step.",
    ]
    report(args, f"Step profile n={n}, m={m} (float32, AdamW)", table, notes)


if __name__ == "__main__":
    main()
