"""Run the CUDA backend in numba-cuda's simulator and save what it computes.

    NUMBA_ENABLE_CUDASIM=1 python tests/cuda_sim_check.py OUT.npz [PART NPARTS]

(or ``INCIPOLY_CUDA_DEVICE=1``, without the simulator, on a GPU: ``bench/gpu.sh`` runs the same
tests on the device that way.)

``tests/test_cuda_sim.py`` starts this in subprocesses (the simulator must be chosen before
``numba.cuda`` is first imported) and compares the arrays with the CPU backend and
``tests/naive.py``. It also defines the cases, so both sides build the same configurations.
Shapes are tiny, and so are the block size and tile, so that the simulator (one Python thread per
CUDA thread) stays fast while every loop still meets partial blocks and tiles.
"""
import os
import sys
import warnings

import numpy as np

OPTIMIZERS = ("adamw", "sgd", "gd-prox")
NOISES = ("none", "bernoulli", "gaussian")
DTYPES = ("float64", "float32")
STEPS = 50
CHUNK_STEPS = 17               # chunks of 17, 17, 16 steps: t0 > 0 and several steps per launch
SMALL_THREADS = 5              # fewer threads than entries, not a power of two
TILE = 2                       # every shape below has partial tiles
SHAPES = {"small": [(3, 5, 2), (6, 2, 1), (4, 7, 1)],   # (n, m, instances); n > m included
          "tiled": [(3, 2, 1), (2, 3, 2), (3, 3, 1)]}
LR_L1 = {"adamw": (1e-2, 1e-2), "sgd": (2e-2, 1e-2), "gd-prox": (2e-2, 5e-2)}
#: sgd with a large lr: some instances diverge (at different steps), some do not.
DIVERGENCE = {"n": 3, "m": 2, "lr": 0.5, "seeds": [0, 1, 2, 3], "bounds": [0, 3, 6, 9, 12]}


def cases():
    """One training case per path × optimizer × noise × dtype, shapes cycling per path."""
    out = []
    for path in ("small", "tiled"):
        for i, (opt, noise, dtype) in enumerate(
                (o, z, d) for o in OPTIMIZERS for z in NOISES for d in DTYPES):
            n, m, S = SHAPES[path][i % len(SHAPES[path])]
            out.append({"name": f"{path}-{opt}-{noise}-{dtype}-{n}x{m}x{S}", "path": path,
                        "optimizer": opt, "noise": noise, "dtype": dtype, "n": n, "m": m,
                        "seeds": list(range(7, 7 + S))})
    for path in ("small", "tiled"):
        for dtype in DTYPES:
            out.append({"name": f"divergence-{path}-{dtype}", "path": path, "dtype": dtype,
                        "divergence": True, **DIVERGENCE})
    return out


def config(case):
    import incipoly as ip
    if case.get("divergence"):
        return ip.Config(n_features=case["n"], n_hidden=case["m"], steps=case["bounds"][-1],
                         optimizer="sgd", lr=case["lr"], l1=0.0, dtype=case["dtype"])
    lr, l1 = LR_L1[case["optimizer"]]
    return ip.Config(n_features=case["n"], n_hidden=case["m"], steps=STEPS,
                     optimizer=case["optimizer"], lr=lr, l1=l1, weight_decay=0.05,
                     noise=case["noise"], noise_std=0.1 if case["noise"] != "none" else 0.0,
                     dtype=case["dtype"])


def advance_in_chunks(state, bounds):
    """``bad_step`` after advancing ``state`` over ``bounds`` (stopping, like train, at divergence)."""
    for t0, t1 in zip(bounds[:-1], bounds[1:], strict=True):
        if state.advance(t0, t1 - t0).size == len(state.bad_step):
            break
    return state.bad_step.copy()


def run_case(case, out):
    import incipoly as ip
    from incipoly.init import initial_weights, noise_keys
    from incipoly.kernels import cuda as kc
    cfg = config(case)
    kc.SMALL_THREADS, kc.TILE = SMALL_THREADS, TILE
    kc.SMALL_MAX_BYTES = kc.SHARED_LIMIT if case["path"] == "small" else 0
    W0 = initial_weights(cfg, case["seeds"])
    state = kc.CudaState(cfg, W0, noise_keys(case["seeds"]))
    out[case["name"] + "/path"] = np.array(state.path)
    if case.get("divergence"):
        out[case["name"] + "/bad_step"] = advance_in_chunks(state, case["bounds"])
        return
    run = ip.train(cfg, seeds=case["seeds"], backend="cuda", record=2, progress=False,
                   chunk_steps=CHUNK_STEPS)
    out[case["name"] + "/W"] = run.W
    out[case["name"] + "/loss"] = run.history["loss"]


def quiet_simulated_warnings():
    """Silence the simulator's RuntimeWarnings and make them safe for its threads.

    SplitMix64 wraps around uint64 on purpose and the divergence cases overflow on purpose;
    in the simulator both run as NumPy scalar arithmetic and warn. A module's first warning adds
    ``__warningregistry__`` to its globals (even when ignored), while other simulated threads
    iterate those globals to swap in their fake ``cuda`` module — "dictionary changed size
    during iteration". So the registry is created up front in every module whose code the
    simulated threads run.
    """
    warnings.simplefilter("ignore", RuntimeWarning)
    from incipoly.kernels import cuda, cuda_device, cuda_small, cuda_tiled, noise, sparse_cpu, sparse_cuda
    for module in (cuda, cuda_device, cuda_small, cuda_tiled, noise, sparse_cpu, sparse_cuda):
        vars(module).setdefault("__warningregistry__", {})


def on_device():
    """True when ``INCIPOLY_CUDA_DEVICE=1``: the CUDA tests run on the real GPU (``bench/gpu.sh``)."""
    return os.environ.get("INCIPOLY_CUDA_DEVICE") == "1"


def check_env():
    """Environment of the check subprocesses: the simulator, unless :func:`on_device`."""
    return dict(os.environ, NUMBA_ENABLE_CUDASIM="0" if on_device() else "1")


def record_signatures():
    """Record the signature of every kernel launch from now on (the set they go in)."""
    from incipoly.kernels import cuda_launch
    return cuda_launch.record_signatures()


def launched_array(launched):
    """The recorded launches as strings ``kernel(arg types)``, sorted, for an npz."""
    return np.array(sorted(f"{name}({', '.join(types)})" for name, types in launched))


def expected_signatures(kernels):
    """``kernel(arg types)`` strings that ``incipoly.kernels.cuda_check`` compiles, per dtype."""
    from incipoly.kernels.cuda_check import DTYPES, signatures
    return {f"{name}({', '.join(str(t) for t in sigs[name])})"
            for sigs in map(signatures, DTYPES) for name in kernels}


def main(argv):
    path = argv[1]
    part, nparts = (int(argv[2]), int(argv[3])) if len(argv) > 3 else (0, 1)
    # The simulator hands the GIL between its threads at every barrier; a short switch
    # interval makes that several times faster.
    sys.setswitchinterval(1e-5)
    from numba import config as numba_config
    if not (numba_config.ENABLE_CUDASIM or on_device()):
        raise SystemExit("run with NUMBA_ENABLE_CUDASIM=1 (or INCIPOLY_CUDA_DEVICE=1 on a GPU)")
    import incipoly as ip
    quiet_simulated_warnings()
    out = {"available_backends": np.array(ip.available_backends())}
    launched = record_signatures()
    for case in cases()[part::nparts]:
        run_case(case, out)
    out["signatures"] = launched_array(launched)
    np.savez(path, **out)


if __name__ == "__main__":
    main(sys.argv)
