"""Metrics against hand-made examples and the naive reference."""
import numpy as np
import pytest

import incipoly as ip
from incipoly import metrics

import naive


def test_polysemantic_matches_naive(rng):
    W = rng.uniform(-1.5, 1.5, size=(4, 7, 9))
    got = metrics.polysemantic_neurons(W)
    assert got.shape == (4,)
    assert list(got) == [naive.polysemantic_neurons(w) for w in W]
    assert metrics.polysemantic_neurons(W[0]) == got[0]


def test_polysemantic_hand_example():
    W = np.array([[1.0, 0.0, 0.9],
                  [-1.1, 0.0, 0.0],
                  [0.0, 1.0, 0.85]])
    assert metrics.polysemantic_neurons(W) == 2          # neuron 0 (±) and neuron 2 (+, +)
    assert metrics.polysemantic_neurons(W, band=(0.95, 1.2)) == 1
    assert metrics.polysemantic_neurons_above(W, 0.5) == 2
    a = metrics.assignments(W)
    assert list(a.neuron) == [0, 0, 1] and list(a.sign) == [1, -1, 1]
    assert a.carried[1, 0] == -1 and a.carried[0, 1] == 0


def test_initial_collisions_hand_example():
    W0 = np.array([[0.9, 0.1, 0.0],     # +0
                   [-0.8, 0.2, 0.0],    # -0
                   [0.7, 0.0, 0.1],     # +0
                   [0.0, 0.0, -0.5]])   # -2
    c = metrics.initial_collisions(W0)
    assert list(c.neuron) == [0, 0, 0, 2] and list(c.sign) == [1, -1, 1, -1]
    assert c.pairs == 3 and c.same_sign_pairs == 1 and c.mixed_neurons == 1


def test_initial_collisions_batch_matches_loop(rng):
    W0 = rng.normal(size=(5, 12, 6))
    c = metrics.initial_collisions(W0)
    for s in range(5):
        one = metrics.initial_collisions(W0[s])
        assert one.pairs == c.pairs[s] and one.mixed_neurons == c.mixed_neurons[s]
        arg = np.abs(W0[s]).argmax(axis=1)
        sg = np.sign(W0[s][np.arange(12), arg])
        pairs = sum(arg[i] == arg[j] for i in range(12) for j in range(i + 1, 12))
        same = sum(arg[i] == arg[j] and sg[i] == sg[j] for i in range(12) for j in range(i + 1, 12))
        assert pairs == c.pairs[s] and same == c.same_sign_pairs[s]


def test_winner_rank():
    W0 = np.array([[0.5, -0.9, 0.1], [0.3, 0.2, 0.1]])
    W = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    assert list(metrics.winner_rank(W0, W)) == [1, 2]
    assert list(metrics.winner_rank(W0, W0)) == [0, 0]


def test_start_end_correlation(rng):
    W0 = rng.normal(size=(3, 5, 8))
    r = metrics.start_end_correlation(W0, 2 * W0 + 1)
    np.testing.assert_allclose(r, 1.0)
    np.testing.assert_allclose(metrics.start_end_correlation(W0, -W0), -1.0)
    ref = np.corrcoef(W0[1, 2], np.sin(W0[1, 2]))[0, 1]
    assert metrics.start_end_correlation(W0[1], np.sin(W0[1]))[2] == pytest.approx(ref)


def test_feature_norms(rng):
    W = rng.normal(size=(2, 3, 5))
    l2, l4 = metrics.feature_norms(W)
    np.testing.assert_allclose(l2, np.sqrt((W ** 2).sum(axis=2)))
    np.testing.assert_allclose(l4, (W ** 4).sum(axis=2))
    assert metrics.feature_norms(W[0])[1].shape == (3,)


@pytest.mark.parametrize("call", [
    lambda: metrics.polysemantic_neurons(np.zeros(3)),
    lambda: metrics.polysemantic_neurons(np.zeros((2, 2)), band=(1.2, 0.8)),
    lambda: metrics.polysemantic_neurons_above(np.zeros((2, 2)), -1),
    lambda: metrics.winner_rank(np.zeros((2, 3)), np.zeros((3, 2))),
])
def test_metric_input_errors(call):
    with pytest.raises(ValueError):
        call()


def test_trained_model_is_monosemantic_when_wide():
    """n = 4 features in m = 64 neurons: training puts each feature on one neuron at |w| ≈ 1."""
    cfg = ip.Config(n_features=4, n_hidden=64, steps=3000, lr=1e-2, l1=1e-2)
    run = ip.train(cfg, seeds=2, progress=False)
    a = metrics.assignments(run.W)
    assert (np.abs(run.W).max(axis=2) > 0.8).all()
    assert (np.abs(a.carried).sum(axis=2) == 1).all()


def test_mean_se():
    m, se = metrics.mean_se([1.0, 2.0, 3.0, 6.0])
    assert m == 3.0 and se == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2)
    assert np.isnan(metrics.mean_se([4.0])[1])
    m, se = metrics.mean_se(np.array([[1.0, 3.0], [2.0, 2.0]]), axis=1)
    np.testing.assert_allclose(m, [2.0, 2.0])
    np.testing.assert_allclose(se, [1.0, 0.0])
