"""Simulation against theory: polysemantic counts on a grid of (n, m) × optimizer × λ.

For every cell the trained models' polysemantic count (mean ± SE over seeds) is set beside

* the paper's scaling ``n²/4m`` (:func:`incipoly.analytic.asymptotic_polysemantic`),
* the birthday law with signs (:func:`~incipoly.analytic.expected_polysemantic`, exact),
* the cascade model evaluated on the very same initial weights
  (:func:`~incipoly.analytic.cascade_polysemantic`),
* the predictive model, the exclusion law (:func:`~incipoly.analytic.predicted_polysemantic`),
  whose Monte Carlo error (from its one-feature constant) is added to the SE in quadrature,

with z-scores ``z = (sim − model) / SE``: for the birthday law and n²/4m SE is the simulation's
standard error; for the cascade model, which predicts per seed, it is the standard error of the
per-seed differences (a paired comparison).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import analytic, metrics
from ._validate import MAX_INSTANCES, MAX_STEPS, WrongTypeError, check_choice, check_int, check_real, shown
from .config import Config
from .init import normalize_seeds
from .training import train

#: Per-optimizer defaults. AdamW is the paper's configuration. gd-prox is the discretised L1
#: gradient flow of the theory: λ = 1e-2 (below the one-feature extinction bound √(π/2m) for
#: every m ≤ 15 000); flow time lr·steps = 600 = 6/λ (the one-feature flow reaches m′ = 1 at
#: λT ≈ 1.5–1.9 on average, 90 % of draws by λT ≈ 3); lr = 0.05: the smooth loss has curvature
#: 8 along a unit feature plus ≈ 4·(n/2m)(1 + √(2m/n))² ≈ 12 from the interference of the
#: initial transient at m = n, so lr·20 = 1.0 < 2 (lr = 0.1 is at the edge and diverges at small m).
#: See theory/README.md, section f.
OPTIMIZER_DEFAULTS = {
    "adamw": {"lr": 1e-3, "steps": 7500, "l1": 1e-3},
    "gd-prox": {"lr": 5e-2, "steps": 12000, "l1": 1e-2},
    "sgd": {"lr": 2e-2, "steps": 7500, "l1": 1e-3},
}

#: Keys of each row of :func:`compare` (and the CSV's columns, in order).
COLUMNS = ("n", "m", "optimizer", "l1", "lr", "steps", "seeds", "sim_mean", "sim_se",
           "n2_over_4m", "birthday", "cascade", "exclusion", "z_n2_over_4m", "z_birthday", "z_cascade",
           "z_exclusion", "sim_sd", "exclusion_sd", "winner_is_initial_argmax", "final_loss",
           "winner_se", "in_band")


@dataclass(frozen=True)
class Cell:
    """One grid point: shapes, optimiser, λ and the training budget.

    Parameters
    ----------
    n, m : int
        Features and neurons.
    optimizer : str
    l1, lr : float
    steps : int

    Examples
    --------
    >>> from incipoly.compare import Cell
    >>> Cell(n=3, m=4, optimizer="adamw", l1=1e-3, lr=1e-2, steps=20).config()
    Config(n_features=3, n_hidden=4, steps=20, optimizer='adamw', lr=0.01)
    """
    n: int
    m: int
    optimizer: str
    l1: float
    lr: float
    steps: int

    def config(self, dtype="float32") -> Config:
        """The float32 (or ``dtype``) :class:`~incipoly.Config` this cell trains."""
        return Config(n_features=self.n, n_hidden=self.m, steps=self.steps,
                      optimizer=self.optimizer, lr=self.lr, l1=self.l1, dtype=dtype)


def grid(n_values, ratios, optimizers=("adamw", "gd-prox"), l1_values=None, lr=None, steps=None):
    """Cells for every ``n``, ``m = ratio·n``, optimizer and λ.

    ``l1_values``, ``lr`` and ``steps`` default per optimizer (:data:`OPTIMIZER_DEFAULTS`) only
    when ``None``; any given value — ``steps=0`` included — is used or refused, never replaced.

    Parameters
    ----------
    n_values : sequence of int
        Feature counts ``n``.
    ratios : sequence of float
        ``m / n``; ``m`` is rounded to an integer.
    optimizers : sequence of str
    l1_values : sequence of float, optional
    lr : float, optional
    steps : int, optional

    Returns
    -------
    list of Cell

    Raises
    ------
    ValueError, TypeError
        Naming ``n``, ``ratio``, ``optimizer``, ``l1``, ``lr`` or ``steps`` and the accepted range.

    Examples
    --------
    >>> from incipoly import compare
    >>> cells = compare.grid([3], [4 / 3], optimizers=["adamw"], lr=1e-2, steps=20)
    >>> cells
    [Cell(n=3, m=4, optimizer='adamw', l1=0.001, lr=0.01, steps=20)]
    """
    n_values = [check_int("n (n_features)", n, 1, MAX_INSTANCES) for n in _listed("n", n_values)]
    ratios = [check_real("ratio", r, 0.0, strict=True) for r in _listed("ratios", ratios)]
    optimizers = [check_choice("optimizer", o, tuple(OPTIMIZER_DEFAULTS))
                  for o in _listed("optimizers", optimizers)]
    if l1_values is not None:
        l1_values = [check_real("l1", v) for v in _listed("l1", l1_values)]
    lr = None if lr is None else check_real("lr", lr, 0.0, strict=True)
    steps = None if steps is None else check_int("steps", steps, 0, MAX_STEPS)
    cells = []
    for opt in optimizers:
        d = OPTIMIZER_DEFAULTS[opt]
        for l1 in l1_values if l1_values is not None else (d["l1"],):
            for n in n_values:
                for r in ratios:
                    m = r * n
                    if not 1 <= round(m) <= MAX_INSTANCES:
                        raise ValueError(f"ratio must give m = ratio·n in [1, {MAX_INSTANCES}]; "
                                         f"got ratio {r!r} at n={n}")
                    cells.append(Cell(n, int(round(m)), opt, float(l1),
                                      d["lr"] if lr is None else lr,
                                      d["steps"] if steps is None else steps))
    for c in cells:
        c.config()          # validate every field before any training starts
    return cells


def _listed(name, values):
    """``values`` as a non-empty list (a string is not a list of values)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise WrongTypeError(f"{name} must be a non-empty list; got {shown(values)}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must be a non-empty list; got []")
    return values


