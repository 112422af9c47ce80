"""The deferred-acceptance cascade: fast numpy version against slow references of its definition."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import theory.cascade as cascade
from incipoly import analytic
from incipoly.config import Config
from incipoly.init import initial_weights


def weight_matrices(max_n=9, max_m=6):
    shapes = st.tuples(st.integers(1, max_n), st.integers(1, max_m))
    ties = st.integers(-3, 3).map(float)          # many ties and zeros exercise the tie-breaking
    floats = st.floats(-2, 2, allow_nan=False, width=32)
    return shapes.flatmap(lambda s: st.one_of(arrays(np.float64, s, elements=ties),
                                              arrays(np.float64, s, elements=floats)))


@settings(deadline=None, derandomize=True, max_examples=200)
@given(W0=weight_matrices(), order_seed=st.integers(0, 2 ** 32 - 1))
def test_fast_cascade_equals_greedy_and_any_proposal_order(W0, order_seed):
    rng = np.random.default_rng(order_seed)
    expected = cascade.greedy(W0)
    for _ in range(3):                            # three random interleavings of proposals
        assert cascade.by_proposals(W0, rng) == expected
    assert analytic.cascade_assignment(W0).tolist() == expected
    assert analytic.cascade_polysemantic(W0) == cascade.polysemantic_count(W0, expected)


@settings(deadline=None, derandomize=True, max_examples=100)
@given(W0=weight_matrices())
def test_cascade_never_undoes_an_initial_opposite_sign_collision(W0):
    assert analytic.cascade_polysemantic(W0) >= cascade.initial_both_signs(W0)


def test_matching_is_stable_and_complete():
    # No feature and slot both prefer each other to what they hold; with n <= m nobody is left out.
    W0 = np.random.default_rng(0).normal(size=(12, 12))
    neuron = analytic.cascade_assignment(W0)
    assert (neuron >= 0).all()
    holder = {(k, W0[i, k] > 0): i for i, k in enumerate(neuron)}
    for i in range(12):
        for k in range(12):
            if abs(W0[i, k]) > abs(W0[i, neuron[i]]):
                j = holder.get((k, W0[i, k] > 0))
                assert j is not None and abs(W0[j, k]) > abs(W0[i, k])


def test_batches_equal_single_instances():
    W0 = np.random.default_rng(1).normal(size=(7, 10, 6))
    batch = analytic.cascade_assignment(W0)
    assert batch.shape == (7, 10)
    assert all((batch[s] == analytic.cascade_assignment(W0[s])).all() for s in range(7))
    counts = analytic.cascade_polysemantic(W0)
    assert counts.tolist() == [analytic.cascade_polysemantic(W0[s]) for s in range(7)]


def test_expected_cascade_is_the_mean_over_trainer_initialisations():
    n, m, seeds = 8, 8, [3, 5, 11, 12, 40]
    W0 = initial_weights(Config(n_features=n, n_hidden=m, dtype="float64"), seeds)
    counts = np.array([analytic.cascade_polysemantic(w) for w in W0], dtype=float)
    mean, se = analytic.expected_cascade_polysemantic(n, m, seeds=seeds)
    assert mean == counts.mean() and se == pytest.approx(counts.std(ddof=1) / np.sqrt(5))
    assert analytic.expected_cascade_polysemantic(n, m, seeds=seeds) == (mean, se)


def test_second_order_expansion_cancels():
    birthday, displaced, total = cascade.second_order_expansion()
    n, m = cascade.n, cascade.m
    assert sp.simplify(total - n * (n - 1) / (4 * m)) == 0
    assert sp.simplify(displaced + birthday.coeff(m, -2) / m ** 2) == 0


def test_mean_is_opposite_sign_pairs_to_second_order():
    # E_cascade = n(n−1)/4m + O(n³/m³). Estimate it as exact birthday mean + mean(cascade − first-
    # choice count) on the same W0 (the difference has a small variance); 10000 draws, fixed seed.
    n, m, S = 16, 128, 10000
    W0 = np.random.default_rng(11).normal(size=(S, n, m))
    k = np.abs(W0).argmax(axis=2)
    sign = np.take_along_axis(W0, k[..., None], axis=2)[..., 0] > 0
    first = np.zeros((S, m, 2), dtype=bool)
    first[np.arange(S)[:, None], k, sign.astype(int)] = True
    gained = analytic.cascade_polysemantic(W0) - first.all(axis=2).sum(axis=1)
    estimate = analytic.expected_polysemantic(n, m) + gained.mean()
    se = gained.std(ddof=1) / np.sqrt(S)
    pairs = n * (n - 1) / (4 * m)
    assert abs(estimate - pairs) < 4 * se
    assert abs(analytic.expected_polysemantic(n, m) - pairs) > 10 * se   # the birthday law alone is off


@pytest.mark.parametrize("bad, message", [
    (np.ones(4), "W0 must be a non-empty array of shape"), (np.ones((2, 2, 2, 2)), "W0 must be"),
    (np.zeros((0, 3)), "W0 must be"), (np.array([[1.0, np.nan]]), "W0 must be finite"),
    ([["a"]], "W0 must be a real array"),
])
def test_bad_weights_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        analytic.cascade_assignment(bad)
    with pytest.raises(ValueError, match=message):
        analytic.cascade_polysemantic(bad)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0, m=4), "^n must be an integer >= 1"), (dict(n=2.0, m=4), "^n must"),
    (dict(n=4, m=0), "^m must be an integer >= 1"), (dict(n=4, m=True), "^m must"),
    (dict(n=4, m=4, seeds=1), "at least 2 seeds"), (dict(n=4, m=4, seeds=[1, 1]), "seeds must be distinct"),
    (dict(n=4, m=4, seeds=-2), "seeds must be"), (dict(n=4, m=4, init="uniform"), "^init must be one of"),
])
def test_expected_cascade_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analytic.expected_cascade_polysemantic(**kwargs)
