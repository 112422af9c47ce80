"""``incipoly compare``: polysemantic counts from training against the four models."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ..compare import OPTIMIZER_DEFAULTS
from .common import (
    add_dask_argument,
    add_parser,
    add_progress_argument,
    add_seeds_argument,
    check_writable_dir,
    dask_client,
    fresh_run_dir,
    parse_seeds,
    resume_command,
)

_PER_OPTIMIZER = {key: ", ".join(f"{opt} {d[key]:g}" for opt, d in OPTIMIZER_DEFAULTS.items())
                  for key in ("l1", "lr", "steps")}


def add(subparsers):
    """Declare ``incipoly compare``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import compare
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> compare.add(subparsers)
    >>> list(subparsers.choices)
    ['compare']
    """
    p = add_parser(
        subparsers, "compare",
        help="train a grid of (n, m) x optimizer x lambda and compare with theory",
        description="Train every cell of the grid n x (m = ratio*n) x optimizer x lambda over the "
                    "seeds and print,\nper cell, the simulated polysemantic count (mean ± SE) "
                    "beside four models: n²/4m, the exact\nbirthday law with signs, the cascade "
                    "model (evaluated on the same initial weights) and the\nexclusion law (the "
                    "predictive model, incipoly.analytic.predicted_polysemantic), with z-scores.\n"
                    "Columns: winner = fraction of features whose final strongest neuron is "
                    "their initial\nargmax; in band = fraction of features whose strongest "
                    "weight lies in [0.8, 1.2] (below 1:\nsparsification unfinished, counts "
                    "biased low). The CSV's final_loss includes the L1 term.\nEvery flag given "
                    "is used as given (--steps 0 trains 0 steps); at least 2 seeds.\n"
                    "Each cell is trained into its own sweep store under DIR/store, chunk by chunk: "
                    "Ctrl-C keeps\nthe finished chunks and prints the command that resumes "
                    "(the same command with --resume).\nThe default grid (n = 32, five ratios, "
                    "two optimizers: 10 cells, 16 seeds) takes about two\nminutes on 2 cores.")
    p.add_argument("--n", type=int, nargs="+", default=[32], metavar="N",
                   help="numbers of features")
    p.add_argument("--ratios", type=float, nargs="+", default=[1, 2, 4, 8, 16], metavar="R",
                   help="hidden widths as multiples of n (m = R·n, rounded; finite, > 0)")
    p.add_argument("--optimizers", nargs="+", default=["adamw", "gd-prox"],
                   choices=list(OPTIMIZER_DEFAULTS), help="optimizers (each with its own lr, l1 and steps)")
    p.add_argument("--l1", type=float, nargs="+", default=None, metavar="LAMBDA",
                   help=f"L1 strengths; default: per optimizer ({_PER_OPTIMIZER['l1']})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"learning rate for every optimizer; default: per optimizer "
                        f"({_PER_OPTIMIZER['lr']})")
    p.add_argument("--steps", type=int, default=None,
                   help=f"steps; default: per optimizer ({_PER_OPTIMIZER['steps']})")
    add_seeds_argument(p)
    p.add_argument("--out", metavar="DIR", default=None,
                   help="directory for compare.csv, compare.png and the cells' stores (DIR/store), "
                        "checked writable before training; default: a new runs/compare-<timestamp>")
    p.add_argument("--resume", action="store_true",
                   help="continue a compare interrupted in DIR: finished chunks are not retrained "
                        "(without it, a DIR that holds a compare is refused)")
    p.add_argument("--plot", action="store_true", help="also write compare.png (needs [plot])")
    add_dask_argument(p)
    add_progress_argument(p)
    p.set_defaults(func=run)


def _announcer(enabled):
    """Print ``cell k/N: …`` on stderr before each cell (the first seconds say what happens)."""
    def announce(k, total, cell):
        if enabled:
            print(f"cell {k}/{total}: n={cell.n} m={cell.m} {cell.optimizer} l1={cell.l1:g} "
                  f"lr={cell.lr:g}, {cell.steps} steps", file=sys.stderr, flush=True)
    return announce


def run(args) -> int:
    """Check everything, run the grid through per-cell sweep stores, print the table, write the
    CSV (and PNG).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`incipoly.cli.build_parser`, with ``argv`` (the list parsed).

    Returns
    -------
    int
        The exit status (0 on success).

    Raises
    ------
    ValueError
        For a bad flag value or path (:func:`incipoly.cli.main` turns it into exit status 2).

    Examples
    --------
    >>> from incipoly.cli import build_parser, compare
    >>> argv = ["compare", "--n", "3", "--ratios", "1.34", "--optimizers", "adamw", "--lr", "0.01",
    ...         "--steps", "20", "--seeds", "4", "--out", "cmp", "--no-progress"]
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> compare.run(args)  # doctest: +ELLIPSIS
       n     m optimizer ...
    saved cmp/compare.csv
    0
    """
    from .. import compare as cmp
    if args.plot:
        from ..plot import require_matplotlib
        require_matplotlib()
    cells = cmp.grid(args.n, args.ratios, args.optimizers, args.l1, args.lr, args.steps)
    seeds = cmp.check_compare_seeds(parse_seeds(args.seeds))
    out = check_writable_dir(Path(args.out) if args.out is not None else Path("runs"))
    if args.out is None:
        if args.resume:
            raise ValueError("--resume needs --out DIR (the directory of the compare to continue)")
        out = fresh_run_dir(out, "compare")
    store = out / "store"
    if args.resume and not store.is_dir():
        raise ValueError(f"--resume: --out {out} holds no compare to continue ({store} missing)")
    if not args.resume and store.exists():
        raise ValueError(f"--out {out} already holds a compare ({store}); add --resume to "
                         "continue it or choose another --out")
    again = resume_command(args, add=("--out", str(out), "--resume"))
    args.interrupted = lambda: (f"{cmp.finished_cells(cells, store)} of {len(cells)} cells are "
                                f"finished and every finished chunk is kept in {store}; resume "
                                f"with: {again}")
    start = time.perf_counter()
    with dask_client(args.dask) as client:
        rows = cmp.compare(cells, seeds, progress=not args.no_progress, client=client,
                           store=store, announce=_announcer(not args.no_progress))
    print(cmp.format_table(rows))
    print(f"wall time: {time.perf_counter() - start:.1f} s; z = (simulation − model)/SE "
          "(cascade: paired per seed); winner = final neuron is the initial argmax; in band = "
          "strongest weight in [0.8, 1.2]")
    print(f"saved {cmp.write_csv(rows, out / 'compare.csv')}")
    if args.plot:
        from ..plot import compare_figure
        print(f"saved {compare_figure(rows, out / 'compare.png')}")
    return 0


__all__ = ["add", "run"]
