"""Predictions registered for the new grid of issue 22 before any of its cells was trained.

Two rows per cell (``theory/preregistered_grid.py predict``):

* ``exclusion`` — the shipped predictive model, ``analytic.predicted_polysemantic(config)``
  unchanged: ``n(n − 1)c²/4m`` with ``c`` from 512 one-feature runs (seeds 10⁶ …), its sd and
  ``mean_se``. No constant is fitted to counts.
* ``empirical-R`` — a *baseline, not a model*: the exclusion law times the ratio sim/exclusion
  measured on section g's grid (``theory/data/section_g_grid.csv``, counts of seeds 0 … 63 at
  n = 32, 64, 128, the optimizer's default λ), averaged over n at each m/n and interpolated
  linearly in ``log(m/n)``; sd = exclusion sd × √ratio (a Poisson-like count). It is fitted to
  *old* counts; it says how far a correction that depends on m/n alone can go on new n.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from incipoly import analytic

GRID_G = Path(__file__).resolve().parent / "data" / "section_g_grid.csv"
DEFAULT_L1 = {"adamw": 0.001, "gd-prox": 0.01}


def section_g_ratio(optimizer, ratio):
    """Mean over n of sim/exclusion on section g's grid at m/n, log-interpolated between ratios."""
    rows = [r for r in csv.DictReader(open(GRID_G))
            if r["optimizer"] == optimizer and float(r["l1"]) == DEFAULT_L1[optimizer]]
    by = {}
    for r in rows:
        by.setdefault(int(r["m"]) / int(r["n"]), []).append(float(r["sim_mean"]) / float(r["exclusion"]))
    x = np.array(sorted(by))
    y = np.array([np.mean(by[k]) for k in x])
    return float(np.interp(np.log(ratio), np.log(x), y))


def predict_rows(cells, config):
    """One row per (model, cell): mean, sd, mean_se and the constants used."""
    rows, c_cache = [], {}
    for opt, n, m in cells:
        cfg = config(opt, n, m)
        if (opt, m) not in c_cache:
            c_cache[(opt, m)] = analytic.sparsification_completeness(cfg)
        c, c_se = c_cache[(opt, m)]
        mean, var = analytic.exclusion_polysemantic(n, m, c)
        mean_se = n * (n - 1) * c * c_se / (2 * m)
        base = dict(optimizer=opt, n=n, m=m, ratio=m / n, lr=cfg.lr, l1=cfg.l1, steps=cfg.steps,
                    seeds="30000-30063", c=f"{c:.4f}", c_se=f"{c_se:.4f}")
        rows.append({"model": "exclusion", **base, "mean": f"{mean:.4f}", "sd": f"{np.sqrt(var):.4f}",
                     "mean_se": f"{mean_se:.4f}", "factor": "1"})
        f = section_g_ratio(opt, m / n)
        rows.append({"model": "empirical-R", **base, "mean": f"{f * mean:.4f}",
                     "sd": f"{np.sqrt(f * var):.4f}", "mean_se": f"{f * mean_se:.4f}", "factor": f"{f:.4f}"})
        print(opt, n, m, rows[-2]["mean"], rows[-1]["mean"], flush=True)
    return rows
