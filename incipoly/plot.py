"""Headless PNGs of :mod:`incipoly.experiments` results (matplotlib: the ``[plot]`` extra).

matplotlib is imported on first use, never by ``import incipoly``. Figures are drawn on
``matplotlib.figure.Figure`` directly (Agg canvas, no pyplot), so no GUI backend is needed and a
caller's pyplot state is left alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

INSTALL_HINT = "install the [plot] extra: pip install 'incipoly[plot]'"


def require_matplotlib():
    """Import and return matplotlib.

    Raises
    ------
    ImportError
        If matplotlib is missing; the message says how to install it (:data:`INSTALL_HINT`).
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib, which is not installed; {INSTALL_HINT}") \
            from exc
    return matplotlib


def has_matplotlib() -> bool:
    """True when matplotlib can be imported."""
    try:
        require_matplotlib()
    except ImportError:
        return False
    return True


def figure(result, path) -> Path:
    """Draw ``result`` (an :class:`incipoly.experiments.Result`) and save it as a PNG at ``path``.

    Returns
    -------
    Path
    """
    require_matplotlib()
    fig = _PLOTTERS[result.name](result)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def _figure(width, height, ncols, title, result, sharey=False):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.suptitle(f"{title} — {result.scale} scale")
    axes = fig.subplots(1, ncols, squeeze=False, sharey=sharey)[0]
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def _band(ax, x, mean, lo, hi, label, log=False, **style):
    """A line with a shaded band ``[lo, hi]`` in the line's colour.

    ``log``: the y axis is logarithmic, so band edges at or below 0 (a percentile or mean − SE
    that reaches 0) are drawn at half the smallest positive value instead of vanishing.
    """
    (line,) = ax.plot(x, mean, label=label, **style)
    lo = np.asarray(lo, float)
    if log:
        values = np.concatenate([np.ravel(mean), lo, np.ravel(hi)]).astype(float)
        positive = values[values > 0]
        if positive.size:
            lo = np.maximum(lo, 0.5 * positive.min())
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)


def _sparsity(result):
    tab, p = result.tables["trajectory"], result.params
    fig, axes = _figure(12, 4.6, 2, f"One feature sparsifying under L1 (n = 1, "
                        f"m = {p['n_hidden']}, λ = {p['l1']:g}, gd-prox lr = {p['lr']:g})", result)
    t = tab["t"] > 0
    ylabels = {"m_active": "active neurons m′  (non-zero weights)", "l1_norm": r"$\|w\|_1$"}
    powers = {"m_active": -2, "l1_norm": -1}
    for ax, key in zip(axes, ylabels):
        ax.plot(tab["t"][t], tab[f"sim_{key}"][t], "o", ms=4, label="simulation")
        ax.plot(tab["t"][t], tab[f"exact_{key}"][t], "-", label="exact reduced ODE (same $W_0$)")
        ax.plot(tab["t"][t], tab[f"paper_{key}"][t], "--",
                label=rf"paper: $(1/\sqrt{{m}} + \lambda t)^{{{powers[key]}}}$")
        ax.axvline(1 / p["l1"], color="gray", ls=":", label=r"$t = 1/\lambda$")
        ax.set(xscale="log", yscale="log", xlabel="gradient-flow time  t = lr · step",
               ylabel=ylabels[key])
        _plain_log_ticks(ax.xaxis, ax.yaxis)
        ax.legend()
    return fig


