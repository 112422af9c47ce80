"""The one-hot experiments (the paper's figures): sparsity, noise, collisions, curves, correlations."""
from __future__ import annotations

import numpy as np

from .. import metrics
from ..analytic.exclusion import exclusion_polysemantic
from ..config import Config
from ..stores.sweeps import sweep
from .params import ADAMW, NOISE_SETTINGS, Result, _params


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

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["sparsity"])
    ['paper', 'small']
    >>> # about 12 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.sparsity("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'sparsity'
    """
    from .. import analytic

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

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["noise"])
    ['paper', 'small']
    >>> # about 12 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.noise("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'noise'
    """
    from .. import analytic

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
    from .. import analytic
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

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["collisions"])
    ['paper', 'small']
    >>> # about 55 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.collisions("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'collisions'
    """
    from .. import analytic

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
        ``n2_over_4m``, ``birthday``, ``exclusion_complete`` (the exclusion law's mean with every
        feature finished, ``c = 1``: ``n(n − 1)/4m``); one row per (λ, m).

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["curves"])
    ['paper', 'small']
    >>> # about 63 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.curves("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'curves'
    """
    p = _params("curves", scale, widths)
    n, ms, l1s, S = p["n_features"], np.asarray(p["n_hidden"]), p["l1"], p["seeds"]
    counts = _polysemantic_grid(p, store, resume, progress, client)
    p10, p50, p90 = np.percentile(counts, [10, 50, 90], axis=2)
    L, M = len(l1s), len(ms)
    theory = {k: np.tile(v, L) for k, v in _theory(n, ms).items()}
    table = {"l1": np.repeat(l1s, M), "n": np.full(L * M, n), "m": np.tile(ms, L),
             "seeds": np.full(L * M, S), "mean": counts.mean(axis=2).ravel(),
             "p10": p10.ravel(), "p50": p50.ravel(), "p90": p90.ravel(), **theory,
             "exclusion_complete": np.tile(exclusion_polysemantic(n, ms).mean, L)}
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

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["correlations"])
    ['paper', 'small']
    >>> # about 7 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.correlations("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'correlations'
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


__all__ = ["sparsity", "noise", "collisions", "curves", "correlations"]
