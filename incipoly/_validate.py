"""Argument checks shared by every public function: each error names the argument, the value
and what is accepted.

A value of the wrong *type* (a string, a bool or an array where a number is expected, a complex
or boolean array where real weights are expected) raises :class:`WrongTypeError`, a ``TypeError``
that is also a ``ValueError`` so callers written against earlier versions, which raised
``ValueError`` for everything, still catch it. A value of the right type outside the accepted range
raises ``ValueError``. Nothing is coerced silently: ``"0.1"``, ``True`` and ``np.array([0.1])`` are
not numbers here.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import WrongTypeError

#: Largest step count and seed count accepted (int64 counters, float64-exact step numbers).
MAX_STEPS = 2 ** 53
MAX_INSTANCES = 2 ** 31 - 1
MAX_SEED = 2 ** 63 - 1




def shown(value) -> str:
    """``repr`` of ``value``, shortened for long arrays and strings."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_real_number(value) -> bool:
    """True for a Python or NumPy real scalar that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(name, value, minimum, maximum=None) -> int:
    """``value`` as a Python int in ``[minimum, maximum]``.

    Raises
    ------
    WrongTypeError
        If ``value`` is not an integer (bools, floats and strings are refused).
    ValueError
        If it lies outside the range.
    """
    accepted = f"an integer >= {minimum}" if maximum is None else \
        f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise WrongTypeError(f"{name} must be {accepted}; got {shown(value)} "
                             f"of type {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {accepted}; got {shown(value)}")
    return int(value)


def check_real(name, value, low=0.0, strict=False, high=None) -> float:
    """``value`` as a finite float ``> low`` (``strict``) or ``>= low``, and ``<= high`` if given.

    Raises
    ------
    WrongTypeError
        If ``value`` is not a real number (bools, strings and arrays are refused).
    ValueError
        If it is NaN, infinite, too large for a float, or out of range.
    """
    bound = f"> {low:g}" if strict else f">= {low:g}"
    if high is not None:
        bound += f" and <= {high:g}"
    accepted = f"a finite number {bound}"
    if not is_real_number(value):
        raise WrongTypeError(f"{name} must be {accepted}; got {shown(value)} "
                             f"of type {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be {accepted}; got {shown(value)} (too large)") from None
    if (not math.isfinite(x) or x < low or (strict and x == low)
            or (high is not None and x > high)):
        raise ValueError(f"{name} must be {accepted}; got {shown(value)}")
    return x


def check_choice(name, value, choices) -> str:
    """``value`` if it is one of the strings ``choices``."""
    accepted = f"one of {', '.join(choices)}"
    if not isinstance(value, str):
        raise WrongTypeError(f"{name} must be {accepted}; got {shown(value)} "
                             f"of type {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    return value


def check_real_array(name, value, ndims=None, finite=True, shapes=None) -> np.ndarray:
    """``value`` as a non-empty real (integer or float, not bool or complex) NumPy array.

    Parameters
    ----------
    name : str
    value : array_like
    ndims : tuple of int, optional
        Accepted numbers of dimensions; ``shapes`` describes them in the message.
    finite : bool
        Refuse NaN and ±inf.

    Raises
    ------
    WrongTypeError
        If the entries are not real numbers (strings, objects, bools, complex).
    ValueError
        If the array is empty, has the wrong number of dimensions or (``finite``) a NaN or inf.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise WrongTypeError(f"{name} must be a real array (integers or floats); got "
                             f"{shown(value)}") from None
    if arr.dtype.kind not in "iuf":
        raise WrongTypeError(f"{name} must be a real array (integers or floats); got dtype "
                             f"{arr.dtype}")
    if (ndims is not None and arr.ndim not in ndims) or arr.size == 0:
        shape = f" of shape {shapes or ndims}" if ndims is not None else ""
        raise ValueError(f"{name} must be a non-empty array{shape}; got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return arr


def check_band(name, band) -> tuple[float, float]:
    """``(low, high)`` with ``0 <= low <= high``, both finite numbers."""
    try:
        pair = not isinstance(band, (str, bytes)) and len(band) == 2
    except TypeError:                   # no len(): a number, a 0-d array, None ...
        pair = False
    if not pair:
        raise WrongTypeError(f"{name} must be a pair (low, high) of numbers; got {shown(band)}")
    lo = check_real(f"{name}[0] (low)", band[0])
    hi = check_real(f"{name}[1] (high)", band[1])
    if lo > hi:
        raise ValueError(f"{name} must be (low, high) with 0 <= low <= high; got {shown(band)}")
    return lo, hi


_SHAPES = "(n, m) or (instances, n, m)"


def weights_batch(W, name="W"):
    """``W`` as a 3-D real array and whether it was a single 2-D instance.

    Raises WrongTypeError for bool, complex, string or object arrays, ValueError for an empty
    array, a wrong number of dimensions, NaN or inf (each naming ``name``).
    """
    arr = check_real_array(name, W, (2, 3), shapes=_SHAPES)
    if arr.ndim == 2:
        return arr[None], True
    return arr, False


def unbatch(x, single):
    """``x[0]`` for a single-instance input (see :func:`weights_batch`), else ``x``."""
    return x[0] if single else x
