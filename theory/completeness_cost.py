"""Wall time of the exclusion law's one-feature constant ``c`` against the full runs it serves.

``analytic.sparsification_completeness`` trains 512 one-feature models (n = 1, the same m, optimiser
and steps); the grid of section g trains 64 models of n features per cell. This script times both
on the same machine, one thread each, after a warm-up that compiles the kernels, and prints the
ratio (theory/README.md, section g, "Constants").

    NUMBA_NUM_THREADS=1 python theory/completeness_cost.py --cells adamw:32:64 gd-prox:64:128
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import incipoly as ip  # noqa: E402
from incipoly.analytic import sparsification_completeness  # noqa: E402
from incipoly.compare import OPTIMIZER_DEFAULTS  # noqa: E402


def config(optimizer, n, m):
    d = OPTIMIZER_DEFAULTS[optimizer]
    return ip.Config(n_features=n, n_hidden=m, steps=d["steps"], optimizer=optimizer, lr=d["lr"],
                     l1=d["l1"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", nargs="+", default=["adamw:32:64", "gd-prox:32:64"],
                    help="OPTIMIZER:N:M")
    ap.add_argument("--seeds", type=int, default=64, help="full models per cell (the grid's 64)")
    args = ap.parse_args(argv)
    for spec in args.cells:
        opt, n, m = spec.split(":")
        cfg = config(opt, int(n), int(m))
        ip.train(cfg.replace(steps=2), 2, progress=False)               # compile, not timed
        sparsification_completeness(cfg.replace(steps=2), seeds=2)
        t0 = time.perf_counter()
        c, _ = sparsification_completeness(cfg)
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        ip.train(cfg, args.seeds, progress=False, record=2)
        t_full = time.perf_counter() - t0
        print(f"| {opt} | {n} | {m} | {cfg.steps} | {t_one:.1f} s | {t_full:.1f} s | "
              f"{t_one / t_full:.2f} | c = {c:.3f} |", flush=True)


if __name__ == "__main__":
    main()
