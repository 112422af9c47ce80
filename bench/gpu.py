"""Everything about the CUDA backend on one GPU machine, in one command and one results file.

    bench/gpu.sh OUT_DIR [--dry-run] [--repeats N]

1. the CUDA test suite on the device (``INCIPOLY_CUDA_DEVICE=1``: the simulator tests' cases,
   compared with the CPU backend and tests/naive.py, plus the launch-parameter tests);
2. the compile check (``python -m incipoly.kernels.cuda_check --largest``: PTX + cubin for sm_80
   and sm_90 at the default and the largest accepted block sizes: registers, spills, shared memory);
3. benchmarks, incipoly's CUDA backend against eager torch on the same GPU when torch with CUDA
   is importable: the paper's one-hot shape (n=256, m=1024, 16 seeds, AdamW, tiled path), the
   tiny model (n=8, m=16, 4096 seeds, SGD, small path), and the sparse TMS shape (n=20, m=5,
   64 instances, batch 1024, AdamW, importance 0.7, bias) at p = 0.05 and p = 1. Per-step medians
   of alternating repeats (rotating order), kernels compiled before timing; each timed call ends
   with a device synchronisation. torch's one-hot update is checked against incipoly's (same W0,
   no noise) and the largest difference recorded.

Writes ``OUT_DIR/gpu_results.json`` and ``OUT_DIR/gpu_results.md``. ``--dry-run`` runs the same
path in numba-cuda's simulator at tiny sizes (tests: the launch-parameter tests only, since CI runs
the simulator suites anyway; compile check for sm_80 only); CI runs it (tests/test_cuda_gpu_script.py).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEVICE_TESTS = ["tests/test_cuda_sim.py", "tests/test_sparse_cuda_sim.py", "tests/test_cuda_launch.py"]
#: name → (Config fields, seeds, steps per timed call); real sizes, then the dry run's.
CASES = {
    "paper one-hot n=256 m=1024": (dict(n_features=256, n_hidden=1024, optimizer="adamw", lr=1e-3,
                                        l1=1e-3), 16, 20),
    "tiny n=8 m=16": (dict(n_features=8, n_hidden=16, optimizer="sgd", lr=0.02, l1=1e-3), 4096, 200),
    "sparse TMS p=0.05": (dict(n_features=20, n_hidden=5, optimizer="adamw", lr=1e-3, l1=0.0,
                               weight_decay=0.0, init="xavier", inputs="sparse", feature_prob=0.05,
                               batch_size=1024, importance=0.7, bias=True), 64, 50),
    "sparse TMS p=1": (dict(n_features=20, n_hidden=5, optimizer="adamw", lr=1e-3, l1=0.0,
                            weight_decay=0.0, init="xavier", inputs="sparse", feature_prob=1.0,
                            batch_size=1024, importance=0.7, bias=True), 64, 50),
}
DRY = {"paper one-hot n=256 m=1024": dict(n_features=5, n_hidden=4),
       "tiny n=8 m=16": dict(n_features=3, n_hidden=2),
       "sparse TMS p=0.05": dict(n_features=4, n_hidden=2, batch_size=4),
       "sparse TMS p=1": dict(n_features=4, n_hidden=2, batch_size=4)}


def run_logged(cmd, env=None, timeout=300):
    """Run ``cmd`` in the repository; ``{command, returncode, seconds, tail}``."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
        code, log = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, log = 124, f"timed out after {timeout} s\n{exc.stdout or ''}{exc.stderr or ''}"
    return {"command": " ".join(cmd), "returncode": code,
            "seconds": round(time.perf_counter() - start, 1), "tail": str(log)[-3000:]}


