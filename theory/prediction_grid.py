"""The acceptance grid of the predictive model (theory/README.md, section g), trained resumably.

Cells: ``n ∈ {32, 64, 128} × m/n ∈ {1, 1.5, 2, 3, 4, 6, 8, 16} × {adamw, gd-prox}`` at the defaults of
:data:`incipoly.compare.OPTIMIZER_DEFAULTS`, plus AdamW at ``n = 64``, ``m ∈ {n, 4n}``,
``λ ∈ {1e-3, 1e-2, 1e-1}``; 64 seeds (0 … 63) each. Every cell is trained once into ``--cache``
(one ``.npz`` per cell with W0, W and weight snapshots, see :func:`simulation_table.run_cell`), so
an interrupted run resumes at the first missing cell. Cells run cheapest first.

    python theory/prediction_grid.py --cache /work/theory-grid          # ≈ 1 h on 2 cores
    python theory/prediction_grid.py --cache /work/theory-grid --table table.md --csv grid.csv

``--table`` evaluates the cells found in the cache (training nothing) and writes the markdown of
theory/README.md section g: every model beside the simulation with z-scores, the predicted and
simulated spread, and which cells decided the model and which were held out.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

from incipoly import compare  # noqa: E402
from incipoly.stores.run import Run  # noqa: E402
from theory.simulation_table import cell_path, run_cell  # noqa: E402

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


MODELS = (("n²/4m", "n2_over_4m"), ("birthday", "birthday"), ("cascade", "cascade"),
          ("exclusion", "exclusion"))


def evaluate(cache, seeds=SEEDS):
    """``compare.evaluate`` rows (plus ``held_out``) for every cell of the grid found in ``cache``."""
    rows = []
    for cell in cells():
        path = cell_path(cache, cell, seeds)
        if not path.exists():
            continue
        with np.load(path) as z:
            run = Run(config=cell.config(), seeds=np.arange(seeds), W0=z["W0"], W=z["W"],
                      history={"loss": z["hist_loss"]})
        rows.append({**compare.evaluate(cell, seeds, run=run), "held_out": held_out(cell)})
    rows.sort(key=lambda r: (r["held_out"], r["optimizer"], r["l1"], r["n"], r["m"]))
    return rows


def markdown(rows):
    """The cell table and the per-model summary (|z| ≤ 2 counts, spread within 25 %)."""
    out = ["| split | optimizer | λ | n | m | sim ± SE | sd | n²/4m | birthday | cascade | exclusion "
           "| z n²/4m | z bday | z casc | z excl | sd excl | sd ratio | in band |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {'held out' if r['held_out'] else 'design'} | {r['optimizer']} | {r['l1']:g} | {r['n']} | "
            f"{r['m']} | {r['sim_mean']:.2f} ± {r['sim_se']:.2f} | {r['sim_sd']:.2f} | "
            f"{r['n2_over_4m']:.2f} | {r['birthday']:.2f} | {r['cascade']:.2f} | {r['exclusion']:.2f} | "
            f"{r['z_n2_over_4m']:+.1f} | {r['z_birthday']:+.1f} | {r['z_cascade']:+.1f} | "
            f"{r['z_exclusion']:+.1f} | {r['exclusion_sd']:.2f} | {r['sim_sd'] / r['exclusion_sd']:.2f} | "
            f"{r['in_band']:.3f} |")
    out += ["", r"| model | design: \|z\| ≤ 2 | held out: \|z\| ≤ 2 | all | RMS z | worst z |",
            "|---|---|---|---|---|---|"]
    for name, key in MODELS:
        z = {h: [r[f"z_{key}"] for r in rows if r["held_out"] == h] for h in (False, True)}
        every = z[False] + z[True]
        out.append(f"| {name} | {sum(abs(v) <= 2 for v in z[False])}/{len(z[False])} | "
                   f"{sum(abs(v) <= 2 for v in z[True])}/{len(z[True])} | "
                   f"{sum(abs(v) <= 2 for v in every)}/{len(every)} | "
                   f"{np.sqrt(np.mean(np.square(every))):.1f} | "
                   f"{max(every, key=abs):+.1f} |")
    spread = [abs(r["sim_sd"] / r["exclusion_sd"] - 1) <= 0.25 for r in rows]
    out += ["", f"Exclusion law's sd within 25 % of the simulated sd: {sum(spread)}/{len(spread)} cells."]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="directory for the per-cell .npz files")
    ap.add_argument("--seeds", type=int, default=SEEDS)
    ap.add_argument("--table", default=None, help="evaluate the cached cells; write markdown here")
    ap.add_argument("--csv", default=None, help="with --table: also write the rows as CSV")
    args = ap.parse_args(argv)
    if args.table:
        rows = evaluate(args.cache, args.seeds)
        text = markdown(rows)
        Path(args.table).write_text(text + "\n")
        print(text)
        if args.csv:
            compare.write_csv(rows, args.csv, columns=compare.COLUMNS + ("held_out",))
        return
    todo = cells()
    start = time.perf_counter()
    for j, cell in enumerate(todo):
        run_cell(cell, args.seeds, args.cache,
                 log=lambda s, j=j: print(f"[{j + 1}/{len(todo)} {time.perf_counter() - start:6.0f} s]{s}",
                                          flush=True))


if __name__ == "__main__":
    main()
