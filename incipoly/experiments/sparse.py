"""The sparse-input experiments (the superposition setting): ``superposition`` and ``cooccurrence``.

Same contract as the paper's figures in :mod:`incipoly.experiments` (``f(store, scale, resume,
progress, client) -> Result``); their parameters are in :data:`incipoly.experiments.SCALE_PARAMS`.
"""
from __future__ import annotations

import numpy as np

from .. import metrics
from ..config import Config
from ..stores.sweeps import sweep
from .params import Result, _params


def _sparse_sweep(p, configs, store, resume, progress, client=None):
    """Sweep ``configs`` on ``p["seeds"]`` keeping the weights; one ``result`` dict per config."""
    st = sweep(configs, p["seeds"], store, chunk_seeds=p["chunk_seeds"], resume=resume,
               keep_weights=True, record=2, progress=progress, client=client)
    return [st.result(c) for c in range(len(configs))]


def _mean_se_columns(prefix, values):
    """``{prefix}_mean``, ``{prefix}_se`` over the seeds axis (1) of a (rows, seeds) array."""
    mean, se = metrics.mean_se(np.asarray(values, np.float64), axis=1)
    return {f"{prefix}_mean": mean, f"{prefix}_se": se}


def superposition(store, scale="small", resume=False, progress=True, client=None) -> Result:
    """Superposition as features get sparser (TMS's n = 20, m = 5): features represented,
    dimensions per feature and the necessary / incidental split of polysemantic neurons vs 1/p.

    Sparse inputs with importance ``0.7^i``, a decoder bias, tied weights, Adam (AdamW with
    weight decay 0), no L1, Xavier init (as TMS); ``p`` log-spaced from 1 to 10⁻³.

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: 7 values of p, batch 256, 2 000 steps at lr 10⁻², 4 seeds; paper: 13 values,
        batch 1 024, 10 000 steps at lr 10⁻³ (TMS's), 8 seeds.

    Returns
    -------
    Result
        Table ``by_p``: ``p``, ``inv_p``, ``seeds``, and mean/SE over seeds of ``represented``
        (‖W_i‖ > ½), ``dims_per_feature`` (m/‖W‖_F²), ``polysemantic``, ``necessary``,
        ``incidental``, ``same_sign``, ``opposite_sign``; table ``features``: ``p``, ``seed``,
        ``feature``, ``norm``, ``dimensionality`` (TMS's D_i) for every feature of every run.

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["superposition"])
    ['paper', 'small']
    >>> # about 81 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.superposition("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'superposition'
    """
    p = _params("superposition", scale)
    ps = np.asarray(p["p"])
    configs = [Config(n_features=p["n_features"], n_hidden=p["n_hidden"], steps=p["steps"],
                      optimizer="adamw", lr=p["lr"], l1=0.0, weight_decay=0.0, init="xavier",
                      inputs="sparse", feature_prob=float(q), batch_size=p["batch_size"],
                      importance=p["importance"], bias=True) for q in ps]
    results = _sparse_sweep(p, configs, store, resume, progress, client)
    cols: dict[str, list] = {k: [] for k in ("represented", "dims_per_feature", "polysemantic", "necessary",
                            "incidental", "same_sign", "opposite_sign")}
    features: dict[str, list] = {k: [] for k in ("p", "seed", "feature", "norm", "dimensionality")}
    for q, res in zip(ps, results):
        W, W0 = res["W"], res["W0"]
        sh = metrics.polysemanticity(W, W0=W0)
        for k in cols:
            cols[k].append(metrics.hidden_dimensions_per_feature(W) if k == "dims_per_feature"
                           else getattr(sh, k))
        S, n, _ = W.shape
        features["p"].append(np.full(S * n, q))
        features["seed"].append(np.repeat(res["seed"], n))
        features["feature"].append(np.tile(np.arange(n), S))
        features["norm"].append(np.linalg.norm(W.astype(np.float64), axis=2).ravel())
        features["dimensionality"].append(metrics.dimensions_per_feature(W).ravel())
    table = {"p": ps, "inv_p": 1 / ps, "seeds": np.full(len(ps), p["seeds"])}
    for k, v in cols.items():
        table.update(_mean_se_columns(k, v))
    feat = {k: np.concatenate(v) for k, v in features.items()}
    rep, nec, poly = (table[f"{k}_mean"] for k in ("represented", "necessary", "polysemantic"))
    summary = (f"superposition [{scale}]: n={p['n_features']} m={p['n_hidden']}, p {ps[0]:g} → "
               f"{ps[-1]:g}: features represented {rep[0]:.3g} → {rep[-1]:.3g}, dimensions per "
               f"feature {table['dims_per_feature_mean'][0]:.3g} → "
               f"{table['dims_per_feature_mean'][-1]:.3g}, polysemantic {poly[0]:.3g} → "
               f"{poly[-1]:.3g} of which necessary {nec[0]:.3g} → {nec[-1]:.3g}")
    return Result("superposition", scale, p, {"by_p": table, "features": feat}, summary)


