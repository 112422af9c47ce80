"""The minibatch model's CUDA backend against the CPU backend, run in numba-cuda's simulator (in a
subprocess: the simulator has to be chosen before ``numba.cuda`` is imported)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip

import cuda_sim_check
import sparse_cuda_sim_check as check

CHECK = Path(__file__).with_name("sparse_cuda_sim_check.py")
CASES = check.cases()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sparse_cudasim") / "sim.npz"
    env = cuda_sim_check.check_env()
    proc = subprocess.run([sys.executable, str(CHECK), str(out)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name,fields", CASES, ids=[c[0] for c in CASES])
def test_cuda_matches_cpu(name, fields, sim):
    cfg = check.config(fields)
    ref, message = check.run(cfg, "cpu")
    assert str(sim[f"{name}/divergence"]) == message
    if message:
        assert "diverged" in message
        return
    for key, want in ref.items():
        got = sim[f"{name}/{key}"]
        assert got.dtype == want.dtype and got.shape == want.shape
        err = np.abs(got.astype(np.float64) - want).max()
        bound = (1e-10 if cfg.dtype == "float64" else 1e-5) * max(1.0, np.abs(want).max())
        assert err <= bound, f"{key}: max |cuda − cpu| = {err:.3g} > {bound:.3g}"
    assert set(ref) == {k.split("/", 1)[1] for k in sim if k.startswith(name + "/")} - {"divergence"}


def test_same_seed_same_bits(sim):
    """Batch-tile partial gradients are summed in a fixed order (no atomics): a second run of the
    first case gives the same bits (meaningful on a GPU, where block timing varies)."""
    name = CASES[0][0]
    again = {k.split("/", 1)[1]: v for k, v in sim.items() if k.startswith("again/")}
    assert set(again) == {"W", "loss", "b"}
    for key, v in again.items():
        np.testing.assert_array_equal(v, sim[f"{name}/{key}"])


NAIVE_CASES = [c for c in CASES if c[1].get("dtype") == "float64" and not c[0].startswith("divergence")]


@pytest.mark.parametrize("name,fields", NAIVE_CASES, ids=[c[0] for c in NAIVE_CASES])
def test_cuda_matches_naive(name, fields, sim):
    """float64: the batch-tiled CUDA kernels against tests/naive.py's plain NumPy loop."""
    from test_sparse import naive_run
    cfg = check.config(fields)
    run = ip.train(cfg, seeds=check.SEEDS, progress=False, chunk_steps=check.CHUNK_STEPS)
    for s in range(len(check.SEEDS)):
        W, D, b = naive_run(cfg, run, s)
        assert np.abs(sim[f"{name}/W"][s] - W).max() <= 1e-10
        if D is not None:
            assert np.abs(sim[f"{name}/W_dec"][s] - D).max() <= 1e-10
        if b is not None:
            assert np.abs(sim[f"{name}/b"][s] - b).max() <= 1e-10


def test_clear_errors_without_gpu_or_numba_cuda(monkeypatch):
    from numba import cuda

    from incipoly.kernels import cuda_device as kc
    cfg = check.config(CASES[0][1])
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r'no usable NVIDIA GPU.*pip install "incipoly\[cuda\]"'):
        ip.train(cfg, seeds=1, backend="cuda", progress=False)
    monkeypatch.setattr(kc, "cuda", None)
    with pytest.raises(ImportError, match=r'needs numba-cuda.*pip install "incipoly\[cuda\]"'):
        ip.train(cfg, seeds=1, backend="cuda", progress=False)


def test_compile_check_compiles_exactly_what_is_launched(sim):
    """Every launch's argument types, over all cases, are the signatures that
    ``incipoly.kernels.cuda_check`` compiles for these kernels (both dtypes), and nothing else."""
    launched = set(sim["signatures"].tolist())
    assert launched == cuda_sim_check.expected_signatures(("sparse_batch", "sparse_update"))
