"""The acceptance grid of the predictive model (theory/README.md, section g), trained resumably.

Cells: ``n ∈ {32, 64, 128} × m/n ∈ {1, 1.5, 2, 3, 4, 6, 8, 16} × {adamw, gd-prox}`` at the defaults of
:data:`incipoly.compare.OPTIMIZER_DEFAULTS`, plus AdamW at ``n = 64``, ``m ∈ {n, 4n}``,
``λ ∈ {1e-3, 1e-2, 1e-1}``; 64 seeds (0 … 63) each. Every cell is trained once into ``--cache``
(one ``.npz`` per cell with W0, W and weight snapshots, see :func:`simulation_table.run_cell`), so
an interrupted run resumes at the first missing cell. Cells run cheapest first.

    python theory/prediction_grid.py --cache /work/theory-grid          # ≈ 1 h on 2 cores
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from incipoly import compare  # noqa: E402
from theory.simulation_table import run_cell  # noqa: E402

N_VALUES = (32, 64, 128)
RATIOS = (1, 1.5, 2, 3, 4, 6, 8, 16)
SEEDS = 64
#: λ cells: AdamW (the paper's setting otherwise) at n = 64, m = n and m = 4n.
LAMBDA_N, LAMBDA_RATIOS, LAMBDAS = 64, (1, 4), (1e-3, 1e-2, 1e-1)

#: Which cells decide the model (design) and which only evaluate it (held out): n ≤ 64 of the main
#: grid were looked at while the model was built; n = 128 and the λ ≠ 1e-3 cells were not.
HELD_OUT_N = 128


def cells():
    """Every cell of the acceptance grid, each once, cheapest first."""
    out = compare.grid(N_VALUES, RATIOS, ("adamw", "gd-prox"))
    out += compare.grid([LAMBDA_N], LAMBDA_RATIOS, ("adamw",), l1_values=LAMBDAS)
    unique = list(dict.fromkeys(out))
    return sorted(unique, key=lambda c: (c.n * c.n * c.m * c.steps, c.optimizer, c.l1))


def held_out(cell) -> bool:
    """True for a cell the model was not looked at against while it was built."""
    return cell.n >= HELD_OUT_N or cell.l1 != compare.OPTIMIZER_DEFAULTS[cell.optimizer]["l1"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="directory for the per-cell .npz files")
    ap.add_argument("--seeds", type=int, default=SEEDS)
    args = ap.parse_args(argv)
    todo = cells()
    start = time.perf_counter()
    for j, cell in enumerate(todo):
        run_cell(cell, args.seeds, args.cache,
                 log=lambda s: print(f"[{j + 1}/{len(todo)} {time.perf_counter() - start:6.0f} s]{s}",
                                     flush=True))


if __name__ == "__main__":
    main()
