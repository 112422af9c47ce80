"""Same seeds → same bits: across calls, thread counts, chunkings and company."""
import numba
import numpy as np
import pytest

import incipoly as ip

CONFIGS = [
    ip.Config(n_features=6, n_hidden=10, steps=150, optimizer="adamw", noise="gaussian", noise_std=0.1),
    ip.Config(n_features=5, n_hidden=3, steps=150, optimizer="sgd", lr=0.02, noise="bernoulli",
              noise_std=0.1, dtype="float64"),
    ip.Config(n_features=4, n_hidden=8, steps=150, optimizer="gd-prox", lr=0.05, l1=0.05),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.optimizer)
def test_repeat_calls_are_identical(cfg):
    a = ip.train(cfg, seeds=4, progress=False)
    b = ip.train(cfg, seeds=4, progress=False)
    assert a.W.tobytes() == b.W.tobytes() and a.W0.tobytes() == b.W0.tobytes()


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.optimizer)
def test_thread_count_does_not_change_bits(cfg):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ip.train(cfg, seeds=5, progress=False).W
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = ip.train(cfg, seeds=5, progress=False).W
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.optimizer)
def test_seed_alone_equals_seed_among_others(cfg):
    together = ip.train(cfg, seeds=[9, 2, 31], progress=False)
    alone = ip.train(cfg, seeds=[2], progress=False)
    assert together.W[1].tobytes() == alone.W[0].tobytes()
    assert together.history["loss"][:, 1].tobytes() == alone.history["loss"][:, 0].tobytes()


def test_chunking_does_not_change_bits():
    cfg = CONFIGS[0]
    a = ip.train(cfg, seeds=2, progress=False, chunk_steps=1)
    b = ip.train(cfg, seeds=2, progress=False, chunk_steps=150, record=2)
    assert a.W.tobytes() == b.W.tobytes()


def test_different_seeds_differ():
    run = ip.train(CONFIGS[0], seeds=2, progress=False)
    assert not np.array_equal(run.W0[0], run.W0[1])
