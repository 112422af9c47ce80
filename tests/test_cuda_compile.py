"""Every CUDA kernel compiles to PTX (NVVM) and cubin (ptxas) for sm_80 and sm_90 without a GPU,
at the signatures it is launched with, with no spills; the resource table that launch parameters
are validated against is not below what the compiler now reports. Also at the largest block
sizes that launch validation accepts: no spills there either.

Needs the ``[cuda]`` extra (``numba-cuda[cu12]``: NVVM and ptxas); about 70 s on 2 cores (140 s
under heavy load): 56 compilations.
"""
import json
import subprocess
import sys

import pytest

from incipoly.kernels import cuda_check
from incipoly.kernels.cuda_resources import RESOURCES


def _toolchain():
    try:
        from numba import cuda  # noqa: F401
        cuda_check.ptxas_path()
    except (ImportError, SystemExit) as exc:
        pytest.skip(f'needs numba-cuda[cu12] (pip install "incipoly[cuda]"): {exc}')


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    _toolchain()
    out = tmp_path_factory.mktemp("cuda_check")
    proc = subprocess.run([sys.executable, "-m", "incipoly.kernels.cuda_check", "--largest",
                           "--json", str(out / "rows.json"), "--markdown", str(out / "table.md")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "| sparse_batch | float32 | sm_90 |" in (out / "table.md").read_text()
    return json.loads((out / "rows.json").read_text())


def test_every_kernel_dtype_and_target_compiles_to_cubin(rows):
    """At the default block sizes and at the largest that launch validation accepts."""
    got = {(r["kernel"], r["dtype"], r["cc"], r["variant"]) for r in rows}
    want = {(k, d, f"{a}{b}", v) for k in cuda_check.KERNELS for d in cuda_check.DTYPES
            for a, b in cuda_check.CCS for v in ("default", "largest")}
    assert got == want and len(rows) == len(want)
    assert all(r["cubin_bytes"] > 0 and r["ptx_bytes"] > 0 for r in rows)


def test_no_spills_and_within_the_register_file(rows):
    for r in rows:
        assert r["spill_stores"] == 0 and r["spill_loads"] == 0, r
        assert r["registers"] * r["launch_bounds"] <= 65536, r


def test_resource_table_is_not_below_the_compiler(rows):
    """A kernel edit that needs more registers must regenerate the table
    (``python -m incipoly.kernels.cuda_check --write``), or launch checks would accept too much."""
    for r in (r for r in rows if r["variant"] == "default"):
        entry = RESOURCES[(r["kernel"], r["dtype"], r["cc"])]
        assert r["registers"] <= entry["registers"] and r["shared"] <= entry["shared"], (r, entry)


PTXAS = """ptxas info    : Compiling entry function '_Z5chunk' for 'sm_80'
ptxas info    : Function properties for _Z5chunk
    40 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 122 registers, used 1 barriers, 16 bytes smem, 536 bytes cmem[0]
"""


def test_parse_ptxas_report():
    assert cuda_check.parse_ptxas(PTXAS) == {"registers": 122, "shared": 16, "stack": 40,
                                             "spill_stores": 8, "spill_loads": 12}
    with pytest.raises(ValueError, match="unrecognised ptxas report"):
        cuda_check.parse_ptxas("ptxas info    : nothing")


def test_spills_fail_the_check(monkeypatch, tmp_path):
    row = {"kernel": "small", "dtype": "float32", "cc": "80", "variant": "default",
           "launch_bounds": 128, "registers": 255,
           "shared": 0, "stack": 40, "spill_stores": 8, "spill_loads": 0, "ptx_bytes": 1,
           "cubin_bytes": 1}
    monkeypatch.setattr(cuda_check, "run_all", lambda ccs, largest=False: [row])
    assert cuda_check.main(["--json", str(tmp_path / "r.json")]) == 1
    monkeypatch.setattr(cuda_check, "run_all", lambda ccs, largest=False: [dict(row, spill_stores=0)])
    assert cuda_check.main([]) == 0
