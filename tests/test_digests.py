"""Bit-for-bit guard: sha256 digests of the final weights of small fixed runs.

The digests were recorded from the code before the package was reorganised (issue 18); any
refactor that moves code must leave every one of them unchanged. A digest covers the bytes of
``W`` and, where the model has them, the untied decoder ``W_dec`` and the bias ``b``, in that
order, each as C-contiguous little-endian arrays of the run's dtype.

The minibatch-kernel runs (sparse inputs, and one-hot models with an untied decoder, bias,
importance or per-example noise) sit in their own table, ``MINIBATCH_DIGESTS``: issue 21
rewrote that kernel on purpose (a geometric-gap sampler with a new counter layout, and
blocked sums in another order), so those digests were re-recorded after the rewrite, once
its float64 results matched the NumPy reference in ``tests/naive.py``. Three of them (the runs
with a bias whose blocks take the Gram path) were re-recorded once more when that path moved
to example-major rows, which sums ``∂L/∂b = Σ_c E_c`` in another order; the random stream
did not change (the other five digests are the same). The paper's one-hot
kernel was not touched: ``ONE_HOT_DIGESTS`` are the digests recorded before the
reorganisation.
"""
import hashlib

import numpy as np
import pytest

import incipoly as ip


def weights_digest(run) -> str:
    """sha256 over ``W`` then ``W_dec`` and ``b`` where present (little-endian, C order)."""
    h = hashlib.sha256()
    for name in ("W", "W_dec", "b"):
        a = getattr(run, name)
        if a is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def _train(**fields):
    cfg = ip.Config(**{"n_features": 6, "n_hidden": 9, "steps": 40, **fields})
    return ip.train(cfg, seeds=[0, 3, 7], progress=False)


ONE_HOT_CASES = {
    "adamw-none-f32": dict(optimizer="adamw", lr=1e-2, l1=1e-2),
    "adamw-none-f64": dict(optimizer="adamw", lr=1e-2, l1=1e-2, dtype="float64"),
    "sgd-none-f32": dict(optimizer="sgd", lr=5e-2, l1=1e-2),
    "sgd-wd-f64": dict(optimizer="sgd", lr=5e-2, l1=1e-2, weight_decay=0.1, dtype="float64"),
    "gdprox-none-f64": dict(optimizer="gd-prox", lr=5e-2, l1=5e-2, dtype="float64"),
    "gdprox-none-f32": dict(optimizer="gd-prox", lr=5e-2, l1=5e-2),
    "adamw-bernoulli-f32": dict(optimizer="adamw", lr=1e-2, noise="bernoulli", noise_std=0.1),
    "adamw-gaussian-f64": dict(optimizer="adamw", lr=1e-2, noise="gaussian", noise_std=0.1,
                               dtype="float64"),
    "sgd-uniform-f32": dict(optimizer="sgd", lr=5e-2, noise="uniform", noise_std=0.1),
    "gdprox-laplace-f64": dict(optimizer="gd-prox", lr=5e-2, l1=1e-2, noise="laplace",
                               noise_std=0.1, dtype="float64"),
}

ONE_HOT_DIGESTS = {
    "adamw-bernoulli-f32": "dc6f12fe4da77a50fff4568e2ffb6833683c21055f77ab24c322917cd55c49a7",
    "adamw-gaussian-f64": "7a47a475c2fe6c40e7ebe0a6b8e611a5c86e4635a4ae04e08d127f9a1f83faa4",
    "adamw-none-f32": "0d0aa6514265f7f55acd325840bedc2bb7894081f1615fa278453a186f87e55c",
    "adamw-none-f64": "5345d8919a396b8183b7337de65fed73e8c3c8512f1dbb0b35cf3d8b4a3df103",
    "gdprox-laplace-f64": "61ed6db3dc697051e62cd8618bb2514e2b82a1049745a509379b5b04ccb382bd",
    "gdprox-none-f32": "416f572dd2da4989f1680e75c62a00c74276046a187c23440da5dd2bae6ad17e",
    "gdprox-none-f64": "290fa4b0e5ed4d192ddba7a59636a0ed86c22b331f6374fcade8769c632ea901",
    "sgd-none-f32": "a1694bd0bd82b42c8b4fc397638c987ebd9368270961d5c42488ddbf0e6209d2",
    "sgd-uniform-f32": "e6c832613e32975bd42bbc82ffb5664e52ce8b069e4e4a8473e727cae31f945b",
    "sgd-wd-f64": "d62ed7caf106aa0abadac600cd923935bfa1d8b26222bb9890b33f08081847f6",
}

