"""``incipoly sweep``: any grid from a TOML/JSON file into a resumable store; its summary."""
from __future__ import annotations

from pathlib import Path

from ..errors import FileProblem
from .common import (
    add_dask_argument,
    add_parser,
    add_progress_argument,
    add_seeds_argument,
    check_existing,
    check_writable_dir,
    dask_client,
    parse_seeds,
    resume_command,
)


def add(subparsers):
    """Declare ``incipoly sweep``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import sweep
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> sweep.add(subparsers)
    >>> list(subparsers.choices)
    ['sweep']
    """
    p = add_parser(
        subparsers, "sweep",
        help="train any grid of configs (TOML or JSON file) into a resumable sweep store",
        description="Train every config of GRID_FILE over the seeds into the sweep store DIR "
                    "(chunk by chunk,\nresumable, shareable by several processes or a Dask "
                    "cluster), then print the per-config\ntable (mean ± SE over seeds) and write "
                    "DIR/summary.csv. GRID_FILE (TOML, or JSON for *.json)\nholds Config fields: a "
                    "list of values expands to one config each (Cartesian product),\na scalar is "
                    "fixed; see examples/grid.toml. --summary DIR prints the table of an\nexisting "
                    "store without training. Ctrl-C keeps every finished chunk and prints the\n"
                    "command that resumes (the same command with --resume).")
    p.add_argument("grid", metavar="GRID_FILE", nargs="?", default=None,
                   help="grid file (TOML; JSON if it ends in .json)")
    p.add_argument("--summary", metavar="DIR", default=None,
                   help="only print the table of the store DIR and write DIR/summary.csv")
    p.add_argument("--store", metavar="DIR", default=None,
                   help="sweep directory, checked writable before training (required with "
                        "GRID_FILE)")
    add_seeds_argument(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep already in DIR (verified chunks are not retrained)")
    p.add_argument("--chunk-seeds", type=int, default=8,
                   help="seeds per chunk: the unit saved, claimed and run as one task (>= 1)")
    p.add_argument("--record", type=int, default=32,
                   help="number of log-spaced history points (>= 2)")
    p.add_argument("--keep-weights", action="store_true", help="also store W0 and W of every seed")
    add_dask_argument(p)
    add_progress_argument(p)
    p.set_defaults(func=run)


def open_store(path, flag):
    """The :class:`~incipoly.SweepStore` at ``path``: a missing one is a usage error naming
    ``flag``, a corrupt one a failure (:class:`FileProblem`).

    Parameters
    ----------
    path : path-like
    flag : str
        Named in the errors.

    Returns
    -------
    SweepStore

    Raises
    ------
    ValueError
        If ``path`` is missing or holds no sweep.
    FileProblem
        If the sweep there cannot be read.

    Examples
    --------
    >>> from incipoly.cli.sweep import open_store
    >>> open_store("missing", "--store")
    Traceback (most recent call last):
    ...
    ValueError: --store missing does not exist
    """
    from ..stores.sweep_store import SweepStore
    path = check_existing(path, flag, directory=True)
    try:
        return SweepStore(path)
    except FileNotFoundError as exc:
        raise ValueError(f"{flag} {path}: {exc}") from None
    except (ValueError, OSError) as exc:
        raise FileProblem(f"{flag} {path} is not a readable sweep store: {exc}") from None


def _kept(store: Path) -> str:
    """What an interrupted sweep kept, counted on disk."""
    from ..stores.sweep_store import SweepStore
    try:
        st = SweepStore(store)
    except (ValueError, OSError):
        return f"nothing was kept in {store} yet"
    chunks = st.chunks()
    done = sum(st.done(*ch) for ch in chunks)
    return f"{done} of {len(chunks)} chunks are finished and kept in {store}"


def run(args) -> int:
    """Sweep the grid file (or only summarise ``--summary DIR``); print the table, write the CSV.

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
    >>> from incipoly.cli import build_parser, sweep
    >>> _ = open("grid.toml", "w").write("n_features = 3\\nn_hidden = [4, 8]\\nsteps = 20\\nlr = 0.01\\n")
    >>> argv = ["sweep", "grid.toml", "--store", "sweep", "--seeds", "2", "--no-progress"]
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> sweep.run(args)  # doctest: +ELLIPSIS
    fixed: n_features=3 steps=20 ...
    saved sweep/summary.csv
    0
    """
    from ..stores.grids import format_summary, read_grid, summary_rows, write_summary_csv
    from ..stores.sweeps import sweep
    if (args.grid is None) == (args.summary is None):
        raise ValueError("sweep needs either GRID_FILE (with --store DIR) or --summary DIR")
    if args.summary is not None:
        st = open_store(args.summary, "--summary")
        check_writable_dir(st.path, "--summary")
    else:
        if args.store is None:
            raise ValueError("--store DIR is required with GRID_FILE")
        check_existing(args.grid, "GRID_FILE", directory=False)
        store = check_writable_dir(Path(args.store), "--store")
        configs, seeds = read_grid(args.grid), parse_seeds(args.seeds)
        again = resume_command(args, add=("--resume",))
        args.interrupted = lambda: f"{_kept(store)}; resume with: {again}"
        with dask_client(args.dask) as client:
            st = sweep(configs, seeds, store, chunk_seeds=args.chunk_seeds,
                       resume=args.resume, keep_weights=args.keep_weights, record=args.record,
                       progress=not args.no_progress, client=client)
    try:
        rows = summary_rows(st)
    except ValueError as exc:       # a chunk or manifest that cannot be read: a file failure
        raise FileProblem(f"store {st.path}: {exc}") from None
    print(format_summary(rows))
    print(f"saved {write_summary_csv(rows, st.path / 'summary.csv')}")
    return 0


__all__ = ["add", "open_store", "run"]
