"""The paper's figures as functions that run a resumable sweep and return the figure's data.

Each experiment ``f(store, scale, resume, progress) -> Result`` trains its whole grid with one
:func:`incipoly.sweep` into ``store`` (so ``resume=True`` skips finished chunks) and returns
:class:`Result`: its parameters, its tables (the figure data, one CSV each) and a one-line summary.
:func:`reproduce` runs one experiment into ``DIR/<name>/``: ``store/``, ``<table>.csv`` and
``<name>.png`` (:mod:`incipoly.plot`). The parameters of both scales are in :data:`SCALE_PARAMS`:
``small`` keeps each figure's shape and finishes in seconds, ``paper`` uses the paper's sizes.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics
from .config import Config
from .store import atomic_write
from .sweep import sweep

SCALES = ("small", "paper")

#: Hidden-noise settings of the noise experiment: (kind, σ).
NOISE_SETTINGS = (("bernoulli", 0.07), ("bernoulli", 0.1), ("bernoulli", 0.15),
                  ("gaussian", 0.07), ("gaussian", 0.1), ("gaussian", 0.15),
                  ("uniform", 0.1), ("laplace", 0.1))

#: The paper's AdamW setting (torch's default weight decay 0.01) used by collisions, correlations
#: and curves.
ADAMW = {"optimizer": "adamw", "lr": 1e-3, "steps": 7500}

#: Parameters of every experiment at every scale.
SCALE_PARAMS = {
    "sparsity": {
        "small": {"n_hidden": 10_000, "l1": 1e-3, "lr": 0.05, "flow_time": 2e3, "record": 96},
        "paper": {"n_hidden": 100_000, "l1": 1e-5, "lr": 0.05, "flow_time": 2e5, "record": 96},
    },
    "noise": {
        "small": {"n_features": 8, "n_hidden": 16, "steps": 20_000, "seeds": 5, "lr": 0.02},
        "paper": {"n_features": 8, "n_hidden": 16, "steps": 100_000, "seeds": 5, "lr": 0.02},
    },
    "collisions": {
        "small": {"n_features": 32, "n_hidden": (32, 64, 128, 256, 512), "l1": (1e-3,),
                  "seeds": 16, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": tuple(range(256, 4097, 256)), "l1": (1e-3,),
                  "seeds": 16, "chunk_seeds": 4},
    },
    "correlations": {
        "small": {"n_features": 32, "n_hidden": 256, "l1": 1e-3, "seeds": 8, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": 4096, "l1": 1e-3, "seeds": 8, "chunk_seeds": 2},
    },
    "curves": {
        "small": {"n_features": 32, "n_hidden": (32, 64, 128, 256), "l1": (1e-3, 1e-2, 1e-1),
                  "seeds": 16, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": (256, 512, 1024, 2048, 4096),
                  "l1": (1e-3, 1e-2, 1e-1), "seeds": 16, "chunk_seeds": 4},
    },
    # Toy Models of Superposition's n = 20, m = 5, importance 0.7^i, sparse inputs, bias, tied,
    # Adam (AdamW without decay), no L1; p log-spaced from 1 down to 1e-3.
    "superposition": {
        "small": {"n_features": 20, "n_hidden": 5, "importance": 0.7,
                  "p": tuple(float(x) for x in np.logspace(0, -3, 7)),
                  "batch_size": 256, "steps": 2000, "lr": 1e-2, "seeds": 4, "chunk_seeds": 4},
        "paper": {"n_features": 20, "n_hidden": 5, "importance": 0.7,
                  "p": tuple(float(x) for x in np.logspace(0, -3, 13)),
                  "batch_size": 1024, "steps": 10_000, "lr": 1e-3, "seeds": 8, "chunk_seeds": 8},
    },
    # m ≥ n with L1 (λ = l1_scale·p/3 keeps the L1-to-fit ratio of the one-hot loss, where each
    # feature contributes 1 per step against p·E[x²] = p/3 per sparse example); AdamW.
    "cooccurrence": {
        "small": {"n_features": 16, "n_hidden": 32, "p": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                  "l1_scale": 0.1, "batch_size": 128, "steps": 2000, "lr": 1e-2, "seeds": 8,
                  "chunk_seeds": 8},
        "paper": {"n_features": 16, "n_hidden": 32,
                  "p": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
                  "l1_scale": 0.1, "batch_size": 512, "steps": 6000, "lr": 1e-2, "seeds": 32,
                  "chunk_seeds": 16},
    },
}


@dataclass(frozen=True)
class Result:
    """What an experiment returns.

    Attributes
    ----------
    name, scale : str
    params : dict
        The experiment's parameters at this scale (an entry of :data:`SCALE_PARAMS`).
    tables : dict of str to dict of str to ndarray
        Figure data: table name → columns (1-D arrays of equal length); one CSV per table.
    summary : str
        One line for stdout.
    """

    name: str
    scale: str
    params: dict
    tables: dict
    summary: str

    def __repr__(self) -> str:
        tables = ", ".join(f"{k} ({len(next(iter(v.values()), ()))} rows)"
                           for k, v in self.tables.items())
        return f"Result({self.name!r}, scale={self.scale!r}; tables {tables}; {self.summary!r})"


#: Experiments whose widths ``m`` can be chosen (``widths=`` / ``--widths``).
WIDTH_EXPERIMENTS = ("collisions", "curves")


def _params(name, scale, widths=None):
    """The parameters of ``name`` at ``scale``; ``widths`` replaces its list of ``m``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    p = SCALE_PARAMS[name][scale]
    if widths is None:
        return p
    if name not in WIDTH_EXPERIMENTS:
        raise ValueError(f"widths apply to {' and '.join(WIDTH_EXPERIMENTS)} only; "
                         f"got widths for {name!r}")
    ws = list(widths)
    if not ws or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1
                     for w in ws) or len(set(ws)) != len(ws):
        raise ValueError(f"widths must be distinct integers >= 1; got {ws!r}")
    return {**p, "n_hidden": tuple(sorted(int(w) for w in ws))}


