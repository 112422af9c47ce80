"""Same seeds → same bits: across calls, thread counts, chunkings and company."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip

ROOT = Path(__file__).resolve().parents[1]

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


THREADS_SCRIPT = """
import hashlib, json, sys, numba, incipoly as ip
from test_determinism import CONFIGS
digests = [hashlib.sha256(ip.train(c, seeds=7, progress=False).W.tobytes()).hexdigest()
           for c in CONFIGS]
print(json.dumps({"threads": numba.get_num_threads(), "digests": digests}))
"""


def _train_with_threads(threads):
    """Train CONFIGS (7 seeds each) in a fresh process whose numba pool has ``threads`` threads."""
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    out = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_thread_count_does_not_change_bits():
    """One thread against three (fresh processes, so the pool size is real even on one core):
    the seeds are split over the threads differently, the weights are the same bits."""
    one, three = _train_with_threads(1), _train_with_threads(3)
    assert (one["threads"], three["threads"]) == (1, 3)
    assert one["digests"] == three["digests"]


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
