"""Every exception class incipoly raises on purpose, importable from one place.

Also re-exported by :mod:`incipoly` (``ip.StoreError`` …). Besides these, bad arguments raise the
builtin ``ValueError`` (naming the argument, its value and the accepted range) and a missing
optional dependency raises ``ImportError`` with the command that installs it.
"""
from __future__ import annotations

from pathlib import Path


class WrongTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError`` for backward compatibility)."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite weight or loss.

    Attributes
    ----------
    failures : list of dict
        Set by :func:`incipoly.sweep` only: the diverged chunks (config index, seeds, message).
    """

    failures: list[dict]


class StoreError(ValueError):
    """A stored file is unreadable or contradicts what it should hold.

    Attributes
    ----------
    path : pathlib.Path
        The offending file.
    field : str
        What is wrong in it (an array name, ``"format"``, ``"config"``, ``"seeds"`` …).
    """

    def __init__(self, path, field, problem):
        self.path, self.field = Path(path), field
        super().__init__(f"{path}: {field}: {problem}")


class FileProblem(Exception):
    """A file named on the command line exists but cannot be used as what it should be (a run
    directory or sweep store that fails to load): the console script exits with status 1."""


__all__ = ["WrongTypeError", "DivergenceError", "StoreError", "FileProblem"]