def check_compare_seeds(seeds):
    """Seeds as for :func:`incipoly.train`, at least two (standard errors and z need them).

    Parameters
    ----------
    seeds : int or sequence of int

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        For fewer than two seeds (or bad seeds, :func:`incipoly.init.normalize_seeds`).

    Examples
    --------
    >>> from incipoly.compare import check_compare_seeds
    >>> check_compare_seeds(3).tolist()
    [0, 1, 2]
    """
    seeds = normalize_seeds(seeds)
    if seeds.size < 2:
        raise ValueError(f"seeds must give at least 2 seeds for compare (standard errors and "
                         f"z-scores need two); got {seeds.size}")
    return seeds


def evaluate(cell: Cell, seeds, run=None, progress=False) -> dict:
    """Train ``cell`` on ``seeds`` (unless ``run`` is given) and compare with the three models.

    Besides the counts and z-scores the row holds ``winner_is_initial_argmax`` (fraction of
    features whose final strongest neuron is their initial argmax; ``winner_se`` is its standard
    error over seeds) and ``in_band`` (fraction of features whose strongest weight lies in
    [0.8, 1.2]: below 1 means sparsification is unfinished and counts are biased low).
    ``final_loss`` is the mean final loss including the L1 term ``l1·Σ|W|``. ``progress`` is
    passed to :func:`incipoly.train` (a shared bar advances within the cell).

    Parameters
    ----------
    cell : Cell
    seeds : int or sequence of int
    run : Run, optional
        A run of ``cell.config()`` on ``seeds``, used instead of training.
    progress : bool or progress bar

    Returns
    -------
    dict
        One row with the keys of :data:`COLUMNS`.

    Examples
    --------
    >>> from incipoly import compare
    >>> cells = compare.grid([3], [4 / 3], optimizers=["adamw"], lr=1e-2, steps=20)
    >>> row = compare.evaluate(cells[0], seeds=[0, 1])
    >>> row["n"], row["m"], row["seeds"], round(row["birthday"], 4)
    (3, 4, 2, 0.3281)
    """
    run = run if run is not None else train(cell.config(), seeds, progress=progress, record=2)
    sim = metrics.polysemantic_neurons(run.W).astype(float)
    S = sim.size
    se = float(metrics.mean_se(sim)[1])
    cascade = np.asarray(analytic.cascade_polysemantic(run.W0.astype(np.float64)), float)
    diff = sim - cascade
    se_paired = float(metrics.mean_se(diff)[1])
    n2 = float(analytic.asymptotic_polysemantic(cell.n, cell.m))
    birthday = float(analytic.expected_polysemantic(cell.n, cell.m))
    model = analytic.predicted_polysemantic(cell.config())
    final = metrics.assignments(run.W).neuron
    initial = metrics.initial_collisions(run.W0).neuron
    winner = (final == initial).mean(axis=1)                  # per seed
    peak = np.abs(run.W).max(axis=2)

    def z(delta, s):
        if s > 0:
            return delta / s
        return 0.0 if delta == 0 else float(np.sign(delta)) * np.inf

    return {
        "n": cell.n, "m": cell.m, "optimizer": cell.optimizer, "l1": cell.l1, "lr": cell.lr,
        "steps": cell.steps, "seeds": S, "sim_mean": sim.mean(), "sim_se": se,
        "n2_over_4m": n2, "birthday": birthday, "cascade": cascade.mean(),
        "z_n2_over_4m": z(sim.mean() - n2, se), "z_birthday": z(sim.mean() - birthday, se),
        "z_cascade": z(diff.mean(), se_paired),
        "exclusion": model.mean, "z_exclusion": z(sim.mean() - model.mean, np.hypot(se, model.mean_se)),
        "sim_sd": float(sim.std(ddof=1)) if S > 1 else np.nan, "exclusion_sd": model.sd,
        "winner_is_initial_argmax": float(winner.mean()),
        "final_loss": float(run.history["loss"][-1].mean()),
        "winner_se": float(metrics.mean_se(winner)[1]),
        "in_band": float(((peak >= 0.8) & (peak <= 1.2)).mean()),
    }


