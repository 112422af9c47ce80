"""Resumable sweeps: a grid of Configs × seeds, run in chunks, each chunk saved atomically.

Store layout (``store/``)::

    sweep.json                  grid, seeds, chunk size, active_tol, versions — written first
    chunks/c{cfg:04d}_s{first:06d}.npz   one finished chunk: its seeds, per-seed summary, history

A chunk file appears only complete (temporary file + ``os.replace``), so a sweep killed at any
moment loses at most the chunk in flight, and ``resume=True`` skips the chunks already on disk.
Each seed's result depends on nothing but its config and seed (see :mod:`incipoly.init`), so a
resumed sweep is bit-identical to an uninterrupted one.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import Config
from .init import normalize_seeds
from .store import OPTIONAL_ARRAYS, atomic_write, versions
from .train import train

MANIFEST = "sweep.json"


def _chunk_name(cfg_index: int, first_seed_index: int) -> str:
    return f"c{cfg_index:04d}_s{first_seed_index:06d}.npz"


class SweepStore:
    """A sweep directory: its manifest and finished chunks."""

    def __init__(self, path):
        self.path = Path(path)
        meta = json.loads((self.path / MANIFEST).read_text())
        self.configs = [Config.from_dict(c) for c in meta["configs"]]
        self.seeds = np.asarray(meta["seeds"], np.int64)
        self.chunk_seeds = int(meta["chunk_seeds"])
        self.keep_weights = bool(meta["keep_weights"])
        self.record = meta["record"]
        self.active_tol = float(meta.get("active_tol", 1e-3))

    def chunks(self):
        """All (config index, first seed index) pairs of the sweep, in run order."""
        return [(c, s) for c in range(len(self.configs))
                for s in range(0, len(self.seeds), self.chunk_seeds)]

    def chunk_path(self, cfg_index, first):
        return self.path / "chunks" / _chunk_name(cfg_index, first)

    def done(self, cfg_index, first) -> bool:
        return self.chunk_path(cfg_index, first).is_file()

    def result(self, cfg_index: int) -> dict:
        """Finished chunks of one config, concatenated in seed order (missing chunks left out).

        Keys: ``seed`` and the fields of :meth:`incipoly.Run.summary` (instances,), the history
        (``history_step`` (R,), others (R, instances, …)) and, with ``keep_weights``, ``W0``, ``W``.
        """
        parts = []
        for c, first in self.chunks():
            if c == cfg_index and self.done(c, first):
                with np.load(self.chunk_path(c, first), allow_pickle=False) as z:
                    parts.append({k: z[k] for k in z.files})
        if not parts:
            return {}
        out = {}
        for key in parts[0]:
            if key == "history_step":
                out[key] = parts[0][key]
            else:
                axis = 1 if key.startswith("history_") else 0
                out[key] = np.concatenate([p[key] for p in parts], axis=axis)
        return out


def sweep(grid, seeds, store, chunk_seeds: int = 8, resume: bool = False, keep_weights: bool = False,
          record=32, progress: bool = True, backend: str = "cpu",
          active_tol: float = 1e-3) -> SweepStore:
    """Train every config of ``grid`` on ``seeds``, chunk by chunk, into the directory ``store``.

    Parameters
    ----------
    grid : Config or sequence of Config
    seeds : int or sequence of int
    store : path
        Sweep directory. A new sweep refuses a directory that already holds a different sweep.
    chunk_seeds : int
        Seeds per chunk: the unit that is saved (and lost, if killed mid-chunk).
    resume : bool
        Continue the sweep in ``store``: finished chunks are skipped. Its grid and seeds must
        equal the stored ones.
    keep_weights : bool
        Also store ``W0`` and ``W`` of every seed.
    record : int
        History points per run (see :func:`incipoly.train`).
    active_tol : float
        ``history_active`` counts coordinates with ``|w| > active_tol`` (:func:`incipoly.train`).
    """
    configs = [grid] if isinstance(grid, Config) else list(grid)
    if not configs or not all(isinstance(c, Config) for c in configs):
        raise ValueError("grid must be a Config or a non-empty sequence of Config")
    seeds = normalize_seeds(seeds)
    if not (isinstance(chunk_seeds, (int, np.integer)) and chunk_seeds >= 1):
        raise ValueError(f"chunk_seeds must be an integer >= 1; got {chunk_seeds!r}")
    path = Path(store)
    meta = {"configs": [c.to_dict() for c in configs], "seeds": [int(s) for s in seeds],
            "chunk_seeds": int(chunk_seeds), "keep_weights": bool(keep_weights), "record": record,
            "active_tol": float(active_tol)}
    manifest = path / MANIFEST
    if manifest.is_file():
        old = json.loads(manifest.read_text())
        same = {k: old.get(k) for k in meta} == meta
        if not resume:
            raise ValueError(f"store {path} already holds a sweep; pass resume=True (--resume) "
                             "to continue it or choose another directory")
        if not same:
            raise ValueError(f"store {path} holds a different sweep (grid, seeds, chunk_seeds, "
                             "keep_weights, record or active_tol differ); choose another directory")
    else:
        (path / "chunks").mkdir(parents=True, exist_ok=True)
        atomic_write(manifest, lambda f: json.dump({**meta, "versions": versions()}, f, indent=2),
                     text=True)
    st = SweepStore(path)
    for stale in (path / "chunks").glob(".*.tmp"):   # left by a sweep killed mid-write
        stale.unlink()
    todo = [(c, s) for c, s in st.chunks() if not st.done(c, s)]
    total = sum(min(chunk_seeds, len(seeds) - s) * configs[c].steps for c, s in todo)
    from tqdm.auto import tqdm
    with tqdm(total=total, disable=not progress, unit="step", desc="sweep",
              dynamic_ncols=True) as bar:
        for c, first in todo:
            chunk = seeds[first:first + chunk_seeds]
            run = train(configs[c], chunk, record=record, progress=False, backend=backend,
                        active_tol=active_tol)
            arrays = {k: np.asarray(v) for k, v in run.summary().items()}
            arrays.update({f"history_{k}": v for k, v in run.history.items()})
            if keep_weights:
                arrays.update(W0=run.W0, W=run.W)
                arrays.update({k: getattr(run, k) for k in OPTIONAL_ARRAYS
                               if getattr(run, k) is not None})
            atomic_write(st.chunk_path(c, first), lambda f: np.savez(f, **arrays))
            bar.update(len(chunk) * configs[c].steps)
    return st
