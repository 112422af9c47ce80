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

from ._validate import MAX_INSTANCES, MAX_SEED, WrongTypeError, check_int, check_real_array, shown
from .config import Config


def normalize_seeds(seeds) -> np.ndarray:
    """``int k`` → seeds ``0 … k−1``; a sequence of distinct integers in ``[0, 2⁶³)`` → those seeds.

    Raises
    ------
    WrongTypeError
        For a bool, float, string or a sequence of non-integers.
    ValueError
        For ``k < 1``, more than ``2³¹ − 1`` seeds, an empty list, negative, too large or
        repeated seeds.

    Parameters
    ----------
    seeds : int or sequence of int

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> from incipoly.init import normalize_seeds
    >>> normalize_seeds(3).tolist(), normalize_seeds([7, 2]).tolist()
    ([0, 1, 2], [7, 2])
    """
    accepted = (f"an integer count in [1, {MAX_INSTANCES}] or a non-empty list of distinct "
                f"integers in [0, {MAX_SEED}]")
    if isinstance(seeds, (bool, np.bool_)) or isinstance(seeds, (str, bytes, float, np.floating)):
        raise WrongTypeError(f"seeds must be {accepted}; got {shown(seeds)}")
    if isinstance(seeds, numbers.Integral):
        return np.arange(check_int("seeds", seeds, 1, MAX_INSTANCES), dtype=np.int64)
    if isinstance(seeds, range):
        if not (1 <= len(seeds) <= MAX_INSTANCES and 0 <= min(seeds) and max(seeds) <= MAX_SEED):
            raise ValueError(f"seeds must be {accepted}; got {shown(seeds)}")
        return np.arange(seeds.start, seeds.stop, seeds.step, dtype=np.int64)
    try:
        items = list(seeds)
    except TypeError:
        raise WrongTypeError(f"seeds must be {accepted}; got {shown(seeds)}") from None
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
               for s in items):
        raise WrongTypeError(f"seeds must be {accepted}; got {shown(seeds)}")
    if not items or len(items) > MAX_INSTANCES or min(items) < 0 or max(items) > MAX_SEED:
        raise ValueError(f"seeds must be {accepted}; got {shown(seeds)}")
    arr = np.array([int(s) for s in items], dtype=np.int64)
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"seeds must be distinct, got {shown(seeds)}")
    return arr


def check_config(config) -> Config:
    """``config`` if it is a :class:`~incipoly.Config`, else :class:`WrongTypeError`.

    Parameters
    ----------
    config : object

    Returns
    -------
    Config
        ``config`` itself.

    Raises
    ------
    WrongTypeError
        If ``config`` is not a Config.

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.init import check_config
    >>> check_config(ip.Config(n_features=3, n_hidden=4, steps=20)).n_hidden
    4
    """
    if not isinstance(config, Config):
        raise WrongTypeError(f"config must be an incipoly.Config; got {type(config).__name__}")
    return config


def init_std(config: Config) -> float:
    """Standard deviation of the initial weights: ``√(1/m)`` (normal) or ``√(2/(n+m))`` (xavier).

    Parameters
    ----------
    config : Config

    Returns
    -------
    float

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.init import init_std
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20)
    >>> init_std(cfg), round(init_std(cfg.replace(init="xavier")), 4)
    (0.5, 0.5345)
    """
    check_config(config)
    if config.init == "xavier":
        return float(np.sqrt(2.0 / (config.n_features + config.n_hidden)))
    return float(np.sqrt(1.0 / config.n_hidden))


def _children(seed: int):
    # spawn(3)'s first two children equal spawn(2)'s: W0 and noise keys are as before.
    return np.random.SeedSequence(int(seed)).spawn(3)


