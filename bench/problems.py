"""The benchmark problems every peer implements, and the data that makes runs comparable.

Two model families, as incipoly defines them (per instance, instances independent):

- one-hot (the paper's): ``L = Σ_ij (ReLU((W_i + ξ)·W_j) − δ_ij)² + λ Σ|W|``, ``ξ`` one
  Bernoulli ±σ vector per step (or none);
- sparse (TMS): ``L = Σ_j r^j · mean_b (ReLU(W_j·(x_b W) + b_j) − x_bj)²``, ``x_bi = a·u``,
  ``a ~ Bernoulli(p)``, ``u ~ U(0, 1)``, a fresh batch of ``B`` examples every step.

Optimisers: AdamW exactly as ``torch.optim.AdamW`` (decoupled decay ``w ← w(1 − lr·wd)``, then the
bias-corrected Adam step) or SGD (``w ← w − lr·∇``, no decay in these problems).

:func:`check_data` gives the inputs of an equivalence check (``W0``, and the exact noise vectors or
sparse batches incipoly trains on, generated with incipoly's own counter-based streams), so a peer
fed them must end at incipoly's weights up to float32 rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


@dataclass(frozen=True)
class Problem:
    """One benchmark shape; ``steps`` maps an implementation family to steps per timed call."""
    name: str
    family: str                    # "one-hot" or "sparse"
    n: int
    m: int
    instances: int
    optimizer: str = "adamw"
    lr: float = 1e-3
    l1: float = 0.0
    weight_decay: float = 0.0
    noise_std: float = 0.0         # Bernoulli hidden noise (one-hot family)
    batch: int = 0                 # sparse family
    p: float = 1.0
    importance: float = 1.0
    steps: dict = field(default_factory=dict)
    check_instances: int = 2

    def config(self, steps=1):
        """The :class:`incipoly.Config` of this problem."""
        import incipoly as ip
        common = dict(n_features=self.n, n_hidden=self.m, steps=steps, optimizer=self.optimizer,
                      lr=self.lr, l1=self.l1, weight_decay=self.weight_decay, dtype="float32")
        if self.family == "one-hot":
            return ip.Config(**common, noise="bernoulli" if self.noise_std else "none",
                             noise_std=self.noise_std)
        return ip.Config(**common, init="xavier", inputs="sparse", feature_prob=self.p,
                         batch_size=self.batch, importance=self.importance, bias=True)

    def flops_per_step(self) -> int:
        """Dense multiply–add FLOPs of a step: one-hot ``3·2n²m`` (Gram, two gradient products),
        sparse ``5·2Bnm`` (encoder, decoder, three backward products), times instances."""
        if self.family == "one-hot":
            return 3 * 2 * self.n * self.n * self.m * self.instances
        return 5 * 2 * self.batch * self.n * self.m * self.instances


def problems(quick=False) -> dict:
    """Name → :class:`Problem`: ``paper``, ``tiny``, ``sparse-0.05``, ``sparse-1``."""
    s = (lambda full, small: small if quick else full)  # noqa: E731
    return {
        "paper": Problem("paper", "one-hot", s(256, 64), s(1024, 256), s(16, 4), "adamw", 1e-3,
                         1e-3, 0.01, steps={"incipoly": s(5, 3), "jax": s(5, 3),
                                            "torch.compile": s(5, 3), "torch eager": s(5, 3)}),
        "tiny": Problem("tiny", "one-hot", 8, 16, 5, "sgd", 0.02, 0.0, 0.0, noise_std=0.1,
                        steps={"incipoly": s(20000, 2000), "jax": s(20000, 2000),
                               "torch.compile": s(300, 100), "torch eager": s(300, 100)}),
        **{f"sparse-{p:g}": Problem(f"sparse-{p:g}", "sparse", 20, 5, 64, "adamw", 1e-3, 0.0, 0.0,
                                    batch=s(1024, 256), p=p, importance=0.7, check_instances=4,
                                    steps=dict.fromkeys(["incipoly", "jax", "torch.compile",
                                                         "torch eager"], s(20, 5)))
           for p in (0.05, 1.0)},
    }


def initial_weights(problem: Problem, instances: int) -> np.ndarray:
    """incipoly's initial weights of seeds ``0 … instances−1`` (float32)."""
    from incipoly.init import initial_weights as init
    return init(problem.config(), instances)


def check_data(problem: Problem, steps: int):
    """``(W0, data)`` for an equivalence check over ``problem.check_instances`` seeds.

    ``data`` is ``None`` (noiseless one-hot), the noise ``ξ`` of shape ``(steps, S, m)``, or the
    sparse batches ``(steps, S, B, n)``: what incipoly's own streams give seeds ``0 … S−1``.
    """
    from incipoly.init import input_keys, noise_keys
    from incipoly.kernels.noise import NOISE_CODES, noise_value
    from incipoly.kernels.sparse_sampler import fill_batch
    S = problem.check_instances
    W0 = initial_weights(problem, S)
    if problem.family == "sparse":
        X = np.empty((steps, S, problem.batch, problem.n))
        for s, key in enumerate(input_keys(range(S))):
            for t in range(steps):
                fill_batch(X[t, s], key, t, problem.p, 0)
        return W0, X.astype(np.float32)
    if not problem.noise_std:
        return W0, None
    kind = NOISE_CODES["bernoulli"]
    with np.errstate(over="ignore"):        # uint64 arithmetic wraps by design
        xi = np.array([[[noise_value(kind, problem.noise_std, key, t, k, problem.m)
                         for k in range(problem.m)] for key in noise_keys(range(S))]
                       for t in range(steps)])
    return W0, xi.astype(np.float32)
