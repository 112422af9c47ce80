"""The force decomposition of the loss gradient, checked symbolically (theory/forces.py)."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import theory.forces as forces


@pytest.mark.parametrize("positive", forces.all_regions(3), ids=lambda p: f"{len(p)}pos")
def test_forces_equal_minus_gradient_in_every_sign_region(positive):
    # n = 3, m = 2: every subset of the three pairs with G_ij > 0 is its own polynomial region.
    assert forces.region_gap(3, 2, positive).is_zero_matrix


def test_region_check_detects_a_wrong_constant():
    # The check is sharp: drop the factor 4 of the interference force and the gap is nonzero.
    W = forces.symbolic_weights(2, 2)
    lam = forces.sp.Symbol("lambda", positive=True)
    pair = {frozenset((0, 1))}
    G = W * W.T
    L = forces.loss(W, lam, relu=lambda x: 0) + 2 * G[0, 1] ** 2
    wrong = forces.forces(W, lam, pair) + 3 * G[0, 1] * forces.sp.Matrix.vstack(W.row(1), W.row(0))
    gap = forces.sp.Matrix(2, 2, lambda i, k: -forces.sp.diff(L, W[i, k])) - wrong
    assert not forces.sp.simplify(gap).is_zero_matrix


nonzero = st.fractions(min_value=-2, max_value=2, max_denominator=9).filter(lambda q: q != 0)


@settings(deadline=None, derandomize=True, max_examples=15)
@given(values=st.lists(st.lists(nonzero, min_size=2, max_size=2), min_size=3, max_size=3),
       lam=st.fractions(min_value=0, max_value=1, max_denominator=9))
def test_forces_equal_minus_gradient_with_real_relu_at_rational_points(values, lam):
    W = [[forces.sp.Rational(q.numerator, q.denominator) for q in row] for row in values]
    G = [[sum(a * b for a, b in zip(W[i], W[j], strict=True)) for j in range(3)] for i in range(3)]
    assume(all(G[i][j] != 0 for i in range(3) for j in range(3) if i != j))  # off the ReLU kink
    assert forces.point_gap(W, forces.sp.Rational(lam.numerator, lam.denominator)).is_zero_matrix