def _first_time(t, values, level):
    """First ``t`` at which ``values <= level`` (NaN if never)."""
    hit = np.flatnonzero(np.asarray(values) <= level)
    return float(t[hit[0]]) if hit.size else float("nan")


def sparsity(store, scale="small", resume=False, progress=True, client=None) -> Result:
    """One feature sparsifying under L1: active neurons m′(t) and ‖w‖₁(t), simulation vs theory.

    ``n = 1`` feature, ``m`` neurons, seed 0, optimizer ``gd-prox`` (gradient step, then
    soft-threshold by ``lr·λ``: the discretised gradient flow of the theory) for
    ``flow_time / lr`` steps, recorded with ``active_tol = 0`` so m′ counts exact non-zeros.
    Flow time is ``t = lr · step``. Theory: the exact reduced ODE started from the very same
    initial weights (:func:`incipoly.analytic.sparsification_trajectory` with ``w0``) and the
    paper's approximation ``m′ ≈ (1/√m + λt)⁻²``, ``‖w‖₁ ≈ (1/√m + λt)⁻¹``
    (:func:`~incipoly.analytic.paper_sparsification`).

    Parameters
    ----------
    store : path
        Sweep directory.
    scale : {"small", "paper"}
        small: m = 10⁴, λ = 10⁻³; paper: m = 10⁵, λ = 10⁻⁵; both up to ``t = 2/λ`` with
        lr = 0.05, far inside the stable range ``8·lr < 2`` of the norm's relaxation: the
        simulated m′ stays within 1 % of the exact ODE (tests/test_reproduce.py).
    resume : bool
        Continue the sweep in ``store``.
    progress : bool
        Show the sweep's progress bar.
    client : dask.distributed.Client, optional
        Train on this Dask cluster (:func:`incipoly.sweep`).

    Returns
    -------
    Result
        Table ``trajectory``: ``step``, ``t``, and ``m_active`` / ``l1_norm`` for ``sim``,
        ``exact`` (reduced ODE) and ``paper`` (approximation), one row per recorded step.
    """
    from . import analytic

    p = _params("sparsity", scale)
    m, l1, lr = p["n_hidden"], p["l1"], p["lr"]
    cfg = Config(n_features=1, n_hidden=m, steps=int(round(p["flow_time"] / lr)),
                 optimizer="gd-prox", lr=lr, l1=l1)
    res = sweep(cfg, [0], store, chunk_seeds=1, resume=resume, keep_weights=True,
                record=p["record"], progress=progress, active_tol=0.0, client=client).result(0)
    step = res["history_step"]
    t = step * lr
    active, norm = res["history_active"][:, 0, 0], res["history_l1"][:, 0, 0]
    w0 = res["W0"][0, 0].astype(np.float64)
    exact = analytic.sparsification_trajectory(t, l1, w0=w0)
    paper = analytic.paper_sparsification(t, l1, m)
    table = {"step": step, "t": t, "sim_m_active": active, "sim_l1_norm": norm,
             "exact_m_active": exact.m_active, "exact_l1_norm": exact.l1_norm,
             "paper_m_active": paper.m_active, "paper_l1_norm": paper.l1_norm}
    summary = (f"sparsity [{scale}]: n=1 m={m} λ={l1:g} gd-prox lr={lr:g} × {cfg.steps} steps: "
               f"m′ {active[0]} → {active[-1]}, ‖w‖₁ {norm[0]:.3g} → {norm[-1]:.3g}; one neuron "
               f"left at recorded t = {_first_time(t, active, 1):.4g} (sim), "
               f"{_first_time(t, exact.m_active, 1):.4g} (exact ODE); paper (1 − 1/√m)/λ = "
               f"{(1 - m ** -0.5) / l1:.4g}")
    return Result("sparsity", scale, p, {"trajectory": table}, summary)


