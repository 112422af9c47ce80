"""Headless PNGs of :mod:`incipoly.experiments` results (matplotlib: the ``[plot]`` extra).

matplotlib is imported on first use, never by ``import incipoly``. Figures are drawn on
``matplotlib.figure.Figure`` directly (Agg canvas, no pyplot), so no GUI backend is needed and a
caller's pyplot state is left alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: How to install matplotlib, quoted in the ImportError.
INSTALL_HINT = "install the [plot] extra: pip install 'incipoly[plot]'"


def require_matplotlib():
    """Import and return matplotlib.

    Raises
    ------
    ImportError
        If matplotlib is missing; the message says how to install it (:data:`INSTALL_HINT`).

    Returns
    -------
    module

    Examples
    --------
    >>> from incipoly.plot import require_matplotlib
    >>> require_matplotlib().__name__
    'matplotlib'
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib, which is not installed; {INSTALL_HINT}") \
            from exc
    return matplotlib


def has_matplotlib() -> bool:
    """True when matplotlib can be imported.

    Returns
    -------
    bool

    Examples
    --------
    >>> from incipoly.plot import has_matplotlib
    >>> has_matplotlib()
    True
    """
    try:
        require_matplotlib()
    except ImportError:
        return False
    return True


def figure(result, path) -> Path:
    """Draw ``result`` (an :class:`incipoly.experiments.Result`) and save it as a PNG at ``path``.

    Parameters
    ----------
    result : incipoly.experiments.Result
    path : path-like

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        Without matplotlib.

    Examples
    --------
    >>> from incipoly import experiments, plot
    >>> result = experiments.correlations("store", progress=False)     # ~7 s on 2 cores
    >>> plot.figure(result, "correlations.png").name
    'correlations.png'
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
    for ax, key in zip(axes, ylabels, strict=True):
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
    from matplotlib.lines import Line2D
    tab, p = result.tables["l4"], result.params
    fig, axes = _figure(12, 4.8, 2, f"Hidden noise as the sparsifier (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, SGD lr = {p['lr']:g}, no L1; bands: min–max over "
                        f"{p['seeds']} seeds)", result)
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red")

    def draw(ax, kind, sigma, label, **style):
        rows = (tab["noise"] == kind) & (tab["noise_std"] == sigma) & (tab["step"] > 0)
        _band(ax, tab["step"][rows], tab["mean"][rows], tab["min"][rows], tab["max"][rows], label,
              **style)
        return tab["mean"][rows]

    sigmas = sorted({s for kind, s in zip(tab["noise"], tab["noise_std"], strict=True)
                     if kind == "bernoulli"})
    gaussian = []
    for sigma, color in zip(sigmas, colors, strict=False):
        draw(axes[0], "bernoulli", sigma, f"σ = {sigma:g}", color=color, lw=2)
        gaussian.append(draw(axes[0], "gaussian", sigma, None, color=color, ls="--", lw=1))
    handles = [Line2D([], [], color=c, lw=2, label=f"σ = {sg:g}")
               for sg, c in zip(sigmas, colors, strict=False)]
    handles += [Line2D([], [], color="k", lw=2, label="bernoulli (solid)"),
                Line2D([], [], color="k", lw=1, ls="--", label="gaussian (dashed)")]
    spread = max((float(np.max(np.abs(g - gaussian[0]))) for g in gaussian), default=0.0)
    note = (f"the gaussian curves of all σ coincide\n(differ by ≤ {spread:.2g}): gaussian noise "
            "does not sparsify" if spread < 0.02 else "")
    if note:
        axes[0].text(0.03, 0.55, note, transform=axes[0].transAxes, fontsize="small",
                     color="0.3", va="top")
    axes[0].legend(handles=handles, fontsize="small", loc="upper left")
    axes[0].set_title("bernoulli vs gaussian noise at several σ")
    for kind, color in zip(("bernoulli", "uniform", "gaussian", "laplace"), colors, strict=True):
        kappa = tab["kurtosis"][tab["noise"] == kind][0]
        draw(axes[1], kind, 0.1, f"{kind} (excess kurtosis κ = {kappa:g})", color=color)
    axes[1].set_title("four noise laws at σ = 0.1")
    axes[1].legend(fontsize="small", loc="upper left")
    m = p["n_hidden"]
    for ax in axes:
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.axhline(1 / m, color="gray", lw=0.8, ls="-.")
        ax.annotate("one-hot row (monosemantic)", (1.0, 1.0), xycoords=("axes fraction", "data"),
                    xytext=(-4, -10), textcoords="offset points", ha="right", fontsize="x-small")
        ax.annotate("1/m: row spread evenly", (1.0, 1 / m), xycoords=("axes fraction", "data"),
                    xytext=(-4, 3), textcoords="offset points", ha="right", fontsize="x-small")
        ax.set(xscale="log", ylim=(0, 1.05), xlabel="training step",
               ylabel=r"mean over features of $\|W_i\|_4^4 = \sum_k W_{ik}^4$")
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
    fig, axes = _figure(4.2 * len(p["l1"]), 5.2, len(p["l1"]),
                        f"Polysemanticity vs width for three L1 strengths (n = {p['n_features']}, "
                        f"AdamW, {p['seeds']} seeds)", result, sharey=True)
    for ax, l1 in zip(axes, p["l1"], strict=True):
        rows = tab["l1"] == l1
        m = tab["m"][rows]
        _band(ax, m, tab["mean"][rows], tab["p10"][rows], tab["p90"][rows],
              "simulation: mean and 10–90 % band", marker="o", ms=4, color="tab:blue")
        ax.plot(m, tab["p50"][rows], "x", color="tab:blue", label="simulation: median")
        ax.plot(m, tab["exclusion_complete"][rows], "-", color="tab:red",
                lw=1.5, label="exclusion law (sparsification complete)")
        _theory_lines(ax, tab, rows)
        ax.set_title(f"λ = {l1:g}")
        _polysemantic_axes(ax, tab["m"], ylabel=ax is axes[0], legend=False)
        ax.set_yscale("symlog", linthresh=1.0)      # zero counts stay on the axis
        ax.set_ylim(bottom=0)
        _symlog_ticks(ax.yaxis)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3,
               fontsize="small")
    return fig


def _symlog_ticks(axis):
    """Plain labels 0, 1, 2, 5, 10, … on a symlog axis with linear range [0, 1]."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator
    hi = axis.get_view_interval()[1]
    ticks = [0] + [b * 10 ** k for k in range(0, 7) for b in (1, 2, 5) if b * 10 ** k <= hi * 1.01]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_locator(NullLocator())


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
        axes[1].annotate(f"{a}/{b}" if b > 1 else "1", (1.0, a / b),
                         xycoords=("axes fraction", "data"), xytext=(3, 0),
                         textcoords="offset points", fontsize="x-small", color="purple",
                         va="center", annotation_clip=False)
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
    fig, axes = _figure(12, 5.0, 2, f"Co-occurring features, m ≥ n (n = {p['n_features']}, "
                        f"m = {p['n_hidden']}, AdamW, {p['seeds']} seeds)\nL1 λ = "
                        f"{p['l1_scale']:g}·p/3 ∝ p: the L1 pressure per active input of the "
                        f"one-hot model", result)
    x = tab["p"]
    _errorbars(axes[0], x, tab, "band", "band count |W_ik| ∈ [0.8, 1.2]", fmt="o-", lw=2.5,
               ms=7, color="tab:blue", zorder=2)
    _errorbars(axes[0], x * 0.93, tab, "same_sign", "same-sign sharing", fmt="x:",
               color="tab:orange", zorder=3)
    _errorbars(axes[0], x * 1.07, tab, "opposite_sign", "opposite-sign sharing", fmt="^--",
               mfc="none", ms=6, color="tab:green", zorder=3)
    axes[0].plot(x, tab["birthday"], "k--", lw=1, label="one-hot theory (birthday law with signs)")
    top = np.nanmax(np.concatenate([tab["birthday"], tab["band_mean"] + tab["band_se"],
                                    tab["opposite_sign_mean"] + tab["opposite_sign_se"]]))
    axes[0].set(ylabel="polysemantic neurons per model", ylim=(-0.05 * top, 1.45 * top))
    share = np.asarray(tab["incidental_share"], float)
    axes[1].plot(x, share, "o-", color="tab:blue", label="incidental share (pooled over seeds)")
    undefined = x[~np.isfinite(share)]
    if undefined.size:
        axes[1].text(0.03, 0.06, "undefined at p = " + ", ".join(f"{q:.2g}" for q in undefined)
                     + ":\nno polysemantic neuron in any seed (0 / 0)",
                     transform=axes[1].transAxes, fontsize="small", color="0.3")
    axes[1].set(ylabel="incidental / polysemantic", ylim=(-0.05, 1.05))
    for ax in axes:
        ax.set(xscale="log", xlabel="feature probability p  (rare → co-occurring)",
               xlim=(x.min() / 1.5, x.max() * 1.5))
        _plain_log_ticks(ax.xaxis)
    axes[0].legend(fontsize="small", loc="upper right")
    axes[1].legend(fontsize="small", loc="center right")
    return fig


