"""``incipoly reproduce``: one of the paper's figures, or all, at small or paper scale."""
from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from ..experiments import EXPERIMENTS, SCALES, WIDTH_EXPERIMENTS, reproduce
from ..plot import INSTALL_HINT, has_matplotlib
from .common import (
    add_dask_argument,
    add_parser,
    add_progress_argument,
    check_writable_dir,
    dask_client,
    resume_command,
)


def parse_widths(text: str) -> list[int]:
    """Parse ``--widths``: a comma list of hidden widths, ``"256,512,4096"``.

    Raises
    ------
    ValueError
        If an entry is not an integer (the message names ``--widths``; the range is checked by
        :func:`incipoly.experiments.reproduce`).

    Parameters
    ----------
    text : str

    Returns
    -------
    list of int

    Examples
    --------
    >>> from incipoly.cli.reproduce import parse_widths
    >>> parse_widths("256,512,4096")
    [256, 512, 4096]
    """
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--widths must be a comma list of integers like 256,512,4096; "
                         f"got {text!r}") from None


def experiment_listing(width: int = 92) -> str:
    """Every experiment with the whole first paragraph of its docstring, wrapped and indented.

    Parameters
    ----------
    width : int
        Line width.

    Returns
    -------
    str

    Examples
    --------
    >>> from incipoly.cli.reproduce import experiment_listing
    >>> experiment_listing().split()[0]
    'sparsity'
    """
    lines = []
    for name, fn in EXPERIMENTS.items():
        summary = " ".join((fn.__doc__ or "").split("\n\n")[0].split())
        lines += textwrap.wrap(summary, width, initial_indent=f"  {name:<14}",
                               subsequent_indent=" " * 16)
    return "\n".join(lines)


def add(subparsers):
    """Declare ``incipoly reproduce``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import reproduce
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> reproduce.add(subparsers)
    >>> list(subparsers.choices)
    ['reproduce']
    """
    p = add_parser(
        subparsers, "reproduce",
        help="reproduce the paper's figures (resumable sweep, CSV data, PNG)",
        description="Reproduce a figure of the paper: train its sweep into DIR/<experiment>/store "
                    "(chunk by chunk,\nresumable), write the figure data as CSV and the figure as "
                    "DIR/<experiment>/<experiment>.png,\nand print a one-line summary. "
                    f"The {len(EXPERIMENTS)} experiments:\n{experiment_listing()}\n\n"
                    f"--scale small finishes all {len(EXPERIMENTS)} in a few minutes on 2 cores; "
                    "--scale paper uses the paper's\nsizes (hours: Ctrl-C keeps the finished chunks "
                    "and prints the command that resumes). Needs\nmatplotlib (the [plot] extra) for "
                    "the PNGs; the CSVs are written without it.")
    p.add_argument("experiment", choices=(*EXPERIMENTS, "all"),
                   help="which figure; all = every experiment in the order listed")
    p.add_argument("--scale", choices=SCALES, default="small",
                   help="small = same shapes, seconds each; paper = the paper's sizes")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output directory; default: runs/reproduce-<scale>")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweeps already in DIR (finished chunks are not retrained)")
    p.add_argument("--widths", metavar="M,M,...", default=None,
                   help="collisions and curves only: train these widths m instead of the "
                        "scale's list (e.g. 256,512,768,1024,4096, the widths the paper quotes)")
    add_dask_argument(p)
    add_progress_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run the experiment(s), one summary line each; the PNG only when matplotlib is installed.

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
    >>> from incipoly.cli import build_parser, reproduce
    >>> argv = ["reproduce", "correlations", "--out", "figures", "--no-progress"]   # ~7 s
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> reproduce.run(args)  # doctest: +ELLIPSIS
    correlations [small]: ...
    0
    """
    out = Path(args.out) if args.out is not None else Path("runs") / f"reproduce-{args.scale}"
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    widths = None if args.widths is None else parse_widths(args.widths)
    if widths is not None and args.experiment not in WIDTH_EXPERIMENTS:
        raise ValueError(f"--widths applies to {' and '.join(WIDTH_EXPERIMENTS)} only; "
                         f"got experiment {args.experiment!r}")
    check_writable_dir(out)
    plot = has_matplotlib()
    if not plot:
        print(f"note: matplotlib is not installed, so only the CSVs are written (PNG skipped; "
              f"{INSTALL_HINT})", file=sys.stderr)
    again = resume_command(args, add=("--out", str(out), "--resume"))
    with dask_client(args.dask) as client:
        for k, name in enumerate(names, 1):
            args.interrupted = (f"the finished chunks of {name} are kept in "
                                f"{out / name / 'store'}; resume with: {again}")
            if len(names) > 1:
                print(f"experiment {k}/{len(names)}: {name}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            result, _ = reproduce(name, out, scale=args.scale, resume=args.resume,
                                  progress=not args.no_progress, widths=widths, plot=plot,
                                  client=client)
            print(f"{result.summary} [{time.perf_counter() - start:.1f} s; {out / name}]",
                  flush=True)
    return 0


__all__ = ["parse_widths", "experiment_listing", "add", "run"]
