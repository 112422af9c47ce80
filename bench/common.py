"""Shared benchmark plumbing: machine description, alternating timer, tables, RESULTS.md.

Conventions (see DESIGN.md, "Benchmarks"): implementations are timed alternately in one process,
each once untimed first (compilation, caches, thread pools warmed up), at least 5 repetitions,
reported as median and min–max.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")
WARMUP_NOTE = ("Each implementation ran once untimed before timing (compilation and warm-up "
               "excluded); implementations alternate within each repetition; median and "
               "min–max over the repetitions.")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return platform.processor() or "unknown"
    info = {k.strip(): v.strip() for k, v in info.items()}
    flags = set(info.get("flags", "").split())
    simd = "/".join(x for x in ("avx2", "fma", "avx512f") if x in flags) or "no avx2"
    virt = ", virtualised" if "hypervisor" in flags else ""
    return (f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')}, "
            f"model {info.get('model', '?')}, {simd}{virt})")


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _blas():
    from threadpoolctl import threadpool_info
    libs = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, "
            f"{d.get('num_threads')} threads, {Path(d.get('filepath', '')).name})"
            for d in threadpool_info() if d.get("user_api") == "blas"]
    return "; ".join(libs) or "none found"


def machine_info() -> dict:
    """Hardware and software facts for a results block (CPU, cores, load, versions, date)."""
    import numba
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, which numba's np.dot calls)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": f"{cores} usable ({os.cpu_count()} online), numba threads {numba.get_num_threads()}",
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": ", ".join(f"{d} {_version(d)}"
                              for d in ("numpy", "numba", "llvmlite", "scipy", "torch", "jax",
                                        "incipoly")),
        "blas": _blas(),
    }


def machine_block(info: dict | None = None) -> str:
    """:func:`machine_info` as a fenced text block."""
    info = machine_info() if info is None else info
    width = max(map(len, info))
    return "```\n" + "\n".join(f"{k:<{width}}  {v}" for k, v in info.items()) + "\n```"


def time_alternating(impls: dict, repeats: int) -> dict:
    """Time zero-argument callables alternately; each runs once untimed first.

    Within repetition ``r`` the order is rotated by ``r`` (A B C, B C A, …) so no implementation
    always runs first.

    Parameters
    ----------
    impls : dict
        Name → callable.
    repeats : int
        Timed calls per implementation.

    Returns
    -------
    dict
        Name → ndarray of ``repeats`` wall-clock seconds.
    """
    names = list(impls)
    for name in names:
        impls[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            impls[name]()
            times[name].append(time.perf_counter() - t)
    return {name: np.array(v) for name, v in times.items()}


def spread(x) -> tuple:
    """``(median, min, max)`` of a sample."""
    x = np.asarray(x, dtype=float)
    return float(np.median(x)), float(x.min()), float(x.max())


def fmt_time(seconds: float) -> str:
    """Seconds with an SI prefix and 3 significant digits (``1.23 ms``)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"


def fmt_spread(x) -> tuple:
    """Median and ``min–max`` of a sample of seconds, formatted: ``("1.2 ms", "1.1–1.4 ms")``."""
    med, lo, hi = spread(x)
    return fmt_time(med), f"{fmt_time(lo)} – {fmt_time(hi)}"


def markdown_table(headers, rows) -> str:
    """A GitHub-markdown table; cells are converted with ``str``."""
    lines = ["| " + " | ".join(map(str, headers)) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def add_common_args(parser: argparse.ArgumentParser, repeats: int, steps: int):
    """Add ``--repeats``, ``--steps``, ``--quick`` and ``--no-record`` to a script's parser."""
    parser.add_argument("--repeats", type=int, default=repeats,
                        help=f"timed repetitions per implementation (default {repeats})")
    parser.add_argument("--steps", type=int, default=steps,
                        help=f"training steps per timed call (default {steps})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small sizes, 2 repetitions, nothing written to RESULTS.md")
    parser.add_argument("--no-record", action="store_true",
                        help="print only, do not append to bench/RESULTS.md")


def report(args, title: str, table: str, notes=()):
    """Print ``title``, ``table`` and ``notes``; append them with the machine block to
    ``bench/RESULTS.md`` unless ``--quick`` or ``--no-record`` was given."""
    info = machine_info()
    text = "\n\n".join([f"## {title}", machine_block(info), table] + [n for n in notes if n])
    print(text)
    if args.quick or args.no_record:
        print("\n(not recorded: --quick/--no-record)")
        return
    new = not RESULTS.exists()
    with open(RESULTS, "a") as f:
        if new:
            f.write("# incipoly benchmark results\n\nAppended by the scripts in bench/; "
                    "newest last.\n")
        f.write("\n" + text + "\n")
    print(f"\nappended to {RESULTS}")


def incipoly_call(config, W0, steps: int):
    """A callable training ``W0`` for ``steps`` steps with ``incipoly.train`` (one compiled chunk).

    History is recorded only at the last step: one noiseless loss evaluation per call, which
    costs about one training step and is included in the timing.
    """
    import incipoly as ip
    cfg = config.replace(steps=steps)
    return lambda: ip.train(cfg, seeds=len(W0), W0=W0, record=[steps], progress=False,
                            chunk_steps=steps)


def reference_calls(config, W0, steps: int) -> dict:
    """``{"torch_loop": callable, "numpy_loop": callable}`` training ``W0`` like ``config``."""
    from reference import numpy_loop, torch_loop
    if config.noise not in ("none", "bernoulli"):
        raise ValueError(f"the reference loops draw Bernoulli noise only; got {config.noise!r}")
    args = (W0, steps, config.optimizer, config.lr, config.l1, config.weight_decay,
            config.noise_std if config.noise == "bernoulli" else 0.0)
    return {"torch_loop": lambda: torch_loop(*args), "numpy_loop": lambda: numpy_loop(*args)}


def per_step_table(times: dict, steps: dict, baselines, total_steps: int | None = None) -> str:
    """Markdown table of seconds per step, with one ratio column per baseline implementation.

    Parameters
    ----------
    times : dict
        Name → seconds per call (from :func:`time_alternating`).
    steps : dict
        Name → training steps per call.
    baselines : sequence of str
        Names whose median s/step the others are divided by (``× name`` columns).
    total_steps : int, optional
        Also give the median time for this many steps (extrapolated from s/step).
    """
    per_step = {k: np.asarray(v) / steps[k] for k, v in times.items()}
    headers = ["implementation", "steps per timed call", "s/step median", "s/step min – max"]
    headers += [f"÷ {b}" for b in baselines]
    if total_steps:
        headers.append(f"time for {total_steps:g} steps")
    rows = []
    for name, x in per_step.items():
        med = float(np.median(x))
        row = [name, steps[name], *fmt_spread(x)]
        row += [f"{med / np.median(per_step[b]):.2f}" for b in baselines]
        if total_steps:
            row.append(fmt_time(med * total_steps))
        rows.append(row)
    return markdown_table(headers, rows)
