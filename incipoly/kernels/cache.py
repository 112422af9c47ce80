"""On-disk kernel cache keyed on every kernel source, so it never serves stale compiled code.

Numba's ``cache=True`` checks a cached kernel against its *own* file only; functions it inlines
from other modules are not tracked (numba issue #1833): edit ``noise.py``'s SplitMix64 and a
kernel of ``cpu.py`` compiled before the edit would still be loaded. Here every compiled kernel
of this package is cached under::

    cache_dir() / key,    key = sha256(numba version, (name, bytes) of every kernels/*.py)[:16]

and the key is also the source stamp numba stores in each index, so a kernel is reused only if
no kernel source (and not the numba version) changed since it was built. Old keys' directories
are left behind until :func:`clear_cache`.

``cache_dir()`` is ``$INCIPOLY_CACHE_DIR`` if set, else ``$NUMBA_CACHE_DIR/incipoly`` if
``NUMBA_CACHE_DIR`` is set, else ``$XDG_CACHE_HOME/incipoly`` (default ``~/.cache/incipoly``).
This module imports numba only in :func:`use_source_keyed_cache`.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

KERNELS_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The directory holding incipoly's compiled-kernel cache (one subdirectory per source key).

    Returns
    -------
    pathlib.Path
        ``$INCIPOLY_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/incipoly``, else
        ``$XDG_CACHE_HOME/incipoly`` (``~/.cache/incipoly`` when unset). It may not exist yet.

    Examples
    --------
    >>> import os, pathlib, incipoly as ip
    >>> os.environ["INCIPOLY_CACHE_DIR"] = "my-kernel-cache"
    >>> ip.cache_dir() == pathlib.Path("my-kernel-cache")
    True
    >>> del os.environ["INCIPOLY_CACHE_DIR"]
    """
    if os.environ.get("INCIPOLY_CACHE_DIR"):
        return Path(os.environ["INCIPOLY_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "incipoly"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "incipoly"


def clear_cache() -> int:
    """Delete every cached kernel under :func:`cache_dir` (all source keys).

    Returns
    -------
    int
        The number of files removed (0 when there is no cache).

    Examples
    --------
    >>> import os, incipoly as ip
    >>> os.environ["INCIPOLY_CACHE_DIR"] = "empty-cache"   # a scratch cache, so nothing is recompiled
    >>> ip.clear_cache()
    0
    >>> del os.environ["INCIPOLY_CACHE_DIR"]
    """
    root = cache_dir()
    if not root.is_dir():
        return 0
    removed = 0
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
            removed += 1
    return removed


def source_key(kernels_dir: Path = KERNELS_DIR) -> str:
    """Hash of the numba version and the name and bytes of every ``*.py`` in ``kernels_dir``.

    Returns
    -------
    str
        The first 16 hex digits of ``sha256(numba version, (name, bytes) of each file, sorted)``.

    Parameters
    ----------
    kernels_dir : pathlib.Path
        Directory of kernel sources, default ``incipoly/kernels``.

    Examples
    --------
    >>> from incipoly.kernels.cache import source_key
    >>> key = source_key()
    >>> len(key), key == source_key()     # changes only when a kernel source or numba changes
    (16, True)
    """
    from importlib.metadata import version

    h = hashlib.sha256(f"numba {version('numba')}\n".encode())
    for path in sorted(Path(kernels_dir).glob("*.py")):
        data = path.read_bytes()
        h.update(f"{path.name} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()[:16]


@functools.cache
def _key() -> str:
    return source_key()


@functools.cache
def use_source_keyed_cache() -> None:
    """Make numba cache the kernels defined in this package under ``cache_dir() / source_key()``.

    Installs a cache locator, tried before numba's own, that claims the functions whose source
    file lies in ``incipoly/kernels`` and stamps them with :func:`source_key`. Call before any
    ``@njit(cache=True)`` of the package is defined (``kernels/cpu.py`` does); idempotent.

    Examples
    --------
    >>> from incipoly.kernels.cache import use_source_keyed_cache
    >>> use_source_keyed_cache()          # already done on import of the kernels; a no-op again
    """
    from numba.core.caching import CacheImpl, _CacheLocator

    class _SourceKeyedLocator(_CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(cache_dir() / _key())

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return _key()

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not py_file or Path(py_file).resolve().parent != KERNELS_DIR:
                return None
            return cls(py_func, py_file)

    CacheImpl._locator_classes.insert(0, _SourceKeyedLocator)


__all__ = ["cache_dir", "clear_cache", "source_key", "use_source_keyed_cache"]
