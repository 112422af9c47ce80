"""Start-up cost in a fresh process with a warm numba cache: ``import incipoly``, first ``train``.

Each repetition starts new Python processes. The child times ``import incipoly``, a first
``train`` call (loading the cached kernels) and an identical second call (the work itself), and
the parent times the whole process from spawn to exit; a bare ``python -c pass`` alternates
with it as the interpreter's own baseline. The untimed first child fills the on-disk cache.

Run: ``python bench/startup.py`` (under a minute); ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from common import add_common_args, fmt_spread, markdown_table, report, time_alternating

CHILD = """
import json, time
t0 = time.perf_counter()
import incipoly as ip
t1 = time.perf_counter()
cfg = ip.Config(n_features=8, n_hidden=16, steps={steps})
ip.train(cfg, seeds=4, progress=False)
t2 = time.perf_counter()
ip.train(cfg, seeds=4, progress=False)
t3 = time.perf_counter()
print(json.dumps({{"import incipoly": t1 - t0, "first train call": t2 - t1,
                  "second train call": t3 - t2}}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=7, steps=100)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 2, 10
    code = CHILD.format(steps=args.steps)
    inner = []

    def child():
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout
        inner.append(json.loads(out.splitlines()[-1]))

    times = time_alternating({"python -c pass": lambda: subprocess.run(
                                  [sys.executable, "-c", "pass"], check=True),
                              "whole incipoly process": child}, args.repeats)
    samples = inner[1:]  # the first child is the untimed, cache-filling run
    rows = [[k, *fmt_spread([s[k] for s in samples])] for k in samples[0]]
    rows += [[k, *fmt_spread(v)] for k, v in times.items()]
    table = markdown_table(["measurement", "median", "min – max"], rows)
    notes = [
        f"{args.repeats} fresh processes each; the untimed first process filled the numba cache "
        f"(cache=True), so every timed one loads compiled kernels from disk. 'train call': "
        f"Config(n_features=8, n_hidden=16, steps={args.steps}), 4 seeds, float32 AdamW, "
        f"progress=False; the second, identical call in the same process is the run without "
        f"start-up cost. Process times run from spawn to exit (interpreter start included).",
        f"Child: {sys.executable}; first-call minus second-call median: "
        f"{np.median([s['first train call'] - s['second train call'] for s in samples]):.3f} s.",
    ]
    report(args, "Start-up: import and first train call (warm numba cache)", table, notes)


if __name__ == "__main__":
    main()
