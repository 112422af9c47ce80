"""``bench/gpu.sh --dry-run``: the GPU machine's one command, run end to end in numba-cuda's simulator
at tiny sizes (tests, compile check, benchmarks), writes its results file and exits 0.

Needs the ``[cuda]`` extra (numba-cuda[cu12]: simulator, NVVM, ptxas); about 35 s on 2 cores.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu.sh"


def test_gpu_script_dry_run(tmp_path):
    pytest.importorskip("numba.cuda", reason='needs numba-cuda: pip install "incipoly[cuda]"')
    from incipoly.kernels import cuda_check
    try:
        cuda_check.ptxas_path()
    except SystemExit as exc:
        pytest.skip(f'needs ptxas from numba-cuda[cu12] (pip install "incipoly[cuda]"): {exc}')
    env = {k: v for k, v in os.environ.items() if k != "INCIPOLY_CUDA_DEVICE"}
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path), "--dry-run"], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    result = json.loads((tmp_path / "gpu_results.json").read_text())
    assert result["dry_run"] and result["device"] == "numba-cuda simulator"
    assert result["tests"]["returncode"] == 0 and "passed" in result["tests"]["tail"]
    assert result["compile"]["returncode"] == 0
    assert {r["kernel"] for r in result["compile"]["rows"]} == set(cuda_check.KERNELS)
    assert all(r["spill_stores"] == 0 for r in result["compile"]["rows"])
    cases = {r["case"]: r for r in result["bench"]}
    assert len(cases) == 4
    assert cases["paper one-hot n=256 m=1024"]["path"] == "tiled"
    assert cases["tiny n=8 m=16"]["path"] == "small"
    assert all(r["ms_per_step"]["incipoly cuda"] > 0 for r in cases.values())
    assert "# CUDA on numba-cuda simulator" in (tmp_path / "gpu_results.md").read_text()
