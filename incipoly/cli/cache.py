"""``incipoly cache info|clear``: where the compiled kernels are cached, and removing them."""
from __future__ import annotations

from .common import add_parser


def add(subparsers):
    """Declare ``incipoly cache``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From :func:`incipoly.cli.build_parser`'s ``add_subparsers``.

    Examples
    --------
    >>> import argparse
    >>> from incipoly.cli import cache
    >>> subparsers = argparse.ArgumentParser().add_subparsers()
    >>> cache.add(subparsers)
    >>> list(subparsers.choices)
    ['cache']
    """
    p = add_parser(
        subparsers, "cache",
        help="show or clear the on-disk cache of compiled kernels",
        description="The CPU kernels compile on first use (about half a minute) and are cached "
                    "on disk under a key\nthat hashes every kernel source file and the numba "
                    "version, so an edited kernel is never\nserved from an old cache. 'info' "
                    "prints the cache directory, the current key and the size;\n'clear' deletes "
                    "every cached kernel (the next run compiles again). The directory is\n"
                    "$INCIPOLY_CACHE_DIR, else $NUMBA_CACHE_DIR/incipoly, else "
                    "~/.cache/incipoly.")
    p.add_argument("action", choices=("info", "clear"), help="what to do")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the cache's location and size, or clear it and say how many files went.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by :func:`incipoly.cli.build_parser`, with ``argv`` (the list parsed).

    Returns
    -------
    int
        The exit status (0 on success).

    Examples
    --------
    >>> from incipoly.cli import build_parser, cache
    >>> argv = ["cache", "info"]
    >>> args = build_parser().parse_args(argv)
    >>> args.argv = argv
    >>> cache.run(args)  # doctest: +ELLIPSIS
    cache directory ...
    0
    """
    from ..kernels.cache import cache_dir, clear_cache, source_key
    root = cache_dir()
    if args.action == "clear":
        removed = clear_cache()
        print(f"removed {removed} cached kernel file{'s' * (removed != 1)} from {root}")
        return 0
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    print(f"cache directory  {root}{'' if root.is_dir() else ' (not created yet)'}")
    print(f"source key       {source_key()} (current kernels and numba version)")
    print(f"cached files     {len(files)} ({size / 2**20:.1f} MiB)")
    return 0


__all__ = ["add", "run"]
