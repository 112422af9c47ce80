"""theory/relocation.py: the relocation (population) model of the cross-neuron repulsion.

Stage 1 of issue 22: with the bath switched off (ε = 0) the model is the exclusion law (R = 1),
derived in sympy and held numerically; the rate fit inverts the model."""
import math

import pytest
import sympy as sp

import theory.relocation as rl


def test_without_the_bath_independent_placement_is_the_fixed_point():
    A, m = sp.symbols("A m", positive=True)
    assert any(sp.simplify(root - A ** 2 / m) == 0 for root in rl.fixed_point_without_bath())


@pytest.mark.parametrize("A, m, T", [(8, 16, 0.3), (16, 64, 2.0), (32, 512, 1.0), (24, 48, 5.0)])
def test_bath_off_gives_ratio_one_and_equal_leave_probabilities(A, m, T):
    R, leave_mixed, leave_sole = rl.solve(A, m, T, 0.0)
    assert R == pytest.approx(1, abs=1e-7)
    assert leave_sole == pytest.approx(1 - math.exp(-T), rel=1e-6)      # rate 1, absorbed
    assert leave_mixed == pytest.approx(leave_sole, rel=1e-6)


@pytest.mark.parametrize("eps", [0.2, 1.0])
def test_bath_on_lowers_the_ratio_and_mixed_owners_leave_more(eps):
    R, leave_mixed, leave_sole = rl.solve(16, 64, 1.0, eps)
    assert R < 1 and leave_mixed > leave_sole


def test_rate_fit_inverts_the_model():
    _, lm, ls = rl.solve(16, 64, 0.7, 0.4)
    T, eps = rl.fit_rates(16, 64, ls, lm)
    assert (T, eps) == pytest.approx((0.7, 0.4), rel=1e-4)
