#!/usr/bin/env bash
# One command for a GPU machine: CUDA tests on the device, the compile/resource check, and GPU
# benchmarks against torch on CUDA, into one results file (OUT_DIR/gpu_results.{md,json}).
#   bench/gpu.sh OUT_DIR [--dry-run] [--repeats N]
# --dry-run: the same path in numba-cuda's simulator at tiny sizes (no GPU; CI runs it).
# Needs: pip install ".[cuda,test]" (numba-cuda[cu12]); torch with CUDA for the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" bench/gpu.py "$@"
