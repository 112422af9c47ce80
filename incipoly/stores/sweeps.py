"""``sweep(grid, seeds, store)``: check the arguments, open or create the store, and drive every
chunk to done, serially or as tasks on a Dask cluster (:mod:`incipoly.stores.cluster`).

See :mod:`incipoly.stores.sweep_store` for the store's layout and guarantees.
"""
from __future__ import annotations

import json
import numbers
import os
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from .._validate import shown
from ..config import DEFAULT_RECORD, Config
from ..errors import DivergenceError, WrongTypeError
from ..init import normalize_seeds
from ..training import BACKENDS, record_steps
from .chunks import train_chunk
from .files import atomic_write, clean_stale_temps
from .run import versions
from .sweep_store import DEFINING, MANIFEST, POLL_S, SWEEP_FORMAT, SweepStore, _read_manifest


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _check_record(record, configs):
    """``record`` as stored in the manifest (an int, or a list of ints), checked for every config."""
    if isinstance(record, numbers.Integral) and not isinstance(record, bool):
        record = int(record)
    else:
        try:
            record = list(record)
        except TypeError:
            raise ValueError(f"record must be an integer >= 2 or a list of steps; got {record!r}") from None
        if not record or not all(isinstance(r, numbers.Integral) and not isinstance(r, bool)
                                 for r in record):
            raise ValueError(f"record must be an integer >= 2 or a non-empty list of integer "
                             f"steps; got {record!r}")
        record = [int(r) for r in record]
    for cfg in configs:
        record_steps(cfg.steps, record)
    return record


def _check_arguments(grid, seeds, chunk_seeds, resume, keep_weights, record, progress, backend,
                     active_tol) -> dict:
    """Every argument of :func:`sweep`, checked before anything is written; the manifest."""
    configs = [grid] if isinstance(grid, Config) else grid
    if isinstance(configs, (str, bytes)) or not hasattr(configs, "__iter__"):
        raise ValueError(f"grid must be a Config or a non-empty sequence of Config; got {grid!r}")
    configs = list(configs)
    if not configs or not all(isinstance(c, Config) for c in configs):
        raise ValueError("grid must be a Config or a non-empty sequence of Config; got "
                         f"{[type(c).__name__ for c in configs] or 'an empty sequence'}")
    seeds = normalize_seeds(seeds)
    if isinstance(chunk_seeds, bool) or not (isinstance(chunk_seeds, numbers.Integral)
                                             and int(chunk_seeds) >= 1):
        raise ValueError(f"chunk_seeds must be an integer >= 1; got {chunk_seeds!r}")
    for name, value in (("resume", resume), ("keep_weights", keep_weights), ("progress", progress)):
        _check_bool(name, value)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if isinstance(active_tol, bool) or not isinstance(active_tol, numbers.Real) \
            or not (np.isfinite(float(active_tol)) and float(active_tol) >= 0):
        raise ValueError(f"active_tol must be a finite number >= 0; got {active_tol!r}")
    return {"configs": [c.to_dict() for c in configs], "seeds": [int(s) for s in seeds],
            "chunk_seeds": int(chunk_seeds), "keep_weights": bool(keep_weights),
            "record": _check_record(record, configs), "active_tol": float(active_tol)}


