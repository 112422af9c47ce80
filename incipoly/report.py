"""Looking at one run: a short text/HTML description and a figure (loss, m′, final weights).

:class:`incipoly.Run`'s ``__repr__``, ``_repr_html_`` and ``plot`` call these functions, and so
does ``incipoly show``. matplotlib is imported only when a figure is drawn.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from .config import POLYSEMANTIC_BAND

#: Label every row and column of the weight heatmap up to this many (more would overlap).
MAX_TICK_LABELS = 40

#: Config fields shown in the one-line description of a run.
ESSENTIALS = ("n_features", "n_hidden", "steps", "optimizer", "lr", "l1", "noise", "noise_std")


def format_seeds(seeds) -> str:
    """``"8 (0-7)"`` for a contiguous range, else the count and the first ten seeds.

    Parameters
    ----------
    seeds : sequence of int

    Returns
    -------
    str

    Examples
    --------
    >>> from incipoly.report import format_seeds
    >>> format_seeds(range(8)), format_seeds([3, 1])
    ('8 (0-7)', '2 (3,1)')
    """
    seeds = [int(s) for s in seeds]
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{len(seeds)} ({seeds[0]}-{seeds[-1]})"
    shown = ",".join(map(str, seeds[:10])) + (",..." if len(seeds) > 10 else "")
    return f"{len(seeds)} ({shown})"


def _polysemantic_mean(run) -> float:
    from . import metrics
    return float(np.mean(metrics.polysemantic_neurons(run.W)))


#: The share of features whose strongest weight must reach :data:`~incipoly.config.POLYSEMANTIC_BAND`
#: before ``incipoly train``/``show`` stop warning.
HEALTHY_IN_BAND = 0.9

#: A feature whose weight row has squared norm below this is dead: its own output
#: ``ReLU(|W_i|²)`` is below 0.25, so it costs more than 0.56 of the loss's floor of 0.
DEAD_NORM2 = 0.25


def training_health(run) -> dict:
    """How far training got: in-band and dead features, and the ``warning:`` lines to print.

    ``in_band`` is the fraction of features (over all seeds) whose strongest weight
    ``max_k |W_ik|`` lies in :data:`~incipoly.config.POLYSEMANTIC_BAND`; ``dead`` is the mean
    number per seed of features with
    ``Σ_k W_ik² <`` :data:`DEAD_NORM2`. For one-hot models a warning is given when fewer than
    :data:`HEALTHY_IN_BAND` of the features are in the band or any feature is dead, with what to
    change; sparse models (superposition: features need not reach the band) get none.

    Parameters
    ----------
    run : Run

    Returns
    -------
    dict
        ``in_band`` (float), ``dead`` (float), ``warnings`` (list of str, each ``"warning: …"``).

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly import report
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> health = report.training_health(run)     # 20 steps: far from finished
    >>> round(health["in_band"], 3), health["warnings"][0][:29]
    (0.167, 'warning: only 17% of features')
    """
    W = np.abs(np.asarray(run.W, np.float64))
    peak = W.max(axis=2)
    in_band = float(((peak >= POLYSEMANTIC_BAND[0]) & (peak <= POLYSEMANTIC_BAND[1])).mean())
    dead = float(((W ** 2).sum(axis=2) < DEAD_NORM2).sum(axis=1).mean())
    cfg, warnings = run.config, []
    if cfg.inputs == "one-hot":
        n = cfg.n_features
        if dead > 0:
            warnings.append(
                f"warning: {dead:.3g} of {n} features per seed are dead (output below "
                f"{DEAD_NORM2:g}, each costs about 1 in the loss) and the polysemantic count "
                f"means little: lower --lr (now {cfg.lr:g}) or --l1 (now {cfg.l1:g})")
        if in_band < HEALTHY_IN_BAND:
            warnings.append(
                f"warning: only {in_band:.0%} of features reached the band "
                f"[{POLYSEMANTIC_BAND[0]:g}, {POLYSEMANTIC_BAND[1]:g}] "
                f"(below {HEALTHY_IN_BAND:.0%}: training has not "
                f"finished, the polysemantic count is biased low): raise --steps (now "
                f"{cfg.steps}){' or lower --lr' if dead > 0 else ' or --lr'} (now {cfg.lr:g})")
    return {"in_band": in_band, "dead": dead, "warnings": warnings}


def describe(run) -> str:
    """One line: config essentials, seeds, weight shape and dtype, mean polysemantic count.

    Parameters
    ----------
    run : Run

    Returns
    -------
    str

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly import report
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> report.describe(run)  # doctest: +ELLIPSIS
    'Run(n_features=3, n_hidden=4, steps=20, optimizer=adamw, lr=0.01, ...; seeds 2 (0,1); W (2, 3, 4) ...'
    """
    cfg = run.config.to_dict()
    fields = ", ".join(f"{k}={cfg[k]}" for k in ESSENTIALS if k in cfg)
    return (f"Run({fields}; seeds {format_seeds(run.seeds)}; W {tuple(run.W.shape)} "
            f"{run.W.dtype}; polysemantic mean {_polysemantic_mean(run):.3g})")


def describe_html(run) -> str:
    """The same facts as :func:`describe` as a small HTML table (for notebooks).

    Parameters
    ----------
    run : Run

    Returns
    -------
    str

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly import report
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> report.describe_html(run)[:35]
    '<table><caption>incipoly Run</capti'
    """
    cfg = run.config.to_dict()
    rows = [(k, cfg[k]) for k in ESSENTIALS if k in cfg]
    rows += [("seeds", format_seeds(run.seeds)), ("W", f"{tuple(run.W.shape)} {run.W.dtype}"),
             ("polysemantic neurons (mean)", f"{_polysemantic_mean(run):.3g}")]
    if "loss" in run.history:
        rows.append(("final loss incl. L1 (mean)", f"{float(np.mean(run.history['loss'][-1])):.4g}"))
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table><caption>incipoly Run</caption>{body}</table>"


def neuron_order(W, band=POLYSEMANTIC_BAND):
    """Column and row order for the weight heatmap of one instance ``W`` (n, m).

    Neurons: polysemantic ones first (most features in the band first), then those carrying one
    feature, then the rest by their largest ``|W|``. Features: by the position of their
    strongest neuron in that order.

    Parameters
    ----------
    W : array_like, (n, m)
    band : (float, float)

    Returns
    -------
    feature_order, neuron_order : numpy.ndarray of int
    n_polysemantic : int

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly.report import neuron_order
    >>> features, neurons, k = neuron_order(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, -1.0]]))
    >>> features.tolist(), neurons.tolist(), k
    ([0, 1, 2], [0, 1], 1)
    """
    from . import metrics
    carried = metrics.assignments(W, band).carried != 0
    load = carried.sum(axis=0)
    peak = np.abs(W).max(axis=0)
    neurons = np.lexsort((-peak, -load))                 # by load desc, then peak desc
    position = np.empty_like(neurons)
    position[neurons] = np.arange(neurons.size)
    features = np.argsort(position[np.abs(W).argmax(axis=1)], kind="stable")
    return features, neurons, int((load > 1).sum())


def run_figure(run, path=None, instance=0):
    """One figure: loss and m′ histories over seeds, and the final weights of one instance.

    Parameters
    ----------
    run : Run
    path : path, optional
        Also save the figure there as a PNG.
    instance : int
        Which seed's weights the heatmap shows (index into ``run.seeds``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly import report
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> fig = report.run_figure(run, "run.png")
    >>> len(fig.axes)
    4
    """
    from ._validate import check_int
    from .plot import require_matplotlib
    require_matplotlib()
    from matplotlib.figure import Figure
    instance = check_int("instance", instance, 0, len(run.seeds) - 1)
    fig = Figure(figsize=(14, 4.8), layout="constrained")
    fig.suptitle(figure_title(run))
    axes = fig.subplots(1, 3, width_ratios=(1, 1, 1.4))
    steps = np.asarray(run.history.get("step", []))
    _history_panel(axes[0], steps, run.history.get("loss"), "loss (incl. L1 term)", log_y=True)
    active = run.history.get("active")
    _history_panel(axes[1], steps, None if active is None else active.mean(axis=2),
                   "m′: active weights per feature (mean)", log_y=False)
    _weights_panel(fig, axes[2], np.asarray(run.W[instance], np.float64),
                   int(run.seeds[instance]))
    if path is not None:
        fig.savefig(Path(path), dpi=110)
    return fig


def _history_panel(ax, steps, values, ylabel, log_y):
    """Mean over seeds with a min–max band against the step (log x from step 1 on)."""
    ax.grid(True, alpha=0.3)
    ax.set(xlabel="training step", ylabel=ylabel)
    if values is None or steps.size == 0:
        ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
        return
    values = np.asarray(values, np.float64).reshape(steps.size, -1)
    keep = steps > 0 if (steps > 0).sum() >= 2 else np.ones(steps.size, bool)
    x, v = steps[keep], values[keep]
    (line,) = ax.plot(x, v.mean(axis=1), "o-", ms=3, label="mean over seeds")
    ax.fill_between(x, v.min(axis=1), v.max(axis=1), color=line.get_color(), alpha=0.2,
                    linewidth=0, label="min–max over seeds")
    if keep.sum() < steps.size:
        ax.set_xscale("log")
    if log_y and (v > 0).all():
        ax.set_yscale("log")
    ax.legend(fontsize="small")


#: A neuron is shown in the weight heatmap when some ``|W_ik|`` exceeds this.
ACTIVE_WEIGHT = 0.1


def figure_title(run) -> str:
    """The run figure's title: shapes, optimizer, λ, steps, seeds and the polysemantic count.

    Parameters
    ----------
    run : Run

    Returns
    -------
    str

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly import report
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> report.figure_title(run)  # doctest: +ELLIPSIS
    'n = 3 features, m = 4 neurons: adamw lr = 0.01, λ = 0.001, 20 steps, 2 seeds — ...'
    """
    from . import metrics
    cfg = run.config
    counts = metrics.polysemantic_neurons(run.W).astype(float)
    mean, se = metrics.mean_se(counts) if counts.size > 1 else (counts.mean(), np.nan)
    count = f"{mean:.3g}" + ("" if np.isnan(se) else f" ± {se:.2g}")
    noise = "" if cfg.noise == "none" else f", {cfg.noise} noise σ = {cfg.noise_std:g}"
    inputs = "" if cfg.inputs == "one-hot" else f", {cfg.inputs} inputs p = {cfg.feature_prob:g}"
    return (f"n = {cfg.n_features} features, m = {cfg.n_hidden} neurons: {cfg.optimizer} "
            f"lr = {cfg.lr:g}, λ = {cfg.l1:g}{noise}{inputs}, {cfg.steps} steps, "
            f"{len(run.seeds)} seeds — polysemantic neurons per model {count}")


def _weights_panel(fig, ax, W, seed):
    """Signed heatmap features × active neurons (some ``|W_ik|`` above :data:`ACTIVE_WEIGHT`),
    polysemantic neurons first and marked ▼; the number of neurons left out is stated."""
    features, neurons, poly = neuron_order(W)
    active = neurons[np.abs(W[:, neurons]).max(axis=0) > ACTIVE_WEIGHT]
    hidden = neurons.size - active.size
    shown = active if active.size else neurons[:1]
    vmax = max(float(np.abs(W).max()), 1e-12)
    image = ax.imshow(W[np.ix_(features, shown)], cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                      aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="final weight $W_{ik}$")
    if poly:                        # ▼ just above the axes over each polysemantic column
        ax.plot(np.arange(poly), np.full(poly, 1.02), "v", color="k", ms=6, clip_on=False,
                transform=ax.get_xaxis_transform())
        ax.axvline(poly - 0.5, color="k", lw=0.8, ls="--")
    for axis, order in ((ax.xaxis, shown), (ax.yaxis, features)):
        if order.size <= MAX_TICK_LABELS:        # label rows and columns with their real indices
            axis.set_ticks(np.arange(order.size), [str(k) for k in order], fontsize="x-small")
    left_out = (f"; {hidden} inactive neuron{'s' if hidden != 1 else ''} (all |W| ≤ "
                f"{ACTIVE_WEIGHT:g}) not shown" if hidden else "")
    ax.set(xlabel=f"active neurons, polysemantic first (▼){left_out}", ylabel="feature",
           title=f"seed {seed}: {poly} polysemantic neuron{'s' if poly != 1 else ''}\n")


__all__ = ["training_health", "describe", "describe_html", "run_figure", "figure_title",
           "neuron_order", "format_seeds"]
