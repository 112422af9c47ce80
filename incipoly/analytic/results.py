"""Named results of the theory functions: every estimate with an uncertainty is a NamedTuple.

NamedTuples unpack like the plain tuples they replace (``mean, se = ...`` keeps working) and
name their fields for a reader. :class:`~incipoly.analytic.exclusion.Prediction` (mean, sd,
mean_se) is the predictive model's.
"""
from __future__ import annotations

from typing import NamedTuple


class Estimate(NamedTuple):
    """A Monte Carlo or sampled estimate: its ``mean`` and that mean's standard error ``se``."""

    mean: float
    se: float


class Moments(NamedTuple):
    """Exact per-seed ``mean`` and variance ``var`` of a count (floats, or arrays that broadcast)."""

    mean: float
    var: float


class Interval(NamedTuple):
    """An interval ``[low, high]`` (floats, or arrays that broadcast)."""

    low: float
    high: float


__all__ = ["Estimate", "Moments", "Interval"]