def noise(store, scale="small", resume=False, progress=True, client=None) -> Result:
    """Hidden noise as the sparsifier: mean ‖W_i‖₄⁴ over training for several noise laws.

    ``n = 8``, ``m = 16``, SGD lr 0.02, no L1, hidden noise of :data:`NOISE_SETTINGS`. The
    statistic is ``‖W_i‖₄⁴ = Σ_k W_ik⁴`` (history ``l4``) averaged over the features of each seed:
    ``3/m`` at init, ``1/m`` for a unit row spread evenly, ``1`` for a one-hot (monosemantic) row.
    Noise with negative excess kurtosis κ (bernoulli, uniform) should drive it up, Gaussian
    (κ = 0) leave it, Laplace (κ = 3) push it down (:func:`incipoly.analytic.noise_kurtosis`).

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: 2·10⁴ steps; paper: 10⁵ steps; 5 seeds each.

    Returns
    -------
    Result
        Table ``l4``: ``noise``, ``noise_std``, ``kurtosis``, ``step``, and over seeds of the
        feature-mean ``‖W_i‖₄⁴``: ``mean``, ``se``, ``min``, ``max``; one row per setting and step.
    """
    from . import analytic

    p = _params("noise", scale)
    grid = [Config(n_features=p["n_features"], n_hidden=p["n_hidden"], steps=p["steps"],
                   optimizer="sgd", lr=p["lr"], l1=0.0, noise=kind, noise_std=sigma)
            for kind, sigma in NOISE_SETTINGS]
    st = sweep(grid, p["seeds"], store, chunk_seeds=p["seeds"], resume=resume, record=48,
               progress=progress, client=client)
    parts = []
    for c, (kind, sigma) in enumerate(NOISE_SETTINGS):
        res = st.result(c)
        per_seed = res["history_l4"].mean(axis=2)          # (R, S): mean over features
        mean, se = metrics.mean_se(per_seed, axis=1)
        R = len(mean)
        parts.append({"noise": np.full(R, kind), "noise_std": np.full(R, sigma),
                      "kurtosis": np.full(R, analytic.noise_kurtosis(kind)),
                      "step": res["history_step"], "mean": mean, "se": se,
                      "min": per_seed.min(axis=1), "max": per_seed.max(axis=1)})
    table = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    last = {(kind, sigma): part["mean"][-1] for (kind, sigma), part in zip(NOISE_SETTINGS, parts)}
    at_01 = ", ".join(f"{kind} {last[(kind, 0.1)]:.3f}" for kind in ("bernoulli", "uniform",
                                                                      "gaussian", "laplace"))
    summary = (f"noise [{scale}]: n={p['n_features']} m={p['n_hidden']} SGD lr={p['lr']:g}, "
               f"{p['seeds']} seeds: mean ‖W_i‖₄⁴ {parts[0]['mean'][0]:.3f} at init → at step "
               f"{p['steps']}: σ=0.1 {at_01}; bernoulli σ=0.15 {last[('bernoulli', 0.15)]:.3f}")
    return Result("noise", scale, p, {"l4": table}, summary)


