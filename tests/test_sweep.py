"""Resumable sweep store: SIGKILL mid-run, resume, and get the uninterrupted result bit for bit."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip

GRID = [ip.Config(n_features=6, n_hidden=12, steps=20000, optimizer="sgd", lr=0.02, l1=0.0,
                  noise="bernoulli", noise_std=0.1),
        ip.Config(n_features=5, n_hidden=9, steps=20000, lr=1e-2)]
SEEDS = [0, 1, 2, 3, 4, 5]

CHILD = """
import sys, incipoly as ip
from test_sweep import GRID, SEEDS
ip.sweep(GRID, SEEDS, sys.argv[1], chunk_seeds=1, keep_weights=True, progress=False)
"""


def chunk_files(path):
    return sorted(p.name for p in (Path(path) / "chunks").iterdir())


def load_all(path):
    """Every chunk's arrays, without ``_meta`` (which names the writer: pid, run id, time)."""
    out = {}
    for name in chunk_files(path):
        with np.load(Path(path) / "chunks" / name, allow_pickle=False) as z:
            out[name] = {k: z[k] for k in z.files if k != "_meta"}
    return out


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(killed)], env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            done = [n for n in chunk_files(killed) if n.endswith(".npz")] if (killed / "chunks").is_dir() else []
            if len(done) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed; make it longer"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = load_all(killed)                      # every chunk on disk is complete and loadable
    assert 3 <= len(partial) < len(GRID) * len(SEEDS)

    ip.sweep(GRID, SEEDS, killed, chunk_seeds=1, keep_weights=True, progress=False, resume=True)
    full = ip.sweep(GRID, SEEDS, tmp_path / "full", chunk_seeds=1, keep_weights=True, progress=False)

    assert chunk_files(killed) == chunk_files(full.path)      # no duplicates, no temp files
    a, b = load_all(killed), load_all(full.path)
    for name in a:
        assert a[name].keys() == b[name].keys()
        for k in a[name]:
            assert a[name][k].tobytes() == b[name][k].tobytes(), (name, k)
        assert a[name]["W"].tobytes() == partial.get(name, a[name])["W"].tobytes()


def test_result_concatenates_chunks_in_seed_order(tmp_path):
    cfg = ip.Config(n_features=4, n_hidden=8, steps=50)
    st = ip.sweep([cfg], [7, 3, 9, 1, 4], tmp_path / "s", chunk_seeds=2, keep_weights=True,
                  progress=False, record=5)
    res = st.result(0)
    assert list(res["seed"]) == [7, 3, 9, 1, 4]
    run = ip.train(cfg, [7, 3, 9, 1, 4], record=5, progress=False)
    assert res["W"].tobytes() == run.W.tobytes()
    assert res["history_loss"].shape == run.history["loss"].shape
    np.testing.assert_array_equal(res["polysemantic"], ip.metrics.polysemantic_neurons(run.W))


def test_store_refuses_other_sweep(tmp_path):
    cfg = ip.Config(n_features=3, n_hidden=4, steps=5)
    ip.sweep([cfg], 2, tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="resume"):
        ip.sweep([cfg], 2, tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="different sweep"):
        ip.sweep([cfg.replace(steps=6)], 2, tmp_path / "s", progress=False, resume=True)
    st = ip.sweep([cfg], 2, tmp_path / "s", progress=False, resume=True)   # nothing left to do
    assert len(st.result(0)["seed"]) == 2


@pytest.mark.parametrize("kwargs", [{"grid": []}, {"grid": ["x"]}, {"chunk_seeds": 0}])
def test_bad_sweep_arguments(tmp_path, kwargs):
    args = {"grid": [ip.Config(steps=1)], "chunk_seeds": 1, **kwargs}
    with pytest.raises(ValueError):
        ip.sweep(args["grid"], 2, tmp_path / "s", chunk_seeds=args["chunk_seeds"], progress=False)
