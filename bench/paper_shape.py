"""Seconds per step at the paper's large shape: incipoly vs the PyTorch and NumPy reference loops.

n = 256 features, m = 1024 hidden, 16 seeds, float32, AdamW lr 1e-3, l1 1e-3 (weight decay 0.01).
incipoly is timed twice: "from init" starts at the initial weights (the ReLU passes about half
of the interference terms), "trained" starts from the weights after ``--pretrain-steps`` steps
(the residual's sparsity there is printed). The references' cost does not depend on the weights,
so they are timed from init only.

Run: ``python bench/paper_shape.py`` (about 3 minutes on 2 cores); ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from common import (
    WARMUP_NOTE,
    add_common_args,
    fmt_time,
    incipoly_call,
    per_step_table,
    reference_calls,
    report,
    time_alternating,
)
from reference import TORCH_THREADS

import incipoly as ip
from incipoly.init import initial_weights


def residual_density(W) -> float:
    """Mean fraction of pairs (i, j) with ``W_i·W_j > 0``: the non-zero entries of the residual
    that the gradient has to visit."""
    W = np.asarray(W, dtype=np.float64)
    return float((np.matmul(W, W.transpose(0, 2, 1)) > 0).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=5, steps=30)
    parser.add_argument("--pretrain-steps", type=int, default=1000,
                        help="incipoly steps from init to the 'trained' state (default 1000)")
    args = parser.parse_args(argv)
    n, m, seeds = (64, 256, 4) if args.quick else (256, 1024, 16)
    if args.quick:
        args.repeats, args.steps, args.pretrain_steps = 2, 5, 100
    cfg = ip.Config(n_features=n, n_hidden=m, steps=args.steps, optimizer="adamw", lr=1e-3,
                    l1=1e-3, dtype="float32")
    W0 = initial_weights(cfg, seeds)
    incipoly_call(cfg, W0, 1)()  # compile or load the kernels before timing the pre-training
    t = time.perf_counter()
    W_trained = ip.train(cfg.replace(steps=args.pretrain_steps), seeds=seeds, W0=W0,
                         progress=False).W
    pretrain_s = time.perf_counter() - t

    impls = {"incipoly (from init)": incipoly_call(cfg, W0, args.steps),
             "incipoly (trained)": incipoly_call(cfg, W_trained, args.steps),
             **reference_calls(cfg, W0, args.steps)}
    times = time_alternating(impls, args.repeats)
    table = per_step_table(times, dict.fromkeys(impls, args.steps),
                           baselines=["incipoly (from init)", "incipoly (trained)"])
    notes = [
        f"n={n}, m={m}, {seeds} seeds, float32, AdamW lr 1e-3, l1 1e-3, weight decay 0.01; "
        f"{args.steps} steps per timed call, {args.repeats} repetitions. {WARMUP_NOTE}",
        f"'from init': initial weights N(0, 1/m), residual density (fraction of W_i·W_j > 0) "
        f"{residual_density(W0):.3f}. 'trained': weights after {args.pretrain_steps} incipoly "
        f"steps from the same init (AdamW moments restart at zero; the cost does not depend on "
        f"them), residual density {residual_density(W_trained):.3f}. The pre-training itself "
        f"took {fmt_time(pretrain_s)} ({fmt_time(pretrain_s / max(args.pretrain_steps, 1))}/step, "
        f"including the default 64 history records).",
        f"incipoly: numba threads as configured (machine block), BLAS single-threaded inside "
        f"its parallel loop; each call includes one end-of-run loss evaluation (about one "
        f"step). torch_loop: torch.set_num_threads({TORCH_THREADS}), autograd + "
        f"torch.optim.AdamW. numpy_loop: batched np.matmul, BLAS threads at their default.",
    ]
    report(args, f"Paper shape n={n}, m={m}, {seeds} seeds (float32, AdamW)", table, notes)


if __name__ == "__main__":
    main()
