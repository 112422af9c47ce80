"""Short reprs for result objects: a few characters per field, never a whole array.

Used by the ``__repr__`` of the NamedTuple results (metrics, superposition, analytic); it imports
only numpy, so any module may use it without an import cycle.
"""
from __future__ import annotations

import numpy as np


def brief(value) -> str:
    """A few characters for one field of a repr: a number, a short list, the mean of a long
    1-D array or the shape of a larger one (never the array itself)."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        return repr(value)
    if a.ndim == 0:
        return f"{float(a):.4g}"
    if a.ndim == 1 and a.size <= 4:
        return "[" + ", ".join(f"{float(v):.4g}" for v in a) + "]"
    if a.ndim == 1:
        return f"mean {float(a.mean()):.4g} over {a.size}"
    return f"{a.dtype} array {a.shape}"


def brief_repr(obj, fields=None, head="") -> str:
    """``Name(head; field=brief, …)`` for a NamedTuple or similar object (see :func:`brief`)."""
    fields = obj._fields if fields is None else fields
    body = ", ".join(f"{k}={brief(getattr(obj, k))}" for k in fields)
    return f"{type(obj).__name__}({head + '; ' if head else ''}{body})"


__all__ = ["brief", "brief_repr"]
