"""CUDA backend vs the CPU backend and tests/naive.py, run in numba-cuda's simulator.

The simulator has to be switched on before ``numba.cuda`` is imported, so the CUDA side runs in
two subprocesses (``tests/cuda_sim_check.py``, half of the cases each, side by side) while the CPU
references are computed here. The error-message tests run in this process, without a simulator.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import incipoly as ip
from incipoly.init import initial_weights, noise_keys
from incipoly.training import _CpuState

import cuda_sim_check as check
import naive

CHECK = Path(__file__).with_name("cuda_sim_check.py")
NPARTS = 2
CASES = check.cases()
TRAIN_CASES = [c for c in CASES if not c.get("divergence")]
DIVERGENCE_CASES = [c for c in CASES if c.get("divergence")]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Arrays computed by the CUDA backend under the simulator, keyed as in cuda_sim_check."""
    tmp = tmp_path_factory.mktemp("cudasim")
    env = check.check_env()
    outs = [tmp / f"part{k}.npz" for k in range(NPARTS)]
    procs = [subprocess.Popen([sys.executable, str(CHECK), str(out), str(k), str(NPARTS)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for k, out in enumerate(outs)]
    logs = [p.communicate(timeout=900)[0] for p in procs]
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-4000:]
    merged = {}
    launched = set()
    for out in outs:
        with np.load(out) as data:
            merged.update({key: data[key] for key in data.files})
            launched.update(data["signatures"].tolist())
    merged["signatures"] = np.array(sorted(launched))
    return merged


def assert_close(got, ref, dtype):
    """float64: ≤ 1e-10 absolute; float32: ≤ 1e-5 relative to the largest weight."""
    assert got.dtype == ref.dtype == np.dtype(dtype)
    err = np.abs(got.astype(np.float64) - ref).max()
    bound = 1e-10 if dtype == "float64" else 1e-5 * np.abs(ref).max()
    assert err <= bound, f"max |cuda − ref| = {err:.3g} > {bound:.3g}"


@pytest.mark.parametrize("case", TRAIN_CASES, ids=[c["name"] for c in TRAIN_CASES])
def test_cuda_matches_cpu_and_naive(case, sim):
    name = case["name"]
    assert str(sim[name + "/path"]) == case["path"]
    cfg = check.config(case)
    cpu = ip.train(cfg, seeds=case["seeds"], record=2, progress=False,
                   chunk_steps=check.CHUNK_STEPS)
    W = sim[name + "/W"]
    assert_close(W, cpu.W, case["dtype"])
    np.testing.assert_allclose(sim[name + "/loss"], cpu.history["loss"],
                               rtol=1e-9 if case["dtype"] == "float64" else 1e-4)
    assert np.abs(cpu.W - cpu.W0).max() > 1e-3       # the run moved the weights
    if case["dtype"] == "float64":
        keys = noise_keys(case["seeds"])
        for s in range(len(case["seeds"])):
            ref = naive.train(cpu.W0[s], cfg.steps, cfg.optimizer, cfg.lr, cfg.l1,
                              cfg.weight_decay, cfg.noise, cfg.noise_std, keys[s])
            assert np.abs(W[s] - ref).max() <= 1e-10


@pytest.mark.parametrize("case", DIVERGENCE_CASES, ids=[c["name"] for c in DIVERGENCE_CASES])
def test_divergence_steps_match_cpu(case, sim):
    assert str(sim[case["name"] + "/path"]) == case["path"]
    cfg = check.config(case)
    state = _CpuState(cfg, initial_weights(cfg, case["seeds"]), noise_keys(case["seeds"]))
    ref = check.advance_in_chunks(state, case["bounds"])
    assert (ref >= 0).any() and len(set(ref.tolist())) > 1   # diverging at different steps
    np.testing.assert_array_equal(sim[case["name"] + "/bad_step"], ref)


def test_simulator_counts_as_a_cuda_backend(sim):
    assert list(sim["available_backends"]) == ["cpu", "cuda"]


def test_import_incipoly_does_not_import_cuda():
    code = ("import sys, incipoly; "
            "assert 'incipoly.kernels.cuda' not in sys.modules and 'numba.cuda' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_clear_error_without_gpu(monkeypatch):
    from numba import cuda
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    assert ip.available_backends() == ["cpu"]
    cfg = ip.Config(n_features=3, n_hidden=4, steps=5)
    with pytest.raises(RuntimeError, match=r'no usable NVIDIA GPU.*pip install "incipoly\[cuda\]"'):
        ip.train(cfg, seeds=1, backend="cuda", progress=False)


def test_clear_error_without_numba_cuda(monkeypatch):
    import numba

    from incipoly.kernels import cuda_device as kc
    monkeypatch.setattr(kc, "cuda", None)
    cfg = ip.Config(n_features=3, n_hidden=4, steps=5)
    with pytest.raises(ImportError, match=r'needs numba-cuda.*pip install "incipoly\[cuda\]"'):
        ip.train(cfg, seeds=1, backend="cuda", progress=False)
    # `from numba import cuda` fails as it does where no CUDA target is installed.
    monkeypatch.delattr(numba, "cuda")
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    assert ip.available_backends() == ["cpu"]


def test_compile_check_compiles_exactly_what_is_launched(sim):
    """Every launch's argument types, over all cases, are the signatures that
    ``incipoly.kernels.cuda_check`` compiles for these kernels (both dtypes), and nothing else."""
    import cuda_sim_check
    launched = set(sim["signatures"].tolist())
    assert launched == cuda_sim_check.expected_signatures(("small", "noise", "gram", "residual", "step"))
