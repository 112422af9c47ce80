"""Sweeps on a Dask cluster (:mod:`dask.distributed`); imported only when a client is given.

Every chunk of a sweep is one task. The task runs :func:`incipoly.stores.chunks.train_chunk` on the
worker: it claims the chunk in the shared store, trains it, writes it (atomically, verified on
read) and returns a few numbers; the client never holds weights. A worker lost mid-chunk (killed,
out of memory) is the scheduler's business: it reruns the task elsewhere (up to its
``distributed.scheduler.allowed-failures``), and the new attempt takes over the dead attempt's
claim because both belong to the same sweep run. A chunk that diverges returns its error
instead of raising, so it is reported once and never retried.

Kernels compile once per machine (Numba's on-disk cache). Each task sets Numba's threads to its
worker's ``nthreads`` and BLAS runs single-threaded inside the kernels, so
``n_workers × threads_per_worker`` threads never oversubscribe the cores.
"""
from __future__ import annotations

import contextlib
import os
import re
import uuid

import distributed

from .chunks import train_chunk
from .sweep_store import SweepStore

#: ``--dask`` values: ``local``, ``local:N`` or a scheduler address such as ``tcp://host:8786``.
_LOCAL = re.compile(r"^local(?::(?P<n>\d+))?$")
_ADDRESS = re.compile(r"^(?:[a-z]+://)?[^\s:/]+(?::\d+)?$")


def check_client(client):
    """Raise TypeError unless ``client`` is a :class:`dask.distributed.Client`.

    Parameters
    ----------
    client : object

    Raises
    ------
    TypeError
        Naming the type given.

    Examples
    --------
    >>> from incipoly.stores.cluster import check_client
    >>> check_client("tcp://host:8786")
    Traceback (most recent call last):
    ...
    TypeError: client must be a dask.distributed.Client; got str
    """
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a dask.distributed.Client; got {type(client).__name__}")


def _set_worker_threads():
    """Numba threads of this task = its worker's ``nthreads`` (≥ 1, at most what Numba has)."""
    import numba
    try:
        nthreads = distributed.get_worker().state.nthreads
    except (ValueError, AttributeError):
        return
    numba.set_num_threads(max(1, min(int(nthreads), numba.config.NUMBA_NUM_THREADS)))


def _chunk_task(path, cfg_index, first, run_id, backend):
    """One chunk on a worker: claim, train, write; returns the metadata of ``train_chunk``."""
    _set_worker_threads()
    return train_chunk(SweepStore(path), cfg_index, first, run_id, backend)


def execute(client, st, chunks, run_id, backend):
    """Submit one task per chunk; yield their metadata dicts as they complete.

    Tasks still running are cancelled if the caller stops early or a task raises.

    Parameters
    ----------
    client : dask.distributed.Client
    st : SweepStore
        Its directory must be visible to the workers at the same path.
    chunks : iterable of (int, int)
        ``(cfg_index, first)`` of each chunk.
    run_id : str
    backend : {"cpu", "cuda"}

    Yields
    ------
    dict
        :func:`incipoly.stores.chunks.train_chunk`'s metadata, in order of completion.

    Examples
    --------
    >>> import incipoly as ip
    >>> from dask.distributed import Client
    >>> from incipoly.stores import cluster
    >>> client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    >>> st = ip.sweep([ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)], seeds=2, store="sw",
    ...               client=client, progress=False)
    >>> [d["status"] for d in cluster.execute(client, st, st.chunks(), "run", "cpu")]  # all on disk
    ['done']
    >>> client.close()
    """
    path = os.path.abspath(st.path)
    futures = [client.submit(_chunk_task, path, c, first, run_id, backend, pure=False,
                             key=f"incipoly-chunk-{c:04d}-{first:06d}-{uuid.uuid4().hex[:12]}")
               for c, first in chunks]
    try:
        for future in distributed.as_completed(futures):
            yield future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])


def parse_dask(spec: str):
    """``local`` → (None), ``local:N`` → N workers; anything else must be a scheduler address.

    Parameters
    ----------
    spec : str
        ``local``, ``local:N`` or a scheduler address such as ``tcp://host:8786``.

    Returns
    -------
    tuple
        ``("local", n_workers)`` or ``("address", spec)``.

    Raises
    ------
    ValueError
        Naming ``--dask``, the value and the accepted forms.

    Examples
    --------
    >>> from incipoly.stores.cluster import parse_dask
    >>> parse_dask("local:2"), parse_dask("tcp://10.0.0.5:8786")
    (('local', 2), ('address', 'tcp://10.0.0.5:8786'))
    """
    match = _LOCAL.match(spec)
    if match:
        n = int(match["n"]) if match["n"] else (os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"--dask local:N needs N >= 1 workers; got {spec!r}")
        return "local", n
    if not _ADDRESS.match(spec):
        raise ValueError(f"--dask must be a scheduler address like tcp://host:8786 or "
                         f"local[:N]; got {spec!r}")
    return "address", spec


@contextlib.contextmanager
def connect(spec: str):
    """A :class:`~dask.distributed.Client` for ``--dask spec``, closed (with its cluster) on exit.

    ``local:N`` starts a :class:`~dask.distributed.LocalCluster` of ``N`` worker processes with one
    thread each (so ``N`` ≤ cores never oversubscribes).

    Parameters
    ----------
    spec : str
        As in :func:`parse_dask`.

    Yields
    ------
    dask.distributed.Client

    Raises
    ------
    ValueError
        For a bad ``spec`` (:func:`parse_dask`).

    Examples
    --------
    >>> from incipoly.stores.cluster import connect
    >>> with connect("local:1") as client:          # one worker process: a few seconds to start
    ...     len(client.scheduler_info()["workers"])
    1
    """
    kind, value = parse_dask(spec)
    if kind == "local":
        with distributed.LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            yield client
    else:
        with distributed.Client(value) as client:
            yield client


__all__ = ["execute", "connect", "parse_dask", "check_client"]
