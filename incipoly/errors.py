"""Every exception class incipoly raises on purpose, importable from one place.

Also re-exported by :mod:`incipoly` (``ip.StoreError`` …). Besides these, bad arguments raise the
builtin ``ValueError`` (naming the argument, its value and the accepted range) and a missing
optional dependency raises ``ImportError`` with the command that installs it.
"""
from __future__ import annotations

from pathlib import Path


class WrongTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError`` for backward compatibility).

    Examples
    --------
    >>> import incipoly as ip
    >>> try:
    ...     ip.Config(n_features="8")
    ... except ip.WrongTypeError as err:
    ...     print(type(err).__name__, isinstance(err, ValueError))
    WrongTypeError True
    """


class DivergenceError(FloatingPointError):
    """Training produced a non-finite weight or loss.

    Attributes
    ----------
    failures : list of dict
        Set by :func:`incipoly.sweep` only: the diverged chunks (config index, seeds, message).

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, optimizer="sgd", lr=1e6)
    >>> try:
    ...     ip.train(cfg, seeds=2, progress=False)
    ... except ip.DivergenceError as err:
    ...     print("diverged")
    diverged
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

    Parameters
    ----------
    path : str or pathlib.Path
        The offending file.
    field : str
        What is wrong in it.
    problem : str
        The explanation, appended to the message.

    Examples
    --------
    >>> import incipoly as ip
    >>> err = ip.StoreError("run/arrays.npz", "W", "shape (2, 3) but config.json says (2, 3, 4)")
    >>> err.field, str(err)
    ('W', 'run/arrays.npz: W: shape (2, 3) but config.json says (2, 3, 4)')
    """

    def __init__(self, path, field, problem):
        self.path, self.field = Path(path), field
        super().__init__(f"{path}: {field}: {problem}")


class FileProblem(Exception):
    """A file named on the command line exists but cannot be used as what it should be (a run
    directory or sweep store that fails to load): the console script exits with status 1.

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.cli.sweep import open_store
    >>> from incipoly.errors import FileProblem
    >>> Path("not-a-store").mkdir()
    >>> _ = Path("not-a-store/sweep.json").write_text("{")
    >>> try:
    ...     open_store("not-a-store", "--store")
    ... except FileProblem as err:
    ...     print(str(err)[:40])
    --store not-a-store is not a readable sw
    """


__all__ = ["WrongTypeError", "DivergenceError", "StoreError", "FileProblem"]
