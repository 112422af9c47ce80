"""incipoly: incidental polysemanticity toy models, trained fast, checked against exact theory.

Implements the setting of Lecomte et al., "What Causes Polysemanticity? An Alternative Origin
Story of Mixed Selectivity from Incidental Causes" (arXiv 2312.03096). Importing is cheap: kernels
compile on first use (or via :func:`warmup`) and are cached on disk under a key of every
kernel source (:func:`cache_dir`, :func:`clear_cache`).
"""
from . import metrics
from ._version import __version__
from .config import Config
from .errors import DivergenceError, FileProblem, StoreError, WrongTypeError
from .kernels.cache import cache_dir, clear_cache
from .stores.run import Run, load
from .stores.sweep_store import SweepStore
from .stores.sweeps import open_sweep, sweep
from .training import train


def warmup(dtypes=("float32", "float64")):
    """Compile (or load from cache) the CPU kernels for ``dtypes`` so the first real call is fast.

    Parameters
    ----------
    dtypes : sequence of {"float32", "float64"}, default both
        The weight dtypes to compile every optimizer, noise and model family for.

    Examples
    --------
    >>> import incipoly as ip
    >>> ip.warmup(dtypes=("float32",))  # seconds the first time, then read from the disk cache
    """
    for dtype in dtypes:
        for optimizer in ("adamw", "sgd", "gd-prox"):
            for noise in ("none", "bernoulli"):
                cfg = Config(n_features=2, n_hidden=2, steps=1, optimizer=optimizer, noise=noise,
                             noise_std=0.1 if noise != "none" else 0.0, dtype=dtype)
                train(cfg, seeds=1, record=2, progress=False)
        # the minibatch kernels (sparse inputs, bias, untied, …): options are runtime flags,
        # so one model per dtype compiles them all.
        cfg = Config(n_features=2, n_hidden=2, steps=1, inputs="sparse", batch_size=2,
                     bias=True, tied=False, dtype=dtype)
        train(cfg, seeds=1, record=2, progress=False)


def available_backends():
    """Backends usable here: always ``"cpu"``, plus ``"cuda"`` when numba-cuda sees a GPU.

    Returns
    -------
    list of str
        ``["cpu"]`` or ``["cpu", "cuda"]``; pass one as ``backend=`` to :func:`train`.

    Examples
    --------
    >>> import incipoly as ip
    >>> ip.available_backends()  # doctest: +ELLIPSIS
    ['cpu'...]
    """
    out = ["cpu"]
    try:
        from numba import cuda
        if cuda.is_available():
            out.append("cuda")
    except ImportError:
        pass
    return out


def __getattr__(name):
    # analytic pulls in scipy; load it on first use so `import incipoly` stays light.
    if name == "analytic":
        import importlib
        return importlib.import_module(".analytic", __name__)
    raise AttributeError(f"module 'incipoly' has no attribute {name!r}")


__all__ = ["Config", "train", "Run", "load", "sweep", "open_sweep", "SweepStore", "metrics", "analytic",
           "warmup", "available_backends", "cache_dir", "clear_cache", "DivergenceError", "StoreError",
           "WrongTypeError", "FileProblem", "__version__"]
