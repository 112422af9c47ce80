"""Sweeps through Dask: scheduling overhead of a LocalCluster, and the paper sweep projected on N workers.

The same chunks (the paper's collisions configs n = 256, AdamW, λ = 1e-3, 4 seeds per chunk, at
a few widths m and a few steps) run (A) in process, serially, on Numba's threads, and (B) through a
``LocalCluster`` of 2 single-threaded worker processes, alternately, each once untimed first
(compilation and cluster start excluded; the cluster starts once, its start-up is reported
apart). The scheduling overhead per chunk is ``(wall_B × workers − Σ chunk training seconds) /
chunks`` (scheduling, claims and store I/O, and idle time from uneven chunks), from the
training seconds each chunk records in the store's ``log.jsonl``.

Projection: the full paper collisions sweep (n = 256, m = 256, 512, …, 4096, 16 seeds, 7 500
steps, 4 seeds per chunk: 64 chunks) on N single-threaded workers. Each chunk's time is its
single-thread training time per step, fitted linearly in m over the measured widths and scaled
to 7 500 steps, plus the measured overhead; chunks are assigned longest-first to the least
loaded worker. Measured on the machine below while it ran other work, so absolute times are
pessimistic; the ratio and the overhead are what carry over.

Run: ``python bench/dask_overhead.py`` (≈ 2–3 minutes on 2 busy cores); ``--quick`` for a smoke
run. Prints the machine and a markdown table; it does not write RESULTS.md.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import fmt_spread, fmt_time, machine_block, markdown_table, time_alternating

import incipoly as ip

PAPER_WIDTHS = tuple(range(256, 4097, 256))
PAPER_STEPS, PAPER_SEEDS, CHUNK_SEEDS = 7500, 16, 4


def grid(widths, steps):
    return [ip.Config(n_features=256, n_hidden=m, steps=steps, optimizer="adamw", lr=1e-3,
                      l1=1e-3) for m in widths]


def trained_seconds(store) -> dict:
    """Chunk name → training seconds, from the store's log."""
    lines = [json.loads(ln) for ln in (Path(store) / "log.jsonl").read_text().splitlines()]
    return {ln["chunk"]: ln["seconds"] for ln in lines if ln["event"] == "trained"}


def lpt_makespan(times, workers) -> float:
    """Longest-processing-time-first schedule of ``times`` on ``workers``: the finish time."""
    loads = [0.0] * workers
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="steps per chunk measured")
    parser.add_argument("--widths", default="256,1024,2048", help="widths m measured")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 repeats, 5 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 2, 5
    widths = [int(w) for w in args.widths.split(",")]
    configs = grid(widths, args.steps)
    from dask.distributed import Client, LocalCluster

    root = Path(tempfile.mkdtemp(prefix="dask-bench-"))
    counter = iter(range(10**6))
    logs = {"serial": [], "dask": []}

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    client = Client(cluster)
    startup = time.perf_counter() - t0

    def run(name, **kw):
        def call():
            store = root / f"{name}-{next(counter)}"
            ip.sweep(configs, args.seeds, store, chunk_seeds=CHUNK_SEEDS, record=2,
                     progress=False, **kw)
            logs[name].append(trained_seconds(store))
            shutil.rmtree(store)
        return call

    try:
        times = time_alternating({"serial": run("serial"), "dask": run("dask", client=client)},
                                 args.repeats)
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(root, ignore_errors=True)

    n_chunks = len(configs) * -(-args.seeds // CHUNK_SEEDS)
    worker_logs = logs["dask"][1:]                       # timed repetitions only
    busy = np.array([sum(log.values()) for log in worker_logs])
    overhead = (times["dask"] * 2 - busy) / n_chunks
    # single-thread seconds per step of one chunk, per width (median over repetitions)
    per_step = [np.median([log[f"c{c:04d}_s{s:06d}.npz"] for log in worker_logs
                           for s in range(0, args.seeds, CHUNK_SEEDS)]) / args.steps
                for c in range(len(widths))]
    if len(widths) > 1:
        slope, intercept = np.polyfit(widths, per_step, 1)
    else:
        slope, intercept = per_step[0] / widths[0], 0.0
    chunk_full = [max(intercept + slope * m, 0.0) * PAPER_STEPS for m in PAPER_WIDTHS
                  for _ in range(PAPER_SEEDS // CHUNK_SEEDS)]
    ov = max(float(np.median(overhead)), 0.0)
    full = [t + ov for t in chunk_full]

    print(machine_block())
    print()
    print(f"Busy host: load average at the end {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores (another simulation was running); absolute times pessimistic.")
    print(f"Workload: n=256 AdamW, m ∈ {widths}, {args.seeds} seeds in chunks of {CHUNK_SEEDS} "
          f"({n_chunks} chunks), {args.steps} steps each; {args.repeats} alternating repetitions "
          "after one untimed run each (compilation excluded).")
    print()
    s_med, s_rng = fmt_spread(times["serial"])
    d_med, d_rng = fmt_spread(times["dask"])
    rows = [["serial, in process (Numba threads: all cores)", s_med, s_rng],
            ["LocalCluster, 2 workers × 1 thread", d_med, d_rng],
            ["ratio cluster / serial (median of per-repetition ratios)",
             f"{np.median(times['dask'] / times['serial']):.2f}×", ""],
            ["cluster start-up (once, excluded above)", fmt_time(startup), ""],
            ["worker time not training, per chunk (scheduling, store I/O, imbalance)",
             fmt_time(float(np.median(overhead))),
             f"{fmt_time(float(overhead.min()))} – {fmt_time(float(overhead.max()))}"]]
    print(markdown_table(["sweep of the same chunks", "median", "min – max"], rows))
    print()
    print(f"Single-thread chunk time per step (4 seeds): {fmt_time(intercept)} + m × "
          f"{fmt_time(slope)} (fit over m = {widths}).")
    print()
    proj = [[N, f"{lpt_makespan(full, N) / 3600:.2f} h", f"{sum(full) / N / 3600:.2f} h"]
            for N in (1, 2, 8, 16, 32, 64)]
    print(markdown_table(["workers (1 thread each)", "projected wall, paper collisions sweep "
                          "(64 chunks, LPT)", "ideal (total / N)"], proj))
    print()
    print(f"Total single-thread work {sum(chunk_full) / 3600:.1f} h; the longest chunk (m = 4096) "
          f"{max(full) / 60:.1f} min bounds the wall time from below at any N ≥ 64.")


if __name__ == "__main__":
    main()