def _noise(result):
    tab, p = result.tables["l4"], result.params
    fig, axes = _figure(12, 4.8, 2, f"Hidden noise as the sparsifier (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, SGD lr = {p['lr']:g}, no L1; band: min–max over "
                        f"{p['seeds']} seeds)", result)
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red")

    def draw(ax, kind, sigma, label, **style):
        rows = (tab["noise"] == kind) & (tab["noise_std"] == sigma) & (tab["step"] > 0)
        _band(ax, tab["step"][rows], tab["mean"][rows], tab["min"][rows], tab["max"][rows], label,
              **style)

    sigmas = sorted({s for kind, s in zip(tab["noise"], tab["noise_std"]) if kind == "bernoulli"})
    for sigma, color in zip(sigmas, colors):
        draw(axes[0], "bernoulli", sigma, f"bernoulli σ = {sigma:g}", color=color)
        draw(axes[0], "gaussian", sigma, f"gaussian σ = {sigma:g}", color=color, ls="--")
    axes[0].set_title("bernoulli (solid) vs gaussian (dashed)")
    for kind, color in zip(("bernoulli", "uniform", "gaussian", "laplace"), colors):
        kappa = tab["kurtosis"][tab["noise"] == kind][0]
        draw(axes[1], kind, 0.1, f"{kind} (excess kurtosis κ = {kappa:g})", color=color)
    axes[1].set_title("four noise laws at σ = 0.1")
    m = p["n_hidden"]
    for ax in axes:
        ax.axhline(1.0, color="k", lw=0.8, ls=":", label="1: one-hot row (monosemantic)")
        ax.axhline(1 / m, color="gray", lw=0.8, ls="-.", label="1/m: unit row spread evenly")
        ax.set(xscale="log", ylim=(0, 1.05), xlabel="training step",
               ylabel=r"mean over features of $\|W_i\|_4^4 = \sum_k W_{ik}^4$")
        ax.legend(fontsize="small")
    return fig


def _theory_lines(ax, tab, rows=slice(None)):
    """The birthday law and ``n²/4m`` against ``m`` (black solid / dashed)."""
    ax.plot(tab["m"][rows], tab["birthday"][rows], "k-", lw=1.2, label="birthday law with signs")
    ax.plot(tab["m"][rows], tab["n2_over_4m"][rows], "k--", lw=1.2, label=r"paper: $n^2/4m$")