def compare(cells, seeds, progress=True, client=None, store=None, announce=None):
    """Rows of :data:`COLUMNS`, one per cell, in order.

    Without ``store`` every cell is trained in memory and one progress bar moves within each
    cell. With ``store`` (a directory) every cell is trained through :func:`incipoly.sweep` into
    its own sweep store ``store/<cell name>`` (:func:`cell_store`), resumed when it is there
    already: finished chunks are kept on disk, so an interrupted compare loses at most the
    chunks in flight and a second call with the same ``store`` trains only what is missing. With
    a Dask ``client`` (``store`` required) the chunks run on the cluster. The rows are the same
    in every case. ``seeds`` must give at least two seeds (see :func:`check_compare_seeds`).
    ``announce(k, total, cell)``, if given, is called before cell ``k`` (1-based) starts.

    Raises
    ------
    ValueError
        If ``client`` is given without ``store``, or seeds are too few.

    Parameters
    ----------
    cells : sequence of Cell
    seeds : int or sequence of int
    progress : bool
    client : dask.distributed.Client, optional
    store : path-like, optional
    announce : callable, optional

    Returns
    -------
    list of dict

    Examples
    --------
    >>> from incipoly import compare
    >>> cells = compare.grid([3], [4 / 3], optimizers=["adamw"], lr=1e-2, steps=20)
    >>> rows = compare.compare(cells, seeds=4, progress=False)
    >>> [(r["n"], r["m"], r["seeds"]) for r in rows]
    [(3, 4, 4)]
    """
    seeds = check_compare_seeds(seeds)
    announce = announce if announce is not None else (lambda k, total, cell: None)
    if store is not None:
        return _compare_in_store(cells, seeds, progress, client, Path(store), announce)
    if client is not None:
        raise ValueError("store: compare with a client needs a sweep directory (store=...)")
    from tqdm.auto import tqdm
    rows = []
    with tqdm(total=sum(c.steps for c in cells), disable=not progress, unit="step",
              desc="compare", dynamic_ncols=True) as bar:
        for k, cell in enumerate(cells, 1):
            announce(k, len(cells), cell)
            rows.append(evaluate(cell, seeds, progress=bar))
    return rows


