"""Model and training configuration: one frozen, validated dataclass.

Every field is checked on construction; a bad value raises ``ValueError`` naming the field, the
value and the accepted range or choices, so the CLI can print it as it is. A value of the wrong
type (a string, bool or array for a number) raises :class:`incipoly._validate.WrongTypeError`, a
``TypeError`` (and ``ValueError``); nothing is coerced silently.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from ._validate import (MAX_INSTANCES, MAX_STEPS, WrongTypeError, check_choice, check_int,
                        check_real)

OPTIMIZERS = ("adamw", "sgd", "gd-prox")
NOISES = ("none", "bernoulli", "gaussian", "uniform", "laplace")
INITS = ("normal", "xavier")
DTYPES = ("float32", "float64")

#: torch's default weight decay for each optimizer (AdamW 0.01, SGD 0); used when none is given.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01, "sgd": 0.0, "gd-prox": 0.0}

#: AdamW constants, fixed to torch.optim.AdamW's defaults.
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class Config:
    """One toy-model setting: shapes, optimiser, regularisation, noise, init and precision.

    Parameters
    ----------
    n_features, n_hidden : int
        ``n`` one-hot features and ``m`` hidden neurons; weights have shape ``(n, m)``.
    steps : int
        Full-batch optimisation steps.
    optimizer : {"adamw", "sgd", "gd-prox"}
        ``adamw`` is torch.optim.AdamW's rule; ``sgd`` is ``W ← W − lr·∇`` with the L1 subgradient;
        ``gd-prox`` takes a gradient step on the smooth loss, then soft-thresholds by ``lr·l1``.
    lr : float
        Learning rate, > 0.
    l1 : float
        L1 coefficient λ in ``loss = Σ (y − x)² + λ Σ|W|``.
    weight_decay : float or None
        Decoupled decay ``W ← W (1 − lr·wd)`` applied before each step. ``None`` takes torch's
        default for the optimiser: 0.01 for AdamW, 0 for SGD and gd-prox.
    noise : {"none", "bernoulli", "gaussian", "uniform", "laplace"}
        Hidden-layer noise, one length-``m`` vector per step shared by the batch; each entry has
        mean 0 and standard deviation ``noise_std`` (bernoulli: ±σ with probability ½ each).
    noise_std : float
        σ ≥ 0; σ > 0 needs a noise kind other than ``"none"`` (refused otherwise).
    init : {"normal", "xavier"}
        ``N(0, 1/m)`` (the paper's) or Xavier-normal ``N(0, 2/(n+m))``.
    dtype : {"float32", "float64"}
    """

    n_features: int = 64
    n_hidden: int = 256
    steps: int = 7500
    optimizer: str = "adamw"
    lr: float = 1e-3
    l1: float = 1e-3
    weight_decay: float | None = None
    noise: str = "none"
    noise_std: float = 0.0
    init: str = "normal"
    dtype: str = "float32"

    def __post_init__(self):
        _check_int("n_features", self.n_features, 1, MAX_INSTANCES)
        _check_int("n_hidden", self.n_hidden, 1, MAX_INSTANCES)
        _check_int("steps", self.steps, 0, MAX_STEPS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("noise", self.noise, NOISES)
        _check_choice("init", self.init, INITS)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_float("lr", self.lr, strictly_positive=True)
        _check_float("l1", self.l1)
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", DEFAULT_WEIGHT_DECAY[self.optimizer])
        _check_float("weight_decay", self.weight_decay)
        _check_float("noise_std", self.noise_std)
        _check_noise_pair(self.noise, self.noise_std)
        for name in ("lr", "l1", "weight_decay", "noise_std"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("n_features", "n_hidden", "steps"):
            object.__setattr__(self, name, int(getattr(self, name)))

    def replace(self, **changes) -> "Config":
        """Copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        if not isinstance(data, dict):
            raise WrongTypeError(f"Config.from_dict: data must be a dict of fields; got "
                                 f"{type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Config: unknown field(s) {unknown}; accepted: {sorted(names)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))


def _check_int(name, value, minimum, maximum=None):
    check_int(name, value, minimum, maximum)


def _check_float(name, value, strictly_positive=False):
    check_real(name, value, 0.0, strict=strictly_positive)


def _check_choice(name, value, choices):
    check_choice(name, value, choices)


def _check_noise_pair(noise, noise_std):
    """``noise_std > 0`` needs a noise kind: with ``noise="none"`` it would be stored and ignored."""
    if noise == "none" and noise_std > 0:
        raise ValueError(f"noise_std={noise_std!r} > 0 needs a noise kind: set noise to one of "
                         f"{', '.join(NOISES[1:])}, or noise_std to 0")
