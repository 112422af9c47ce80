"""Named results of the theory functions: every estimate with an uncertainty is a NamedTuple.

NamedTuples unpack like the plain tuples they replace (``mean, se = ...`` keeps working) and
name their fields for a reader. :class:`~incipoly.analytic.exclusion.Prediction` (mean, sd,
mean_se) is the predictive model's.
"""
from __future__ import annotations

from typing import NamedTuple


class Estimate(NamedTuple):
    """A Monte Carlo or sampled estimate: its ``mean`` and that mean's standard error ``se``.

    Examples
    --------
    >>> from incipoly.analytic import Estimate
    >>> mean, se = Estimate(mean=0.21, se=0.03)
    >>> Estimate(0.21, 0.03).se
    0.03
    """

    mean: float
    se: float


class Moments(NamedTuple):
    """Exact per-seed ``mean`` and variance ``var`` of a count (floats, or arrays that broadcast).

    Examples
    --------
    >>> from incipoly import analytic
    >>> analytic.exclusion_polysemantic(8, 64)
    Moments(mean=0.21875, var=0.19694010416666666)
    """

    mean: float
    var: float


class Interval(NamedTuple):
    """An interval ``[low, high]`` (floats, or arrays that broadcast).

    Examples
    --------
    >>> from incipoly import analytic
    >>> low, high = analytic.prediction_interval(0.4, 0.36, seeds=100)
    >>> round(low, 2), round(high, 2)
    (0.28, 0.52)
    """

    low: float
    high: float


__all__ = ["Estimate", "Moments", "Interval"]
