"""Memory a training run needs, and whether the machine has it (checked before allocating)."""
from __future__ import annotations

import os

import numpy as np

from ._deprecation import renamed_argument
from .config import Config


def memory_estimate(config: Config, instances: int, records: int, keep_weights: bool = False,
                    backend: str = "cpu", *, snapshots: bool | None = None) -> dict:
    """Bytes a :func:`train` call needs, by part (host memory; excludes BLAS's own buffers).

    Parts: ``W0`` and its working copy ``W`` (plus, for the other model families, the untied
    decoder and its start, and the bias); AdamW moments (two more copies of every parameter,
    adamw only); ``history`` (loss and four per-feature statistics per record, plus the weights
    per record with ``keep_weights``; ``snapshots`` is its deprecated name); ``scratch`` for the
    threads that run at once: the paper's model
    keeps each thread's Gram matrix, residual, gradient and noise vectors (``2n² + nm + m + 2n``
    entries); the other families a batch of ``B`` inputs, hidden vectors, residuals and noise,
    the decoder's transpose and three gradients (``2Bn + 2Bm + 4nm + n`` entries, ``B`` the batch).

    Parameters
    ----------
    config : Config
    instances : int
        Seeds trained at once.
    records : int
        History points (:func:`incipoly.training.record_steps`).
    keep_weights : bool
        Weights kept at every record.
    backend : {"cpu", "cuda"}
        One scratch buffer on CUDA, one per thread on the CPU.

    Returns
    -------
    dict
        ``{"weights", "moments", "history", "scratch", "total"}`` in bytes (Python ints).

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.memory import memory_estimate
    >>> memory_estimate(ip.Config(n_features=3, n_hidden=4, steps=20), instances=1, records=32)
    {'weights': 192, 'moments': 96, 'history': 3328, 'scratch': 160, 'total': 3776}
    """
    keep_weights = renamed_argument("memory_estimate", "snapshots", "keep_weights", snapshots,
                                    keep_weights)
    n, m = config.n_features, config.n_hidden
    item = np.dtype(config.dtype).itemsize
    per_model = n * m * item
    params = per_model                                                # one instance's parameters
    if not config.is_default_model:
        params += (0 if config.tied else per_model) + (n * item if config.bias else 0)
    starts = per_model + (0 if config.is_default_model or config.tied else per_model)  # W0, Dec0
    parts = {"weights": instances * (params + starts) + n * m * 8,   # + one float64 draw
             "moments": 2 * instances * params if config.optimizer == "adamw" else 0,
             "history": records * instances * (8 + 4 * 8 * n + (per_model if keep_weights else 0))}
    threads = 1 if backend == "cuda" else min(instances, _thread_count())
    if config.is_default_model:
        parts["scratch"] = threads * (2 * n * n + n * m + m + 2 * n) * item
    else:
        from .kernels.sparse_cpu import batch_size
        B = batch_size(config)
        parts["scratch"] = threads * (2 * B * n + 2 * B * m + 4 * n * m + n) * item
    parts["total"] = sum(parts.values())
    return parts


def _thread_count():
    import numba
    return int(numba.get_num_threads())


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` in /proc/meminfo, else
    ``os.sysconf``'s available pages); ``None`` when the platform tells neither.

    Returns
    -------
    int or None

    Examples
    --------
    >>> from incipoly.memory import available_memory
    >>> available_memory() > 2 ** 20
    True
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(estimate: dict, available: int | None = None):
    """MemoryError naming the sizes if ``estimate["total"]`` exceeds the available memory.

    Parameters
    ----------
    estimate : dict
        From :func:`memory_estimate`.
    available : int, optional
        Bytes available; default :func:`available_memory` (no check when that is None).

    Raises
    ------
    MemoryError
        If the run would not fit.

    Examples
    --------
    >>> from incipoly.memory import check_memory
    >>> check_memory({"weights": 2 ** 30, "total": 2 ** 30}, available=2 ** 20)
    Traceback (most recent call last):
    ...
    MemoryError: this run needs about 1 GiB (weights 1 GiB) but the machine has 0.000977 GiB ...
    """
    available = available_memory() if available is None else available
    if available is None or estimate["total"] <= available:
        return
    parts = ", ".join(f"{k} {_gib(v)}" for k, v in estimate.items() if k != "total" and v)
    raise MemoryError(f"this run needs about {_gib(estimate['total'])} ({parts}) but the machine "
                      f"has {_gib(available)} available; use fewer seeds, a smaller model, fewer "
                      f"record points or keep_weights=False")


def _gib(nbytes) -> str:
    return f"{nbytes / 2 ** 30:.3g} GiB"


__all__ = ["memory_estimate", "available_memory", "check_memory"]
