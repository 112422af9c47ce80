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

from ._validate import MAX_INSTANCES, MAX_STEPS, WrongTypeError, check_choice, check_int, check_real

#: Accepted values of :class:`Config` ``optimizer``.
OPTIMIZERS = ("adamw", "sgd", "gd-prox")
#: Accepted values of ``noise`` (hidden-layer noise law).
NOISES = ("none", "bernoulli", "gaussian", "uniform", "laplace")
#: Accepted values of ``init``.
INITS = ("normal", "xavier")
#: Accepted values of ``dtype``.
DTYPES = ("float32", "float64")
#: Accepted values of ``inputs``.
INPUTS = ("one-hot", "sparse")
#: Accepted values of ``correlation`` (sparse inputs only).
CORRELATIONS = ("none", "correlated", "anticorrelated")
#: Accepted values of ``noise_scope``.
NOISE_SCOPES = ("step", "example")

#: Fields of the sparse / untied / bias model family and their defaults (today's one-hot model).
#: :meth:`Config.to_dict` leaves a field out while it holds its default, so the JSON of a one-hot
#: config (and every store written before these fields existed) is unchanged.
MODEL_FAMILY_DEFAULTS = {"inputs": "one-hot", "feature_prob": 1.0, "batch_size": 1024,
                         "importance": 1.0, "correlation": "none", "bias": False, "tied": True,
                         "noise_scope": "step"}
#: Fields that describe the sparse input distribution; one-hot inputs refuse non-default values.
SPARSE_ONLY = ("feature_prob", "batch_size", "correlation")

#: torch's default weight decay for each optimizer (AdamW 0.01, SGD 0); used when none is given.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01, "sgd": 0.0, "gd-prox": 0.0}