def _open_store(path: Path, meta: dict, resume: bool) -> SweepStore:
    """Create the manifest exclusively (under the store lock), or check the one there."""
    from filelock import FileLock
    if path.exists() and not path.is_dir():
        raise ValueError(f"store {path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    manifest = path / MANIFEST
    with FileLock(str(path / ".lock")):
        clean_stale_temps(path)                     # e.g. a manifest write killed midway
        if manifest.is_file():
            old = _read_manifest(manifest)
            if not resume:
                raise ValueError(f"store {path} already holds a sweep; pass resume=True "
                                 "(--resume) to continue it or choose another directory")
            if {k: old.get(k) for k in DEFINING} != meta:
                raise ValueError(f"store {path} holds a different sweep (grid, seeds, "
                                 "chunk_seeds, keep_weights, record or active_tol differ); "
                                 "choose another directory")
        else:
            (path / "chunks").mkdir(exist_ok=True)
            atomic_write(manifest, lambda f: json.dump(
                {"format": SWEEP_FORMAT, **meta, "versions": versions()}, f, indent=2), text=True)
    return SweepStore(path)


def _serial(st, chunks, run_id, backend, bar):
    for c, first in chunks:
        yield train_chunk(st, c, first, run_id, backend, progress=bar)


def _diverged_error(failures, st) -> DivergenceError:
    lines = [f"config {f['config']} ({st.configs[f['config']].to_json()}), seeds "
             f"{st.chunk_seed_list(f['config'], f['first']).tolist()}: {f['error']}"
             for f in failures]
    err = DivergenceError(f"{len(failures)} chunk(s) of the sweep in {st.path} diverged; the "
                          "others are saved:\n  " + "\n  ".join(lines))
    err.failures = failures
    return err


def run_chunks(st: SweepStore, run_id: str, execute, progress: bool):
    """Drive ``execute(chunks, bar)`` (an iterable of :func:`train_chunk` statuses) until every chunk
    is done or diverged; chunks held by other live writers are waited for (or taken over once
    their writer dies). Warns for every chunk set aside; raises DivergenceError at the end.

    Parameters
    ----------
    st : SweepStore
    run_id : str
        This sweep run's id (its claims).
    execute : callable
        ``execute(chunks, bar)`` → iterable of :func:`~incipoly.stores.chunks.train_chunk` dicts.
    progress : bool

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> from incipoly.stores.chunks import train_chunk
    >>> from incipoly.stores.sweeps import run_chunks
    >>> st = ip.sweep([cfg], seeds=2, store="sweep-chunks", progress=False)
    >>> run_chunks(st, "run", lambda chunks, bar: (train_chunk(st, *c, "run") for c in chunks), False)
    """
    from tqdm.auto import tqdm
    todo = [ch for ch in st.chunks() if not st.done(*ch)]
    failures = []
    with tqdm(total=sum(st.chunk_steps(*ch) for ch in todo), disable=not progress, unit="step",
              desc="sweep", dynamic_ncols=True) as bar:
        while todo:
            ready = [ch for ch in todo if not st.claim_is_live(ch[0], ch[1], run_id)]
            waiting = [ch for ch in todo if ch not in ready]
            for status in execute(ready, bar):
                if status["rejected"]:
                    warnings.warn(status["rejected"], stacklevel=3)
                if status["status"] == "busy":
                    waiting.append((status["config"], status["first"]))
                elif status["status"] == "diverged":
                    failures.append(status)
                else:
                    bar.update(status["steps"] - status.get("shown", 0))
            todo = []
            for ch in waiting:
                if st.done(*ch):
                    bar.update(st.chunk_steps(*ch))
                else:
                    todo.append(ch)
            if todo:
                time.sleep(POLL_S)
    for directory in (st.path, st.path / "chunks", st.path / "claims"):
        clean_stale_temps(directory)
    if failures:
        raise _diverged_error(failures, st)


def sweep(grid, seeds, store, chunk_seeds: int = 8, resume: bool = False, keep_weights: bool = False,
          record=DEFAULT_RECORD, progress: bool = True, backend: str = "cpu",
          active_tol: float = 1e-3, client=None) -> SweepStore:
    """Train every config of ``grid`` on ``seeds``, chunk by chunk, into the directory ``store``.

    Parameters
    ----------
    grid : Config or sequence of Config
    seeds : int or sequence of int
    store : path
        Sweep directory. A new sweep refuses a directory that already holds a different sweep.
    chunk_seeds : int
        Seeds per chunk: the unit that is saved, claimed and (on a cluster) one task.
    resume : bool
        Continue the sweep in ``store``: verified chunks are skipped, bad ones set aside and
        retrained. Its grid and seeds must equal the stored ones. Several processes may resume
        one store at once; they share the chunks.
    keep_weights : bool
        Also store ``W0`` and ``W`` of every seed.
    record : int or sequence of int
        History points per run (see :func:`incipoly.train`); default
        :data:`~incipoly.config.DEFAULT_RECORD` (32).
    progress : bool
        Show a tqdm bar (instance-steps, ETA) on stderr.
    backend : {"cpu", "cuda"}
    active_tol : float
        ``history_active`` counts coordinates with ``|w| > active_tol`` (:func:`incipoly.train`).
    client : dask.distributed.Client, optional
        Run every chunk as a task on this cluster; workers write their chunks into ``store``
        (which they must see at the same path) and return only metadata
        (:mod:`incipoly.stores.cluster`). The result is bit-identical to a serial run.

    Returns
    -------
    SweepStore

    Raises
    ------
    ValueError, TypeError
        For a bad argument (nothing is written), or a store holding another sweep.
    DivergenceError
        After all other chunks are saved, if some chunks diverged; the message names each
        one's config and seeds (they are not retried).

    Warns
    -----
    UserWarning
        For every chunk that failed verification and was set aside to ``chunks/rejected/``.

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> st = ip.sweep([cfg, cfg.replace(l1=1e-2)], seeds=4, store="sweep", chunk_seeds=2, progress=False)
    >>> st.result(1)["polysemantic"].shape             # one count per seed
    (4,)
    >>> st = ip.sweep([cfg, cfg.replace(l1=1e-2)], seeds=4, store="sweep", chunk_seeds=2, resume=True,
    ...               progress=False)                  # everything is on disk: nothing is trained
    """
    meta = _check_arguments(grid, seeds, chunk_seeds, resume, keep_weights, record, progress,
                            backend, active_tol)
    if not isinstance(store, (str, os.PathLike)):
        raise WrongTypeError(f"store must be a directory path (str or os.PathLike); got "
                             f"{shown(store)} of type {type(store).__name__}")
    if client is not None:
        from . import cluster
        cluster.check_client(client)
    st = _open_store(Path(store), meta, resume)
    for directory in (st.path, st.path / "chunks", st.path / "claims"):
        clean_stale_temps(directory)
    run_id = uuid.uuid4().hex
    if client is None:
        execute = lambda chunks, bar: _serial(st, chunks, run_id, backend, bar)   # noqa: E731
    else:
        from . import cluster
        execute = lambda chunks, _: cluster.execute(client, st, chunks, run_id, backend)  # noqa: E731
    run_chunks(st, run_id, execute, progress)
    return st


def open_sweep(path) -> SweepStore:
    """Open the sweep stored in directory ``path`` (read its results; nothing is trained).

    Parameters
    ----------
    path : path-like
        A directory written by :func:`sweep`.

    Returns
    -------
    SweepStore

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no ``sweep.json``.
    StoreError
        If the manifest is unreadable or malformed.

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> _ = ip.sweep([cfg], seeds=2, store="sweep-open", progress=False)
    >>> ip.open_sweep("sweep-open").result(0)["seed"].tolist()
    [0, 1]
    """
    return SweepStore(path)


__all__ = ["sweep", "open_sweep", "run_chunks"]
