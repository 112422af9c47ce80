"""Superposition metrics on weights whose answers are known, and the necessary / incidental split
on trained models where it is known (one-hot with m ≥ n; sparse with m < n at small p)."""
import numpy as np
import pytest

import incipoly as ip
from incipoly import metrics


def pentagon(r=1.0):
    ang = 2 * np.pi * np.arange(5) / 5
    return r * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def test_dimensions_per_feature_known_geometries():
    # orthogonal features: 1 each; an antipodal pair: 1/2 each; a pentagon in a plane: 2/5 each;
    # a feature that is not represented: 0 (its norm is 0).
    W = np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 1, 0], [0, 0, -1, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(metrics.dimensions_per_feature(W), [1, 1, 0.5, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(metrics.dimensions_per_feature(pentagon(0.9)), np.full(5, 0.4),
                               atol=1e-12)
    batch = np.stack([W, -W])
    assert metrics.dimensions_per_feature(batch).shape == (2, 5)


def test_dimensions_per_feature_matches_the_tms_loop(rng):
    W = rng.normal(size=(3, 6, 4))
    got = metrics.dimensions_per_feature(W)
    for s in range(3):
        for i in range(6):
            wi = W[s, i]
            unit = wi / np.linalg.norm(wi)
            ref = wi @ wi / sum((unit @ W[s, j]) ** 2 for j in range(6))
            assert got[s, i] == pytest.approx(ref, rel=1e-12)


def test_hidden_dimensions_and_represented():
    W = np.vstack([pentagon(), np.zeros((3, 2)), [[0.4, 0.0]]])
    assert metrics.hidden_dimensions_per_feature(W) == pytest.approx(2 / (5 + 0.16))
    assert metrics.represented_features(W) == 5
    assert metrics.represented_features(W, threshold=0.3) == 6
    with pytest.raises(ValueError, match="threshold"):
        metrics.represented_features(W, threshold=-1)


def test_usage_sharing_signs_and_relative_criterion():
    # neuron 0: features 0 (+) and 1 (−) → opposite sign; neuron 1: features 2 (+2) and 3 (+0.6·2)
    # → same sign (relative: 1.2 ≥ 0.5·1.5 is feature 3's own max); neuron 2: feature 4 only, and
    # feature 3's small 0.3 there is below half of its max; feature 5 is not represented.
    W = np.array([[1.0, 0, 0], [-0.9, 0, 0], [0, 2.0, 0], [0, 1.5, 0.3], [0, 0, 3.0],
                  [0.3, 0.3, 0]])
    use = metrics.neuron_usage(W)
    np.testing.assert_array_equal(use, [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1],
                                        [0, 0, 0]])
    sh = metrics.polysemanticity(W)
    assert (sh.polysemantic, sh.same_sign, sh.opposite_sign, sh.represented) == (2, 1, 1, 5)
    # R = 5 > m = 3: at least min(3, 5 − 3) = 2 neurons must be shared, so both are necessary.
    assert (sh.necessary, sh.incidental) == (2, 0)
    np.testing.assert_array_equal(sh.neuron_class, [2, 2, 0])
    with pytest.raises(ValueError, match="fraction"):
        metrics.neuron_usage(W, fraction=1.5)


def test_split_counts_and_labels_follow_the_capacity_argument():
    # m = 4, R = 4: nothing is necessary; one collision at init on neuron 0 → incidental.
    W = np.array([[1.0, 0, 0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    sh = metrics.polysemanticity(W, W0=W + 0.01)
    assert (sh.polysemantic, sh.necessary, sh.incidental) == (1, 0, 1)
    np.testing.assert_array_equal(sh.neuron_class, [1, 0, 0, 0])
    # add two features on neurons 1 and 3: R = 6, m = 4 → min(4, 2) = 2 neurons must be shared,
    # so both polysemantic neurons (0 and 1) are necessary, the init collision notwithstanding.
    W2 = np.vstack([W, [[0, 1.0, 0, 0], [0, 0, 0, -1.0]]])
    W0 = np.vstack([W, [[0, 0, 0, 1.0], [0, 0, 1.0, 0]]])
    sh2 = metrics.polysemanticity(W2, W0=W0)
    assert (sh2.polysemantic, sh2.necessary, sh2.incidental) == (2, 2, 0)
    W3 = np.vstack([W2, [[0, 0, 1.0, 0]]])   # R = 7: min(4, 3) = 3 necessary of 3
    sh3 = metrics.polysemanticity(W3, W0=np.vstack([W0, [[1.0, 0, 0, 0]]]))
    assert (sh3.polysemantic, sh3.necessary, sh3.incidental) == (3, 3, 0)
    np.testing.assert_array_equal(metrics.necessary_count([3, 5, 9, 20], 4), [0, 1, 4, 4])
    with pytest.raises(ValueError, match="same shape"):
        metrics.polysemanticity(W, W0=W[:2])


def test_one_hot_with_more_neurons_than_features_is_all_incidental():
    """The paper's setting, m ≥ n: every polysemantic neuron is incidental (and some exist)."""
    cfg = ip.Config(n_features=8, n_hidden=12, steps=1500, optimizer="adamw", lr=2e-2, l1=1e-2,
                    dtype="float64")
    run = ip.train(cfg, seeds=24, progress=False)
    sh = metrics.polysemanticity(run.W, W0=run.W0)
    assert sh.polysemantic.sum() > 0
    assert (sh.necessary == 0).all() and (sh.incidental == sh.polysemantic).all()
    assert (sh.represented == 8).all()


def test_sparse_superposition_is_necessary_at_small_p():
    """n = 20, m = 5, importance 0.7^i: dense inputs keep 5 features (one dimension each, no
    necessary sharing); at p = 0.02 more than m features are represented and necessary sharing
    dominates."""
    base = dict(n_features=20, n_hidden=5, steps=1500, optimizer="adamw", lr=1e-2, l1=0.0,
                weight_decay=0.0, inputs="sparse", batch_size=256, importance=0.7,
                init="xavier", bias=True)
    dense = ip.train(ip.Config(**base, feature_prob=1.0), seeds=4, progress=False)
    sparse = ip.train(ip.Config(**base, feature_prob=0.02), seeds=4, progress=False)
    shd = metrics.polysemanticity(dense.W, W0=dense.W0)
    shs = metrics.polysemanticity(sparse.W, W0=sparse.W0)
    assert (shd.represented == 5).all() and (shd.necessary == 0).all()
    np.testing.assert_allclose(metrics.hidden_dimensions_per_feature(dense.W), 1, atol=0.02)
    assert (shs.represented > 5).all()
    assert shs.necessary.sum() > shs.incidental.sum()
    assert (metrics.hidden_dimensions_per_feature(sparse.W) < 0.75).all()
