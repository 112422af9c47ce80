"""The sweep store: its manifest, chunk format and verification (:class:`SweepStore`).

Store layout (``store/``)::

    sweep.json        grid, seeds, chunk size, record, active_tol, keep_weights, versions;
                      created once, under the store's lock, before any chunk
    chunks/c{cfg:04d}_s{first:06d}.npz   one finished chunk: seeds, per-seed summary, history
                      (and weights), plus ``_meta``: the hash of what it holds and who wrote it
    chunks/rejected/  chunks that failed verification, set aside (never used, never deleted)
    claims/<chunk>.claim   the writer training that chunk now (host, pid, sweep run id)
    log.jsonl         one line per chunk trained or set aside: chunk, host, pid, run, seconds
    .lock             the store's file lock (:mod:`filelock`), held briefly to create the
                      manifest and to take claims

Every file appears complete or not at all (temporary file + rename), so a sweep killed at any
moment loses at most the chunks in flight. Several writers (processes, hosts, Dask workers) may
work on one sweep at once: each claims a chunk before training it, so a chunk is trained once;
a claim whose writer died (its pid is gone on this host, or it has not been touched for
:data:`incipoly.stores.files.STALE_AFTER_S` seconds) is taken over. A chunk is verified whenever it is
read: its recorded hash of (config, seeds, record, active_tol, keep_weights) must match the
manifest and every array must be readable (zip CRC) with the expected shape and dtype. A chunk that
fails is moved to ``chunks/rejected/`` with a warning and retrained. Each seed's result depends on
nothing but its config and seed (see :mod:`incipoly.init`), so a resumed, shared or distributed
sweep is bit-identical to one uninterrupted serial run.
"""
from __future__ import annotations

import hashlib
import json
import numbers
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import StoreError
from ..init import normalize_seeds
from ..training import record_steps
from . import claims
from .run import OPTIONAL_ARRAYS, Run, check_array, check_history, check_optional, read_npz

#: The sweep's manifest file (configs, seeds, chunking), created exclusively.
MANIFEST = "sweep.json"
#: Append-only event log of the sweep (one JSON object per line).
LOG = "log.jsonl"
SWEEP_FORMAT = 1
#: Seconds between looks at chunks other writers hold.
POLL_S = 0.25
#: Per-seed fields of a chunk (:meth:`incipoly.Run.summary`).
SUMMARY_KEYS = ("seed", "polysemantic", "init_same_sign_pairs", "init_mixed_neurons",
                "winner_is_initial_argmax", "final_loss")
#: Manifest entries that define a sweep: a store holds one sweep, and resuming needs them equal.
DEFINING = ("configs", "seeds", "chunk_seeds", "keep_weights", "record", "active_tol")


def _chunk_name(cfg_index: int, first_seed_index: int) -> str:
    return f"c{cfg_index:04d}_s{first_seed_index:06d}.npz"


