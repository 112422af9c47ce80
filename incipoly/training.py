"""``train(config, seeds)``: validate, allocate, run compiled chunks with a progress bar, return a Run."""
from __future__ import annotations

import functools
import math
import numbers
import os
import sys
import time

import numpy as np

from ._deprecation import renamed_argument
from ._validate import MAX_STEPS, check_choice, check_int, check_real, shown
from .config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, DEFAULT_RECORD, DEFAULT_SEEDS, Config
from .errors import DivergenceError, WrongTypeError
from .init import check_config, check_initial_weights, initial_weights, noise_keys, normalize_seeds
from .memory import available_memory, check_memory, memory_estimate
from .stores.run import Run

BACKENDS = ("cpu", "cuda")


def record_steps(steps: int, record) -> np.ndarray:
    """Steps at which history is taken: 0, ``steps`` and ``record`` log-spaced points in between.

    ``record`` may also be a sequence of explicit steps in ``[0, steps]``; the last step is
    always added (training always runs all ``steps``). There are at most ``steps + 1`` distinct
    steps: a count beyond what log spacing can resolve gives every step.

    Parameters
    ----------
    steps : int
        Training steps, ≥ 0.
    record : int or sequence of int
        Number of points (≥ 2), or the explicit steps.

    Returns
    -------
    numpy.ndarray
        Sorted, distinct int64 steps, ending at ``steps``.

    Raises
    ------
    WrongTypeError
        If ``record`` is neither an integer nor a sequence of integers.
    ValueError
        If the count is below 2 or an explicit step lies outside ``[0, steps]``.

    Examples
    --------
    >>> from incipoly.training import record_steps
    >>> record_steps(100, 5).tolist()
    [0, 1, 5, 22, 100]
    >>> record_steps(20, [5, 10]).tolist()
    [5, 10, 20]
    """
    steps = check_int("steps", steps, 0, MAX_STEPS)
    if isinstance(record, numbers.Integral) and not isinstance(record, (bool, np.bool_)):
        record = check_int("record", record, 2)
        if steps == 0:
            return np.array([0], np.int64)
        if record - 1 > _all_steps_count(steps):
            return np.arange(steps + 1, dtype=np.int64)
        pts = np.geomspace(1, steps, record - 1)
        return np.unique(np.concatenate([[0, steps], np.round(pts)]).astype(np.int64))
    accepted = f"an integer >= 2 or a non-empty list of integer steps in [0, {steps}]"
    try:
        if isinstance(record, (str, bytes, bool, np.bool_)):
            raise TypeError
        items = list(record)
    except TypeError:                   # not iterable: a float, None, a 0-d array ...
        raise WrongTypeError(f"record must be {accepted}; got {shown(record)}") from None
    if not all(isinstance(t, numbers.Integral) and not isinstance(t, (bool, np.bool_))
               for t in items):
        raise WrongTypeError(f"record must be {accepted}; got {shown(record)}")
    if not items or min(items) < 0 or max(items) > steps:
        raise ValueError(f"record must be {accepted}; got {shown(record)}")
    return np.union1d(np.array([int(t) for t in items], np.int64), [steps])


def _all_steps_count(steps):
    """Log-spaced points beyond which every step in ``[1, steps]`` is hit after rounding.

    With ``k`` points from 1 to ``T`` consecutive points differ by at most
    ``T(e^(ln T/(k−1)) − 1) ≤ 2T ln T/(k−1)``, below 1 once ``k − 1 > 2T ln T``.
    """
    return 2 * steps * math.log(max(steps, 2)) + 2


def _chunk_bounds(marks, chunk):
    """Split ``[0, marks[-1]]`` at every recorded step and at least every ``chunk`` steps."""
    bounds = [0]
    for b in marks[1:] if marks[0] == 0 else marks:
        while b - bounds[-1] > chunk:
            bounds.append(bounds[-1] + chunk)
        if b > bounds[-1]:
            bounds.append(int(b))
    return bounds


def _history_buffers(n_records, S, n, keep_weights, W):
    hist = {"loss": np.empty((n_records, S))}
    for key in ("l1", "l2", "l4"):
        hist[key] = np.empty((n_records, S, n))
    hist["active"] = np.empty((n_records, S, n), np.int64)
    if keep_weights:
        hist["W"] = np.empty((n_records,) + W.shape, W.dtype)
    return hist


