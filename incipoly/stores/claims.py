"""Claims on sweep chunks: who is training which chunk, and when a claim may be taken over.

A writer claims a chunk by creating ``claims/<chunk>.claim`` exclusively (``os.link`` of a temp
file, under the store's lock) with its host, pid, sweep run id and a token, touches it every
:data:`HEARTBEAT_S` while it trains, and removes it when done. ``st`` below is a
:class:`incipoly.SweepStore` (``st.lock()``, ``st.claim_path(cfg, first)``).
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path

from .files import HOST, writer_dead

#: Seconds between a writer's touches of its claim while it trains (see ``store.STALE_AFTER_S``).
#: Seconds between touches of a live claim (:func:`heartbeat`).
HEARTBEAT_S = 30.0


def read_claim(file: Path):
    """(claim dict, mtime); ``({}, mtime)`` if unreadable, ``(None, None)`` if gone.

    Parameters
    ----------
    file : pathlib.Path

    Returns
    -------
    (dict or None, float or None)

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.stores.claims import read_claim
    >>> read_claim(Path("no-such.claim"))
    (None, None)
    """
    try:
        mtime = file.stat().st_mtime
        text = file.read_text()
    except FileNotFoundError:
        return None, None
    except OSError:
        return {}, mtime
    try:
        info = json.loads(text)
    except ValueError:
        return {}, mtime
    return (info if isinstance(info, dict) else {}), mtime


def is_stale(file: Path, run_id: str) -> bool:
    """A claim is stale when its writer is dead (:func:`incipoly.stores.files.writer_dead`) or when it
    was made by this same sweep run from another process: a run gives each chunk to one task at
    a time, so that can only be an attempt Dask gave up on (a lost worker).

    Parameters
    ----------
    file : pathlib.Path
        The claim file.
    run_id : str
        The asking sweep run.

    Returns
    -------
    bool

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.stores.claims import is_stale
    >>> is_stale(Path("no-such.claim"), "run")      # a claim that is gone is stale
    True
    """
    info, mtime = read_claim(file)
    if info is None:
        return True
    me = (HOST, os.getpid())
    if info.get("run") == run_id and (info.get("host"), info.get("pid")) != me:
        return True
    try:
        return writer_dead(str(info["host"]), int(info["pid"]), mtime)
    except (KeyError, TypeError, ValueError):
        return writer_dead("", -1, mtime)          # unreadable claim: stale once old


def claim(st, cfg_index, first, run_id) -> str | None:
    """Claim a chunk (exclusive create under the store lock); its token, or None if held.

    Parameters
    ----------
    st : SweepStore
    cfg_index, first : int
        The chunk: config index and index of its first seed.
    run_id : str

    Returns
    -------
    str or None

    Examples
    --------
    >>> import incipoly as ip
    >>> st = ip.sweep([ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)], seeds=2, store="sweep",
    ...               progress=False)
    >>> from incipoly.stores.claims import claim, release
    >>> token = claim(st, 0, 0, "my-run")
    >>> claim(st, 0, 0, "other-run") is None      # held by a live writer (this process)
    True
    >>> release(st, 0, 0, token)
    """
    file = st.claim_path(cfg_index, first)
    file.parent.mkdir(exist_ok=True)
    token = uuid.uuid4().hex
    body = json.dumps({"host": HOST, "pid": os.getpid(), "run": run_id, "token": token,
                       "time": time.time()})
    with st.lock():
        if file.exists():
            if not is_stale(file, run_id):
                return None
            file.unlink(missing_ok=True)
        tmp = file.with_name(f".{file.name}.{HOST}_{os.getpid()}_{token[:8]}.tmp")
        tmp.write_text(body)
        try:
            os.link(tmp, file)                      # fails if the claim exists
        except FileExistsError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
    return token


def release(st, cfg_index, first, token):
    """Remove the claim on a chunk if it still holds ``token`` (a taken-over claim is left alone).

    Parameters
    ----------
    st : SweepStore
    cfg_index, first : int
    token : str
        From :func:`claim`.

    Examples
    --------
    >>> import incipoly as ip
    >>> st = ip.sweep([ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)], seeds=2, store="sweep-r",
    ...               progress=False)
    >>> from incipoly.stores.claims import claim, release
    >>> release(st, 0, 0, claim(st, 0, 0, "my-run"))
    >>> st.claim_path(0, 0).exists()
    False
    """
    file = st.claim_path(cfg_index, first)
    with st.lock():
        info, _ = read_claim(file)
        if info and info.get("token") == token:
            file.unlink(missing_ok=True)


@contextlib.contextmanager
def heartbeat(file: Path, every: float = HEARTBEAT_S):
    """Touch ``file`` every ``every`` seconds while the block runs (shows the claim is alive).

    Parameters
    ----------
    file : pathlib.Path
    every : float
        Seconds between touches.

    Yields
    ------
    None

    Examples
    --------
    >>> from pathlib import Path
    >>> from incipoly.stores.claims import heartbeat
    >>> Path("x.claim").touch()
    >>> with heartbeat(Path("x.claim"), every=0.01):
    ...     pass
    """
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            try:
                os.utime(file)
            except FileNotFoundError:
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


__all__ = ["HEARTBEAT_S", "read_claim", "is_stale", "claim", "release", "heartbeat"]
