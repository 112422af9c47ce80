"""Sparse-input toy model (TMS's n = 20, m = 5): incipoly against a TMS/ARENA-style PyTorch loop.

Both train 64 instances of ``y = ReLU(Wᵀ W x + b)`` on fresh sparse batches of 1024 examples
(feature probability ``p``, magnitudes U(0, 1)), importance ``0.7^i``, AdamW, float32. The PyTorch
loop is written as TMS and ARENA write it: weights ``(instances, n, m)``, batch drawn with
``torch.rand`` every step, two einsums, importance-weighted squared error, autograd, AdamW.
Both draw their batch inside the timed step.

Prints a markdown table (median ms/step over alternating repeats, ratio, and the arithmetic
floor: dense FLOPs per step over the measured float32 GEMM peak of the machine). Nothing is
written to bench/RESULTS.md.

    PYTHONPATH=. python bench/sparse.py [--repeats 5] [--steps 50] [--quick]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine_block, markdown_table, spread, time_alternating  # noqa: E402
from scaling import gemm_gflops  # noqa: E402

N, M, INSTANCES, BATCH, IMPORTANCE, LR = 20, 5, 64, 1024, 0.7, 1e-3
TORCH_THREADS = 2


def config(p, steps):
    import incipoly as ip
    return ip.Config(n_features=N, n_hidden=M, steps=steps, optimizer="adamw", lr=LR, l1=0.0,
                     weight_decay=0.0, init="xavier", dtype="float32", inputs="sparse",
                     feature_prob=p, batch_size=BATCH, importance=IMPORTANCE, bias=True)


def incipoly_call(p, steps):
    """``ip.train`` of 64 seeds for ``steps`` steps in one compiled chunk (history: last step)."""
    import incipoly as ip
    cfg = config(p, steps)
    return lambda: ip.train(cfg, seeds=INSTANCES, record=[steps], progress=False,
                            chunk_steps=steps)


def torch_call(p, steps):
    """TMS / ARENA: ``generate_batch`` + einsum forward + ``(importance·(x − out)²)`` + AdamW."""
    import torch
    torch.set_num_threads(TORCH_THREADS)
    gen = torch.Generator().manual_seed(0)
    W = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(INSTANCES, N, M), generator=gen))
    b = torch.nn.Parameter(torch.zeros(INSTANCES, N))
    importance = IMPORTANCE ** torch.arange(N, dtype=torch.float32)
    opt = torch.optim.AdamW([W, b], lr=LR, weight_decay=0.0)

    def run():
        for _ in range(steps):
            feat = torch.rand(BATCH, INSTANCES, N, generator=gen)
            x = torch.where(torch.rand(BATCH, INSTANCES, N, generator=gen) <= p, feat,
                            torch.zeros(()))
            hidden = torch.einsum("bif,ifh->bih", x, W)
            out = torch.relu(torch.einsum("bih,ifh->bif", hidden, W) + b)
            loss = (importance * (x - out) ** 2).mean(dim=0).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return run


def dense_flops_per_step():
    """FLOPs of one dense step: 2 forward products and 3 backward products of ``2·B·n·m`` each
    per instance (encoder, decoder; ∂hidden, ∂W through decoder and through encoder)."""
    return 5 * 2 * BATCH * N * M * INSTANCES


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="steps per timed call")
    parser.add_argument("--probs", default="0.05,1.0", help="feature probabilities to time")
    parser.add_argument("--quick", action="store_true", help="2 repeats of 5 steps")
    args = parser.parse_args(argv)
    repeats, steps = (2, 5) if args.quick else (args.repeats, args.steps)
    peak = gemm_gflops(2, 1024, 3) * 1e9
    flops = dense_flops_per_step()
    rows = []
    for p in (float(x) for x in args.probs.split(",")):
        times = time_alternating({"incipoly": incipoly_call(p, steps),
                                  "torch": torch_call(p, steps)}, repeats)
        ms = {k: spread(v)[0] / steps * 1e3 for k, v in times.items()}
        rows.append([f"{p:g}", f"{ms['incipoly']:.3g}", f"{ms['torch']:.3g}",
                     f"{ms['torch'] / ms['incipoly']:.2f}×", f"{flops / peak * 1e3:.3g}"])
    print(machine_block())
    print()
    print(markdown_table(["p", "incipoly ms/step", "torch ms/step", "torch / incipoly",
                          "dense floor ms/step"], rows))
    print(f"\nn = {N}, m = {M}, {INSTANCES} instances, batch {BATCH}, float32, AdamW, both drawing "
          f"their batch each step; {repeats} alternating repeats of {steps} steps, medians, "
          f"compilation and warm-up excluded (one untimed call each). Floor: "
          f"{flops / 1e6:.1f} MFLOP per dense step / measured 2-thread float32 GEMM peak "
          f"{peak / 1e9:.1f} GFLOP/s. incipoly skips zero inputs and empty examples, so below "
          f"p = 1 it does fewer than the dense FLOPs. torch threads = {TORCH_THREADS}. "
          f"The host was busy with a long background simulation on both cores: ratios from "
          f"the same run are meaningful, absolute times are not.")


if __name__ == "__main__":
    main()
