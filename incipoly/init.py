"""Seeds → initial weights and noise keys.

Instance ``s`` draws everything from ``numpy.random.SeedSequence(s)`` alone: its first spawned
child seeds the ``Generator`` for the initial weights (``W``, then an untied decoder), its second
gives the 64-bit key of the counter-based noise (:mod:`incipoly.kernels.noise`), its third the
key of the sparse input batches. Results therefore do not depend on which
other seeds share a call.
"""
from __future__ import annotations

import numbers

import numpy as np

from .config import Config


def normalize_seeds(seeds) -> np.ndarray:
    """``int k`` → seeds ``0 … k−1``; a sequence of non-negative ints → those seeds (distinct)."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be an integer >= 1 or a list of seeds, got {seeds!r}")
        return np.arange(int(seeds), dtype=np.int64)
    try:
        arr = np.asarray(list(seeds))
    except TypeError:
        raise ValueError(f"seeds must be an integer >= 1 or a list of seeds, got {seeds!r}") from None
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu" or (arr < 0).any():
        raise ValueError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"seeds must be distinct, got {seeds!r}")
    return arr.astype(np.int64)


def init_std(config: Config) -> float:
    """Standard deviation of the initial weights: ``√(1/m)`` (normal) or ``√(2/(n+m))`` (xavier)."""
    if config.init == "xavier":
        return float(np.sqrt(2.0 / (config.n_features + config.n_hidden)))
    return float(np.sqrt(1.0 / config.n_hidden))


def _children(seed: int):
    # spawn(3)'s first two children equal spawn(2)'s: W0 and noise keys are as before.
    return np.random.SeedSequence(int(seed)).spawn(3)


def initial_weights(config: Config, seeds) -> np.ndarray:
    """``W0`` of shape ``(len(seeds), n, m)`` in ``config.dtype``, drawn in float64 then rounded."""
    seeds = normalize_seeds(seeds)
    shape = (config.n_features, config.n_hidden)
    std = init_std(config)
    W0 = np.empty((len(seeds),) + shape, dtype=config.dtype)
    for s, seed in enumerate(seeds):
        W0[s] = np.random.default_rng(_children(seed)[0]).normal(0.0, std, size=shape)
    return W0


def initial_decoder(config: Config, seeds) -> np.ndarray:
    """Untied decoder ``D0`` (instances, n, m): the same generator as ``W0``, drawn after it."""
    seeds = normalize_seeds(seeds)
    shape = (config.n_features, config.n_hidden)
    std = init_std(config)
    D0 = np.empty((len(seeds),) + shape, dtype=config.dtype)
    for s, seed in enumerate(seeds):
        rng = np.random.default_rng(_children(seed)[0])
        rng.normal(0.0, std, size=shape)
        D0[s] = rng.normal(0.0, std, size=shape)
    return D0


def input_keys(seeds) -> np.ndarray:
    """One ``uint64`` key per seed for the counter-based sparse input batches."""
    seeds = normalize_seeds(seeds)
    return np.array([_children(s)[2].generate_state(1, np.uint64)[0] for s in seeds], dtype=np.uint64)


def noise_keys(seeds) -> np.ndarray:
    """One ``uint64`` noise key per seed."""
    seeds = normalize_seeds(seeds)
    return np.array([_children(s)[1].generate_state(1, np.uint64)[0] for s in seeds], dtype=np.uint64)


def check_initial_weights(W0, config: Config, n_instances: int) -> np.ndarray:
    """Validate a user-given ``W0`` (shape, finiteness) and return a C-contiguous copy in ``config.dtype``.

    A 2-D ``(n, m)`` array is broadcast to every instance.
    """
    arr = np.asarray(W0)
    expected = (n_instances, config.n_features, config.n_hidden)
    if arr.ndim == 2:
        arr = np.broadcast_to(arr, expected)
    if arr.shape != expected:
        raise ValueError(f"W0 must have shape {expected} (instances, n_features, n_hidden) "
                         f"or {expected[1:]}; got {np.shape(W0)}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"W0 must be a real numeric array; got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError("W0 must be finite; it contains NaN or inf")
    return np.ascontiguousarray(arr, dtype=config.dtype).copy()
