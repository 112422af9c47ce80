"""Argument checks shared by the theory modules: each names the argument, value and range.

Thin wrappers over :mod:`incipoly._validate`: a wrong type raises ``WrongTypeError`` (a
``TypeError`` that is also a ``ValueError``), a bad value ``ValueError``.
"""
from __future__ import annotations

import numpy as np

from .._validate import WrongTypeError, check_real, check_real_array, shown


def _integers(name, value, minimum):
    """``value`` as a float64 array of integers ``>= minimum`` (scalars allowed)."""
    accepted = f"an integer >= {minimum} (or an array of them)"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise WrongTypeError(f"{name} must be {accepted}; got {shown(value)}") from None
    if arr.dtype.kind not in "iuf":
        raise WrongTypeError(f"{name} must be {accepted}; got {shown(value)}")
    if arr.size == 0:
        raise ValueError(f"{name} must be {accepted}; got an empty array")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)) or np.any(arr < minimum):
        raise ValueError(f"{name} must be {accepted}; got {shown(value)}")
    return arr


def _real(name, value, low=0.0, strict=False):
    """A finite float ``> low`` (``strict``) or ``>= low``."""
    return check_real(name, value, low, strict)


_SHAPES = {1: "(m,)", 2: "(n, m)", 3: "(instances, n, m)"}


def _weights(name, value, ndims):
    """A finite, non-empty float64 array with ``ndim`` in ``ndims``."""
    shapes = " or ".join(_SHAPES[d] for d in ndims)
    return check_real_array(name, value, ndims, shapes=shapes).astype(np.float64)


def _is_real_array(x):
    try:
        return np.asarray(x).dtype.kind in "iuf"
    except (TypeError, ValueError, OverflowError):
        return False


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x
