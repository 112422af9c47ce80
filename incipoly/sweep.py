"""Resumable, multi-writer sweeps: a grid of Configs × seeds, run in chunks, each saved atomically.

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
:data:`incipoly.store.STALE_AFTER_S` seconds) is taken over. A chunk is verified whenever it is
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
import os
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from . import claims
from ._validate import WrongTypeError, shown
from .config import Config
from .init import normalize_seeds
from .store import (HOST, OPTIONAL_ARRAYS, Run, StoreError, atomic_write, check_array,
                    check_history, check_optional, clean_stale_temps, read_npz, versions)
from .train import BACKENDS, DivergenceError, record_steps, train

MANIFEST = "sweep.json"
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
    """SHA-256 of what a chunk holds: config, its seeds, record, active_tol and keep_weights."""
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
        """The finished seeds of one config as a :class:`incipoly.Run` (needs ``keep_weights``)."""
        if not self.keep_weights:
            raise ValueError(f"store {self.path} was swept without keep_weights; a Run needs W0 and W")
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
        """Whether another live writer holds the chunk's claim (:func:`incipoly.claims.is_stale`)."""
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
        raise StoreError(file, "_meta", "missing (not written by this version of incipoly.sweep)")
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, IndexError, TypeError) as exc:
        raise StoreError(file, "_meta", f"unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise StoreError(file, "_meta", "must hold an object")
    return meta


def _log(st: SweepStore, **entry):
    line = json.dumps({"host": HOST, "pid": os.getpid(), "time": time.time(), **entry}) + "\n"
    with open(st.path / LOG, "a") as f:       # one short O_APPEND write per line: never interleaved
        f.write(line)


def _set_aside(st: SweepStore, file: Path, reason: str, run_id: str) -> str:
    """Move a chunk that failed verification into ``chunks/rejected/``; the message to warn."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    dest = st.path / "chunks" / "rejected" / f"{file.stem}.{stamp}{file.suffix}"
    dest.parent.mkdir(exist_ok=True)
    try:
        os.replace(file, dest)
    except FileNotFoundError:
        return ""
    _log(st, chunk=file.name, event="rejected", run=run_id, reason=reason, moved_to=dest.name)
    return f"{reason}; set aside as {dest} and retrained"


def train_chunk(st: SweepStore, cfg_index: int, first: int, run_id: str,
                backend: str = "cpu", progress=None) -> dict:
    """Claim, verify or train, write and release one chunk; small metadata about what happened.

    ``progress`` (optional, with ``update(n)``) is advanced in instance-steps while the chunk
    trains, so a long chunk moves the bar as it goes.

    Returns a dict with ``chunk``, ``config`` (index), ``first``, ``steps`` (instance-steps),
    ``shown`` (the instance-steps already given to ``progress``), ``status`` (``"trained"``,
    ``"done"`` — already on disk and verified — ``"busy"`` — another live writer holds it — or
    ``"diverged"``), ``rejected`` (why a bad file was set aside, or ``""``) and ``error`` (the
    :class:`~incipoly.DivergenceError` message, or ``""``).
    """
    status = {"chunk": _chunk_name(cfg_index, first), "config": cfg_index, "first": first,
              "steps": st.chunk_steps(cfg_index, first), "shown": 0, "status": "done",
              "rejected": "", "error": ""}
    if st.done(cfg_index, first):
        return status
    token = claims.claim(st, cfg_index, first, run_id)
    if token is None:
        return {**status, "status": "busy"}
    try:
        with claims.heartbeat(st.claim_path(cfg_index, first)):
            return {**status, **_train_claimed(st, cfg_index, first, run_id, backend, progress)}
    finally:
        claims.release(st, cfg_index, first, token)


class _InstanceSteps:
    """Progress adapter: ``train`` counts steps, the sweep's bar counts instance-steps."""

    def __init__(self, bar, instances):
        self.bar, self.instances, self.shown = bar, instances, 0

    def update(self, steps):
        self.shown += steps * self.instances
        self.bar.update(steps * self.instances)


def _train_claimed(st, cfg_index, first, run_id, backend, progress=None) -> dict:
    file = st.chunk_path(cfg_index, first)
    rejected = ""
    try:
        st.read_chunk(cfg_index, first)
        return {"status": "done"}                     # another writer finished it meanwhile
    except FileNotFoundError:
        pass
    except StoreError as exc:
        rejected = _set_aside(st, file, str(exc), run_id)
    cfg, seeds = st.configs[cfg_index], st.chunk_seed_list(cfg_index, first)
    bar = False if progress is None else _InstanceSteps(progress, len(seeds))
    try:
        run = train(cfg, seeds, record=st.record, progress=bar, backend=backend,
                    active_tol=st.active_tol)
    except DivergenceError as exc:
        return {"status": "diverged", "rejected": rejected, "error": str(exc),
                "shown": bar.shown if bar else 0}
    arrays = {k: np.asarray(v) for k, v in run.summary().items()}
    arrays.update({f"history_{k}": v for k, v in run.history.items()})
    if st.keep_weights:
        arrays.update(W0=run.W0, W=run.W)
        arrays.update({k: getattr(run, k) for k in OPTIONAL_ARRAYS if getattr(run, k) is not None})
    meta = {"hash": st.expected_hash(cfg_index, first), "config": cfg.to_dict(),
            "seeds": seeds.tolist(), "record": st.record, "active_tol": st.active_tol,
            "keep_weights": st.keep_weights, "run": run_id, "host": HOST, "pid": os.getpid(),
            "seconds": run.info["seconds"], "versions": versions()}
    arrays["_meta"] = np.array(json.dumps(meta, sort_keys=True))
    file.parent.mkdir(exist_ok=True)
    atomic_write(file, lambda f: np.savez(f, **arrays))
    _log(st, chunk=file.name, event="trained", run=run_id, seconds=run.info["seconds"])
    return {"status": "trained", "rejected": rejected, "shown": bar.shown if bar else 0}


# --- the sweep -------------------------------------------------------------------------------

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
                                             and chunk_seeds >= 1):
        raise ValueError(f"chunk_seeds must be an integer >= 1; got {chunk_seeds!r}")
    for name, value in (("resume", resume), ("keep_weights", keep_weights), ("progress", progress)):
        _check_bool(name, value)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if isinstance(active_tol, bool) or not isinstance(active_tol, numbers.Real) \
            or not (np.isfinite(active_tol) and active_tol >= 0):
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
    their writer dies). Warns for every chunk set aside; raises DivergenceError at the end."""
    from tqdm.auto import tqdm
    todo = [ch for ch in st.chunks() if not st.done(*ch)]
    failures = []
    with tqdm(total=sum(st.chunk_steps(*ch) for ch in todo), disable=not progress, unit="step",
              desc="sweep", dynamic_ncols=True) as bar:
        while todo:
            ready = [ch for ch in todo if not st.claim_is_live(*ch, run_id)]
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
          record=32, progress: bool = True, backend: str = "cpu",
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
        History points per run (see :func:`incipoly.train`).
    progress : bool
        Show a tqdm bar (instance-steps, ETA) on stderr.
    backend : {"cpu", "cuda"}
    active_tol : float
        ``history_active`` counts coordinates with ``|w| > active_tol`` (:func:`incipoly.train`).
    client : dask.distributed.Client, optional
        Run every chunk as a task on this cluster; workers write their chunks into ``store``
        (which they must see at the same path) and return only metadata
        (:mod:`incipoly.distributed`). The result is bit-identical to a serial run.

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
    """
    meta = _check_arguments(grid, seeds, chunk_seeds, resume, keep_weights, record, progress,
                            backend, active_tol)
    if not isinstance(store, (str, os.PathLike)):
        raise WrongTypeError(f"store must be a directory path (str or os.PathLike); got "
                             f"{shown(store)} of type {type(store).__name__}")
    if client is not None:
        from . import distributed
        distributed.check_client(client)
    st = _open_store(Path(store), meta, resume)
    for directory in (st.path, st.path / "chunks", st.path / "claims"):
        clean_stale_temps(directory)
    run_id = uuid.uuid4().hex
    if client is None:
        execute = lambda chunks, bar: _serial(st, chunks, run_id, backend, bar)   # noqa: E731
    else:
        from . import distributed
        execute = lambda chunks, _: distributed.execute(client, st, chunks, run_id, backend)  # noqa: E731
    run_chunks(st, run_id, execute, progress)
    return st


__all__ = ["sweep", "SweepStore", "chunk_hash", "train_chunk", "MANIFEST"]
