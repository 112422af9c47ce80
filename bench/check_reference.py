"""Check that the reference loops and ``incipoly.train`` give the same final weights (float64).

Every case starts the three implementations from the same ``W0``. Noiseless cases compare them
as they are; noisy cases feed incipoly's own Bernoulli stream to the references (their native
streams differ). Exits with status 1 if any max |ΔW| exceeds ``--tol``.

Run: ``python bench/check_reference.py``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from common import markdown_table
from numba import njit
from reference import numpy_loop, torch_loop

import incipoly as ip
from incipoly.init import noise_keys
from incipoly.kernels.noise import NOISE_CODES, noise_value

#: (label, n, m, seeds, steps, Config overrides). n·m ≥ 4096 takes incipoly's BLAS code path.
CASES = [
    ("adamw", 6, 10, 3, 300, dict(optimizer="adamw", lr=1e-2, l1=1e-2)),
    ("adamw wd=0.1", 5, 8, 2, 300, dict(optimizer="adamw", lr=1e-2, l1=0.0, weight_decay=0.1)),
    ("adamw blas path", 64, 128, 2, 60, dict(optimizer="adamw", lr=1e-2, l1=1e-3)),
    ("sgd", 6, 10, 3, 300, dict(optimizer="sgd", lr=2e-2, l1=1e-2)),
    ("sgd wd=0.05", 8, 4, 2, 300, dict(optimizer="sgd", lr=2e-2, l1=0.0, weight_decay=0.05)),
    ("sgd blas path", 64, 128, 2, 60, dict(optimizer="sgd", lr=2e-3, l1=1e-3)),
    ("adamw bernoulli", 6, 10, 3, 300,
     dict(optimizer="adamw", lr=1e-2, l1=1e-2, noise="bernoulli", noise_std=0.1)),
    ("sgd bernoulli", 8, 16, 3, 300,
     dict(optimizer="sgd", lr=2e-2, l1=0.0, noise="bernoulli", noise_std=0.1)),
]


@njit(cache=True)
def _noise_block(kind, sigma, keys, step, m):
    """ξ of one step for every instance, exactly as incipoly's kernels draw it."""
    out = np.empty((keys.shape[0], m))
    for s in range(keys.shape[0]):
        for j in range(m):
            out[s, j] = noise_value(kind, sigma, keys[s], step, j, m)
    return out


def compare(n, m, seeds, steps, overrides):
    """Max |ΔW| between incipoly, torch_loop and numpy_loop for one case (float64).

    Returns
    -------
    dict
        ``"incipoly-torch"``, ``"incipoly-numpy"``, ``"torch-numpy"`` → max absolute difference,
        and ``"max|W|"`` for scale.
    """
    cfg = ip.Config(n_features=n, n_hidden=m, steps=steps, dtype="float64", **overrides)
    run = ip.train(cfg, seeds=seeds, progress=False)
    noise = None
    if cfg.noise != "none":
        keys = noise_keys(seeds)
        code = NOISE_CODES[cfg.noise]
        noise = lambda t: _noise_block(code, cfg.noise_std, keys, t, m)  # noqa: E731
    args = (run.W0, steps, cfg.optimizer, cfg.lr, cfg.l1, cfg.weight_decay)
    W_torch = torch_loop(*args, noise=noise)
    W_numpy = numpy_loop(*args, noise=noise)
    return {"incipoly-torch": np.abs(run.W - W_torch).max(),
            "incipoly-numpy": np.abs(run.W - W_numpy).max(),
            "torch-numpy": np.abs(W_torch - W_numpy).max(),
            "max|W|": np.abs(run.W).max()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-9, help="max |ΔW| allowed (default 1e-9)")
    args = parser.parse_args(argv)
    keys = ("incipoly-torch", "incipoly-numpy", "torch-numpy", "max|W|")
    rows, worst = [], 0.0
    for label, n, m, seeds, steps, overrides in CASES:
        d = compare(n, m, seeds, steps, overrides)
        worst = max(worst, d["incipoly-torch"], d["incipoly-numpy"], d["torch-numpy"])
        rows.append([label, f"{n}×{m}×{seeds}", str(steps)] + [f"{d[k]:.2e}" for k in keys])
    print(markdown_table(["case", "n×m×seeds", "steps"] + [f"max|ΔW| {k}" for k in keys[:3]]
                         + ["max|W|"], rows))
    ok = worst <= args.tol
    print(f"\nworst max|ΔW| = {worst:.2e} ({'OK' if ok else 'FAIL'}, tol {args.tol:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
