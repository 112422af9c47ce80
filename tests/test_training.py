"""Compiled training loop vs the plain NumPy reference, gradients vs finite differences."""
import numpy as np
import pytest

import incipoly as ip
from incipoly.init import noise_keys
from incipoly.kernels import cpu, noise

import naive

SHAPES = [(3, 5), (6, 2), (4, 1), (1, 7), (5, 5)]
NOISES = ["none", "bernoulli", "gaussian", "uniform", "laplace"]


@pytest.mark.parametrize("n,m", SHAPES)
@pytest.mark.parametrize("with_noise", [False, True])
def test_gradient_matches_central_differences(n, m, with_noise, rng):
    W = rng.normal(0, 0.7, (n, m))
    xi = rng.normal(0, 0.3, m) if with_noise else np.zeros(m)
    l1 = 0.01
    _, grad = cpu.loss_and_grad(W, xi, l1)
    h = 1e-6
    fd = np.empty_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        fd[idx] = (cpu.loss_and_grad(Wp, xi, l1)[0] - cpu.loss_and_grad(Wm, xi, l1)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize("n,m", SHAPES + [(70, 60)])
@pytest.mark.parametrize("use_blas", [False, True])
def test_loss_and_gradient_match_naive(n, m, use_blas, rng):
    W = rng.normal(0, 0.7, (n, m))
    xi = rng.normal(0, 0.3, m)
    loss, grad = cpu.loss_and_grad(W, xi, 0.02, use_blas)
    loss_ref, grad_ref = naive.loss_and_grad(W, xi, 0.02)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("optimizer,lr,l1", [("adamw", 1e-2, 1e-2), ("sgd", 2e-2, 1e-2),
                                             ("gd-prox", 2e-2, 5e-2)])
@pytest.mark.parametrize("n,m", SHAPES)
@pytest.mark.parametrize("noise_kind", ["none", "bernoulli", "gaussian"])
def test_trajectory_matches_naive(optimizer, lr, l1, n, m, noise_kind):
    cfg = ip.Config(n_features=n, n_hidden=m, steps=200, optimizer=optimizer, lr=lr, l1=l1,
                    weight_decay=0.05, noise=noise_kind,
                    noise_std=0.0 if noise_kind == "none" else 0.1, dtype="float64")
    run = ip.train(cfg, seeds=[3, 11], progress=False, chunk_steps=37)
    keys = noise_keys([3, 11])
    for s in range(2):
        ref = naive.train(run.W0[s], 200, optimizer, lr, l1, 0.05, noise_kind, 0.1, keys[s])
        assert np.abs(run.W[s] - ref).max() <= 1e-10


@pytest.mark.parametrize("noise_kind", ["uniform", "laplace"])
def test_other_noises_match_naive(noise_kind):
    cfg = ip.Config(n_features=4, n_hidden=6, steps=200, optimizer="sgd", lr=0.02, l1=0.0,
                    noise=noise_kind, noise_std=0.15, dtype="float64")
    run = ip.train(cfg, seeds=[5], progress=False)
    ref = naive.train(run.W0[0], 200, "sgd", 0.02, 0.0, 0.0, noise_kind, 0.15, noise_keys([5])[0])
    assert np.abs(run.W[0] - ref).max() <= 1e-10


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_blas_path_trajectory_matches_naive(optimizer):
    """n·m ≥ BLAS_MIN_SIZE: gemm for G, dense gemm then sparse rows for (D + Dᵀ)W as training sparsifies."""
    n, m = 48, 96
    assert n * m >= cpu.BLAS_MIN_SIZE
    cfg = ip.Config(n_features=n, n_hidden=m, steps=200, optimizer=optimizer, lr=0.02, l1=1e-3,
                    noise="bernoulli", noise_std=0.05, dtype="float64")
    run = ip.train(cfg, seeds=[1], progress=False)
    ref = naive.train(run.W0[0], 200, optimizer, 0.02, 1e-3, cfg.weight_decay, "bernoulli", 0.05,
                      noise_keys([1])[0])
    assert np.abs(run.W[0] - ref).max() <= 1e-10


def test_float32_tracks_float64():
    # SGD without L1 is smooth, so rounding differences stay at the float32 level
    # (AdamW + L1 amplifies them near w = 0, where sign(w) flips).
    cfg = ip.Config(n_features=6, n_hidden=12, steps=300, optimizer="sgd", lr=2e-2, l1=0.0,
                    noise="bernoulli", noise_std=0.1, dtype="float64")
    W64 = ip.train(cfg, seeds=2, progress=False).W
    W32 = ip.train(cfg.replace(dtype="float32"), seeds=2, progress=False).W
    assert W32.dtype == np.float32
    assert np.abs(W32 - W64).max() < 1e-4


@pytest.mark.parametrize("kind", NOISES[1:])
def test_noise_stream_matches_reference_generator(kind):
    key = int(noise_keys([7])[0])
    with np.errstate(over="ignore"):  # uint64 wrap-around is the point of the hash
        for step in (0, 1, 12345):
            got = [noise.noise_value(noise.NOISE_CODES[kind], 0.3, np.uint64(key), step, j, 9)
                   for j in range(9)]
            np.testing.assert_allclose(got, naive.noise(kind, 0.3, key, step, 9), rtol=1e-15)


# E z⁴ and E z⁸ of the standardised noise (z = ξ/σ).
MOMENTS = {"bernoulli": (1.0, 1.0), "uniform": (1.8, 9.0), "gaussian": (3.0, 105.0),
           "laplace": (6.0, 2520.0)}


@pytest.mark.parametrize("kind", sorted(MOMENTS))
def test_noise_moments(kind):
    """Mean 0, E z² = 1 and E z⁴ = κ + 3, each within 5 standard errors (N = 40 000, fixed key)."""
    N, sigma = 40_000, 0.5
    key = int(noise_keys([1])[0])
    z = np.array([naive.noise(kind, sigma, key, t, 1)[0] for t in range(N)]) / sigma
    m4, m8 = MOMENTS[kind]
    assert abs(z.mean()) <= 5 / np.sqrt(N)
    assert abs((z ** 2).mean() - 1) <= 5 * np.sqrt((m4 - 1) / N) + 1e-12
    assert abs((z ** 4).mean() - m4) <= 5 * np.sqrt((m8 - m4 ** 2) / N) + 1e-12


def test_divergence_names_seed_and_step():
    cfg = ip.Config(n_features=4, n_hidden=4, steps=200, optimizer="sgd", lr=5.0, l1=0.0)
    with pytest.raises(ip.DivergenceError, match=r"seed 7 .*step \d+"):
        ip.train(cfg, seeds=[7], progress=False)


def test_history_shapes_and_values():
    cfg = ip.Config(n_features=5, n_hidden=9, steps=120, dtype="float64")
    run = ip.train(cfg, seeds=3, record=10, keep_weights=True, progress=False)
    h = run.history
    R = len(h["step"])
    assert h["step"][0] == 0 and h["step"][-1] == 120 and np.all(np.diff(h["step"]) > 0)
    assert h["loss"].shape == (R, 3) and h["l4"].shape == (R, 3, 5) and h["W"].shape == (R, 3, 5, 9)
    np.testing.assert_array_equal(h["W"][0], run.W0)
    np.testing.assert_array_equal(h["W"][-1], run.W)
    for r in (0, R - 1):
        for s in range(3):
            Wr = h["W"][r, s]
            loss, _ = naive.loss_and_grad(Wr, np.zeros(9), cfg.l1)
            assert h["loss"][r, s] == pytest.approx(loss, rel=1e-12)
            np.testing.assert_allclose(h["l4"][r, s], (Wr ** 4).sum(axis=1), rtol=1e-12)
            np.testing.assert_allclose(h["l1"][r, s], np.abs(Wr).sum(axis=1), rtol=1e-12)
            np.testing.assert_array_equal(h["active"][r, s], (np.abs(Wr) > 1e-3).sum(axis=1))
    assert h["loss"][-1].mean() < h["loss"][0].mean()


def test_explicit_record_list_still_trains_all_steps():
    cfg = ip.Config(n_features=4, n_hidden=8, steps=10, dtype="float64")
    run = ip.train(cfg, seeds=1, record=[0, 5], progress=False)
    full = ip.train(cfg, seeds=1, progress=False)
    assert list(run.history["step"]) == [0, 5, 10]
    assert run.W.tobytes() == full.W.tobytes()


def test_explicit_W0_is_used_and_not_modified(rng):
    cfg = ip.Config(n_features=3, n_hidden=4, steps=10, dtype="float64")
    W0 = rng.normal(size=(3, 4))
    keep = W0.copy()
    run = ip.train(cfg, seeds=2, W0=W0, progress=False)
    np.testing.assert_array_equal(W0, keep)
    np.testing.assert_array_equal(run.W0[0], W0)
    np.testing.assert_array_equal(run.W[0], run.W[1])


def test_zero_steps_returns_initial_weights():
    run = ip.train(ip.Config(n_features=3, n_hidden=4, steps=0), seeds=2, progress=False)
    np.testing.assert_array_equal(run.W, run.W0)


def test_history_loss_on_the_gemm_path_matches_naive(rng):
    W = rng.normal(0, 0.1, (2, 70, 80))          # 70·80 ≥ BLAS_MIN_SIZE
    assert 70 * 80 >= cpu.BLAS_MIN_SIZE
    loss = np.zeros(2)
    per_feature = [np.zeros((2, 70)) for _ in range(3)] + [np.zeros((2, 70), np.int64)]
    cpu.row_stats(W, 0.01, 1e-3, loss, *per_feature)
    for s in range(2):
        assert loss[s] == pytest.approx(naive.loss_and_grad(W[s], np.zeros(80), 0.01)[0], rel=1e-12)
