"""Theory vs simulation: the table of theory/README.md, section "Theory vs simulation".

Trains every cell of ``n ∈ {64, 128} × m/n ∈ {1, 2, 4, 8, 16} × {adamw, gd-prox}`` (defaults of
:data:`incipoly.compare.OPTIMIZER_DEFAULTS`) on seeds ``0 … S−1``, keeps weight snapshots at a few
checkpoints in a cache directory (one ``.npz`` per cell, so an interrupted run resumes), and
prints a markdown table: simulated polysemantic count (mean ± SE) beside n²/4m, the birthday law,
the cascade model on the same W0 (paired), and the z-scores; then a diagnostics table (count
over n(n−1)/4m, movers and their avoidance of opposite-sign neurons, the effective models on the
post-transient weights W(t*), the owner's column skew measured and predicted).

    python theory/simulation_table.py --seeds 32 --cache /tmp/incipoly-table --out table.md

Run it in the background: the n = 128, m = 2048 cells take several minutes each on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from incipoly import analytic, compare, metrics  # noqa: E402
from incipoly.stores.run import Run  # noqa: E402
from incipoly.training import train  # noqa: E402

#: Steps at which full weight snapshots are kept (the early ones resolve AdamW's first moves).
CHECKPOINTS = {
    "adamw": (0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 4000, 7500),
    "gd-prox": (0, 20, 50, 100, 200, 400, 1000, 2000, 4000, 8000, 12000),
}


def cell_path(cache, cell, seeds):
    return Path(cache) / (f"{cell.optimizer}_n{cell.n}_m{cell.m}_l1{cell.l1:g}_lr{cell.lr:g}"
                          f"_T{cell.steps}_S{seeds}.npz")


def checkpoints(cell):
    marks = [s for s in CHECKPOINTS.get(cell.optimizer, ()) if s <= cell.steps]
    return sorted(set(marks) | {0, cell.steps})


def run_cell(cell, seeds, cache=None, log=print):
    """Train (or load from ``cache``) one cell; returns ``(W0, W, history)`` with snapshots."""
    path = cell_path(cache, cell, seeds) if cache else None
    if path is not None and path.exists():
        with np.load(path) as z:
            hist = {k[5:]: z[k] for k in z.files if k.startswith("hist_")}
            return z["W0"], z["W"], hist
    start = time.perf_counter()
    run = train(cell.config(), seeds, progress=False, record=checkpoints(cell), snapshots=True)
    log(f"  trained {cell.optimizer} n={cell.n} m={cell.m} in {time.perf_counter() - start:.0f} s")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, W0=run.W0, W=run.W, **{f"hist_{k}": v for k, v in run.history.items()})
        tmp.rename(path)
    return run.W0, run.W, run.history


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--ratios", type=float, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--optimizers", nargs="+", default=["adamw", "gd-prox"])
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--cache", default=None, help="directory for per-cell .npz files (resumable)")
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--out", default=None, help="write the markdown here as well as to stdout")
    ap.add_argument("--csv", default=None, help="write compare.COLUMNS rows here")
    args = ap.parse_args(argv)
    cells = compare.grid(args.n, args.ratios, args.optimizers)
    cells.sort(key=lambda c: (c.n * c.n * c.m, c.optimizer))
    rows, extra = [], []
    for cell in cells:
        W0, W, hist = run_cell(cell, args.seeds, args.cache, log=lambda s: print(s, flush=True))
        if args.train_only:
            continue
        run = Run(config=cell.config(), seeds=np.arange(args.seeds), W0=W0, W=W, history=hist)
        rows.append(compare.evaluate(cell, args.seeds, run=run))
        extra.append(diagnostics(cell, W0, W, hist, rows[-1]))
    if args.train_only:
        return
    order = sorted(range(len(rows)), key=lambda j: (rows[j]["optimizer"], rows[j]["n"], rows[j]["m"]))
    rows, extra = [rows[j] for j in order], [extra[j] for j in order]
    text = markdown(rows, extra, args.seeds)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.csv:
        compare.write_csv(rows, args.csv)


# ----------------------------------------------------------------------------------------------
# diagnostics of the miss


def _argmax_slots(W):
    """Per feature: argmax neuron, its sign, and per (seed, neuron) the counts of + and − owners."""
    S, n, m = W.shape
    neuron = np.abs(W).argmax(axis=2)
    sign = np.sign(np.take_along_axis(W, neuron[..., None], axis=2)[..., 0])
    pos, neg = np.zeros((S, m), np.int64), np.zeros((S, m), np.int64)
    rows = np.repeat(np.arange(S), n)
    np.add.at(pos, (rows, neuron.ravel()), (sign > 0).ravel())
    np.add.at(neg, (rows, neuron.ravel()), (sign < 0).ravel())
    return neuron, sign, pos, neg


def mover_avoidance(W0, W):
    """How often a feature that left its initial argmax lands on a neuron held by an opposite sign.

    Returns ``(observed, se, uniform)``: the fraction of movers whose final neuron also carries a
    feature of the opposite sign, its binomial SE, and the same fraction expected if each mover
    picked uniformly among the neurons whose slot of its own sign is free of other features.
    """
    neuron, sign, pos, neg = _argmax_slots(W)
    initial = np.abs(W0).argmax(axis=2)
    S, n, m = W.shape
    hit, base = [], []
    for s in range(S):
        for i in np.flatnonzero(neuron[s] != initial[s]):
            same, opp = (pos[s], neg[s]) if sign[s, i] > 0 else (neg[s], pos[s])
            free = (same - (np.arange(m) == neuron[s, i])) == 0
            hit.append(opp[neuron[s, i]] > 0)
            base.append((opp[free] > 0).mean())
    if not hit:
        return np.nan, np.nan, np.nan
    p = float(np.mean(hit))
    return p, float(np.sqrt(p * (1 - p) / len(hit))), float(np.mean(base))


def _positive_interference(W):
    G = W @ W.transpose(0, 2, 1)
    n = W.shape[1]
    return np.maximum(G[:, ~np.eye(n, dtype=bool)], 0.0).sum(axis=1).mean()


def transient_end(hist):
    """Index of the snapshot that ends the interference transient.

    The positive interference ``Σ_{i≠j} ReLU(G_ij)`` first collapses (pairs with ``G_ij > 0`` are
    pushed to ``G_ij = 0``), then grows again while sparsification re-creates overlaps, and
    vanishes only at the end. ``t*`` is its first local minimum over the snapshots.
    """
    snaps = hist["W"]
    values = [_positive_interference(snaps[r].astype(np.float64)) for r in range(len(snaps))]
    for r in range(1, len(values) - 1):
        if values[r + 1] >= values[r]:
            return r
    return len(values) - 1


def column_skew(W0, Wt):
    """Mean weight of the other features on a neuron that is the argmax of exactly one feature,
    times that owner's sign: measured at ``Wt`` (minus its value at ``W0``) and predicted.

    Prediction: interference resolution moves each pair with ``G_il > 0`` to ``G_il = 0``
    symmetrically, ``W_l ← W_l − (G_il/2) W_i/‖W_i‖²`` to first order, so on the owner's column the
    others shift by ``−½ |W0_ik| mean_l ReLU(G_il) / ‖W0_i‖²`` against the owner's sign.
    """
    def skew(W, neuron, sign, counts):
        S, n, m = W.shape
        vals = []
        for s in range(S):
            for i in range(n):
                k = neuron[s, i]
                if counts[s, k] == 1:
                    vals.append(sign[s, i] * (W[s, :, k].sum() - W[s, i, k]) / (n - 1))
        return np.asarray(vals)

    neuron, sign, pos, neg = _argmax_slots(W0)
    counts = pos + neg
    measured = skew(Wt, neuron, sign, counts) - skew(W0, neuron, sign, counts)
    G = W0 @ W0.transpose(0, 2, 1)
    S, n, m = W0.shape
    pred = []
    for s in range(S):
        relu = np.maximum(G[s], 0.0)
        np.fill_diagonal(relu, 0.0)
        for i in range(n):
            if counts[s, neuron[s, i]] == 1:
                pred.append(-0.5 * abs(W0[s, i, neuron[s, i]]) * relu[i].sum() / (n - 1) / G[s, i, i])
    return float(measured.mean()), float(measured.std(ddof=1) / np.sqrt(measured.size)), float(np.mean(pred))


def diagnostics(cell, W0, W, hist, row):
    """Extra columns: count/pairs, movers' avoidance, cascade after the transient, column skew."""
    W0 = W0.astype(np.float64)
    pairs = cell.n * (cell.n - 1) / (4 * cell.m)
    obs, obs_se, uniform = mover_avoidance(W0, W)
    r = transient_end(hist)
    Wt = hist["W"][r].astype(np.float64)
    sim = metrics.polysemantic_neurons(W).astype(float)
    after = np.asarray(analytic.cascade_polysemantic(Wt), float)
    mixed = metrics.initial_collisions(Wt).mixed_neurons.astype(float)

    def paired_z(model):
        d = sim - model
        return d.mean() / (d.std(ddof=1) / np.sqrt(d.size)) if d.std() > 0 else 0.0
    skew, skew_se, skew_pred = column_skew(W0, Wt)
    return {
        "pairs": pairs, "ratio": row["sim_mean"] / pairs, "ratio_se": row["sim_se"] / pairs,
        "movers": 1 - row["winner_is_initial_argmax"],
        "avoid": obs / uniform if uniform > 0 else np.nan,
        "avoid_se": obs_se / uniform if uniform > 0 else np.nan,
        "t_star": int(hist["step"][r]), "cascade_after": after.mean(), "z_after": paired_z(after),
        "mixed_after": mixed.mean(), "z_mixed": paired_z(mixed),
        "skew": skew, "skew_se": skew_se, "skew_pred": skew_pred,
    }


