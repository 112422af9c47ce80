"""``incipoly show RUN_DIR``: the summary table of a saved run and its figure."""
from __future__ import annotations

from pathlib import Path

from .._validate import check_int
from ..errors import FileProblem
from ..plot import INSTALL_HINT, has_matplotlib
from .common import add_parser, check_existing, check_writable_dir
from .train import format_run


def add(subparsers):
    """Declare ``incipoly show``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import show
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> show.add(subparsers)
    >>> list(subparsers.choices)
    ['show']
    """
    p = add_parser(
        subparsers, "show",
        help="print a saved run's summary and draw its figure (loss, m′, final weights)",
        description="Print the summary table of a run saved by 'incipoly train' (or Run.save), "
                    "with the fraction\nof features in the band [0.8, 1.2] and any 'warning:' "
                    "lines, and write one PNG: the loss\n(incl. the L1 term) and m′ histories over "
                    "seeds, and the final weights of one seed as a\nfeatures × neurons heatmap of "
                    "its active neurons, polysemantic ones first, marked ▼\n(needs [plot]).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="directory of a saved run")
    p.add_argument("--png", metavar="FILE", default=None,
                   help="where to write the figure; default: RUN_DIR/run.png")
    p.add_argument("--instance", type=int, default=0,
                   help="which seed's weights the heatmap shows (index into the run's seeds)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Check every argument, then print the table and write the PNG (skipped, with a note,
    without matplotlib).

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
    >>> from incipoly.cli import build_parser, show
    >>> import incipoly as ip
    >>> _ = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2,
    ...              progress=False).save("run")
    >>> argv = ["show", "run", "--png", "run.png"]
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> show.run(args)  # doctest: +ELLIPSIS
    Run(n_features=3, n_hidden=4, ...
    saved run.png
    0
    """
    from ..stores.run import load
    path = check_existing(args.run_dir, "RUN_DIR", directory=True)
    png = Path(args.png) if args.png is not None else path / "run.png"
    if png.is_dir():
        raise ValueError(f"--png {png} is a directory; give a file name like {png / 'run.png'}")
    check_writable_dir(png.parent, "--png", given=png)
    try:
        saved = load(path)
    except FileNotFoundError as exc:                   # not a run directory: usage
        raise ValueError(f"RUN_DIR {path} holds no saved run: {exc}") from None
    except (ValueError, OSError, KeyError) as exc:     # corrupt files: a failure, not usage
        raise FileProblem(f"RUN_DIR {path} is not a readable saved run: {exc}") from None
    check_int("--instance", args.instance, 0, len(saved.seeds) - 1)
    print(repr(saved))
    print(format_run(saved))
    if not has_matplotlib():
        print(f"PNG skipped: matplotlib is not installed ({INSTALL_HINT})")
        return 0
    saved.plot(png, instance=args.instance)
    print(f"saved {png}")
    return 0


__all__ = ["add", "run"]
