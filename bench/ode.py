"""The reduced one-feature sparsification flow at m = 10⁹ (issue target: < 1 s).

``analytic.sparsification_trajectory`` integrates the exact 2-D reduced ODE whose right-hand side
needs only prefix sums of the sorted ``|w(0)|``. For m = 10⁹ two sources are timed: the
deterministic half-normal profile (``m=``) and one random draw of the initial row (``seed=``),
each to flow time 3/λ at 200 log-spaced points.

Run: ``python bench/ode.py``; ``--quick`` for a smoke run.
"""
from __future__ import annotations

import argparse

import numpy as np
from common import add_common_args, fmt_spread, markdown_table, report, time_alternating


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=7, steps=0)
    parser.add_argument("--m", type=float, default=1e9, help="hidden width (default 1e9)")
    parser.add_argument("--l1", type=float, default=1e-5, help="λ (default 1e-5)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.m = 2, 1e6
    from incipoly import analytic
    m, l1 = int(args.m), args.l1
    t = np.geomspace(1e-2, 3 / l1, 200)
    impls = {"profile (m=)": lambda: analytic.sparsification_trajectory(t, l1, m=m),
             "one random draw (seed=0)": lambda: analytic.sparsification_trajectory(t, l1, m=m, seed=0)}
    times = time_alternating(impls, args.repeats)
    rows = [[name, *fmt_spread(v), "yes" if np.median(v) < 1 else "no"] for name, v in times.items()]
    table = markdown_table(["source of w(0)", "median", "min – max", "< 1 s"], rows)
    final = analytic.sparsification_trajectory(t, l1, m=m)
    notes = [f"m = {m:.3g}, λ = {l1:g}, 200 log-spaced times up to 3/λ; each source ran once "
             f"untimed first, then {args.repeats} alternating timed calls. Profile result: "
             f"m′ = {final.m_active[0]:.4g} at t = {t[0]:g}, {final.m_active[-1]:.3g} at t = 3/λ."]
    report(args, f"Reduced sparsification ODE at m = {m:.3g}", table, notes)


if __name__ == "__main__":
    main()