def chunk_hash(config: Config, seeds, record, active_tol: float, keep_weights: bool) -> str:
    """SHA-256 of what a chunk holds: config, its seeds, record, active_tol and keep_weights.

    Parameters
    ----------
    config : Config
    seeds : sequence of int
    record : int or list of int
    active_tol : float
    keep_weights : bool

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.stores.sweep_store import chunk_hash
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20)
    >>> key = chunk_hash(cfg, [0, 1], 32, 1e-3, False)
    >>> len(key), key == chunk_hash(cfg, [0, 2], 32, 1e-3, False)
    (64, False)
    """
    key = {"config": config.to_dict(), "seeds": [int(s) for s in seeds], "record": record,
           "active_tol": float(active_tol), "keep_weights": bool(keep_weights)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


class SweepStore:
    """A sweep directory: its manifest and finished chunks (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no ``sweep.json``.
    StoreError
        If ``sweep.json`` is unreadable or malformed.

    Parameters
    ----------
    path : path-like
        A directory written by :func:`incipoly.sweep`.

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> _ = ip.sweep([cfg, cfg.replace(n_hidden=8)], seeds=2, store="sweep-st", keep_weights=True,
    ...              progress=False)
    >>> st = ip.SweepStore("sweep-st")
    >>> st
    SweepStore('sweep-st'; 2 configs × 2 seeds, 2/2 chunks on disk)
    >>> st.run(1).W.shape
    (2, 3, 8)
    """

    def __init__(self, path):
        self.path = Path(path)
        file = self.path / MANIFEST
        if not file.is_file():
            raise FileNotFoundError(f"no sweep at {self.path} ({MANIFEST} missing)")
        meta = _read_manifest(file)
        try:
            self.configs = [Config.from_dict(c) for c in meta["configs"]]
            self.seeds = normalize_seeds(meta["seeds"])
            self.chunk_seeds = int(meta["chunk_seeds"])
            self.keep_weights = bool(meta["keep_weights"])
            self.record = meta["record"]
            self.active_tol = float(meta["active_tol"])
            self._steps = [record_steps(c.steps, self.record) for c in self.configs]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(file, "manifest", f"malformed ({type(exc).__name__}: {exc})") from None

    def __repr__(self) -> str:
        """Path, grid size, seeds and how many chunk files are on disk (not verified here)."""
        chunks = self.chunks()
        on_disk = sum(self.chunk_path(*ch).is_file() for ch in chunks)
        return (f"SweepStore({str(self.path)!r}; {len(self.configs)} configs × {len(self.seeds)} "
                f"seeds, {on_disk}/{len(chunks)} chunks on disk)")

    def chunks(self):
        """All (config index, first seed index) pairs of the sweep, in run order."""
        return [(c, s) for c in range(len(self.configs))
                for s in range(0, len(self.seeds), self.chunk_seeds)]

    def chunk_path(self, cfg_index, first) -> Path:
        return self.path / "chunks" / _chunk_name(cfg_index, first)

    def chunk_seed_list(self, cfg_index, first) -> np.ndarray:
        """The seeds chunk ``(cfg_index, first)`` holds."""
        return self.seeds[first:first + self.chunk_seeds]

    def chunk_steps(self, cfg_index, first) -> int:
        """Instance-steps of one chunk (its share of the progress bar)."""
        return len(self.chunk_seed_list(cfg_index, first)) * self.configs[cfg_index].steps

    def expected_hash(self, cfg_index, first) -> str:
        return chunk_hash(self.configs[cfg_index], self.chunk_seed_list(cfg_index, first),
                          self.record, self.active_tol, self.keep_weights)

    def read_chunk(self, cfg_index, first) -> dict:
        """The verified arrays of one chunk (without ``_meta``).

        Raises
        ------
        FileNotFoundError
            If the chunk is not on disk.
        StoreError
            If it is unreadable, belongs to another sweep or position (hash), or holds arrays
            of the wrong seeds, shape or dtype; the message names the file and field.
        """
        file = self.chunk_path(cfg_index, first)
        if not file.is_file():
            raise FileNotFoundError(f"chunk {file} is not on disk")
        arrays = read_npz(file)
        meta = _chunk_meta(file, arrays.pop("_meta", None))
        if meta.get("hash") != self.expected_hash(cfg_index, first):
            raise StoreError(file, "hash", "the chunk belongs to another sweep or position "
                                           f"(holds config {meta.get('config')}, seeds "
                                           f"{meta.get('seeds')})")
        self._check_chunk(file, arrays, cfg_index, first)
        return arrays

    def _check_chunk(self, file, arrays, cfg_index, first):
        cfg, seeds = self.configs[cfg_index], self.chunk_seed_list(cfg_index, first)
        S = len(seeds)
        for key in SUMMARY_KEYS:
            check_array(file, arrays, key, (S,), None, finite=key != "final_loss")
        if not np.array_equal(arrays["seed"], seeds):
            raise StoreError(file, "seed", f"holds seeds {arrays['seed'].tolist()}, expected "
                                           f"{seeds.tolist()}")
        check_history(file, arrays, cfg, S, steps=self._steps[cfg_index])
        weights = {"W0", "W"} & set(arrays)
        extra = {}
        if self.keep_weights:
            for name in ("W0", "W"):
                check_array(file, arrays, name, (S, cfg.n_features, cfg.n_hidden), cfg.dtype)
            extra = check_optional(file, arrays, cfg, S)
        elif weights:
            raise StoreError(file, sorted(weights)[0], "weights in a sweep without keep_weights")
        unknown = sorted(set(arrays) - set(SUMMARY_KEYS) - {"W0", "W"} - set(extra)
                         - {k for k in arrays if k.startswith("history_")})
        if unknown:
            raise StoreError(file, unknown[0], "unexpected array in a chunk")

    def done(self, cfg_index, first) -> bool:
        """Whether the chunk is on disk and passes verification (nothing is moved)."""
        try:
            self.read_chunk(cfg_index, first)
        except (FileNotFoundError, StoreError):
            return False
        return True

    def result(self, cfg_index: int) -> dict:
        """Finished chunks of one config, verified, concatenated in seed order.

        Chunks not on disk are left out (an unfinished sweep gives a partial result; ``{}`` if
        none is done). A chunk that fails verification raises :class:`incipoly.StoreError`
        naming its file: it is never used; ``sweep(..., resume=True)`` sets it aside and
        retrains it.

        Keys: ``seed`` and the fields of :meth:`incipoly.Run.summary` (instances,), the history
        (``history_step`` (R,), others (R, instances, …)) and, with ``keep_weights``, ``W0``, ``W``.
        """
        if not (isinstance(cfg_index, numbers.Integral) and 0 <= cfg_index < len(self.configs)):
            raise ValueError(f"cfg_index must be an integer in [0, {len(self.configs) - 1}]; "
                             f"got {cfg_index!r}")
        parts = [self.read_chunk(c, first) for c, first in self.chunks()
                 if c == cfg_index and self.chunk_path(c, first).is_file()]
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

    def run(self, cfg_index: int) -> Run:
        """The finished seeds of one config as a :class:`incipoly.Run` (needs ``keep_weights``).

        Raises
        ------
        ValueError
            If the sweep was run with ``keep_weights=False`` (it holds no weights: use
            :meth:`result` for its per-seed summaries and history), or no chunk of the config is done.
        """
        if not self.keep_weights:
            raise ValueError(f"store {self.path} was swept with keep_weights=False, so it holds no "
                             f"W0/W and st.run({cfg_index}) cannot build a Run; st.result({cfg_index}) "
                             "gives its per-seed summaries and history, or sweep again with "
                             "keep_weights=True")
        res = self.result(cfg_index)
        if not res:
            raise ValueError(f"store {self.path} holds no finished chunk of config {cfg_index}")
        history = {k[len("history_"):]: v for k, v in res.items() if k.startswith("history_")}
        extra = {k: res[k] for k in OPTIONAL_ARRAYS if k in res}
        return Run(config=self.configs[cfg_index], seeds=res["seed"], W0=res["W0"], W=res["W"],
                   history=history, info={"store": str(self.path), "active_tol": self.active_tol},
                   **extra)

    # --- writers -----------------------------------------------------------------------------

    def lock(self):
        """The store's :class:`filelock.FileLock` (manifest creation, claims)."""
        from filelock import FileLock
        return FileLock(str(self.path / ".lock"))

    def claim_path(self, cfg_index, first) -> Path:
        return self.path / "claims" / (_chunk_name(cfg_index, first) + ".claim")

    def claim_is_live(self, cfg_index, first, run_id: str) -> bool:
        """Whether another live writer holds the chunk's claim (:func:`incipoly.stores.claims.is_stale`)."""
        file = self.claim_path(cfg_index, first)
        return file.exists() and not claims.is_stale(file, run_id)


def _read_manifest(file: Path) -> dict:
    try:
        meta = json.loads(file.read_text())
    except (ValueError, OSError) as exc:
        raise StoreError(file, "json", f"unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise StoreError(file, "json", f"must hold an object, holds {type(meta).__name__}")
    return meta


def _chunk_meta(file, raw) -> dict:
    if raw is None:
        raise StoreError(file, "_meta", "missing (not written by this version of incipoly)")
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, IndexError, TypeError) as exc:
        raise StoreError(file, "_meta", f"unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise StoreError(file, "_meta", "must hold an object")
    return meta


__all__ = ["SweepStore", "chunk_hash", "MANIFEST", "LOG", "SUMMARY_KEYS"]