def cooccurrence(store, scale="small", resume=False, progress=True, client=None) -> Result:
    """Polysemantic neurons when m ≥ n and features start to co-occur: count, sign split and
    incidental share against p, with the one-hot birthday law as the p → 0 reference.

    Sparse inputs (independent features, U(0, 1) magnitudes), tied, no bias, AdamW lr 10⁻²,
    ``λ = l1_scale·p/3`` (the one-hot L1-to-fit ratio). Polysemantic is the paper's band count
    ``|W_ik| ∈ [0.8, 1.2]``, and the relative count of :func:`incipoly.metrics.polysemanticity`
    with its necessary / incidental split (all incidental when m ≥ n, by construction).

    Parameters
    ----------
    store, resume, progress, client :
        As in :func:`sparsity`.
    scale : {"small", "paper"}
        small: n = 16, m = 32, 6 values of p, batch 128, 2 000 steps, 8 seeds; paper: 10
        values, batch 512, 6 000 steps, 32 seeds.

    Returns
    -------
    Result
        Table ``by_p``: ``p``, ``n``, ``m``, ``seeds``, ``birthday`` (one-hot theory), mean/SE of
        ``band`` (paper's count), ``polysemantic``, ``same_sign``, ``opposite_sign``,
        ``incidental``, and ``incidental_share`` (pooled over seeds; NaN without polysemantic
        neurons).

    Examples
    --------
    >>> from incipoly import experiments
    >>> sorted(experiments.SCALE_PARAMS["cooccurrence"])
    ['paper', 'small']
    >>> # about 16 s on 2 cores at the small scale, beyond the doctest budget:
    >>> result = experiments.cooccurrence("store", scale="small")  # doctest: +SKIP
    >>> result.name  # doctest: +SKIP
    'cooccurrence'
    """
    from .. import analytic

    p = _params("cooccurrence", scale)
    ps = np.asarray(p["p"])
    n, m = p["n_features"], p["n_hidden"]
    configs = [Config(n_features=n, n_hidden=m, steps=p["steps"], optimizer="adamw", lr=p["lr"],
                      l1=p["l1_scale"] * float(q) / 3, inputs="sparse", feature_prob=float(q),
                      batch_size=p["batch_size"]) for q in ps]
    results = _sparse_sweep(p, configs, store, resume, progress, client)
    rows: dict[str, list] = {k: [] for k in ("band", "polysemantic", "same_sign", "opposite_sign",
                                             "incidental")}
    for res in results:
        sh = metrics.polysemanticity(res["W"], W0=res["W0"])
        rows["band"].append(metrics.polysemantic_neurons(res["W"]))
        for k in ("polysemantic", "same_sign", "opposite_sign", "incidental"):
            rows[k].append(getattr(sh, k))
    birthday = float(analytic.expected_polysemantic(n, m))
    table = {"p": ps, "n": np.full(len(ps), n), "m": np.full(len(ps), m),
             "seeds": np.full(len(ps), p["seeds"]), "birthday": np.full(len(ps), birthday)}
    for k, v in rows.items():
        table.update(_mean_se_columns(k, v))
    poly = np.asarray(rows["polysemantic"]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["incidental_share"] = np.asarray(rows["incidental"]).sum(axis=1) / poly
    band = table["band_mean"]
    summary = (f"cooccurrence [{scale}]: n={n} m={m}, p {ps[0]:g} → {ps[-1]:g}: polysemantic "
               f"(band) {band[0]:.3g} → {band[-1]:.3g} (one-hot birthday law {birthday:.3g}); "
               f"incidental share {np.nanmean(table['incidental_share']):.3g}")
    return Result("cooccurrence", scale, p, {"by_p": table}, summary)


__all__ = ["superposition", "cooccurrence"]