def markdown(rows, extra, seeds):
    """The two tables of theory/README.md ("Theory vs simulation")."""
    out = [f"Polysemantic neurons, {seeds} seeds per cell (mean ± SE over seeds). z = (sim − model)/SE; "
           "for the cascade SE is that of the per-seed paired difference.", "",
           "| optimizer | n | m | m/n | sim ± SE | n²/4m | birthday | cascade | z(n²/4m) | z(birthday) "
           "| z(cascade) | winner = init argmax | in band |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['optimizer']} | {r['n']} | {r['m']} | {r['m'] // r['n']} | "
                   f"{r['sim_mean']:.2f} ± {r['sim_se']:.2f} | {r['n2_over_4m']:.2f} | {r['birthday']:.2f} | "
                   f"{r['cascade']:.2f} | {r['z_n2_over_4m']:+.1f} | {r['z_birthday']:+.1f} | "
                   f"{r['z_cascade']:+.1f} | {r['winner_is_initial_argmax']:.3f} ± {r['winner_se']:.3f} | "
                   f"{r['in_band']:.3f} |")
    out += ["", "Diagnostics: count / n(n−1)/4m (the leading term of both models); movers = features "
            "not on their initial argmax; avoidance = P(mover lands on a neuron held by the opposite "
            "sign) / P(same, uniform over the neurons whose own-sign slot is free); cascade on W(t*) "
            "with t* the end of the interference transient (first local minimum of Σ ReLU(G_ij) over the "
            "snapshots); mixed argmax neurons at t* (the birthday count of the neurons chosen at t*), "
            "paired z; column skew at t* "
            "(others' mean weight on a singly owned neuron × owner sign), measured vs predicted.", "",
            "| optimizer | n | m | sim / n(n−1)/4m | movers | avoidance | t* (step) | cascade on W(t*) "
            "| z | mixed argmax at t* | z | skew ×10³ meas. | skew ×10³ pred. |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r, e in zip(rows, extra, strict=True):
        out.append(f"| {r['optimizer']} | {r['n']} | {r['m']} | {e['ratio']:.2f} ± {e['ratio_se']:.2f} | "
                   f"{e['movers']:.2f} | {e['avoid']:.2f} ± {e['avoid_se']:.2f} | {e['t_star']} | "
                   f"{e['cascade_after']:.2f} | {e['z_after']:+.1f} | {e['mixed_after']:.2f} | "
                   f"{e['z_mixed']:+.1f} | {1e3 * e['skew']:.2f} ± "
                   f"{1e3 * e['skew_se']:.2f} | {1e3 * e['skew_pred']:.2f} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
