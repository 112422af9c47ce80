"""The ``incipoly`` console script: one module per subcommand, :func:`main` here.

Each subcommand module (:mod:`~incipoly.cli.train`, :mod:`~incipoly.cli.compare`,
:mod:`~incipoly.cli.reproduce`, :mod:`~incipoly.cli.sweep`, :mod:`~incipoly.cli.show`) has
``add(subparsers)``, which declares its flags and sets ``func`` to its ``run(args)``; what they
share is in :mod:`~incipoly.cli.common`. :func:`main` turns every failure into one line on
stderr, never a traceback, with one exit-status rule (:data:`~incipoly.cli.common.EXIT_EPILOG`):
2 usage, 1 failure, 130 interrupted.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import __version__
from ..errors import DivergenceError, FileProblem, StoreError
from . import cache, compare, reproduce, show, sweep, train
from .common import (
    EXIT_EPILOG,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    TRAIN_DEFAULTS,
    Formatter,
    check_writable_dir,
    config_from_args,
    parse_seeds,
)
from .train import format_run

#: Subcommands in ``--help`` order: name → module with ``add(subparsers)``.
COMMANDS = {"train": train, "compare": compare, "reproduce": reproduce, "show": show,
            "sweep": sweep, "cache": cache}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from incipoly.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--n-features", "3", "--n-hidden", "4"])
    >>> args.command, args.n_features, args.n_hidden
    ('train', 3, 4)
    """
    parser = argparse.ArgumentParser(
        prog="incipoly", formatter_class=Formatter, epilog=EXIT_EPILOG,
        description="Incidental polysemanticity toy models (Lecomte et al., arXiv 2312.03096).")
    parser.add_argument("--version", action="version", version=f"incipoly {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        module.add(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Show a warning as ``warning: <message>`` on stderr, without source lines."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``); return the exit status.

    argparse errors, ``--help`` and ``--version`` raise ``SystemExit`` as usual (usage: 2).
    Everything else ends in one line on stderr: 2 for a bad value (``ValueError``: the message
    names the flag or field; a path argument that does not exist or cannot be written), 1 for a
    failure (divergence, memory, a corrupt or unreadable file, a disk error, a missing optional
    dependency), 130 for Ctrl-C (with what was kept and the command that resumes). Warnings are
    printed as one ``warning:`` line each.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    int
        0, or :data:`EXIT_USAGE`, :data:`EXIT_FAILURE`, :data:`EXIT_INTERRUPTED`.

    Examples
    --------
    >>> from incipoly.cli import main
    >>> main(["train", "--n-features", "3", "--n-hidden", "4", "--steps", "20", "--lr", "0.01",
    ...       "--seeds", "2", "--out", "runs", "--no-progress"])  # doctest: +ELLIPSIS
    config: n_features=3 n_hidden=4 steps=20 optimizer=adamw lr=0.01 ...
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return args.func(args)
        except (StoreError, FileProblem, DivergenceError, ImportError) as exc:
            return _fail(exc, EXIT_FAILURE)
        except ValueError as exc:
            return _fail(exc, EXIT_USAGE)
        except MemoryError as exc:
            return _fail(f"out of memory: {exc or 'an allocation failed'}", EXIT_FAILURE)
        except BrokenPipeError:
            # stdout closed early (`incipoly train | head`): silence the flush at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILURE
        except OSError as exc:
            return _fail(exc, EXIT_FAILURE)
        except KeyboardInterrupt:
            note = getattr(args, "interrupted", "nothing was kept")
            print(f"\nincipoly: interrupted; {note() if callable(note) else note}",
                  file=sys.stderr)
            return EXIT_INTERRUPTED


def _fail(message, status) -> int:
    print(f"incipoly: error: {message}", file=sys.stderr)
    return status


__all__ = ["main", "build_parser", "COMMANDS", "TRAIN_DEFAULTS", "config_from_args",
           "parse_seeds", "format_run", "check_writable_dir", "EXIT_USAGE", "EXIT_FAILURE",
           "EXIT_INTERRUPTED"]
