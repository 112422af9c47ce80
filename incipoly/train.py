"""``train(config, seeds)``: validate, allocate, run compiled chunks with a progress bar, return a Run."""
from __future__ import annotations

import functools
import time

import numpy as np

from .config import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, Config
from .init import check_initial_weights, initial_weights, noise_keys, normalize_seeds
from .store import Run

BACKENDS = ("cpu", "cuda")


class DivergenceError(FloatingPointError):
    """Training produced a non-finite weight."""


def record_steps(steps: int, record) -> np.ndarray:
    """Steps at which history is taken: 0, ``steps`` and ``record`` log-spaced points in between.

    ``record`` may also be a sequence of explicit steps in ``[0, steps]``; the last step is
    always added (training always runs all ``steps``).
    """
    if isinstance(record, (int, np.integer)) and not isinstance(record, bool):
        if record < 2:
            raise ValueError(f"record must be an integer >= 2 or a list of steps; got {record!r}")
        pts = np.geomspace(1, max(steps, 1), record - 1) if steps > 0 else []
        out = np.unique(np.concatenate([[0, steps], np.round(pts)]).astype(np.int64))
        return out
    out = np.asarray(list(record), dtype=np.int64)
    if out.size == 0 or out.min() < 0 or out.max() > steps:
        raise ValueError(f"record steps must lie in [0, {steps}]; got {record!r}")
    return np.union1d(out, [steps])


def _chunk_bounds(marks, chunk):
    """Split ``[0, marks[-1]]`` at every recorded step and at least every ``chunk`` steps."""
    bounds = [0]
    for b in marks[1:] if marks[0] == 0 else marks:
        while b - bounds[-1] > chunk:
            bounds.append(bounds[-1] + chunk)
        if b > bounds[-1]:
            bounds.append(int(b))
    return bounds


def _history_buffers(n_records, S, n, snapshots, W):
    hist = {"loss": np.empty((n_records, S))}
    for key in ("l1", "l2", "l4"):
        hist[key] = np.empty((n_records, S, n))
    hist["active"] = np.empty((n_records, S, n), np.int64)
    if snapshots:
        hist["W"] = np.empty((n_records,) + W.shape, W.dtype)
    return hist


def train(config: Config, seeds=1, W0=None, backend: str = "cpu", record=64,
          snapshots: bool = False, active_tol: float = 1e-3, progress: bool = True,
          chunk_steps: int | None = None) -> Run:
    """Train ``len(seeds)`` independent models of ``config``.

    Parameters
    ----------
    config : Config
    seeds : int or sequence of int
        ``k`` → seeds ``0 … k−1``. Instance ``s`` takes its init and noise from ``SeedSequence(s)``.
    W0 : array, optional
        Start from these weights, ``(instances, n, m)`` or ``(n, m)`` for all instances.
    backend : {"cpu", "cuda"}
    record : int or sequence of int
        Number of log-spaced history points (0 and the last step always included), or the steps.
    snapshots : bool
        Also keep the full weights at every recorded step (``history["W"]``).
    active_tol : float
        ``history["active"]`` counts coordinates with ``|w| > active_tol`` (the paper's m′).
    progress : bool
        Show a tqdm bar on stderr.
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
        If a weight becomes NaN or infinite; the message names the seed and step.
    """
    if not isinstance(config, Config):
        raise ValueError(f"config must be an incipoly.Config, got {type(config).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if not (np.isfinite(active_tol) and active_tol >= 0):
        raise ValueError(f"active_tol must be a finite number >= 0; got {active_tol!r}")
    seeds = normalize_seeds(seeds)
    marks = record_steps(config.steps, record)
    if chunk_steps is None:
        chunk_steps = max(1, config.steps // 100)
    elif not (isinstance(chunk_steps, (int, np.integer)) and chunk_steps >= 1):
        raise ValueError(f"chunk_steps must be an integer >= 1; got {chunk_steps!r}")
    if W0 is None:
        W0 = initial_weights(config, seeds)
    else:
        W0 = check_initial_weights(W0, config, len(seeds))
    start = time.perf_counter()
    W = W0.copy()
    state = _state(backend, config, W, noise_keys(seeds), seeds)
    S, n, m = W.shape
    hist = _history_buffers(len(marks), S, n, snapshots, W)
    rec = {int(t): r for r, t in enumerate(marks)}

    def take(t):
        r = rec.get(t)
        if r is None:
            return
        Wt = state.weights()
        state.row_stats(Wt, config.l1, active_tol, hist["loss"][r], hist["l1"][r],
                          hist["l2"][r], hist["l4"][r], hist["active"][r])
        if snapshots:
            hist["W"][r] = Wt

    bar = _progress_bar(config.steps, progress)
    take(0)
    bounds = _chunk_bounds(marks, chunk_steps)
    blas_limit = _single_threaded_blas()
    try:
        for t0, t1 in zip(bounds[:-1], bounds[1:]):
            bad = state.advance(t0, t1 - t0)
            if bad.size:
                s = int(bad[0])
                raise DivergenceError(
                    f"training diverged: seed {int(seeds[s])} (instance {s}) produced a non-finite "
                    f"weight at step {int(state.bad_step[s])}; lower lr (now {config.lr}) or noise_std")
            take(t1)
            bar.update(t1 - t0)
    finally:
        blas_limit.unregister()
        bar.close()
    W = state.weights()
    hist["step"] = marks
    elapsed = time.perf_counter() - start
    return Run(config=config, seeds=seeds, W0=W0, W=W, history=hist,
               info={"backend": backend, "seconds": elapsed, "active_tol": float(active_tol)},
               **getattr(state, "extra_params", dict)())


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
    return tqdm(total=total, disable=not enabled, unit="step", desc="train", leave=False,
                dynamic_ncols=True)


class _CpuState:
    """Host-side state of a CPU run: weights, AdamW moments, noise keys, divergence flags."""

    def __init__(self, config, W, keys):
        from .kernels import cpu
        from .kernels.noise import NOISE_CODES
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


__all__ = ["train", "record_steps", "DivergenceError"]