_PLOTTERS = {"sparsity": _sparsity, "noise": _noise, "collisions": _collisions,
             "correlations": _correlations, "curves": _curves, "superposition": _superposition,
             "cooccurrence": _cooccurrence}

__all__ = ["figure", "require_matplotlib", "has_matplotlib", "compare_figure", "INSTALL_HINT"]


#: Colour and style of each model in compare.png (the same in every panel, whatever n).
COMPARE_STYLES = (
    ("exclusion", "exclusion law (predictive)", {"color": "tab:red", "lw": 2.4, "ls": "-"}),
    ("cascade", "cascade model (same $W_0$)", {"color": "tab:green", "lw": 1.2, "ls": ":",
                                               "marker": "s", "ms": 4}),
    ("birthday", "birthday law with signs", {"color": "tab:blue", "lw": 1.2, "ls": "-"}),
    ("n2_over_4m", "paper: $n^2/4m$", {"color": "0.45", "lw": 1.2, "ls": "--"}),
)


def compare_figure(rows, path) -> Path:
    """PNG of :func:`incipoly.compare.compare` rows: one log–log panel per (optimizer, λ).

    Each model has one colour and style in every panel (:data:`COMPARE_STYLES`), the simulation
    is black points with ± SE bars; with several ``n`` each group of curves is labelled
    ``n = …`` at its right end. The title gives the seed count, each panel its lr and steps.

    Parameters
    ----------
    rows : list of dict
        From :func:`incipoly.compare.compare`.
    path : path-like

    Returns
    -------
    Path

    Examples
    --------
    >>> from incipoly import compare, plot
    >>> cells = compare.grid([3], [4 / 3, 2], optimizers=["adamw"], lr=1e-2, steps=20)
    >>> rows = compare.compare(cells, seeds=4, progress=False)
    >>> plot.compare_figure(rows, "compare.png").name
    'compare.png'
    """
    require_matplotlib()
    from matplotlib.figure import Figure
    groups = sorted({(r["optimizer"], r["l1"]) for r in rows})
    seeds = sorted({int(r["seeds"]) for r in rows})
    several_n = len({r["n"] for r in rows}) > 1
    fig = Figure(figsize=(5.2 * len(groups), 5.2), layout="constrained")
    fig.suptitle(f"Polysemantic neurons per model: simulation against theory "
                 f"({'/'.join(map(str, seeds))} seeds per cell)")
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    for ax, (opt, l1) in zip(axes, groups, strict=True):
        cell = [r for r in rows if (r["optimizer"], r["l1"]) == (opt, l1)]
        for n in sorted({r["n"] for r in cell}):
            sel = sorted((r for r in cell if r["n"] == n), key=lambda r: r["m"])
            col = {k: np.array([r[k] for r in sel], float) for k in sel[0] if k != "optimizer"}
            for key, label, style in COMPARE_STYLES:
                ax.plot(col["m"], col[key], label=label, **style)
            ax.errorbar(col["m"], col["sim_mean"], yerr=col["sim_se"], fmt="o", color="k",
                        ms=5, capsize=3, zorder=5, label="simulation (mean ± SE)")
            if several_n:
                ax.annotate(f"n = {n:g}", (col["m"][-1], col["birthday"][-1]), xytext=(6, 0),
                            textcoords="offset points", va="center", fontsize="small")
        lrs = sorted({r["lr"] for r in cell})
        steps = sorted({int(r["steps"]) for r in cell})
        ax.set_title(f"{opt}, λ = {l1:g}, lr = {'/'.join(f'{v:g}' for v in lrs)}, "
                     f"{'/'.join(map(str, steps))} steps", fontsize="medium")
        ax.grid(True, which="major", alpha=0.3)
        _polysemantic_axes(ax, [r["m"] for r in cell], ylabel=ax is axes[0], legend=False)
        if several_n:
            ax.set_xlim(right=ax.get_xlim()[1] * 1.6)    # room for the n labels
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))                # one entry per model, not per n
    order = ["simulation (mean ± SE)"] + [label for _, label, _ in COMPARE_STYLES]
    fig.legend([unique[k] for k in order], order, loc="outside lower center", ncols=5,
               fontsize="small")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
