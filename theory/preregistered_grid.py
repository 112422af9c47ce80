"""Pre-registered test grid of issue 22 (theory/README.md, section h): predict, commit, then train.

Cells: ``n ∈ {48, 96, 192, 256} × m/n ∈ {1, 1.25, 2.5, 5, 12, 16} × {adamw, gd-prox}`` at the
defaults of :data:`incipoly.compare.OPTIMIZER_DEFAULTS` (AdamW lr 1e-3, λ 1e-3, 7500 steps;
gd-prox lr 0.05, λ 1e-2, 12000 steps), init ``normal``, float32, 64 fresh seeds per cell:
:data:`SEEDS` = 30000 … 30063 (disjoint from the seeds 0 … 511, 7000 + …, 10⁶ + … used before).

Two phases, in this order (the git history shows the first committed before the second started):

    python theory/preregistered_grid.py predict --out theory/data/prereg_predictions.csv
    nice -n 19 python theory/preregistered_grid.py train --cache theory/data/prereg \\
        --log theory/data/prereg/progress.log            # resumable, cheapest cells first
    python theory/preregistered_grid.py score --out theory/data/prereg_scores.csv

``train`` keeps per cell only per-seed summaries (polysemantic count, the argmax overlap terms,
in-band fraction, final loss) in ``<cache>/<cell>.npz`` (written to a temporary file and renamed),
so an interrupted run resumes at the first missing cell. ``score`` adds z = (sim − model)/SE to
every predicted row whose cell has finished, and the overlap ratio ``R`` of the argmax placements
(``knockouts.ratio``; 1 for independent placement) with its SE.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

import incipoly as ip  # noqa: E402
from incipoly import metrics  # noqa: E402
from incipoly.compare import OPTIMIZER_DEFAULTS  # noqa: E402
from theory.knockouts import overlap_terms, ratio  # noqa: E402

N_VALUES = (48, 96, 192, 256)
RATIOS = (1, 1.25, 2.5, 5, 12, 16)
OPTIMIZERS = ("adamw", "gd-prox")
SEEDS = tuple(range(30000, 30064))
#: Seconds per unit of n²·m·steps·seeds for one thread of this machine (adamw n = 64, m = 128,
#: 7500 steps, 64 seeds in 12.1 s, theory/data/completeness_cost.md), for the cost estimate only.
SECONDS_PER_UNIT = 12.1 / (64 ** 2 * 128 * 7500 * 64)


def cells():
    """Every (optimizer, n, m) of the grid, cheapest first."""
    out = [(opt, n, int(round(r * n))) for opt in OPTIMIZERS for n in N_VALUES for r in RATIOS]
    return sorted(out, key=lambda c: (cost(*c), c))


def config(optimizer, n, m):
    d = OPTIMIZER_DEFAULTS[optimizer]
    return ip.Config(n_features=n, n_hidden=m, steps=d["steps"], optimizer=optimizer, lr=d["lr"],
                     l1=d["l1"])


def cost(optimizer, n, m):
    """Estimated one-thread seconds to train the cell (``∝ n²·m·steps·seeds``)."""
    return SECONDS_PER_UNIT * n * n * m * OPTIMIZER_DEFAULTS[optimizer]["steps"] * len(SEEDS)


def cell_path(cache, optimizer, n, m):
    return Path(cache) / f"{optimizer}_n{n}_m{m}_s{SEEDS[0]}-{SEEDS[-1]}.npz"


def train_cell(optimizer, n, m):
    """Per-seed summaries of one trained cell."""
    run = ip.train(config(optimizer, n, m), list(SEEDS), progress=False, record=2)
    W = run.W.astype(np.float64)
    overlap, independent = overlap_terms(W)
    peak = np.abs(W).max(2)
    return dict(count=metrics.polysemantic_neurons(run.W), overlap=overlap, independent=independent,
                in_band=((peak >= 0.8) & (peak <= 1.2)).mean(1), loss=run.history["loss"][-1])


def cmd_train(args):
    log = open(args.log, "a") if args.log else sys.stdout
    todo = cells()
    total = sum(cost(*c) for c in todo)
    print(f"{time.strftime('%H:%M:%S')} grid: {len(todo)} cells, estimated {total / 3600:.1f} h on one "
          "unloaded thread", file=log, flush=True)
    for j, (opt, n, m) in enumerate(todo):
        path = cell_path(args.cache, opt, n, m)
        if path.exists():
            continue
        t0 = time.time()
        print(f"{time.strftime('%H:%M:%S')} [{j + 1}/{len(todo)}] {opt} n={n} m={m} "
              f"(estimate {cost(opt, n, m):.0f} s)", file=log, flush=True)
        out = train_cell(opt, n, m)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, **out)
        tmp.rename(path)
        print(f"{time.strftime('%H:%M:%S')}   done in {time.time() - t0:.0f} s: mean count "
              f"{out['count'].mean():.3f}", file=log, flush=True)


def cmd_score(args):
    rows = list(csv.DictReader(open(args.predictions)))
    out = []
    for row in rows:
        path = cell_path(args.cache, row["optimizer"], int(row["n"]), int(row["m"]))
        if not path.exists():
            continue
        with np.load(path) as z:
            counts = z["count"].astype(float)
            in_band = float(z["in_band"].mean())
            R, influence = ratio(z["overlap"].astype(float), z["independent"].astype(float))
        se = np.hypot(counts.std(ddof=1) / np.sqrt(len(counts)), float(row["mean_se"]))
        out.append({**row, "sim_mean": f"{counts.mean():.4f}", "sim_se": f"{se:.4f}",
                    "sim_sd": f"{counts.std(ddof=1):.4f}", "in_band": f"{in_band:.4f}",
                    "overlap_ratio": f"{R:.4f}", "overlap_ratio_se": f"{np.sqrt((influence ** 2).sum()):.4f}",
                    "z": f"{(counts.mean() - float(row['mean'])) / se:+.2f}"})
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]) if out else ["none"])
        w.writeheader()
        w.writerows(out)
    print("| optimizer | n | m | sim ± SE | sim sd | in band | R ± SE | exclusion (sd) | z "
          "| empirical-R (sd) | z |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    pairs = {}
    for r in out:
        pairs.setdefault((r["optimizer"], int(r["n"]), int(r["m"])), {})[r["model"]] = r
    for (opt, n, m), by in pairs.items():
        e, b = by["exclusion"], by["empirical-R"]
        print(f"| {opt} | {n} | {m} | {float(e['sim_mean']):.2f} ± {float(e['sim_se']):.2f} | "
              f"{float(e['sim_sd']):.2f} | {float(e['in_band']):.3f} | {float(e['overlap_ratio']):.3f} ± "
              f"{float(e['overlap_ratio_se']):.3f} | {float(e['mean']):.2f} "
              f"({float(e['sd']):.2f}) | {e['z']} | {float(b['mean']):.2f} ({float(b['sd']):.2f}) | "
              f"{b['z']} |")
    for model in sorted({r["model"] for r in out}):
        z = np.array([float(r["z"]) for r in out if r["model"] == model])
        print(f"\n{model}: {np.sum(np.abs(z) <= 2)}/{len(z)} cells |z| <= 2, "
              f"RMS z {np.sqrt(np.mean(z ** 2)):.2f}, worst {z[np.abs(z).argmax()]:+.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("predict", help="write every model's predicted (mean, sd) per cell")
    p.add_argument("--out", required=True)
    t = sub.add_parser("train", help="train the missing cells, cheapest first")
    t.add_argument("--cache", required=True)
    t.add_argument("--log", default=None)
    s = sub.add_parser("score", help="z of every finished cell against the predictions")
    s.add_argument("--cache", required=True)
    s.add_argument("--predictions", default="theory/data/prereg_predictions.csv")
    s.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "predict":
        from theory.prereg_models import predict_rows
        rows = predict_rows(cells(), config)
        with open(args.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"{len(rows)} predictions written to {args.out}")
    elif args.cmd == "train":
        cmd_train(args)
    else:
        cmd_score(args)


if __name__ == "__main__":
    main()
