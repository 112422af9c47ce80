"""Relocation model: a population dynamics over neuron states, tested against trained runs.

After the transient (step 50) each finished feature owns one neuron with a sign; the placements
are then independent (measured R = 0.93–1.09 at step 50, section g). The model lets owners *move*
until training ends: in a move time ``τ ∈ [0, T]`` a sole owner leaves its neuron at rate 1 and an
owner of a mixed neuron (both signs present) at rate ``1 + ε`` (the second-order repulsion of
section g); a mover takes a fair sign and lands on a free slot of that sign, a neuron held by the
other sign weighted ``1/(1 + ε)`` against an empty one (the same pressure on the newcomer). With
``A = nc/2`` owners of each sign on ``m`` neurons and ``X`` mixed neurons (mean field)::

    dX/dτ = −2(1 + ε)X + Φ·π,   Φ = 2(A − X) + 2(1 + ε)X,
    π = [(A − X)/(1 + ε)] / [(A − X)/(1 + ε) + m − 2A + X],   X(0) = A²/m.

``R = X(T)/X(0)`` multiplies the exclusion law. With ``ε = 0`` the right side vanishes at
``X = A²/m`` (sympy: :func:`fixed_point_without_bath`), so ``R = 1`` exactly: the bath switched off
gives the exclusion law, as the ``diff`` knockout does. ``T`` and ``ε`` are set per cell from the
measured leave probabilities of sole and mixed owners (step 50 → end), through a tagged owner's
two-state chain (mixed ⇄ sole, absorbed when it leaves): no count enters.

    python theory/relocation.py                    # measure rates at the design cells, compare R
    python theory/relocation.py --landing --n 32 64 --ratios 2    # is the landing set at step 50?

Outcome (theory/README.md, section h): with each cell's own measured rates the model does not
reproduce the measured overlap ratio, so it was not taken forward (numbers in the README).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402

import incipoly as ip  # noqa: E402
from incipoly.compare import OPTIMIZER_DEFAULTS  # noqa: E402
from theory.knockouts import owners  # noqa: E402

#: End of the transient (step), after which placements are independent (section g's snapshots).
T0 = 50


def fixed_point_without_bath():
    """Solve ``dX/dτ = 0`` at ``ε = 0``: returns the roots in X (``A²/m`` among them)."""
    X, A, m = sp.symbols("X A m", positive=True)
    flux = 2 * (A - X) + 2 * X
    rhs = -2 * X + flux * (A - X) / ((A - X) + m - 2 * A + X)
    return sp.solve(sp.together(rhs), X)


def solve(A, m, T, eps):
    """Integrate the model to move time ``T``.

    Returns ``(R, leave_mixed, leave_sole)``: ``X(T)/X(0)`` and the probabilities that an owner
    mixed (sole) at ``τ = 0`` has left by ``T`` (tagged owner: mixed → sole when its partner
    leaves, rate ``1 + ε``; sole → mixed when an opposite mover lands on its neuron).
    """
    def f(_, y):
        X, Mm, Ms, Sm, Ss = y
        X = min(max(X, 0.0), A)
        opp, free = (A - X) / (1 + eps), m - 2 * A + X
        pi = opp / (opp + free) if opp + free > 0 else 0.0
        flux = 2 * (A - X) + 2 * (1 + eps) * X
        land = flux / 2 * pi / max(A - X, 1e-12)
        out = [-2 * (1 + eps) * X + flux * pi]
        for mix, sole in ((Mm, Ms), (Sm, Ss)):
            out += [-2 * (1 + eps) * mix + land * sole, -sole + (1 + eps) * mix - land * sole]
        return out
    X0 = A * A / m
    y = solve_ivp(f, (0, T), [X0, 1, 0, 0, 1], rtol=1e-9, atol=1e-12).y[:, -1]
    return y[0] / X0, 1 - y[1] - y[2], 1 - y[3] - y[4]


def fit_rates(A, m, leave_sole, leave_mixed):
    """``(T, ε)`` whose model leave probabilities equal the measured ones (least squares)."""
    res = least_squares(lambda p: np.array(solve(A, m, *p)[1:]) - [leave_mixed, leave_sole],
                        [0.4, 0.1], bounds=([1e-3, -0.9], [10, 20]))
    return res.x


def _snapshots(optimizer, n, m, seeds):
    """Weights of seeds 0 … seeds−1 at step T0 and at the end (defaults of the optimizer)."""
    d = OPTIMIZER_DEFAULTS[optimizer]
    cfg = ip.Config(n_features=n, n_hidden=m, steps=d["steps"], optimizer=optimizer, lr=d["lr"],
                    l1=d["l1"])
    Ws = ip.train(cfg, seeds, progress=False, record=[0, T0, d["steps"]], snapshots=True).history["W"]
    return Ws[1].astype(float), Ws[2].astype(float)


def _held(W):
    """Argmax neuron and sign per feature, and per neuron whether a + / − feature holds it."""
    k, s = owners(W)
    S, _, m = W.shape
    plus, minus = np.zeros((S, m), bool), np.zeros((S, m), bool)
    for q in range(S):
        plus[q, k[q, s[q] > 0]] = True
        minus[q, k[q, s[q] < 0]] = True
    return k, s, plus, minus


def measure(optimizer, n, m, seeds=64):
    """Leave probabilities (step T0 → end) of sole and mixed owners and the overlap ratio R of the
    argmax placements at T0 and at the end."""
    out = []
    for W in _snapshots(optimizer, n, m, seeds):
        k, s, plus, minus = _held(W)
        out.append((k, s, plus & minus, (plus & minus).sum() / (plus.sum(1) * minus.sum(1) / m).sum()))
    (k0, s0, mixed0, R0), (k1, s1, _, R1) = out
    on_mixed = mixed0[np.arange(seeds)[:, None], k0]
    moved = (k0 != k1) | (s0 != s1)
    return dict(R0=R0, R=R1, leave_sole=moved[~on_mixed].mean(), leave_mixed=moved[on_mixed].mean())


def landing(optimizer, n, m, seeds=64):
    """Is where movers land already set at step T0? Returns the fraction of features that move,
    the fraction of movers that end on their step-T0 runner-up slot (second-largest ``|W_ik|``,
    with its sign), how often that slot's neuron is held at T0 by the opposite sign (movers, all
    features) and the base rate (neurons held by the other sign / m)."""
    W0, W1 = _snapshots(optimizer, n, m, seeds)
    k0, s0, p0, m0 = _held(W0)
    k1, s1, _, _ = _held(W1)
    rest = np.abs(W0)
    np.put_along_axis(rest, k0[..., None], -1.0, 2)
    r0 = rest.argmax(2)
    rs = np.sign(np.take_along_axis(W0, r0[..., None], 2)[..., 0])
    moved = (k0 != k1) | (s0 != s1)
    rows = np.arange(seeds)[:, None]
    opposite = np.where(rs > 0, m0[rows, r0], p0[rows, r0])
    base = np.where(rs > 0, m0.sum(1, keepdims=True), p0.sum(1, keepdims=True)).mean() / m
    return dict(moved=moved.mean(), to_runner_up=((k1 == r0) & (s1 == rs))[moved].mean(),
                opposite_movers=opposite[moved].mean(), opposite_all=opposite.mean(), base=base)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--ratios", type=float, nargs="+", default=[1, 2, 4, 16])
    ap.add_argument("--landing", action="store_true", help="report landing() instead of the rates")
    args = ap.parse_args(argv)
    if args.landing:
        print("| optimizer | n | m | moved | movers on their runner-up slot | runner-up slot opposite-held: "
              "movers | all | base rate |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        print("| optimizer | n | m | R step 50 | R end | leave sole | leave mixed | T | ε | model R |")
        print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        for r in args.ratios:
            for opt in ("gd-prox", "adamw"):
                m = int(round(r * n))
                if n * n * m > 64 * 64 * 128:
                    continue
                if args.landing:
                    x = landing(opt, n, m)
                    print(f"| {opt} | {n} | {m} | {x['moved']:.3f} | {x['to_runner_up']:.3f} | "
                          f"{x['opposite_movers']:.3f} | {x['opposite_all']:.3f} | {x['base']:.3f} |",
                          flush=True)
                    continue
                x = measure(opt, n, m)
                T, eps = fit_rates(n / 2, m, x["leave_sole"], x["leave_mixed"])
                print(f"| {opt} | {n} | {m} | {x['R0']:.3f} | {x['R']:.3f} | {x['leave_sole']:.3f} | "
                      f"{x['leave_mixed']:.3f} | {T:.3f} | {eps:+.3f} | {solve(n / 2, m, T, eps)[0]:.3f} |",
                      flush=True)


if __name__ == "__main__":
    main()
