"""Runs and their files: ``config.json`` (config, seeds, versions), ``arrays.npz``, ``summary.csv``.

Every file is written to a temporary name and renamed into place (:func:`atomic_write`); :func:`load`
checks each array against ``config.json`` and raises :class:`StoreError` naming the file and field.

No pickle: arrays go through ``np.savez`` / ``np.load(allow_pickle=False)``, metadata through JSON.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import StoreError
from ..init import normalize_seeds
from .files import atomic_write, write_csv

#: Version of the saved-run format (``config.json``'s ``format``); :func:`load` reads only this one.
FORMAT_VERSION = 1
#: Arrays a Run holds only for some models (untied decoder, bias); saved when present.
OPTIONAL_ARRAYS = ("W_dec", "W_dec0", "b")

#: Names of the history arrays :func:`incipoly.train` records (``W`` only with ``keep_weights``).
HISTORY_KEYS = ("step", "loss", "l1", "l2", "l4", "active")


def _same_array(a, b) -> bool:
    """Both None, or arrays of one shape and dtype with equal values (NaN equal to NaN)."""
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def versions() -> dict:
    """Versions of incipoly, numba and numpy, recorded with every saved result.

    Returns
    -------
    dict
        ``{"incipoly": ..., "numba": ..., "numpy": ...}``, version strings.

    Examples
    --------
    >>> from incipoly.stores.run import versions
    >>> sorted(versions())
    ['incipoly', 'numba', 'numpy']
    """
    import numba

    from .. import __version__
    return {"incipoly": __version__, "numba": numba.__version__, "numpy": np.__version__}


@dataclass(eq=False)
class Run:
    """The result of :func:`incipoly.train`: weights before/after, history, seeds and config.

    Two runs are equal (``==``) when their configs are equal and every array — seeds, ``W0``,
    ``W``, the decoder and bias where present, and each history array — has the same shape,
    dtype and values (NaN equal to NaN). ``info`` (backend, seconds, store) is not compared.

    Parameters
    ----------
    config : Config
        The setting trained.
    seeds : numpy.ndarray
        One seed per instance, shape ``(S,)``.
    W0, W : numpy.ndarray
        Weights before and after training, ``(S, n, m)``.
    history : dict of numpy.ndarray
        Recorded steps and per-step statistics (see :func:`incipoly.train`).
    info : dict
        Backend, seconds and, for a sweep's run, the store.
    W_dec, W_dec0 : numpy.ndarray or None
        Untied decoder after / before training, ``(S, n, m)``.
    b : numpy.ndarray or None
        Decoder bias, ``(S, n)``.

    Examples
    --------
    >>> import incipoly as ip
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> sorted(run.summary())[:3]
    ['final_loss', 'init_mixed_neurons', 'init_same_sign_pairs']
    >>> path = run.save("tiny-run")
    >>> ip.load(path) == run
    True
    """

    config: Config
    seeds: np.ndarray
    W0: np.ndarray
    W: np.ndarray
    history: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    #: Untied decoder after / before training (instances, n, m); None when tied.
    W_dec: np.ndarray | None = None
    W_dec0: np.ndarray | None = None
    #: Decoder bias (instances, n); None without bias.
    b: np.ndarray | None = None

    __hash__ = None  # type: ignore[assignment]   # mutable arrays: not hashable

    def __eq__(self, other) -> bool:
        if not isinstance(other, Run):
            return NotImplemented
        if self.config != other.config or self.history.keys() != other.history.keys():
            return False
        names = ("seeds", "W0", "W", *OPTIONAL_ARRAYS)
        pairs = [(getattr(self, k), getattr(other, k)) for k in names]
        pairs += [(self.history[k], other.history[k]) for k in self.history]
        return all(_same_array(a, b) for a, b in pairs)

    def summary(self) -> dict:
        """Per-instance headline numbers (arrays of length ``instances``)."""
        from .. import metrics
        coll = metrics.initial_collisions(self.W0)
        final = metrics.assignments(self.W).neuron
        return {
            "seed": self.seeds,
            "polysemantic": metrics.polysemantic_neurons(self.W),
            "init_same_sign_pairs": coll.same_sign_pairs,
            "init_mixed_neurons": coll.mixed_neurons,
            "winner_is_initial_argmax": (final == coll.neuron).mean(axis=1),
            "final_loss": (self.history["loss"][-1] if "loss" in self.history
                           else np.full(len(self.seeds), np.nan)),
        }

    def save(self, path) -> Path:
        """Write the run to directory ``path`` (created if needed); returns the path."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {"W0": self.W0, "W": self.W}
        arrays.update({k: getattr(self, k) for k in OPTIONAL_ARRAYS if getattr(self, k) is not None})
        arrays.update({f"history_{k}": v for k, v in self.history.items()})
        meta = {"format": FORMAT_VERSION, "config": self.config.to_dict(),
                "seeds": [int(s) for s in self.seeds], "versions": versions(), "info": self.info,
                "arrays": sorted(arrays)}
        atomic_write(path / "arrays.npz", lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
        write_csv(path / "summary.csv", self.summary())
        atomic_write(path / "config.json", lambda f: json.dump(meta, f, indent=2, sort_keys=True), text=True)
        return path

    def plot(self, path=None, instance=0):
        """Figure with the loss and m′ histories and the final weights of one instance as a
        features × neurons heatmap, polysemantic neurons first and marked
        (:func:`incipoly.report.run_figure`); saved as a PNG at ``path`` when given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..report import run_figure
        return run_figure(self, path, instance)

    def __repr__(self) -> str:
        """Config essentials, seeds, shapes and the mean polysemantic count on one line."""
        from ..report import describe
        return describe(self)

    def _repr_html_(self) -> str:
        from ..report import describe_html
        return describe_html(self)


def load(path) -> Run:
    """Read a run written by :meth:`Run.save`, checking every array against ``config.json``.

    Parameters
    ----------
    path : str or path-like
        The directory :meth:`Run.save` wrote.

    Returns
    -------
    Run
        Equal (``==``) to the run that was saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no ``config.json``.
    StoreError
        If a file is unreadable or contradicts ``config.json`` (format version, config, seeds,
        array names, shapes, dtypes, non-finite values). The message names the file and the field.

    Examples
    --------
    >>> import incipoly as ip
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> again = ip.load(run.save("tiny-run"))
    >>> again.config, again.seeds.tolist()
    (Config(n_features=3, n_hidden=4, steps=20, optimizer='adamw', lr=0.01), [0, 1])
    """
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no saved run at {path} (config.json missing)")
    meta = _read_meta(path / "config.json")
    npz = path / "arrays.npz"
    arrays = read_npz(npz)
    listed = meta.get("arrays")
    if listed is not None:
        for name in sorted(set(listed) - set(arrays)):
            raise StoreError(npz, name, "missing (config.json lists it)")
        for name in sorted(set(arrays) - set(listed)):
            raise StoreError(npz, name, "not listed in config.json")
    config, seeds = meta["config"], meta["seeds"]
    S, n, m = len(seeds), config.n_features, config.n_hidden
    held = np.shape(arrays.get("W0", ()))[:1]
    if held and held[0] != S:
        raise StoreError(path / "config.json", "seeds",
                         f"lists {S} seeds but {npz.name} holds {held[0]} instances")
    for name in ("W0", "W"):
        check_array(npz, arrays, name, (S, n, m), config.dtype)
    history = {k[len("history_"):]: v for k, v in arrays.items() if k.startswith("history_")}
    extra = check_optional(npz, arrays, config, S)
    unknown = sorted(set(arrays) - {"W0", "W"} - set(extra) - {f"history_{k}" for k in history})
    if unknown:
        raise StoreError(npz, unknown[0], "unexpected array (not written by Run.save)")
    if history:
        check_history(npz, arrays, config, S)
    return Run(config=config, seeds=seeds, W0=arrays["W0"], W=arrays["W"], history=history,
               info=meta["info"], **extra)


def check_optional(file, arrays: dict, config: Config, instances: int) -> dict:
    """Check the arrays only some models have and return them: ``W_dec``, ``W_dec0`` (untied,
    ``(S, n, m)``) and ``b`` (bias, ``(S, n)``). Each is required exactly when ``config`` has it.

    Parameters
    ----------
    file : path-like
        The file the arrays came from (named in the error).
    arrays : dict of numpy.ndarray
        The arrays read from it.
    config : Config
    instances : int
        ``S``.

    Returns
    -------
    dict of numpy.ndarray
        The optional arrays ``config`` has.

    Raises
    ------
    StoreError
        If one is missing, malformed or present without its parameter.

    Examples
    --------
    >>> import numpy as np, incipoly as ip
    >>> from incipoly.stores.run import check_optional
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, bias=True)
    >>> list(check_optional("arrays.npz", {"b": np.zeros((2, 3), np.float32)}, cfg, 2))
    ['b']
    """
    S, n, m = instances, config.n_features, config.n_hidden
    spec: dict[str, tuple[tuple[int, ...], bool]] = {"b": ((S, n), config.bias)}
    spec.update({k: ((S, n, m), not config.tied) for k in ("W_dec", "W_dec0")})
    out = {}
    for name, (shape, wanted) in spec.items():
        if wanted:
            check_array(file, arrays, name, shape, config.dtype)
            out[name] = arrays[name]
        elif name in arrays:
            raise StoreError(file, name, "present, but the config has no such parameter")
    return out


def _read_meta(file: Path) -> dict:
    """``config.json`` parsed and checked: format version, Config, seeds (an array), info."""
    try:
        meta = json.loads(file.read_text())
    except (ValueError, OSError) as exc:          # JSONDecodeError and UnicodeDecodeError included
        raise StoreError(file, "json", f"unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise StoreError(file, "json", f"must hold an object, holds {type(meta).__name__}")
    fmt = meta.get("format")
    if isinstance(fmt, bool) or fmt != FORMAT_VERSION:
        raise StoreError(file, "format", f"format version must be {FORMAT_VERSION} (this incipoly "
                                         f"reads only that); got {fmt!r}")
    try:
        config = Config.from_dict(meta.get("config"))  # type: ignore[arg-type]
    except (ValueError, TypeError, AttributeError) as exc:
        raise StoreError(file, "config", f"not a valid Config ({exc})") from None
    seeds = meta.get("seeds")
    try:
        if not isinstance(seeds, list):
            raise ValueError(f"must be a list of seeds, got {seeds!r}")
        seeds = normalize_seeds(seeds)
    except ValueError as exc:
        raise StoreError(file, "seeds", str(exc)) from None
    info = meta.get("info", {})
    if not isinstance(info, dict):
        raise StoreError(file, "info", f"must be an object, got {info!r}")
    listed = meta.get("arrays")
    if listed is not None and not (isinstance(listed, list) and all(isinstance(a, str) for a in listed)):
        raise StoreError(file, "arrays", f"must be a list of array names, got {listed!r}")
    return {**meta, "config": config, "seeds": seeds, "info": info}


def read_npz(file: Path) -> dict:
    """Every array of the ``.npz`` file, read in full (so zip CRCs are checked), no pickle.

    Raises
    ------
    StoreError
        If the file is missing, truncated, empty, not an npz archive or fails its CRC.

    Parameters
    ----------
    file : path-like

    Returns
    -------
    dict of numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly.stores.run import read_npz
    >>> np.savez("a.npz", x=np.arange(3))
    >>> read_npz("a.npz")["x"].tolist()
    [0, 1, 2]
    """
    try:
        with open(file, "rb") as f:                # ours to close, whatever np.load raises
            z = np.load(f, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an npz archive")
            with z:
                return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        reason = "not an npz archive" if "pickle" in str(exc) else f"{type(exc).__name__}: {exc}"
        raise StoreError(file, "arrays", f"unreadable ({reason})") from None


def check_array(file, arrays: dict, name: str, shape: tuple, dtype, finite: bool = True):
    """Check that ``arrays[name]`` exists with ``shape`` and ``dtype`` (and is finite).

    Raises
    ------
    StoreError
        Naming ``file`` and ``name``.

    Parameters
    ----------
    file : path-like
        The file the arrays came from (named in the error).
    arrays : dict of numpy.ndarray
        The arrays read from it.
    name : str
    shape : tuple of int
    dtype : dtype or None
        None accepts any dtype.
    finite : bool
        Refuse NaN and infinities.

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly.stores.run import check_array
    >>> check_array("a.npz", {"W": np.zeros(3)}, "W", (4,), None)
    Traceback (most recent call last):
    ...
    incipoly.errors.StoreError: a.npz: W: shape (3,), expected (4,)
    """
    if name not in arrays:
        raise StoreError(file, name, "missing")
    arr = arrays[name]
    if arr.shape != tuple(shape):
        raise StoreError(file, name, f"shape {arr.shape}, expected {tuple(shape)}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise StoreError(file, name, f"dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise StoreError(file, name, "contains NaN or inf")


def check_history(file, arrays: dict, config: Config, instances: int, steps=None):
    """Check the ``history_*`` arrays of :func:`incipoly.train` against ``config``.

    ``history_step`` must rise strictly from ≥ 0 to ``config.steps`` (or equal ``steps`` when
    given); ``loss`` is (R, S), ``l1``, ``l2``, ``l4``, ``active`` are (R, S, n), the optional
    snapshots ``W`` (R, S, n, m); no other ``history_*`` array is accepted.

    Parameters
    ----------
    file : path-like
        The file the arrays came from (named in the error).
    arrays : dict of numpy.ndarray
        The arrays read from it.
    config : Config
    instances : int
        ``S``.
    steps : array of int, optional
        The steps expected.

    Raises
    ------
    StoreError
        Naming ``file`` and the first bad array.

    Examples
    --------
    >>> import numpy as np, incipoly as ip
    >>> from incipoly.stores.run import check_history
    >>> run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2), seeds=2, progress=False)
    >>> check_history("a.npz", {f"history_{k}": v for k, v in run.history.items()}, run.config, 2)
    """
    check_array(file, arrays, "history_step", np.shape(arrays.get("history_step", ())), np.int64)
    step = arrays["history_step"]
    if step.ndim != 1 or step.size == 0 or step[0] < 0 or (np.diff(step) <= 0).any() \
            or step[-1] != config.steps:
        raise StoreError(file, "history_step", f"must rise strictly from >= 0 to steps = "
                                               f"{config.steps}; got {step!r}")
    if steps is not None and not np.array_equal(step, steps):
        raise StoreError(file, "history_step", f"{step!r}, expected {np.asarray(steps)!r}")
    R, S, n = len(step), instances, config.n_features
    spec = {"loss": ((R, S), np.float64), "active": ((R, S, n), np.int64),
            "W": ((R, S, n, config.n_hidden), config.dtype)}
    spec.update({k: ((R, S, n), np.float64) for k in ("l1", "l2", "l4")})
    for key, (shape, dtype) in spec.items():
        if key in HISTORY_KEYS or f"history_{key}" in arrays:
            check_array(file, arrays, f"history_{key}", shape, dtype)
    unknown = sorted(k for k in arrays if k.startswith("history_") and k[8:] not in spec
                     and k != "history_step")
    if unknown:
        raise StoreError(file, unknown[0], "unexpected history array")


__all__ = ["FORMAT_VERSION", "OPTIONAL_ARRAYS", "HISTORY_KEYS", "versions", "Run", "load",
           "check_optional", "read_npz", "check_array", "check_history"]
