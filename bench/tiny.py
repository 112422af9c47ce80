"""The tiny-model regime, dominated by per-step overhead: incipoly vs the reference loops.

n = 8 features, m = 16 hidden, 5 seeds, float32, SGD lr 0.02, l1 = 0, Bernoulli hidden noise
σ = 0.1, a run of 10⁵ steps. incipoly runs the whole ``--steps`` per timed call; the reference
loops run ``--ref-steps`` per call and their time for the full run is extrapolated from s/step.

Run: ``python bench/tiny.py`` (under a minute on 2 cores); ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse

from common import (
    WARMUP_NOTE,
    add_common_args,
    incipoly_call,
    per_step_table,
    reference_calls,
    report,
    time_alternating,
)
from reference import TORCH_THREADS

import incipoly as ip
from incipoly.init import initial_weights

RUN_STEPS = 100_000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=5, steps=RUN_STEPS)
    parser.add_argument("--ref-steps", type=int, default=10_000,
                        help="steps per timed call of torch_loop and numpy_loop (default 10000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.ref_steps = 2, 10_000, 500
    seeds = 5
    cfg = ip.Config(n_features=8, n_hidden=16, steps=args.steps, optimizer="sgd", lr=0.02,
                    l1=0.0, noise="bernoulli", noise_std=0.1, dtype="float32")
    W0 = initial_weights(cfg, seeds)
    impls = {"incipoly": incipoly_call(cfg, W0, args.steps),
             **reference_calls(cfg, W0, args.ref_steps)}
    steps = {"incipoly": args.steps, "torch_loop": args.ref_steps, "numpy_loop": args.ref_steps}
    times = time_alternating(impls, args.repeats)
    table = per_step_table(times, steps, baselines=["incipoly"], total_steps=RUN_STEPS)
    notes = [
        f"n=8, m=16, {seeds} seeds, float32, SGD lr 0.02, l1 0, Bernoulli noise σ=0.1; "
        f"{args.repeats} repetitions. {WARMUP_NOTE}",
        f"'time for {RUN_STEPS:g} steps' is s/step × {RUN_STEPS:g}: measured for incipoly when "
        f"its steps per call equal {RUN_STEPS:g}, extrapolated for the reference loops "
        f"({args.ref_steps} steps per call). torch_loop: torch.set_num_threads({TORCH_THREADS}). "
        "Each noise stream is the implementation's own (same distribution, different draws).",
    ]
    report(args, f"Tiny model n=8, m=16, {seeds} seeds (float32, SGD, Bernoulli noise)", table,
           notes)


if __name__ == "__main__":
    main()
