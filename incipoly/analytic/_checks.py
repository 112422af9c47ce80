"""Argument checks shared by the theory modules: each names the argument, value and range."""
from __future__ import annotations

import math
import numbers

import numpy as np


def _integers(name, value, minimum):
    """``value`` as a float64 array of integers ``>= minimum`` (scalars allowed), else ValueError."""
    bad = ValueError(f"{name} must be an integer >= {minimum} (or an array of them); got {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise bad from None
    if arr.size == 0 or arr.dtype.kind not in "iuf":
        raise bad
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)) or np.any(arr < minimum):
        raise bad
    return arr


def _real(name, value, low=0.0, strict=False):
    """A finite float ``> low`` (``strict``) or ``>= low``, else ValueError."""
    bound = f"> {low:g}" if strict else f">= {low:g}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x < low or (strict and x == low):
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return x


def _weights(name, value, ndims):
    """A finite float64 array with ``ndim`` in ``ndims``, else ValueError."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real array; got {value!r}") from None
    if arr.ndim not in ndims or arr.size == 0:
        shapes = " or ".join({1: "(m,)", 2: "(n, m)", 3: "(instances, n, m)"}[d] for d in ndims)
        raise ValueError(f"{name} must be a non-empty array of shape {shapes}; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return arr


def _is_real_array(x):
    try:
        return np.asarray(x).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x