MINIBATCH_CASES = {
    "adamw-xavier-example-noise-f32": dict(init="xavier", noise="gaussian", noise_std=0.2,
                                           noise_scope="example", lr=1e-2),
    "adamw-untied-bias-importance-f32": dict(tied=False, bias=True, importance=0.8, lr=1e-2),
    "sgd-untied-bias-f64": dict(optimizer="sgd", lr=5e-2, tied=False, bias=True,
                                dtype="float64"),
    "sparse-adamw-f32": dict(inputs="sparse", feature_prob=0.2, batch_size=16, lr=1e-2),
    "sparse-sgd-importance-f64": dict(inputs="sparse", feature_prob=0.3, batch_size=8,
                                      optimizer="sgd", lr=5e-2, importance=0.7, dtype="float64"),
    "sparse-gdprox-correlated-f64": dict(inputs="sparse", feature_prob=0.2, batch_size=8,
                                         optimizer="gd-prox", lr=5e-2, l1=1e-2,
                                         correlation="correlated", dtype="float64"),
    "sparse-anticorr-untied-bias-f32": dict(inputs="sparse", feature_prob=0.2,
                                                  batch_size=8, correlation="anticorrelated",
                                                  tied=False, bias=True, lr=1e-2),
    "sparse-gaussian-example-noise-f32": dict(inputs="sparse", feature_prob=0.2, batch_size=8,
                                              noise="gaussian", noise_std=0.1,
                                              noise_scope="example", lr=1e-2),
}

# Minibatch-kernel digests, re-recorded after issue 21's rewrite (see the module docstring).
MINIBATCH_DIGESTS = {
    "adamw-xavier-example-noise-f32": "a524700313a18945e63d87c0c476a45586a4118db8f545dd72faca869861dec0",
    "adamw-untied-bias-importance-f32": "efead3a90fd68f7e02d979b20bc67ecb7fc90b2891907ccd8be67ab177e0108e",
    "sgd-untied-bias-f64": "22de46636396abaa1057c1786eb7db3b561c9098130e811eddf5c963cf00f5f4",
    "sparse-adamw-f32": "02060adccd7ca5778a3c32a5f9153c183e59057013ac7aca07714cc84ff22146",
    "sparse-anticorr-untied-bias-f32": "0dfdb5441e40b3601b1d2dd330c1e0fb123c55f0f4c6c4eef3219d3c54fa856c",
    "sparse-gaussian-example-noise-f32": "769def689143369cc31105280610c6ae4ace20f967d5dbf6e1b7089467281ec8",
    "sparse-gdprox-correlated-f64": "7efb36dd9f91da3eb1733ab8a6473eb7a16e473d22b318ece2aee976d23425d6",
    "sparse-sgd-importance-f64": "7c4afe59fc601b4c20a9376ac32a960d632367c618015bda449716b215e379e1",
}


@pytest.mark.parametrize("name", sorted(ONE_HOT_CASES))
def test_one_hot_weights_unchanged(name):
    assert weights_digest(_train(**ONE_HOT_CASES[name])) == ONE_HOT_DIGESTS[name]


@pytest.mark.parametrize("name", sorted(MINIBATCH_CASES))
def test_minibatch_weights_unchanged(name):
    assert weights_digest(_train(**MINIBATCH_CASES[name])) == MINIBATCH_DIGESTS[name]


def test_digest_sees_every_array():
    """The digest changes when any one of W, W_dec or b changes by one ulp."""
    run = _train(tied=False, bias=True, lr=1e-2)
    base = weights_digest(run)
    for name in ("W", "W_dec", "b"):
        a = getattr(run, name)
        saved = a.flat[0]
        a.flat[0] = np.nextafter(saved, np.inf)
        assert weights_digest(run) != base, name
        a.flat[0] = saved
    assert weights_digest(run) == base
