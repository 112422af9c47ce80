"""incipoly against its strongest peers: JAX (jit + lax.scan + vmap(value_and_grad)),
torch.compile (a whole step) and eager torch, on the paper shape, the tiny model and the
sparse (TMS) shape at p = 0.05 and p = 1.

For every shape, first an equivalence check: each peer trains ``--check-steps`` steps from
incipoly's initial weights on exactly the noise vectors or sparse batches incipoly draws
(:func:`problems.check_data`), and its final weights must match incipoly's within ``--tol``
(float32). Then timing: every implementation draws its own batches / noise inside its timed
steps; one untimed call first (its time, mostly compilation, is reported separately),
then ``--repeats`` alternating repetitions in rotating order; medians. The load average is
recorded before and after each shape (the machine may be shared: compare ratios, not times).

    PYTHONPATH=. python bench/peers.py --shape all --repeats 7 [--out bench/peers.json]

Prints a markdown table and writes the raw numbers to ``--out`` (JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import incipoly_call, machine_block, machine_info, markdown_table, time_alternating  # noqa: E402
from problems import check_data, initial_weights, problems  # noqa: E402
from scaling import gemm_gflops  # noqa: E402

PEERS = ("jax", "torch.compile", "torch eager")


def _peer(name, problem, W0):
    if name == "jax":
        import peers_jax
        return peers_jax.make(problem, W0)
    import peers_torch
    return peers_torch.make(problem, W0, compiled=name == "torch.compile")


def check(problem, steps, tol, outliers):
    """Max |Δparam| and the fraction of entries with |Δ| > ``tol`` of each peer against incipoly
    after ``steps`` steps on identical data; that fraction must not exceed ``outliers``.

    AdamW's step ``m/(√v + ε)`` is ±lr whatever the gradient's size, so a weight whose gradient
    nearly cancels (L1 against the smooth part) moves by ±lr on float32 rounding: a few such
    entries among the paper shape's 4·10⁶ weights are expected, bounded by ``2·lr·steps``.
    """
    import incipoly as ip
    W0, data = check_data(problem, steps)
    run = ip.train(problem.config(steps), seeds=problem.check_instances, W0=W0, progress=False,
                   record=[steps])
    want = {"W": run.W} if run.b is None else {"W": run.W, "b": run.b}
    out = {}
    for name in PEERS:
        got = _peer(name, problem, W0)(steps, data)
        diff = np.concatenate([np.abs(got[k] - want[k]).ravel() for k in want])
        out[name] = float(diff.max())
        out[name + " outliers"] = float((diff > tol).mean())
        if not out[name + " outliers"] <= outliers:
            raise AssertionError(f"{problem.name}: {name} differs from incipoly by more than "
                                 f"{tol:g} in {out[name + ' outliers']:.2g} of the entries "
                                 f"(max {out[name]:.3g}) after {steps} steps")
    out["movement"] = float(np.abs(run.W - W0).max())
    return out


def time_shape(problem, repeats):
    """Seconds per step of incipoly and each peer (alternating), first-call seconds, load."""
    W0 = initial_weights(problem, problem.instances)
    steps = problem.steps
    impls = {"incipoly": incipoly_call(problem.config(), W0, steps["incipoly"])}
    for name in PEERS:
        trainer = _peer(name, problem, W0)
        impls[name] = (lambda tr, k: (lambda: tr(k)))(trainer, steps[name])
    first = {}
    for name, f in impls.items():
        t = time.perf_counter()
        f()
        first[name] = time.perf_counter() - t
    cpu = {name: [] for name in impls}

    def with_cpu_time(name, f):
        def call():
            t = time.process_time()
            f()
            cpu[name].append(time.process_time() - t)
        return call
    load_before = os.getloadavg()
    times = time_alternating({k: with_cpu_time(k, f) for k, f in impls.items()}, repeats)
    return {"s_per_step": {k: (np.asarray(v) / steps[k]).tolist() for k, v in times.items()},
            "cpu_s_per_step": {k: (np.asarray(v[1:]) / steps[k]).tolist() for k, v in cpu.items()},
            "first_call_s": first, "steps_per_call": steps,
            "load_before": load_before, "load_after": os.getloadavg()}


def table(results, peak):
    rows = []
    for name, r in results.items():
        med = {k: float(np.median(v)) for k, v in r["s_per_step"].items()}
        cpu = {k: float(np.median(v)) for k, v in r["cpu_s_per_step"].items()}
        floor = r["flops_per_step"] / peak
        rows.append([name, f"{med['incipoly'] * 1e3:.3g}",
                     *(f"{med[p] * 1e3:.3g} ({med[p] / med['incipoly']:.2f}×)" for p in PEERS),
                     " / ".join(f"{cpu[k] * 1e3:.3g}" for k in ("incipoly", *PEERS)),
                     f"{floor * 1e3:.3g}",
                     " ".join(f"{x:.1f}" for x in r["load_before"][:1] + r["load_after"][:1]),
                     " / ".join(f"{r['first_call_s'][k]:.1f}" for k in ("incipoly", *PEERS)),
                     " / ".join(f"{r['check'][k]:.1e} ({r['check'][k + ' outliers']:.0e})"
                                for k in PEERS)])
    headers = ["shape", "incipoly ms/step", *(f"{p} ms/step (÷ incipoly)" for p in PEERS),
               "process CPU ms/step (i/jax/tc/te)", "dense floor ms/step",
               "load 1-min before, after", "first call s (i/jax/tc/te)",
               "check max |Δ| (fraction > tol) (jax/tc/te)"]
    return markdown_table(headers, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="all",
                        help="comma-separated: paper, tiny, sparse-0.05, sparse-1, or all")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--check-steps", type=int, default=50)
    parser.add_argument("--tol", type=float, default=2e-5,
                        help="|Δweight| allowed between a peer and incipoly in the check")
    parser.add_argument("--outliers", type=float, default=1e-3,
                        help="fraction of weights allowed beyond --tol (AdamW sign flips)")
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke run")
    parser.add_argument("--out", default=str(Path(__file__).with_name("peers.json")))
    args = parser.parse_args(argv)
    probs = problems(args.quick)
    names = list(probs) if args.shape == "all" else args.shape.split(",")
    unknown = set(names) - set(probs)
    if unknown:
        parser.error(f"--shape: unknown {sorted(unknown)}; choose from {list(probs)} or all")
    started = time.perf_counter()
    info = machine_info()
    peak = gemm_gflops(2, 1024, 3) * 1e9
    results = {}
    for name in names:
        problem = probs[name]
        r = {"check": check(problem, args.check_steps, args.tol, args.outliers)}
        r.update(time_shape(problem, args.repeats))
        r["flops_per_step"] = problem.flops_per_step()
        results[name] = r
        print(f"{name}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    text = "\n\n".join([
        machine_block(info), table(results, peak),
        f"ms/step: wall-clock median of {args.repeats} alternating repetitions (rotating "
        f"order); process CPU: median CPU seconds of all the process's threads (under load, "
        f"what each implementation costs in CPU, spin-waiting included); each "
        f"implementation draws its own batches/noise inside the timed steps. 'first call': the "
        f"untimed warm-up call (compilation: numba cache, XLA, inductor), excluded from the "
        f"medians. Check: max |Δ| of every parameter after {args.check_steps} steps from "
        f"incipoly's W0 on incipoly's own batches/noise (float32), and the fraction of "
        f"entries beyond {args.tol:g} (at most {args.outliers:g} allowed: AdamW moves a weight "
        f"whose gradient nearly cancels by ±lr on rounding). "
        f"Dense floor: dense FLOPs per step / measured 2-thread float32 GEMM peak "
        f"{peak / 1e9:.1f} GFLOP/s. Total wall time {time.perf_counter() - started:.0f} s."])
    print(text)
    Path(args.out).write_text(json.dumps({"machine": info, "gemm_peak_flops": peak,
                                          "args": vars(args), "results": results}, indent=1,
                                         default=float))


if __name__ == "__main__":
    main()