def device_tests(dry):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if not dry:
        env["INCIPOLY_CUDA_DEVICE"] = "1"
    files = DEVICE_TESTS[-1:] if dry else DEVICE_TESTS
    return run_logged([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                      env=env, timeout=240)


def compile_check(dry, out):
    rows_path = out / "cuda_resources.json"
    cmd = [sys.executable, "-m", "incipoly.kernels.cuda_check", "--json", str(rows_path)]
    result = run_logged(cmd + (["--cc", "80"] if dry else ["--largest"]),
                        env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=240)
    result["rows"] = json.loads(rows_path.read_text()) if rows_path.exists() else []
    return result


def configs(dry):
    """``{name: (Config, seeds, steps)}`` of the benchmark cases."""
    import incipoly as ip
    out = {}
    for name, (fields, seeds, steps) in CASES.items():
        if dry:
            fields, seeds, steps = {**fields, **DRY[name]}, 2, 2
        out[name] = (ip.Config(steps=steps, dtype="float32", **fields), seeds, steps)
    return out


def incipoly_call(cfg, seeds, steps, small_max_bytes=None):
    """Advance a device-resident state by ``steps`` steps (the last copy back synchronises)."""
    from incipoly.init import initial_weights, noise_keys
    from incipoly.kernels.cuda import CudaState
    from incipoly.training import _state
    seed_list = list(range(seeds))
    W0, keys = initial_weights(cfg, seed_list), noise_keys(seed_list)
    state = (CudaState(cfg, W0, keys, small_max_bytes=small_max_bytes) if cfg.is_default_model
             else _state("cuda", cfg, W0, keys, seed_list))
    t0 = [0]

    def run():
        state.advance(t0[0], steps)
        t0[0] += steps
    return run, state


def torch_onehot(W0, cfg, steps, device="cuda"):
    """Eager torch on the GPU: ``Σ(ReLU(W Wᵀ) − I)² + l1·Σ|W|`` per instance, torch's AdamW/SGD."""
    import torch
    W = torch.nn.Parameter(torch.tensor(W0, device=device))
    eye = torch.eye(W0.shape[1], device=device)
    wd = 0.01 if cfg.weight_decay is None else cfg.weight_decay
    opt = (torch.optim.AdamW([W], lr=cfg.lr, weight_decay=wd) if cfg.optimizer == "adamw"
           else torch.optim.SGD([W], lr=cfg.lr, weight_decay=cfg.weight_decay or 0.0))

    def run():
        for _ in range(steps):
            loss = ((torch.relu(W @ W.transpose(1, 2)) - eye) ** 2).sum() + cfg.l1 * W.abs().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
    return run, W


def torch_sparse(cfg, seeds, steps, device="cuda"):
    """Eager torch on the GPU, the TMS loop: batch drawn on the device, importance-weighted squared
    error, tied weights and bias, AdamW."""
    import torch
    n, m, B, p = cfg.n_features, cfg.n_hidden, cfg.batch_size, cfg.feature_prob
    gen = torch.Generator(device=device).manual_seed(0)
    W = torch.nn.Parameter(torch.randn(seeds, n, m, device=device, generator=gen) * (2 / (n + m)) ** .5)
    b = torch.nn.Parameter(torch.zeros(seeds, n, device=device))
    rho = cfg.importance ** torch.arange(n, dtype=torch.float32, device=device)
    opt = torch.optim.AdamW([W, b], lr=cfg.lr, weight_decay=cfg.weight_decay or 0.0)

    def run():
        for _ in range(steps):
            u = torch.rand(seeds, B, n, device=device, generator=gen)
            x = torch.where(torch.rand(seeds, B, n, device=device, generator=gen) < p, u, 0.0)
            out = torch.relu((x @ W) @ W.transpose(1, 2) + b[:, None, :])
            loss = (rho * (out - x) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
    return run


def torch_cuda():
    try:
        import torch
    except ImportError:
        return None, "torch is not installed"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} sees no CUDA device"
    return torch, ""


def benchmarks(dry, repeats):
    from common import time_alternating  # bench/common.py: alternating, rotating-order repeats
    torch, why = (None, "dry run: no torch comparison in the simulator") if dry else torch_cuda()
    rows = []
    for name, (cfg, seeds, steps) in configs(dry).items():
        impls = {}
        # the dry run's paper case takes the tiled path, as the real one does
        small_max = 0 if dry and name.startswith("paper") else None
        impls["incipoly cuda"], state = incipoly_call(cfg, seeds, steps, small_max)
        row = {"case": name, "seeds": seeds, "steps_per_call": steps, "path": getattr(state, "path",
                                                                                      "minibatch")}
        if torch is not None:
            if cfg.inputs == "sparse":
                impls["torch cuda (eager)"] = torch_sparse(cfg, seeds, steps)
            else:
                W0 = state.weights().copy()
                impls["torch cuda (eager)"], W_torch = torch_onehot(W0, cfg, steps)
                impls["torch cuda (eager)"]()
                W_torch0 = W_torch.detach().cpu().numpy()
                check, check_state = incipoly_call(cfg, seeds, steps)   # from the same W0
                check()
                row["max_abs_diff_vs_torch_after_one_call"] = float(
                    np.abs(check_state.weights() - W_torch0).max())
        times = time_alternating(impls, repeats)
        row["ms_per_step"] = {k: 1e3 * float(np.median(v)) / steps for k, v in times.items()}
        if torch is not None:
            row["torch_over_incipoly"] = (row["ms_per_step"]["torch cuda (eager)"]
                                          / row["ms_per_step"]["incipoly cuda"])
        rows.append(row)
    return rows, why


def markdown(result):
    lines = [f"# CUDA on {result['device']} ({result['date']})", "",
             f"numba-cuda {result['numba_cuda']}, Python {result['python']}, load average "
             f"{result['loadavg']}{' — DRY RUN (simulator, tiny sizes)' if result['dry_run'] else ''}",
             "", "## Tests on the device", "",
             f"`{result['tests']['command']}` → exit {result['tests']['returncode']} in "
             f"{result['tests']['seconds']} s", "", "```", result["tests"]["tail"][-800:].strip(),
             "```", "", "## Compile check", "",
             f"exit {result['compile']['returncode']} in {result['compile']['seconds']} s", "",
             "| kernel | dtype | sm | block | registers | spills (B) | stack (B) | smem (B) |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['kernel']} | {r['dtype']} | {r['cc']} | {r['variant']} "
              f"({r['launch_bounds']}) | {r['registers']} | "
              f"{r['spill_stores']}/{r['spill_loads']} | {r['stack']} | {r['shared']} |"
              for r in result["compile"]["rows"]]
    lines += ["", "## Benchmarks (ms per step, medians; compile excluded)", "",
              result["torch_note"] or "torch: eager, on the same GPU", "",
              "| case | seeds | path | incipoly cuda | torch cuda | torch / incipoly |",
              "|---|---|---|---|---|---|"]
    for r in result["bench"]:
        t = r["ms_per_step"].get("torch cuda (eager)")
        lines.append(f"| {r['case']} | {r['seeds']} | {r['path']} | "
                     f"{r['ms_per_step']['incipoly cuda']:.4g} | {'' if t is None else f'{t:.4g}'} | "
                     f"{r.get('torch_over_incipoly', float('nan')):.3g} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory for gpu_results.json / .md")
    parser.add_argument("--dry-run", action="store_true",
                        help="numba-cuda's simulator, tiny sizes (no GPU needed)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per implementation")
    args = parser.parse_args(argv)
    if args.dry_run:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"    # before numba.cuda is first imported
        args.repeats = min(args.repeats, 2)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    args.out.mkdir(parents=True, exist_ok=True)
    import numba_cuda

    import incipoly as ip
    if args.dry_run:
        from incipoly.kernels import cuda as kc
        from incipoly.kernels import sparse_cuda

        from cuda_sim_check import quiet_simulated_warnings
        quiet_simulated_warnings()
        kc.SMALL_THREADS, kc.TILE, sparse_cuda.THREADS, sparse_cuda.ROWS = 8, 2, 8, 2
        sys.setswitchinterval(1e-5)
        ip.Config(n_features=5, n_hidden=4)   # a cheap check that incipoly imports
        device = "numba-cuda simulator"
    else:
        if "cuda" not in ip.available_backends():
            raise SystemExit("no usable GPU (incipoly.available_backends() lacks 'cuda'); "
                             "use --dry-run to exercise this script without one")
        from numba import cuda
        device = cuda.get_current_device().name
        device = device.decode() if isinstance(device, bytes) else str(device)
    result = {"device": device, "dry_run": args.dry_run, "numba_cuda": numba_cuda.__version__,
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                          time.gmtime()),
              "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    result["tests"] = device_tests(args.dry_run)
    result["compile"] = compile_check(args.dry_run, args.out)
    result["bench"], result["torch_note"] = benchmarks(args.dry_run, args.repeats)
    (args.out / "gpu_results.json").write_text(json.dumps(result, indent=1))
    (args.out / "gpu_results.md").write_text(markdown(result))
    print(markdown(result))
    failed = [k for k in ("tests", "compile") if result[k]["returncode"] != 0]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
