"""Symbolic derivations (sympy) behind :mod:`incipoly.analytic`; read with ``theory/README.md``.

Not installed and never imported by ``incipoly``; the tests put the repository root on
``sys.path`` and import these modules to check the numeric code against them.

forces          gradient of the loss for one feature's row (benefit, interference, L1)
birthday        birthday law with signs: mean, variance, colliding pairs, series in 1/m
cascade         deferred-acceptance cascade: slow reference implementations, 1/m expansion
sparsification  reduced one-feature L1 flow, half-normal profile, the paper's approximation
noise           kurtosis of the noise laws, projected noise, Gaussian loss, Edgeworth term
exclusion       the predictive model: two independent one-per-sign placements, mean and variance
prediction_grid the 64-seed acceptance grid of the predictive model and its table (section g)
"""
