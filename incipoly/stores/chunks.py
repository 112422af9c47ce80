"""Training one chunk of a sweep: claim it, verify or train it, write it, release it.

:func:`train_chunk` is the unit of work of every writer (a serial sweep, a second process
resuming the same store, a Dask worker): it trains a chunk only while holding its claim
(:mod:`incipoly.stores.claims`), writes it atomically and logs what it did in ``log.jsonl``.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import numpy as np

from ..errors import DivergenceError, StoreError
from ..training import train
from . import claims
from .files import HOST, atomic_write
from .run import OPTIONAL_ARRAYS, versions
from .sweep_store import LOG, SweepStore, _chunk_name


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

    Parameters
    ----------
    st : SweepStore
    cfg_index, first : int
        Config index and index of the chunk's first seed.
    run_id : str
        The sweep run (claims of the same run from another process are stale).
    backend : {"cpu", "cuda"}
    progress : object with ``update(n)``, optional

    Returns
    -------
    dict
        With ``chunk``, ``config`` (index), ``first``, ``steps`` (instance-steps),
    ``shown`` (the instance-steps already given to ``progress``), ``status`` (``"trained"``,
    ``"done"`` — already on disk and verified — ``"busy"`` — another live writer holds it — or
    ``"diverged"``), ``rejected`` (why a bad file was set aside, or ``""``) and ``error`` (the
    :class:`~incipoly.DivergenceError` message, or ``""``).

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.stores.chunks import train_chunk
    >>> st = ip.sweep([ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)], seeds=2, store="sweep",
    ...               progress=False)
    >>> train_chunk(st, 0, 0, "run")["status"]          # on disk and verified already
    'done'
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
    bar = None if progress is None else _InstanceSteps(progress, len(seeds))
    try:
        run = train(cfg, seeds, record=st.record, progress=False if bar is None else bar, backend=backend,
                    active_tol=st.active_tol)
    except DivergenceError as exc:
        return {"status": "diverged", "rejected": rejected, "error": str(exc),
                "shown": bar.shown if bar is not None else 0}
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
    atomic_write(file, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
    _log(st, chunk=file.name, event="trained", run=run_id, seconds=run.info["seconds"])
    return {"status": "trained", "rejected": rejected, "shown": bar.shown if bar is not None else 0}


__all__ = ["train_chunk"]