def cell_store(store, cell: Cell) -> Path:
    """The sweep directory of ``cell`` under ``store``, named by what the cell trains.

    Examples
    --------
    >>> from incipoly.compare import Cell, cell_store
    >>> cell_store("out", Cell(3, 4, "adamw", 1e-3, 1e-2, 20)).name
    'n3_m4_adamw_l1-0.001_lr-0.01_steps-20'
    """
    return Path(store) / (f"n{cell.n}_m{cell.m}_{cell.optimizer}_l1-{cell.l1:g}_lr-{cell.lr:g}_"
                          f"steps-{cell.steps}")


def finished_cells(cells, store) -> int:
    """How many of ``cells`` have every chunk finished in ``store``."""
    from .stores.sweep_store import SweepStore
    done = 0
    for cell in cells:
        try:
            st = SweepStore(cell_store(store, cell))
        except (OSError, ValueError):
            continue
        done += all(st.done(*ch) for ch in st.chunks())
    return done


def _compare_in_store(cells, seeds, progress, client, store, announce):
    from .stores.sweeps import sweep
    rows = []
    for k, cell in enumerate(cells, 1):
        announce(k, len(cells), cell)
        st = sweep([cell.config()], seeds, cell_store(store, cell), chunk_seeds=8, resume=True,
                   keep_weights=True, record=2, progress=progress, client=client)
        rows.append(evaluate(cell, seeds, run=st.run(0)))
    return rows


def write_csv(rows, path, columns=COLUMNS):
    """Write ``rows`` (dicts with at least ``columns``) as CSV, atomically, through the package's
    one CSV writer (:func:`incipoly.stores.files.write_csv`); reals to 6 significant digits.

    Parameters
    ----------
    rows : list of dict
    path : path-like
    columns : sequence of str

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from incipoly import compare
    >>> compare.write_csv([{"n": 3, "m": 4}], "compare.csv", columns=("n", "m")).read_text().split()
    ['n,m', '3,4']
    """
    from .stores.files import table_of_rows
    from .stores.files import write_csv as write_table
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_table(path, table_of_rows(rows, columns), digits=6)


def format_table(rows) -> str:
    """Fixed-width text table of the rows.

    Parameters
    ----------
    rows : list of dict
        From :func:`compare`.

    Returns
    -------
    str

    Examples
    --------
    >>> from incipoly import compare
    >>> cells = compare.grid([3], [4 / 3], optimizers=["adamw"], lr=1e-2, steps=20)
    >>> print(compare.format_table(compare.compare(cells, seeds=4, progress=False)))  # doctest: +ELLIPSIS
       n     m optimizer      l1   sim mean ± SE ...
    -----...
       3     4     adamw   1e-03 ...
    """
    head = (f"{'n':>4} {'m':>5} {'optimizer':>9} {'l1':>7} {'sim mean ± SE':>15} {'n²/4m':>7} "
            f"{'birthday':>8} {'cascade':>8} {'exclus.':>8} {'z(n²/4m)':>8} {'z(bday)':>8} {'z(casc)':>8} "
            f"{'z(excl)':>8} {'sd sim/excl':>11} {'winner':>6} {'in band':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['n']:>4} {r['m']:>5} {r['optimizer']:>9} {r['l1']:>7.0e} "
            f"{r['sim_mean']:>7.2f} ± {r['sim_se']:<5.2f} {r['n2_over_4m']:>7.2f} {r['birthday']:>8.2f} "
            f"{r['cascade']:>8.2f} {r['exclusion']:>8.2f} {r['z_n2_over_4m']:>8.1f} {r['z_birthday']:>8.1f} "
            f"{r['z_cascade']:>8.1f} {r['z_exclusion']:>8.1f} {r['sim_sd']:>5.2f}/{r['exclusion_sd']:<5.2f} "
            f"{r['winner_is_initial_argmax']:>6.2f} {r.get('in_band', np.nan):>7.3f}")
    return "\n".join(lines)


__all__ = ["Cell", "COLUMNS", "OPTIMIZER_DEFAULTS", "grid", "check_compare_seeds", "evaluate", "compare",
           "write_csv", "format_table"]