def initial_weights(config: Config, seeds) -> np.ndarray:
    """``W0`` of shape ``(len(seeds), n, m)`` in ``config.dtype``, drawn in float64 then rounded.

    Parameters
    ----------
    config : Config
    seeds : int or sequence of int
        As in :func:`normalize_seeds`.

    Returns
    -------
    numpy.ndarray
        ``(len(seeds), n, m)``, the ``W0`` that :func:`incipoly.train` starts from.

    Examples
    --------
    >>> import numpy as np, incipoly as ip
    >>> from incipoly.init import initial_weights
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20)
    >>> W0 = initial_weights(cfg, [0])
    >>> W0.shape, W0.dtype
    ((1, 3, 4), dtype('float32'))
    >>> np.array_equal(W0, ip.train(cfg, seeds=[0], progress=False).W0)
    True
    """
    check_config(config)
    seeds = normalize_seeds(seeds)
    shape = (config.n_features, config.n_hidden)
    std = init_std(config)
    W0 = np.empty((len(seeds),) + shape, dtype=config.dtype)
    for s, seed in enumerate(seeds):
        W0[s] = np.random.default_rng(_children(seed)[0]).normal(0.0, std, size=shape)
    return W0


def initial_decoder(config: Config, seeds) -> np.ndarray:
    """Untied decoder ``D0`` (instances, n, m): the same generator as ``W0``, drawn after it.

    Parameters
    ----------
    config : Config
    seeds : int or sequence of int
        As in :func:`normalize_seeds`.

    Returns
    -------
    numpy.ndarray
        ``(len(seeds), n, m)`` in ``config.dtype``.

    Examples
    --------
    >>> import incipoly as ip
    >>> from incipoly.init import initial_decoder
    >>> initial_decoder(ip.Config(n_features=3, n_hidden=4, steps=20, tied=False), 2).shape
    (2, 3, 4)
    """
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
    """One ``uint64`` key per seed for the counter-based sparse input batches.

    Parameters
    ----------
    seeds : int or sequence of int
        As in :func:`normalize_seeds`.

    Returns
    -------
    numpy.ndarray of uint64

    Examples
    --------
    >>> from incipoly.init import input_keys
    >>> input_keys([0, 1]).tolist()
    [16452687389592421897, 1275975541612323131]
    """
    seeds = normalize_seeds(seeds)
    return np.array([_children(s)[2].generate_state(1, np.uint64)[0] for s in seeds], dtype=np.uint64)


def noise_keys(seeds) -> np.ndarray:
    """One ``uint64`` noise key per seed.

    Parameters
    ----------
    seeds : int or sequence of int
        As in :func:`normalize_seeds`.

    Returns
    -------
    numpy.ndarray of uint64

    Examples
    --------
    >>> from incipoly.init import noise_keys
    >>> noise_keys([0, 1]).tolist()
    [4881901421217228719, 4042681867674859579]
    """
    seeds = normalize_seeds(seeds)
    return np.array([_children(s)[1].generate_state(1, np.uint64)[0] for s in seeds], dtype=np.uint64)


def check_initial_weights(W0, config: Config, n_instances: int) -> np.ndarray:
    """Validate a user-given ``W0`` and return a C-contiguous copy in ``config.dtype``.

    A 2-D ``(n, m)`` array is broadcast to every instance.

    Raises
    ------
    WrongTypeError
        If ``W0`` is not a real numeric array (bool, complex, strings, objects).
    ValueError
        If its shape is wrong, it holds NaN or inf, or a value overflows ``config.dtype``
        (a float64 ``W0`` beyond float32's range for a float32 config).

    Parameters
    ----------
    W0 : array_like
        ``(n_instances, n, m)`` or ``(n, m)``.
    config : Config
    n_instances : int

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np, incipoly as ip
    >>> from incipoly.init import check_initial_weights
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20)
    >>> check_initial_weights(np.ones((3, 4)), cfg, 2).shape
    (2, 3, 4)
    """
    arr = check_real_array("W0", W0)
    expected = (n_instances, config.n_features, config.n_hidden)
    if arr.ndim == 2 and arr.shape == expected[1:]:
        arr = np.broadcast_to(arr, expected)
    if arr.shape != expected:
        raise ValueError(f"W0 must have shape {expected} (instances, n_features, n_hidden) "
                         f"or {expected[1:]}; got {np.shape(W0)}")
    limit = np.finfo(config.dtype).max
    if np.abs(arr).max() > limit:
        raise ValueError(f"W0 must fit in {config.dtype} (|W0| <= {limit:.4g}); its largest "
                         f"entry is {np.abs(arr).max():.4g}")
    return np.ascontiguousarray(arr, dtype=config.dtype).copy()


__all__ = ["normalize_seeds", "check_config", "init_std", "initial_weights", "initial_decoder",
           "input_keys", "noise_keys", "check_initial_weights"]