def _plain_log_ticks(*axes):
    """Label log axes (``ax.xaxis`` …) with plain numbers at 1, 2, 5 × 10^k (10^k if wide)."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
    for axis in axes:
        lo, hi = axis.get_view_interval()
        subs = (1.0, 2.0, 5.0) if hi <= 300 * lo else (1.0,)
        axis.set_major_locator(LogLocator(subs=subs))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())


#: Label every trained width on the m axis up to this many widths (more would overlap).
MAX_WIDTH_TICKS = 8


def _polysemantic_axes(ax, widths, ylabel=True, legend=True):
    ax.set(xscale="log", yscale="log")
    _plain_log_ticks(ax.xaxis, ax.yaxis)
    widths = np.unique(widths)
    if widths.size <= MAX_WIDTH_TICKS:
        ax.set_xticks(widths, [f"{w:g}" for w in widths])
    ax.set_xlabel("hidden neurons m")
    if ylabel:
        ax.set_ylabel("polysemantic neurons per model")
    if legend:
        ax.legend(fontsize="small")


def _collisions(result):
    tab, p = result.tables["polysemantic"], result.params
    fig, axes = _figure(7.5, 5.5, 1, f"Incidental polysemanticity vs width (n = {p['n_features']}, "
                        f"AdamW, λ = {p['l1'][0]:g}, {p['seeds']} seeds)", result)
    ax = axes[0]
    ax.errorbar(tab["m"], tab["sim_mean"], yerr=tab["sim_se"], fmt="o", capsize=3,
                label="simulation (mean ± SE)")
    _band(ax, tab["m"], tab["cascade_mean"], tab["cascade_mean"] - tab["cascade_se"],
          tab["cascade_mean"] + tab["cascade_se"], "cascade model on the same $W_0$ (± SE)",
          log=True, color="tab:green", marker="s", ms=3)
    ax.plot(tab["m"], tab["exclusion"], "-", color="tab:red", lw=1.5,
            label="predictive model: exclusion law")
    _theory_lines(ax, tab)
    _polysemantic_axes(ax, tab["m"])
    return fig


def _curves(result):
    tab, p = result.tables["bands"], result.params
    fig, axes = _figure(4.2 * len(p["l1"]), 4.8, len(p["l1"]),
                        f"Polysemanticity vs width for three L1 strengths (n = {p['n_features']}, "
                        f"AdamW, {p['seeds']} seeds)", result, sharey=True)
    for ax, l1 in zip(axes, p["l1"]):
        rows = tab["l1"] == l1
        _band(ax, tab["m"][rows], tab["mean"][rows], tab["p10"][rows], tab["p90"][rows],
              "simulation: mean, 10–90 % band", log=True, marker="o", ms=4)
        ax.plot(tab["m"][rows], tab["p50"][rows], "x", color="tab:blue", label="median")
        _theory_lines(ax, tab, rows)
        ax.set_title(f"λ = {l1:g}")
        _polysemantic_axes(ax, tab["m"], ylabel=ax is axes[0])
    return fig


def _correlations(result):
    from matplotlib.colors import LogNorm
    heat, win, p = result.tables["heatmap"], result.tables["winner_rank"], result.params
    fig, axes = _figure(12, 4.8, 2, f"Where the final weights come from (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, AdamW, λ = {p['l1']:g}, {p['seeds']} seeds)", result)
    xe = np.unique(np.concatenate([heat["w0_lo"], heat["w0_hi"]]))
    ye = np.unique(np.concatenate([heat["w_lo"], heat["w_hi"]]))
    counts = heat["count"].reshape(xe.size - 1, ye.size - 1).T
    mesh = axes[0].pcolormesh(xe, ye, np.ma.masked_equal(counts, 0), norm=LogNorm(),
                              cmap="viridis")
    fig.colorbar(mesh, ax=axes[0], label="weight entries (log scale)")
    axes[0].set(xlabel=r"initial weight $\sqrt{m}\,W_{0,ik}$  (units of the init std $1/\sqrt{m}$)",
                ylabel=r"final weight $W_{ik}$", title="start–end heatmap: every entry (i, k)")
    axes[1].bar(win["rank"], win["fraction"], width=0.8)
    axes[1].set(yscale="log", xlabel=r"final neuron's rank in the initial $|W_{0,i\cdot}|$ order",
                ylabel="fraction of features", title="winner rank (0 = initial argmax won)")
    _plain_log_ticks(axes[1].yaxis)
    return fig


def _errorbars(ax, x, tab, key, label, **style):
    """``tab[key_mean] ± tab[key_se]`` against ``x``."""
    return ax.errorbar(x, tab[f"{key}_mean"], yerr=np.nan_to_num(tab[f"{key}_se"]), capsize=3,
                       label=label, **style)


#: Dimensionalities where TMS sees features stick: 1, 3/4, 2/3, 1/2, 2/5, 1/3.
STICKY_FRACTIONS = ((1, 1), (3, 4), (2, 3), (1, 2), (2, 5), (1, 3))


def _superposition(result):
    tab, feat, p = result.tables["by_p"], result.tables["features"], result.params
    fig, axes = _figure(16, 4.8, 3, f"Superposition as features get sparser (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, importance {p['importance']:g}^i, "
                        f"{p['seeds']} seeds)", result)
    x = tab["inv_p"]
    _errorbars(axes[0], x, tab, "represented", "features represented (‖W_i‖ > ½)", fmt="o-")
    axes[0].axhline(p["n_hidden"], color="gray", ls=":", label="m")
    axes[0].set(ylabel="features", ylim=(0, p["n_features"] + 1))
    rep = feat["norm"] > 0.5
    axes[1].plot(1 / feat["p"][rep], feat["dimensionality"][rep], ".", alpha=0.4,
                 label=r"$D_i$ of represented features")
    _errorbars(axes[1], x, tab, "dims_per_feature", r"$m/\|W\|_F^2$", fmt="s-", color="k")
    for a, b in STICKY_FRACTIONS:
        axes[1].axhline(a / b, color="purple", lw=0.6, alpha=0.4)
        axes[1].annotate(f"{a}/{b}" if b > 1 else "1", (x.max(), a / b), fontsize="x-small",
                         color="purple", va="bottom")
    axes[1].set(ylabel="dimensions per feature", ylim=(0, 1.1))
    _errorbars(axes[2], x, tab, "necessary", "necessary", fmt="o-", color="tab:red")
    _errorbars(axes[2], x, tab, "incidental", "incidental", fmt="o-", color="tab:blue")
    _errorbars(axes[2], x, tab, "same_sign", "same-sign sharing", fmt="x:", color="tab:orange")
    _errorbars(axes[2], x, tab, "opposite_sign", "opposite-sign sharing", fmt="+:",
               color="tab:green")
    axes[2].set(ylabel="polysemantic neurons per model", ylim=(-0.2, p["n_hidden"] + 0.5))
    for ax in axes:
        ax.set(xscale="log", xlabel="1/p  (dense → sparse)")
        _plain_log_ticks(ax.xaxis)
        ax.legend(fontsize="small")
    return fig


def _cooccurrence(result):
    tab, p = result.tables["by_p"], result.params
    fig, axes = _figure(12, 4.8, 2, f"Co-occurring features, m ≥ n (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, AdamW, λ = {p['l1_scale']:g}·p/3, "
                        f"{p['seeds']} seeds)", result)
    x = tab["p"]
    _errorbars(axes[0], x, tab, "band", "band count |W_ik| ∈ [0.8, 1.2]", fmt="o-")
    _errorbars(axes[0], x, tab, "same_sign", "same-sign sharing", fmt="x:", color="tab:orange")
    _errorbars(axes[0], x, tab, "opposite_sign", "opposite-sign sharing", fmt="+:",
               color="tab:green")
    axes[0].plot(x, tab["birthday"], "k--", label="one-hot theory (birthday law with signs)")
    axes[0].set(ylabel="polysemantic neurons per model")
    axes[1].plot(x, tab["incidental_share"], "o-", color="tab:blue",
                 label="incidental share (pooled over seeds)")
    axes[1].set(ylabel="incidental / polysemantic", ylim=(-0.05, 1.05))
    for ax in axes:
        ax.set(xscale="log", xlabel="feature probability p  (rare → co-occurring)",
               xlim=(x.min() / 1.5, x.max() * 1.5))
        _plain_log_ticks(ax.xaxis)
        ax.legend(fontsize="small")
    return fig


_PLOTTERS = {"sparsity": _sparsity, "noise": _noise, "collisions": _collisions,
             "correlations": _correlations, "curves": _curves, "superposition": _superposition,
             "cooccurrence": _cooccurrence}

__all__ = ["figure", "require_matplotlib", "has_matplotlib", "compare_figure", "INSTALL_HINT"]


def compare_figure(rows, path) -> Path:
    """PNG of :func:`incipoly.compare.compare` rows: one log–log panel per (optimizer, λ), each
    ``n`` in its own colour — simulation mean ± SE, cascade model (squares), the predictive
    exclusion law (thick), birthday law (thin solid) and ``n²/4m`` (dashed). With several ``n``
    the legend sits beside the panels."""
    require_matplotlib()
    from matplotlib.figure import Figure
    groups = sorted({(r["optimizer"], r["l1"]) for r in rows})
    several_n = len({r["n"] for r in rows}) > 1
    fig = Figure(figsize=(5.2 * len(groups), 4.8), layout="constrained")
    fig.suptitle("Polysemantic neurons: simulation against theory")
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    for ax, (opt, l1) in zip(axes, groups):
        for n in sorted({r["n"] for r in rows if (r["optimizer"], r["l1"]) == (opt, l1)}):
            sel = [r for r in rows if (r["optimizer"], r["l1"], r["n"]) == (opt, l1, n)]
            col = {k: np.array([r[k] for r in sel], float) for k in sel[0] if k != "optimizer"}
            err = ax.errorbar(col["m"], col["sim_mean"], yerr=col["sim_se"], fmt="o", capsize=3,
                              label=f"n = {n}: simulation ± SE")
            c = err[0].get_color()
            ax.plot(col["m"], col["cascade"], "s:", color=c, ms=4, label=f"n = {n}: cascade")
            ax.plot(col["m"], col["exclusion"], "-", color=c, lw=2.2, alpha=0.6,
                    label=f"n = {n}: exclusion law (predictive)")
            ax.plot(col["m"], col["birthday"], "-", color=c, lw=1, label=f"n = {n}: birthday law")
            ax.plot(col["m"], col["n2_over_4m"], "--", color=c, lw=1, label=f"n = {n}: $n^2/4m$")
        ax.set_title(f"{opt}, λ = {l1:g}")
        ax.grid(True, which="major", alpha=0.3)
        widths = [r["m"] for r in rows if (r["optimizer"], r["l1"]) == (opt, l1)]
        _polysemantic_axes(ax, widths, ylabel=ax is axes[0], legend=not several_n)
    if several_n:           # one legend beside the panels, never over the data
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper",
                   fontsize="small")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