def _polysemantic_grid(p, store, resume, progress, client=None):
    """Train ``n`` features × every ``m`` × every λ of ``p`` with AdamW; counts (λ, m, seeds)."""
    ms, l1s = p["n_hidden"], p["l1"]
    grid = [Config(n_features=p["n_features"], n_hidden=m, l1=l1, **ADAMW)
            for l1 in l1s for m in ms]
    st = sweep(grid, p["seeds"], store, chunk_seeds=p["chunk_seeds"], resume=resume, record=2,
               progress=progress, client=client)
    counts = np.array([st.result(c)["polysemantic"] for c in range(len(grid))])
    return counts.reshape(len(l1s), len(ms), -1)


def _theory(n, ms):
    """The two closed forms every count is held against: ``n²/4m`` and the birthday law."""
    from . import analytic
    ms = np.asarray(ms)
    return {"n2_over_4m": analytic.asymptotic_polysemantic(n, ms),
            "birthday": analytic.expected_polysemantic(n, ms)}


def collisions(store, scale="small", resume=False, progress=True, widths=None,
               client=None) -> Result:
    """Polysemantic neurons against width m (mean ± SE over seeds) beside three predictions.

    ``n`` features, AdamW lr 1e-3, λ = 1e-3, 7 500 steps. Predictions: the paper's ``n²/4m``,
    the birthday law with signs (:func:`incipoly.analytic.expected_polysemantic`), and the
    cascade model evaluated on the very same initial weights
    (:func:`~incipoly.analytic.expected_cascade_polysemantic` with the sweep's seeds), and the
    predictive model (:func:`~incipoly.analytic.predicted_polysemantic`, the exclusion law).

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: n = 32, m ∈ {32, …, 512} (5 values); paper: n = 256,
        m = 256, 512, …, 4096, 16 seeds.
    widths : sequence of int, optional
        Train only these m instead of the scale's list (e.g. the paper's quoted 256, 512,
        768, 1024, 4096: 25 min on 2 cores instead of ≈ 2 h).

    Returns
    -------
    Result
        Table ``polysemantic``: ``n``, ``m``, ``seeds``, ``sim_mean``, ``sim_se``, ``n2_over_4m``,
        ``birthday``, ``cascade_mean``, ``cascade_se``, ``exclusion`` (predicted mean),
        ``exclusion_se`` (its Monte Carlo error), ``exclusion_sd`` (predicted spread per model);
        one row per m.
    """
    from . import analytic

    p = _params("collisions", scale, widths)
    n, ms, S = p["n_features"], np.asarray(p["n_hidden"]), p["seeds"]
    counts = _polysemantic_grid(p, store, resume, progress, client)[0]
    mean, se = metrics.mean_se(counts, axis=1)
    cascade = np.array([analytic.expected_cascade_polysemantic(n, int(m), seeds=S) for m in ms])
    model = np.array([analytic.predicted_polysemantic(
        Config(n_features=n, n_hidden=int(m), l1=p["l1"][0], **ADAMW)) for m in ms])
    table = {"n": np.full(len(ms), n), "m": ms, "seeds": np.full(len(ms), S),
             "sim_mean": mean, "sim_se": se, **_theory(n, ms),
             "cascade_mean": cascade[:, 0], "cascade_se": cascade[:, 1],
             "exclusion": model[:, 0], "exclusion_se": model[:, 2], "exclusion_sd": model[:, 1]}
    fit = mean > 0
    slope = np.polyfit(np.log(ms[fit]), np.log(mean[fit]), 1)[0] if fit.sum() > 1 else np.nan
    birthday = table["birthday"]
    summary = (f"collisions [{scale}]: n={n} m={ms[0]}…{ms[-1]} ({len(ms)} widths), {S} seeds: "
               f"polysemantic {mean[0]:.3g} → {mean[-1]:.3g} (birthday {birthday[0]:.3g} → "
               f"{birthday[-1]:.3g}, cascade {cascade[0, 0]:.3g} → {cascade[-1, 0]:.3g}); "
               f"log–log slope {slope:.2f} (n²/4m: −1)")
    return Result("collisions", scale, p, {"polysemantic": table}, summary)


