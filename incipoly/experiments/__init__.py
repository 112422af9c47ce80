"""The paper's figures as functions that run a resumable sweep and return the figure's data.

Each experiment ``f(store, scale, resume, progress) -> Result`` trains its whole grid with one
:func:`incipoly.sweep` into ``store`` (so ``resume=True`` skips finished chunks) and returns
:class:`Result`: its parameters, its tables (the figure data, one CSV each) and a one-line summary.
:func:`reproduce` runs one experiment into ``DIR/<name>/``: ``store/``, ``<table>.csv`` and
``<name>.png`` (:mod:`incipoly.plot`). The parameters of both scales are in :data:`SCALE_PARAMS`:
``small`` keeps each figure's shape and finishes in seconds, ``paper`` uses the paper's sizes.
"""
from __future__ import annotations

from pathlib import Path

from ..stores.files import write_csv
from .one_hot import collisions, correlations, curves, noise, sparsity
from .params import NOISE_SETTINGS, SCALE_PARAMS, SCALES, WIDTH_EXPERIMENTS, Result, _params
from .sparse import cooccurrence, superposition

#: Experiment name → function, in the order ``reproduce all`` runs them.
EXPERIMENTS = {"sparsity": sparsity, "noise": noise, "collisions": collisions,
               "correlations": correlations, "curves": curves, "superposition": superposition,
               "cooccurrence": cooccurrence}


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

    Raises
    ------
    ValueError
        For an unknown ``name`` or ``scale``, or ``widths`` for an experiment without them.
    ImportError
        With ``plot=True`` and no matplotlib (before any training).

    Examples
    --------
    >>> from incipoly import experiments
    >>> result, files = experiments.reproduce("correlations", "figures", progress=False)  # ~7 s
    >>> result.name, [f.name for f in files]
    ('correlations', ['heatmap.csv', 'winner_rank.csv', 'correlations.png'])
    """
    from .. import plot as plotting

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