def train(config: Config, seeds=None, W0=None, backend: str = "cpu", record=DEFAULT_RECORD,
          keep_weights: bool = False, active_tol: float = 1e-3, progress=True,
          chunk_steps: int | None = None, *, snapshots: bool | None = None) -> Run:
    """Train ``len(seeds)`` independent models of ``config``.

    Parameters
    ----------
    config : Config
    seeds : int or sequence of int, optional
        ``k`` → seeds ``0 … k−1``. Instance ``s`` takes its init and noise from ``SeedSequence(s)``.
        Default: one seed per instance of a 3-D ``W0``, else
        :data:`~incipoly.config.DEFAULT_SEEDS` (16).
    W0 : array, optional
        Start from these weights, ``(instances, n, m)`` or ``(n, m)`` for all instances; real,
        finite and within the range of ``config.dtype``.
    backend : {"cpu", "cuda"}
    record : int or sequence of int
        Number of log-spaced history points (0 and the last step always included), or the steps.
        Default :data:`~incipoly.config.DEFAULT_RECORD` (32).
    keep_weights : bool
        Also keep the full weights at every recorded step (``history["W"]``).
    snapshots : bool, optional
        Deprecated name of ``keep_weights`` (DeprecationWarning).
    active_tol : float
        ``history["active"]`` counts coordinates with ``|w| > active_tol`` (the paper's m′).
    progress : bool or progress bar
        ``True`` shows a tqdm bar on stderr; an object with ``update(steps)`` (a caller's shared
        tqdm bar) is advanced after every chunk instead and not closed.
    chunk_steps : int, optional
        Steps per compiled call between progress updates (default: about 1 % of the run).

    Returns
    -------
    Run
        ``W0``, ``W``, ``seeds``, ``config`` and ``history``: ``step`` (R,), ``loss`` (R, S) —
        noiseless loss incl. the L1 term (sparse inputs: on a fixed evaluation batch, see
        :mod:`incipoly.kernels.sparse_cpu`) — and per feature ``l1`` = Σ|w|, ``l2`` = Σw²,
        ``l4`` = Σw⁴, ``active`` (R, S, n).

    Raises
    ------
    DivergenceError
        If a weight or a recorded loss becomes NaN or infinite; the message names seed and step.
    MemoryError
        If the run would not fit in the machine's available memory (checked before allocating;
        the message gives both sizes), or an allocation fails inside a kernel.
    ValueError, TypeError
        For a bad argument (the message names it).

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, lr=1e-2)
    >>> run = ip.train(cfg, seeds=2, progress=False)
    >>> run.W0.shape, run.W.shape, run.seeds.tolist()
    ((2, 3, 4), (2, 3, 4), [0, 1])
    >>> run.history["loss"].shape[1], int(run.history["step"][-1])
    (2, 20)
    """
    check_config(config)
    check_choice("backend", backend, BACKENDS)
    active_tol = check_real("active_tol", active_tol)
    keep_weights = renamed_argument("train", "snapshots", "keep_weights", snapshots, keep_weights)
    _check_flag("keep_weights", keep_weights)
    if not (isinstance(progress, (bool, np.bool_)) or callable(getattr(progress, "update", None))):
        raise WrongTypeError(f"progress must be True, False or a progress bar with update(n); "
                             f"got {shown(progress)}")
    if seeds is None:
        seeds = len(W0) if getattr(W0, "ndim", 0) == 3 else DEFAULT_SEEDS
    seeds = normalize_seeds(seeds)
    if chunk_steps is None:
        chunk_steps = max(1, config.steps // 100)
    chunk_steps = check_int("chunk_steps", chunk_steps, 1)
    n_records = _record_count_bound(config.steps, record)
    check_memory(memory_estimate(config, len(seeds), n_records, keep_weights, backend))
    marks = record_steps(config.steps, record)
    if W0 is None:
        W0 = initial_weights(config, seeds)
    else:
        W0 = check_initial_weights(W0, config, len(seeds))
    start = time.perf_counter()
    W = W0.copy()
    state = _state(backend, config, W, noise_keys(seeds), seeds)
    S, n, m = W.shape
    hist = _history_buffers(len(marks), S, n, keep_weights, W)
    rec = {int(t): r for r, t in enumerate(marks)}

    def take(t):
        r = rec.get(t)
        if r is None:
            return
        Wt = state.weights()
        state.row_stats(Wt, config.l1, active_tol, hist["loss"][r], hist["l1"][r],
                        hist["l2"][r], hist["l4"][r], hist["active"][r])
        _check_finite_loss(hist["loss"][r], seeds, t, config)
        if keep_weights:
            hist["W"][r] = Wt

    owned = isinstance(progress, (bool, np.bool_))
    bar = _progress_bar(config.steps, progress) if owned else progress
    bounds = _chunk_bounds(marks, chunk_steps)
    blas_limit = _single_threaded_blas()
    try:
        take(0)
        for t0, t1 in zip(bounds[:-1], bounds[1:]):
            bad = _advance(state, t0, t1 - t0, config)
            if bad.size:
                s = int(bad[0])
                raise DivergenceError(
                    f"training diverged: seed {int(seeds[s])} (instance {s}) produced a non-finite "
                    f"weight at step {int(state.bad_step[s])}; {divergence_advice(config)}")
            take(t1)
            bar.update(t1 - t0)
    finally:
        blas_limit.unregister()
        if owned:
            bar.close()
    W = state.weights()
    _check_finite_weights(W, seeds, config)
    hist["step"] = marks
    elapsed = time.perf_counter() - start
    return Run(config=config, seeds=seeds, W0=W0, W=W, history=hist,
               info={"backend": backend, "seconds": elapsed, "active_tol": float(active_tol)},
               **getattr(state, "extra_params", dict)())


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise WrongTypeError(f"{name} must be True or False; got {shown(value)}")


def divergence_advice(config) -> str:
    """What to change after a divergence: ``weight_decay`` when ``lr·weight_decay >= 1`` (the
    decay factor ``1 − lr·wd`` leaves (0, 1)), ``l1`` when it exceeds 1, else ``lr`` or
    ``noise_std``."""
    wd = config.weight_decay
    if config.lr * wd >= 1:
        return (f"lower weight_decay (now {wd:g}): the decay factor 1 - lr*weight_decay = "
                f"{1 - config.lr * wd:.3g} must lie in (0, 1)")
    if config.l1 > 1:
        return f"lower l1 (now {config.l1:g}; the paper uses 1e-3 to 1e-1)"
    return f"lower lr (now {config.lr}) or noise_std (now {config.noise_std})"


def _check_finite_loss(loss, seeds, step, config):
    """DivergenceError if a recorded loss is NaN or inf (weights finite but ``W Wᵀ`` overflows)."""
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        s = int(bad[0])
        raise DivergenceError(
            f"training diverged: seed {int(seeds[s])} (instance {s}) has a non-finite loss "
            f"({loss[s]}) at step {step}; {divergence_advice(config)}")


def _check_finite_weights(W, seeds, config):
    finite = np.isfinite(W).reshape(W.shape[0], -1).all(axis=1)
    if not finite.all():
        s = int(np.flatnonzero(~finite)[0])
        raise DivergenceError(
            f"training diverged: seed {int(seeds[s])} (instance {s}) has non-finite final "
            f"weights at step {config.steps}; {divergence_advice(config)}")


def _advance(state, t0, nsteps, config):
    """``state.advance`` with a failed allocation inside the compiled kernel as MemoryError."""
    try:
        return state.advance(t0, nsteps)
    except SystemError as exc:
        if "alloc" in str(exc).lower() or "memory" in str(exc).lower():
            raise MemoryError(f"a kernel could not allocate its scratch for n_features="
                              f"{config.n_features}, n_hidden={config.n_hidden}: {exc}") from exc
        raise


def _record_count_bound(steps, record) -> int:
    """Upper bound on the history records ``record`` gives (without building them)."""
    if isinstance(record, numbers.Integral) and not isinstance(record, (bool, np.bool_)):
        return int(min(max(int(record), 2), steps + 1))
    return 0


@functools.lru_cache(maxsize=1)
def _blas_controller():
    # Numba's np.dot calls the BLAS behind scipy.linalg.cython_blas: import it first so that
    # threadpoolctl finds (and can limit) that library. Scanning the libraries costs ~ms: once.
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def _single_threaded_blas():
    """Cap BLAS at one thread: kernels call gemm from inside their own parallel loop."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _progress_bar(total, enabled):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not enabled, unit="step", desc="train", leave=True,
                dynamic_ncols=True)


class _CpuState:
    """Host-side state of a CPU run: weights, AdamW moments, noise keys, divergence flags."""

    def __init__(self, config, W, keys):
        from .kernels import cpu
        from .kernels.noise import NOISE_CODES
        _announce_compilation(cpu.train_chunk, cpu.row_stats)
        self._cpu = cpu
        self.W = W
        # AdamW moments; other optimisers never read them, so they get a 1×1 placeholder.
        moment_shape = W.shape if config.optimizer == "adamw" else (W.shape[0], 1, 1)
        self.M1 = np.zeros(moment_shape, W.dtype)
        self.V = np.zeros(moment_shape, W.dtype)
        self.keys = keys
        self.opt = cpu.OPT_CODES[config.optimizer]
        self.noise = NOISE_CODES[config.noise]
        self.hp = cpu.make_hyperparameters(config, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
        self.use_blas = W.shape[1] * W.shape[2] >= cpu.BLAS_MIN_SIZE
        self.bad_step = np.full(W.shape[0], -1, np.int64)
        self.row_stats = cpu.row_stats

    def advance(self, t0, nsteps):
        """Run steps ``t0 … t0+nsteps−1``; return the indices of instances that diverged."""
        self._cpu.train_chunk(self.W, self.M1, self.V, self.keys, t0, nsteps, self.opt,
                              self.noise, self.use_blas, self.hp, self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def weights(self):
        return self.W


class _MinibatchCpuState(_CpuState):
    """CPU state of every model but the paper's default: sparse inputs, importance, bias,
    untied decoder, per-example noise (:mod:`incipoly.kernels.sparse_cpu`)."""

    def __init__(self, config, W, keys, seeds):
        super().__init__(config, W, keys)
        from .init import initial_decoder, input_keys
        from .kernels import sparse_cpu
        self._k = sparse_cpu
        S, n, m = W.shape
        self.config = config
        self.tied, self.has_bias = config.tied, config.bias
        self.Dec = np.zeros((S, 1, 1), W.dtype) if self.tied else initial_decoder(config, seeds)
        self.Dec0 = None if self.tied else self.Dec.copy()
        self.bias = np.zeros((S, n) if self.has_bias else (S, 1), W.dtype)
        adam = config.optimizer == "adamw"
        self.MD, self.VD = (np.zeros(self.Dec.shape if adam else (S, 1, 1), W.dtype) for _ in "mv")
        self.Mb, self.Vb = (np.zeros(self.bias.shape if adam else (S, 1), W.dtype) for _ in "mv")
        self.in_keys = input_keys(seeds)
        self.sparse = config.inputs == "sparse"
        self.corr = sparse_cpu.CORRELATION_CODES[config.correlation]
        self.B = sparse_cpu.batch_size(config)
        self.rho = sparse_cpu.output_weights(config)
        self.row_stats = self._row_stats

    def advance(self, t0, nsteps):
        self._k.train_chunk(self.W, self.Dec, self.bias, self.M1, self.V, self.MD, self.VD,
                            self.Mb, self.Vb, self.keys, self.in_keys, t0, nsteps, self.opt,
                            self.noise, self.config.noise_scope == "example", self.sparse,
                            self.corr, self.config.feature_prob, self.B, self.rho, self.tied,
                            self.has_bias, self.hp, self.bad_step)
        return np.flatnonzero(self.bad_step >= 0)

    def _row_stats(self, Wt, l1, tol, loss, l1n, l2n, l4n, active):
        """Per-feature norms as :func:`incipoly.kernels.cpu.row_stats`; the loss of this model."""
        self._cpu.row_stats(Wt, l1, tol, loss, l1n, l2n, l4n, active)
        self._k.eval_loss(Wt, self.Dec, self.bias, self.in_keys, self.sparse, self.corr,
                          self.config.feature_prob, self.B, self.rho, self.tied, self.has_bias,
                          l1, loss)

    def extra_params(self):
        """``W_dec``/``W_dec0`` (untied) and ``b`` (bias) for the :class:`Run`."""
        out = {}
        if not self.tied:
            out.update(W_dec=self.Dec.copy(), W_dec0=self.Dec0)
        if self.has_bias:
            out["b"] = self.bias.copy()
        return out


def _announce_compilation(*kernels):
    """Say on stderr that kernels are about to compile: first call in this process (no compiled
    signatures yet) and no on-disk cache index for one of them (a cheap proxy for a cache miss)."""
    for kernel in kernels:
        if kernel.signatures:
            continue
        try:
            cached = os.path.exists(kernel._cache._cache_file._index_path)
        except AttributeError:          # another numba layout: assume it compiles
            cached = False
        if not cached:
            print("compiling kernels (first run only, about half a minute on 2 cores)…",
                  file=sys.stderr, flush=True)
            return



def _state(backend, config, W, keys, seeds=None):
    if not config.is_default_model:
        host = _MinibatchCpuState(config, W, keys, seeds)
        if backend == "cuda":
            from .kernels import sparse_cuda
            return sparse_cuda.SparseCudaState(host)
        return host
    if backend == "cuda":
        from .kernels import cuda
        return cuda.CudaState(config, W, keys)
    return _CpuState(config, W, keys)


__all__ = ["train", "record_steps", "DivergenceError", "memory_estimate", "available_memory",
           "check_memory"]