def curves(store, scale="small", resume=False, progress=True, widths=None,
           client=None) -> Result:
    """Polysemantic neurons against m for λ ∈ {1e-3, 1e-2, 1e-1}: mean and 10–90 % bands over seeds.

    ``n`` features, AdamW lr 1e-3, 7 500 steps; a coarser m grid than :func:`collisions`.

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: n = 32, m ∈ {32, …, 256}; paper: n = 256, m ∈ {256, …, 4096} (powers of 2);
        16 seeds each.
    widths : sequence of int, optional
        Train only these m instead of the scale's list.

    Returns
    -------
    Result
        Table ``bands``: ``l1``, ``n``, ``m``, ``seeds``, ``mean``, ``p10``, ``p50``, ``p90``,
        ``n2_over_4m``, ``birthday``; one row per (λ, m).
    """
    p = _params("curves", scale, widths)
    n, ms, l1s, S = p["n_features"], np.asarray(p["n_hidden"]), p["l1"], p["seeds"]
    counts = _polysemantic_grid(p, store, resume, progress, client)
    p10, p50, p90 = np.percentile(counts, [10, 50, 90], axis=2)
    L, M = len(l1s), len(ms)
    theory = {k: np.tile(v, L) for k, v in _theory(n, ms).items()}
    table = {"l1": np.repeat(l1s, M), "n": np.full(L * M, n), "m": np.tile(ms, L),
             "seeds": np.full(L * M, S), "mean": counts.mean(axis=2).ravel(),
             "p10": p10.ravel(), "p50": p50.ravel(), "p90": p90.ravel(), **theory}
    means = "; ".join(f"λ={l1:g}: {row[0]:.3g} → {row[-1]:.3g}"
                      for l1, row in zip(l1s, counts.mean(axis=2)))
    summary = (f"curves [{scale}]: n={n} m={ms[0]}…{ms[-1]}, {S} seeds, mean polysemantic "
               f"{means} (birthday {theory['birthday'][0]:.3g} → {theory['birthday'][M - 1]:.3g})")
    return Result("curves", scale, p, {"bands": table}, summary)


def correlations(store, scale="small", resume=False, progress=True, bins=60,
                 client=None) -> Result:
    """Where the final weights come from: start–end heatmap and winner-rank histogram.

    One AdamW config (lr 1e-3, λ = 1e-3, 7 500 steps), weights kept. Two views:

    * **Start–end heatmap**: the 2-D histogram, over every entry ``(i, k)`` of every seed, of the
      standardised initial weight ``√m · W0_ik`` (≈ N(0, 1)) against the final weight ``W_ik``,
      on ``bins × bins`` equal bins spanning the data. Entries that end near ±1 (the features'
      neurons) sit at large ``|W0_ik|`` of the same sign; everything else ends near 0.
    * **Winner rank**: for each feature, the rank of its final strongest neuron in its initial
      ``|W0_i·|`` order (:func:`incipoly.metrics.winner_rank`; 0 = the initial argmax won).

    The summary also gives the mean per-feature Pearson correlation of ``W0_i`` with ``W_i``
    (:func:`incipoly.metrics.start_end_correlation`).

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: n = 32, m = 256; paper: n = 256, m = 4096; 8 seeds each.
    bins : int
        Bins per axis of the heatmap.

    Returns
    -------
    Result
        Tables ``heatmap`` (``w0_lo``, ``w0_hi``, ``w_lo``, ``w_hi``, ``count``; ``bins²`` rows,
        ``w0`` in units of the init std ``1/√m``) and ``winner_rank`` (``rank``, ``count``,
        ``fraction``; ranks 0 … largest seen).
    """
    p = _params("correlations", scale)
    n, m, S = p["n_features"], p["n_hidden"], p["seeds"]
    cfg = Config(n_features=n, n_hidden=m, l1=p["l1"], **ADAMW)
    res = sweep(cfg, S, store, chunk_seeds=p["chunk_seeds"], resume=resume, keep_weights=True,
                record=2, progress=progress, client=client).result(0)
    W0, W = res["W0"].astype(np.float64), res["W"].astype(np.float64)
    x, y = (np.sqrt(m) * W0).ravel(), W.ravel()
    xr, yr = 1.02 * np.abs(x).max(), 1.05 * np.abs(y).max()
    counts, xe, ye = np.histogram2d(x, y, bins=bins, range=[[-xr, xr], [-yr, yr]])
    xi, yi = np.meshgrid(np.arange(bins), np.arange(bins), indexing="ij")
    heatmap = {"w0_lo": xe[xi.ravel()], "w0_hi": xe[xi.ravel() + 1], "w_lo": ye[yi.ravel()],
               "w_hi": ye[yi.ravel() + 1], "count": counts.ravel().astype(np.int64)}
    ranks = metrics.winner_rank(W0, W).ravel()
    hist = np.bincount(ranks)
    winner = {"rank": np.arange(hist.size), "count": hist, "fraction": hist / ranks.size}
    r = np.nanmean(metrics.start_end_correlation(W0, W))
    summary = (f"correlations [{scale}]: n={n} m={m}, {S} seeds: initial argmax won "
               f"{hist[0] / ranks.size:.1%} of features, median winner rank "
               f"{np.median(ranks):g}, max {ranks.max()}; mean corr(W0_i, W_i) = {r:.3f}")
    return Result("correlations", scale, p, {"heatmap": heatmap, "winner_rank": winner}, summary)


