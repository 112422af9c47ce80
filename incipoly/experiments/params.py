"""The experiments' parameters at both scales and what every experiment returns (:class:`Result`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Scales of every experiment: ``small`` (seconds, the figure's shape) and ``paper`` (its sizes).
SCALES = ("small", "paper")

#: Hidden-noise settings of the noise experiment: (kind, σ).
NOISE_SETTINGS = (("bernoulli", 0.07), ("bernoulli", 0.1), ("bernoulli", 0.15),
                  ("gaussian", 0.07), ("gaussian", 0.1), ("gaussian", 0.15),
                  ("uniform", 0.1), ("laplace", 0.1))

#: The paper's AdamW setting (torch's default weight decay 0.01) used by collisions, correlations
#: and curves.
ADAMW: dict[str, Any] = {"optimizer": "adamw", "lr": 1e-3, "steps": 7500}

#: Parameters of every experiment at every scale.
SCALE_PARAMS = {
    "sparsity": {
        "small": {"n_hidden": 10_000, "l1": 1e-3, "lr": 0.05, "flow_time": 2e3, "record": 96},
        "paper": {"n_hidden": 100_000, "l1": 1e-5, "lr": 0.05, "flow_time": 2e5, "record": 96},
    },
    "noise": {
        "small": {"n_features": 8, "n_hidden": 16, "steps": 20_000, "seeds": 5, "lr": 0.02},
        "paper": {"n_features": 8, "n_hidden": 16, "steps": 100_000, "seeds": 5, "lr": 0.02},
    },
    "collisions": {
        "small": {"n_features": 32, "n_hidden": (32, 64, 128, 256, 512), "l1": (1e-3,),
                  "seeds": 16, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": tuple(range(256, 4097, 256)), "l1": (1e-3,),
                  "seeds": 16, "chunk_seeds": 4},
    },
    "correlations": {
        "small": {"n_features": 32, "n_hidden": 256, "l1": 1e-3, "seeds": 8, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": 4096, "l1": 1e-3, "seeds": 8, "chunk_seeds": 2},
    },
    "curves": {
        "small": {"n_features": 32, "n_hidden": (32, 64, 128, 256), "l1": (1e-3, 1e-2, 1e-1),
                  "seeds": 16, "chunk_seeds": 8},
        "paper": {"n_features": 256, "n_hidden": (256, 512, 1024, 2048, 4096),
                  "l1": (1e-3, 1e-2, 1e-1), "seeds": 16, "chunk_seeds": 4},
    },
    # Toy Models of Superposition's n = 20, m = 5, importance 0.7^i, sparse inputs, bias, tied,
    # Adam (AdamW without decay), no L1; p log-spaced from 1 down to 1e-3.
    "superposition": {
        "small": {"n_features": 20, "n_hidden": 5, "importance": 0.7,
                  "p": tuple(float(x) for x in np.logspace(0, -3, 7)),
                  "batch_size": 256, "steps": 2000, "lr": 1e-2, "seeds": 4, "chunk_seeds": 4},
        "paper": {"n_features": 20, "n_hidden": 5, "importance": 0.7,
                  "p": tuple(float(x) for x in np.logspace(0, -3, 13)),
                  "batch_size": 1024, "steps": 10_000, "lr": 1e-3, "seeds": 8, "chunk_seeds": 8},
    },
    # m ≥ n with L1 (λ = l1_scale·p/3 keeps the L1-to-fit ratio of the one-hot loss, where each
    # feature contributes 1 per step against p·E[x²] = p/3 per sparse example); AdamW.
    "cooccurrence": {
        "small": {"n_features": 16, "n_hidden": 32, "p": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                  "l1_scale": 0.1, "batch_size": 128, "steps": 2000, "lr": 1e-2, "seeds": 8,
                  "chunk_seeds": 8},
        "paper": {"n_features": 16, "n_hidden": 32,
                  "p": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
                  "l1_scale": 0.1, "batch_size": 512, "steps": 6000, "lr": 1e-2, "seeds": 32,
                  "chunk_seeds": 16},
    },
}


@dataclass(frozen=True)
class Result:
    """What an experiment returns.

    Attributes
    ----------
    name, scale : str
    params : dict
        The experiment's parameters at this scale (an entry of :data:`SCALE_PARAMS`).
    tables : dict of str to dict of str to ndarray
        Figure data: table name → columns (1-D arrays of equal length); one CSV per table.
    summary : str
        One line for stdout.

    Parameters
    ----------
    name, scale : str
    params : dict
    tables : dict
    summary : str

    Examples
    --------
    >>> import numpy as np
    >>> from incipoly.experiments import Result
    >>> Result("curves", "small", {}, {"bands": {"m": np.arange(3)}}, "three widths")
    Result('curves', scale='small'; tables bands (3 rows); 'three widths')
    """

    name: str
    scale: str
    params: dict
    tables: dict
    summary: str

    def __repr__(self) -> str:
        tables = ", ".join(f"{k} ({len(next(iter(v.values()), ()))} rows)"
                           for k, v in self.tables.items())
        return f"Result({self.name!r}, scale={self.scale!r}; tables {tables}; {self.summary!r})"


#: Experiments whose widths ``m`` can be chosen (``widths=`` / ``--widths``).
WIDTH_EXPERIMENTS = ("collisions", "curves")


def _params(name, scale, widths=None):
    """The parameters of ``name`` at ``scale``; ``widths`` replaces its list of ``m``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    p = SCALE_PARAMS[name][scale]
    if widths is None:
        return p
    if name not in WIDTH_EXPERIMENTS:
        raise ValueError(f"widths apply to {' and '.join(WIDTH_EXPERIMENTS)} only; "
                         f"got widths for {name!r}")
    ws = list(widths)
    if not ws or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1
                     for w in ws) or len(set(ws)) != len(ws):
        raise ValueError(f"widths must be distinct integers >= 1; got {ws!r}")
    return {**p, "n_hidden": tuple(sorted(int(w) for w in ws))}


__all__ = ["SCALES", "NOISE_SETTINGS", "ADAMW", "SCALE_PARAMS", "Result", "WIDTH_EXPERIMENTS"]