#: Seeds :func:`incipoly.train` trains when none are given (seeds 0 … 15): enough for a mean ± SE.
DEFAULT_SEEDS = 16
#: Log-spaced history points :func:`incipoly.train` and :func:`incipoly.sweep` record by default.
DEFAULT_RECORD = 32
#: The paper's band: a neuron is polysemantic when more than one feature has ``|W_ik|`` in it.
POLYSEMANTIC_BAND = (0.8, 1.2)

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
    inputs : {"one-hot", "sparse"}
        ``one-hot`` (the paper's): every step the full batch of the ``n`` one-hot vectors, loss
        summed over it. ``sparse`` (Toy Models of Superposition): ``batch_size`` fresh examples
        per step; feature ``i`` of an example is active with probability ``feature_prob`` and
        then has magnitude ``U(0, 1)``, else 0. Batches are drawn inside the compiled loop from
        counter-based random numbers (:mod:`incipoly.kernels.sparse_cpu`).
    feature_prob : float
        ``p ∈ (0, 1]`` (sparse only; TMS's ``1 − S``). One-hot inputs refuse any value but 1.
    batch_size : int
        Examples per step ``B ≥ 1`` (sparse only, default 1024). One-hot refuses any but 1024.
    importance : float
        ``r ∈ (0, 1]``: output ``j`` is weighted ``r^j`` in the loss (1 = uniform). Both inputs.
    correlation : {"none", "correlated", "anticorrelated"}
        Sparse only. Features form pairs (0, 1), (2, 3), …; with odd ``n`` the last feature is
        unpaired and independent. ``correlated``: a pair is active together with probability
        ``p`` (magnitudes independent U(0, 1)). ``anticorrelated``: with probability ``2p``
        exactly one of the two is active, each chosen with probability ½, so they never co-occur
        (needs ``p ≤ ½``). Every feature is active with marginal probability ``p`` in all modes.
    bias : bool
        Decoder bias ``b`` (init 0): ``y_j = ReLU(D_j·h + b_j)``. Both inputs.
    tied : bool
        ``True``: the decoder is ``D = W`` (the paper's). ``False``: a decoder ``D`` of its own,
        shape ``(n, m)``, initialised like ``W`` (drawn after ``W`` from the same generator).
    noise_scope : {"step", "example"}
        ``step``: one hidden-noise vector per step shared by the batch (the paper's);
        ``example``: a fresh vector per example (per one-hot input, per sparse example).

    Notes
    -----
    Loss per instance, with ``h_b = Σ_i x_bi W_i + ξ_b`` and ``y_bj = ReLU(D_j·h_b + b_j)``:

    * one-hot (``x_b = e_b``, ``B = n``): ``L = Σ_b Σ_j r^j (y_bj − x_bj)² + λ Σ|W|``, summed as
      the paper's reference does;
    * sparse: ``L = (1/B) Σ_b Σ_j r^j (y_bj − x_bj)² + λ Σ|W|`` (TMS's importance-weighted mean
      over the batch). On the one-hot batch (``B = n``, ``r = 1``) the summed form is ``n`` × the
      mean form, so a one-hot λ corresponds to a sparse λ/n.

    The L1 term acts on the encoder ``W`` only; weight decay acts on every parameter
    (``W``, ``D``, ``b``), as ``torch.optim.AdamW([W, D, b], weight_decay=wd)`` does.

    Raises
    ------
    ValueError
        For a field out of range or not among its choices (the message names field, value and
        the accepted range); :class:`~incipoly.errors.WrongTypeError` for a field of the wrong type.

    Examples
    --------
    >>> import incipoly as ip
    >>> cfg = ip.Config(n_features=3, n_hidden=4, steps=20, l1=1e-2)
    >>> cfg
    Config(n_features=3, n_hidden=4, steps=20, optimizer='adamw', l1=0.01)
    >>> cfg.replace(noise="bernoulli", noise_std=0.1).noise_std
    0.1
    >>> ip.Config.from_json(cfg.to_json()) == cfg
    True
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
    inputs: str = "one-hot"
    feature_prob: float = 1.0
    batch_size: int = 1024
    importance: float = 1.0
    correlation: str = "none"
    bias: bool = False
    tied: bool = True
    noise_scope: str = "step"

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
        self._check_model_family()

    def _check_model_family(self):
        """Validate the sparse / untied / bias fields (see the class docstring)."""
        _check_choice("inputs", self.inputs, INPUTS)
        _check_choice("correlation", self.correlation, CORRELATIONS)
        _check_choice("noise_scope", self.noise_scope, NOISE_SCOPES)
        _check_unit_interval("feature_prob", self.feature_prob)
        _check_unit_interval("importance", self.importance)
        _check_int("batch_size", self.batch_size, 1)
        _check_bool("bias", self.bias)
        _check_bool("tied", self.tied)
        for name in ("feature_prob", "importance"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "batch_size", int(self.batch_size))
        if self.inputs == "one-hot":
            for name in SPARSE_ONLY:
                if getattr(self, name) != MODEL_FAMILY_DEFAULTS[name]:
                    raise ValueError(
                        f"{name} applies to inputs='sparse' only (one-hot inputs are the full "
                        f"batch of the n one-hot vectors); got {name}={getattr(self, name)!r} "
                        f"with inputs='one-hot', accepted there: {MODEL_FAMILY_DEFAULTS[name]!r}")
        if self.correlation == "anticorrelated" and self.feature_prob > 0.5:
            raise ValueError(f"feature_prob must be in (0, 0.5] with correlation='anticorrelated' "
                             f"(a pair is active with probability 2p); got {self.feature_prob!r}")

    @property
    def is_default_model(self) -> bool:
        """True for the paper's model: one-hot inputs, tied, no bias, uniform importance,
        noise shared by the step (the fast one-hot kernels of :mod:`incipoly.kernels.cpu`)."""
        return all(getattr(self, k) == v for k, v in MODEL_FAMILY_DEFAULTS.items())

    def __repr__(self) -> str:
        """``Config(...)`` with the shapes, steps and optimizer always, other fields only where
        they differ from the default (it still evaluates to an equal Config)."""
        always = ("n_features", "n_hidden", "steps", "optimizer")
        default = Config(optimizer=self.optimizer)      # weight_decay's default is per optimizer
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                 if f.name in always or getattr(self, f.name) != getattr(default, f.name)]
        return f"Config({', '.join(shown)})"

    def replace(self, **changes) -> Config:
        """Copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """All fields, except model-family fields at their default (:data:`MODEL_FAMILY_DEFAULTS`)."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if not (k in MODEL_FAMILY_DEFAULTS and v == MODEL_FAMILY_DEFAULTS[k])}

    @classmethod
    def from_dict(cls, data: dict) -> Config:
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
    def from_json(cls, text: str) -> Config:
        return cls.from_dict(json.loads(text))


def _check_int(name, value, minimum, maximum=None):
    check_int(name, value, minimum, maximum)


def _check_float(name, value, strictly_positive=False):
    check_real(name, value, 0.0, strict=strictly_positive)


def _check_unit_interval(name, value):
    check_real(name, value, 0.0, strict=True, high=1.0)


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise WrongTypeError(f"{name} must be True or False; got {value!r} of type "
                             f"{type(value).__name__}")


def _check_choice(name, value, choices):
    check_choice(name, value, choices)


def _check_noise_pair(noise, noise_std):
    """``noise_std > 0`` needs a noise kind: with ``noise="none"`` it would be stored and ignored."""
    if noise == "none" and noise_std > 0:
        raise ValueError(f"noise_std={noise_std!r} > 0 needs a noise kind: set noise to one of "
                         f"{', '.join(NOISES[1:])}, or noise_std to 0")


__all__ = ["OPTIMIZERS", "NOISES", "INITS", "DTYPES", "INPUTS", "CORRELATIONS", "NOISE_SCOPES",
           "MODEL_FAMILY_DEFAULTS", "SPARSE_ONLY", "DEFAULT_WEIGHT_DECAY", "DEFAULT_SEEDS",
           "DEFAULT_RECORD", "POLYSEMANTIC_BAND", "ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS", "Config"]
