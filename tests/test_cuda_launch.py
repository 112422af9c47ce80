"""Launch parameters of the CUDA kernels are refused before launch, with the parameter, its value and
the accepted range, on a machine without a GPU (the checks run before the GPU is looked for;
without one, a check that came later would raise the no-GPU RuntimeError instead). On a GPU
(``bench/gpu.sh``) the largest accepted values build their state.

The accepted ranges follow from the resource table of ``incipoly.kernels.cuda_check`` (registers
at the default block sizes, larger of sm_80 and sm_90); the expected numbers are derived here from
the same table with the register-allocation rule, not copied from the code under test.
"""
import numpy as np
import pytest

import incipoly as ip
from incipoly.init import initial_weights, noise_keys
from incipoly.kernels import cuda as kc
from incipoly.kernels import cuda_launch, sparse_cuda
from incipoly.kernels.cuda_resources import RESOURCES
from incipoly.training import _MinibatchCpuState


def table_max_threads(kernel, dtype):
    """Largest multiple-of-32 block whose registers (allocated per warp in units of 256) fit 65536."""
    regs = max(v["registers"] for (k, d, _), v in RESOURCES.items() if k == kernel and d == dtype)
    per_warp = -(-regs * 32 // 256) * 256
    return min(1024, 65536 // per_warp * 32)


def assert_accepted(make):
    """``make()`` passes the launch checks: it builds its state on a GPU, and elsewhere gets as
    far as the GPU lookup (the checks come first)."""
    from incipoly import available_backends
    if "cuda" in available_backends():
        make()
        return
    with pytest.raises((RuntimeError, ImportError), match="no usable NVIDIA GPU|needs numba-cuda"):
        make()


def onehot(n=4, m=3, S=2, dtype="float32"):
    cfg = ip.Config(n_features=n, n_hidden=m, steps=3, dtype=dtype)
    seeds = list(range(S))
    return cfg, initial_weights(cfg, seeds), noise_keys(seeds)


def minibatch(S=2, dtype="float64", batch_size=16):
    cfg = ip.Config(n_features=5, n_hidden=2, steps=3, inputs="sparse", feature_prob=0.2,
                    batch_size=batch_size, bias=True, dtype=dtype)
    seeds = list(range(S))
    return _MinibatchCpuState(cfg, initial_weights(cfg, seeds), noise_keys(seeds), seeds)


def test_table_covers_every_kernel_dtype_and_target():
    from incipoly.kernels.cuda_check import CCS, DTYPES, KERNELS
    want = {(k, d, f"{a}{b}") for k in KERNELS for d in DTYPES for a, b in CCS}
    assert set(RESOURCES) == want


@pytest.mark.parametrize("value", [0, 1025])
def test_small_threads_outside_1_1024(value):
    cfg, W, keys = onehot()
    with pytest.raises(ValueError, match=rf"small_threads must lie in \[1, 1024\].*got {value}"):
        kc.CudaState(cfg, W, keys, small_threads=value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_small_threads_beyond_the_register_file(dtype):
    cfg, W, keys = onehot(dtype=dtype)
    top = table_max_threads("small", dtype)
    assert top < 1024
    with pytest.raises(ValueError, match=rf"small_threads must lie in \[1, {top}\] for CUDA kernel "
                                         rf"'small'.*registers per thread.*got small_threads={top + 1}"):
        kc.CudaState(cfg, W, keys, small_threads=top + 1)
    # the largest accepted block passes the checks and reaches the GPU lookup
    assert_accepted(lambda: kc.CudaState(cfg, W, keys, small_threads=top))


@pytest.mark.parametrize("value", [0, kc.MAX_TILE + 1, 32])
def test_tile_outside_1_max_tile(value):
    """Above MAX_TILE (16) the unrolled tile loops may spill (float64 gram at 24, float32 at 28)."""
    cfg, W, keys = onehot()
    with pytest.raises(ValueError, match=rf"tile must lie in \[1, {kc.MAX_TILE}\].*spill.*got {value}"):
        kc.CudaState(cfg, W, keys, small_max_bytes=0, tile=value)
    assert_accepted(lambda: kc.CudaState(cfg, W, keys, small_max_bytes=0, tile=kc.MAX_TILE))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tile_range_within_the_register_file(dtype):
    """tile² threads must fit every tiled kernel's registers (the issue's tile > 25 failed with
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES): MAX_TILE² is within the table's bound, and a block the
    table refuses names the parameter and range."""
    top = min(table_max_threads(k, dtype) for k in ("noise", "gram", "residual", "step"))
    assert kc.MAX_TILE ** 2 <= top < 32 ** 2
    edge = int(np.sqrt(top))
    with pytest.raises(ValueError, match=rf"tile must lie in \[1, {edge}\] for CUDA kernel "
                                         rf"'\w+' \({dtype}\).*got tile={edge + 1}"):
        cuda_launch.check_block("gram" if dtype == "float64" else "step", dtype, "tile", edge + 1,
                                (edge + 1) ** 2)


@pytest.mark.parametrize("value", [-1, 48 * 1024 + 1])
def test_small_max_bytes_outside_48_kib(value):
    cfg, W, keys = onehot()
    with pytest.raises(ValueError, match=rf"small_max_bytes must lie in \[0, 49152\].*got {value}"):
        kc.CudaState(cfg, W, keys, small_max_bytes=value)


def test_tiled_instances_beyond_the_grid():
    with pytest.raises(ValueError, match=r"instances must lie in \[1, 65535\].*got 65536"):
        kc.choose_path(65536, 300, 300, np.dtype("float32"), kc.SMALL_MAX_BYTES, 128, 16)
    assert kc.choose_path(65535, 300, 300, np.dtype("float32"), kc.SMALL_MAX_BYTES, 128, 16)[0] \
        == "tiled"


def test_dynamic_shared_memory_beyond_48_kib():
    with pytest.raises(ValueError, match=r"small_threads=64 needs 49153 bytes of shared memory.*"
                                         r"at most 49152"):
        cuda_launch.check_block("small", "float32", "small_threads", 64, 64, 49153)
    cuda_launch.check_block("small", "float32", "small_threads", 64, 64, 49152)


def test_paths_and_defaults_are_accepted():
    f32 = np.dtype("float32")
    assert kc.choose_path(16, 8, 16, f32, kc.SMALL_MAX_BYTES, kc.SMALL_THREADS, kc.TILE)[0] == "small"
    path, launches = kc.choose_path(16, 256, 1024, f32, kc.SMALL_MAX_BYTES, kc.SMALL_THREADS,
                                    kc.TILE)
    assert path == "tiled"
    grid, block, _ = launches["residual"]
    assert grid == (1, 16, 16) and block == 256     # 16 blocks per instance, not 1


@pytest.mark.parametrize("value", [0, 1025])
def test_sparse_threads_outside_1_1024(value):
    with pytest.raises(ValueError, match=rf"threads must lie in \[1, 1024\].*got {value}"):
        sparse_cuda.SparseCudaState(minibatch(), threads=value)


def test_sparse_threads_beyond_the_register_file():
    top = min(table_max_threads(k, "float64") for k in ("sparse_batch", "sparse_update"))
    assert top < 1024
    with pytest.raises(ValueError, match=rf"threads must lie in \[1, {top}\] for CUDA kernel "
                                         rf"'sparse_batch'.*got threads={top + 1}"):
        sparse_cuda.SparseCudaState(minibatch(), threads=top + 1)
    assert_accepted(lambda: sparse_cuda.SparseCudaState(minibatch(), threads=top))


@pytest.mark.parametrize("value", [0, 17])
def test_sparse_rows_outside_1_batch(value):
    with pytest.raises(ValueError, match=rf"rows must lie in \[1, 16\].*got {value}"):
        sparse_cuda.SparseCudaState(minibatch(batch_size=16), rows=value)


def test_sparse_job_fills_the_gpu():
    """TMS size (16 instances, batch 1024): 32 batch blocks per instance, 512 in all, ≥ 90 % of the
    blocks an H100 (132 SMs, 65536 registers each) holds at once at the table's register count;
    64 instances: 16 per instance; a large sweep (4096 instances) one block each."""
    assert [sparse_cuda.default_rows(S, 1024) for S in (16, 64, 4096)] == [32, 64, 1024]
    rows = sparse_cuda.default_rows(16, 1024)
    launches = sparse_cuda.sparse_launches(16, 20, 5, 1024, np.dtype("float32"), sparse_cuda.THREADS,
                                           rows, True)
    (bx, S), threads, _ = launches["sparse_batch"]
    regs = cuda_launch.kernel_resources("sparse_batch", "float32")[0]
    resident = 65536 // cuda_launch.block_registers(regs, threads)
    assert S == 16 and bx == 32
    assert bx * S >= 0.9 * 132 * resident