# The sparse-input experiments live in their own module; it imports Result and _params above.
from .experiments_sparse import cooccurrence, superposition  # noqa: E402


#: Experiment name → function, in the order ``reproduce all`` runs them.
EXPERIMENTS = {"sparsity": sparsity, "noise": noise, "collisions": collisions,
               "correlations": correlations, "curves": curves, "superposition": superposition,
               "cooccurrence": cooccurrence}


def write_csv(path, table) -> Path:
    """Write ``table`` (column → 1-D array) to ``path`` atomically; floats to 10 digits."""
    path = Path(path)
    columns = list(table)

    def write(f):
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in zip(*(table[c] for c in columns)):
            writer.writerow([f"{v:.10g}" if isinstance(v, (float, np.floating)) else v
                             for v in row])

    atomic_write(path, write, text=True)
    return path


def reproduce(name, out, scale="small", resume=False, progress=True, widths=None, plot=None,
              client=None):
    """Run experiment ``name`` into ``out/name``: ``store/``, one CSV per table and ``name.png``.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`.
    out : path
        Parent directory; ``out/name`` is created if needed.
    scale : {"small", "paper"}
    resume : bool
        Continue an existing store (finished chunks are not trained again).
    progress : bool
        Show the sweep's progress bar on stderr.
    widths : sequence of int, optional
        For collisions and curves: the widths m to train instead of the scale's list.
    client : dask.distributed.Client, optional
        Train the sweep's chunks on this Dask cluster (:func:`incipoly.sweep`).
    plot : bool, optional
        Draw ``name.png``: ``None`` (default) when matplotlib is installed, ``True`` always
        (ImportError without matplotlib, before any training), ``False`` never.

    Returns
    -------
    (Result, list of Path)
        The experiment's data and the files written (CSVs, then the PNG if drawn).
    """
    from . import plot as plotting

    if plot is None:
        plot = plotting.has_matplotlib()
    elif plot:
        plotting.require_matplotlib()

    if name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}; got {name!r}")
    _params(name, scale, widths)
    directory = Path(out) / name
    directory.mkdir(parents=True, exist_ok=True)
    extra = {} if widths is None else {"widths": widths}
    if client is not None:
        extra["client"] = client
    result = EXPERIMENTS[name](directory / "store", scale=scale, resume=resume, progress=progress,
                               **extra)
    paths = [write_csv(directory / f"{table}.csv", cols) for table, cols in result.tables.items()]
    if plot:
        paths.append(plotting.figure(result, directory / f"{name}.png"))
    return result, paths


__all__ = ["EXPERIMENTS", "SCALES", "SCALE_PARAMS", "WIDTH_EXPERIMENTS", "NOISE_SETTINGS",
           "Result", "reproduce", "write_csv", "sparsity", "noise", "collisions", "correlations",
           "curves", "superposition", "cooccurrence"]
