"""Run the minibatch model's CUDA backend in numba-cuda's simulator and save what it computes.

    NUMBA_ENABLE_CUDASIM=1 python tests/sparse_cuda_sim_check.py OUT.npz

``tests/test_sparse_cuda_sim.py`` starts this in a subprocess (the simulator must be chosen before
``numba.cuda`` is first imported) and compares the arrays with the CPU backend. It also defines
the cases, so both sides build the same configurations. Shapes, batch and block are tiny (5
threads: fewer than the entries of every phase, not a power of two) so the simulator stays fast;
2 batch rows per block spread every instance over several blocks (the last one partial where the
batch is odd). It also records the signature of every launch.
"""
import sys

import numpy as np

from cuda_sim_check import launched_array, quiet_simulated_warnings, record_signatures

STEPS, CHUNK_STEPS, THREADS, ROWS, SEEDS = 10, 4, 5, 2, [3, 8]


def cases():
    """(name, Config fields) of each case: options, optimisers and dtypes spread over them."""
    sparse = dict(inputs="sparse", feature_prob=0.4, batch_size=4)
    out = [
        ("sparse-adamw-bias-gauss-step-f64", dict(sparse, optimizer="adamw", bias=True,
                                                   noise="gaussian", dtype="float64")),
        ("sparse-sgd-untied-anti-example-f64", dict(sparse, optimizer="sgd", tied=False,
                                                     correlation="anticorrelated",
                                                     importance=0.8, noise="bernoulli",
                                                     noise_scope="example", dtype="float64")),
        ("sparse-prox-untied-bias-corr-f32", dict(sparse, optimizer="gd-prox", tied=False,
                                                   bias=True, correlation="correlated",
                                                   dtype="float32")),
        ("onehot-adamw-untied-bias-example-f64", dict(optimizer="adamw", tied=False, bias=True,
                                                       importance=0.7, noise="bernoulli",
                                                       noise_scope="example", dtype="float64")),
        ("onehot-sgd-bias-f32", dict(optimizer="sgd", bias=True, dtype="float32")),
        ("divergence-sparse-sgd-f64", dict(sparse, optimizer="sgd", lr=300.0, bias=True,
                                            dtype="float64")),
    ]
    return out


def config(fields):
    import incipoly as ip
    base = dict(n_features=3, n_hidden=2, steps=STEPS, lr=2e-2, l1=1e-2, weight_decay=0.05)
    merged = {**base, **fields}
    merged.setdefault("noise_std", 0.0 if merged.get("noise", "none") == "none" else 0.1)
    return ip.Config(**merged)


def run(cfg, backend):
    """(arrays, divergence message or "") of one training run."""
    import incipoly as ip
    try:
        r = ip.train(cfg, seeds=SEEDS, backend=backend, progress=False, chunk_steps=CHUNK_STEPS,
                     record=3)
    except ip.DivergenceError as exc:
        return {}, str(exc)
    arrays = {"W": r.W, "loss": r.history["loss"]}
    if r.W_dec is not None:
        arrays["W_dec"] = r.W_dec
    if r.b is not None:
        arrays["b"] = r.b
    return arrays, ""


def main(out):
    quiet_simulated_warnings()
    from incipoly.kernels import sparse_cuda
    sparse_cuda.THREADS, sparse_cuda.ROWS = THREADS, ROWS
    launched = record_signatures()
    saved = {}
    for name, fields in cases():
        arrays, message = run(config(fields), "cuda")
        saved.update({f"{name}/{k}": v for k, v in arrays.items()})
        saved[f"{name}/divergence"] = np.array(message)
    # determinism: the first case again, from scratch (on a GPU: other block timings)
    again, _ = run(config(cases()[0][1]), "cuda")
    saved.update({f"again/{k}": v for k, v in again.items()})
    saved["signatures"] = launched_array(launched)
    np.savez(out, **saved)


if __name__ == "__main__":
    main(sys.argv[1])
