"""Knockout experiments: which interactions make the ``+`` and ``−`` placements anti-correlated.

The exclusion law (section g) assumes the neurons finally held by ``+`` features and by ``−``
features are independent uniform sets; trained models overlap 15–25 % less. This script trains the
same models with one class of pair interaction switched off and measures the overlap again, so the
cause is found by intervention rather than by correlation (theory/README.md, section g).

Every step is the trainer's (``incipoly.kernels.cpu``) on the one-hot model, written out in NumPy::

    G = W Wᵀ,   E = (ReLU(G) − I) ∘ 1[G > 0],   ∇ = 4 (E ∘ M) W

then the gd-prox or AdamW update. ``M`` is all ones except for the knocked pairs ``(i, j)``
(``M_ii = 1`` always), classed by each feature's current argmax neuron ``k(i)`` and the sign
``s(i)`` of its weight there (reclassified every :data:`RECLASSIFY` steps):

A kind is ``CLASS`` or ``CLASS-PART``. Pair classes: ``opp-same`` (opposite signs, same argmax
neuron: the co-owners of a mixed neuron), ``opp-diff`` (opposite signs, different neurons),
``same-diff`` (same sign, different neurons), ``diff`` (different neurons, either sign). Parts:

* whole (no suffix): the pair's whole force is removed;
* ``-self``: only the force on each feature's weight on its *own* argmax neuron, ``W_i,k(i)``, is
  removed: ``∇_i,k(i)`` loses ``4 Σ_j E_ij W_j,k(i)`` over the knocked partners ``j``;
* ``-owner``: only the force a feature exerts through its own-neuron weight is removed: partner
  ``j`` feels ``W_i`` with ``W_i,k(i)`` set to 0.

``none`` knocks nothing (equals ``incipoly.train``; tested).

AdamW has two places a knockout can act (``--adam-v``). ``masked`` (the first version of this
script) feeds the knocked gradient to both moments, so the second moment ``v`` — the per-coordinate
step size — shrinks too and every step changes, knocked pair or not. ``full`` (the intervention
used in section g) keeps ``v`` on the *full* gradient and masks only the first moment, so only the
named force is removed and the step sizes stay those of the unknocked run::

    m ← β₁m + (1 − β₁)(∇_knocked + λ sign W),   v ← β₂v + (1 − β₂)(∇_full + λ sign W)²

gd-prox has no moments: the two modes are the same.

Statistic: the overlap ratio ``R = Σ_s X_s / Σ_s (a_s b_s / m)`` over seeds, with ``a, b`` the
numbers of neurons that are the argmax of some ``+`` / ``−`` feature and ``X`` those that are both
(``R = 1`` for independent placement). Its standard error is the delta method's; knockouts share
seeds with ``none``, so their differences are paired.

    python theory/knockouts.py --optimizer gd-prox --n 64 --m 128 --steps 2500 --seeds 256
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

import incipoly as ip  # noqa: E402
from incipoly.compare import OPTIMIZER_DEFAULTS  # noqa: E402

CLASSES = ("opp-same", "opp-diff", "same-diff", "diff")
KINDS = ("none",) + CLASSES + tuple(f"{c}-{p}" for c in CLASSES[1:] for p in ("self", "owner"))
#: Steps between reclassifications of the pairs (argmax and sign change slowly after the transient).
RECLASSIFY = 10
BETA1, BETA2, EPS, ADAMW_DECAY = 0.9, 0.999, 1e-8, 0.01


def owners(W):
    """Argmax neuron ``k(i)`` of every feature and the sign of its weight there, shape ``(S, n)``."""
    k = np.abs(W).argmax(2)
    return k, np.sign(np.take_along_axis(W, k[..., None], 2)[..., 0])


def _classes(W):
    """Pair masks (same neuron, opposite sign) and the one-hot of each feature's argmax."""
    k, s = owners(W)
    same = k[:, :, None] == k[:, None, :]
    opp = s[:, :, None] != s[:, None, :]
    onehot = np.zeros_like(W)
    np.put_along_axis(onehot, k[..., None], 1.0, 2)
    return same, opp, onehot


def _split(kind):
    """``"opp-diff-self"`` → ``("opp-diff", "self")``; a whole-pair kind has part ``""``."""
    for part in ("self", "owner"):
        if kind.endswith("-" + part):
            return kind[:-len(part) - 1], part
    return kind, ""


def gradient(W, kind, classes):
    """``4 (E ∘ M) W`` with the pair class ``kind`` knocked out (see the module docstring)."""
    n = W.shape[1]
    G = W @ W.transpose(0, 2, 1)
    E = np.where(G > 0, G - np.eye(n), 0.0)
    if kind == "none":
        return 4 * E @ W
    same, opp, onehot = classes
    cls, part = _split(kind)
    knocked = {"opp-same": opp & same, "opp-diff": opp & ~same, "same-diff": ~opp & ~same,
               "diff": ~same}[cls]
    kept = 4 * np.where(knocked, 0.0, E) @ W
    cut = 4 * np.where(knocked, E, 0.0)
    if part == "owner":
        return kept + cut @ (W * (1 - onehot))
    if part == "self":
        return kept + (cut @ W) * (1 - onehot)
    return kept


def train(W0, steps, optimizer, lr, l1, kind="none", adam_v="full"):
    """Train every model in ``W0`` (``(S, n, m)``, float64) with ``kind`` knocked out.

    ``adam_v``: ``"full"`` — AdamW's second moment sees the full gradient, only the first moment
    (the update's direction) the knocked one; ``"masked"`` — both see the knocked gradient.
    """
    if adam_v not in ("full", "masked"):
        raise ValueError(f"adam_v must be 'full' or 'masked'; got {adam_v!r}")
    W = np.array(W0, dtype=np.float64)
    m1, v = np.zeros_like(W), np.zeros_like(W)
    classes = None
    for t in range(1, steps + 1):
        if kind != "none" and (t - 1) % RECLASSIFY == 0:
            classes = _classes(W)
        g = gradient(W, kind, classes)
        if optimizer == "gd-prox":
            u = W - lr * g
            W = np.sign(u) * np.maximum(np.abs(u) - lr * l1, 0.0)
        else:                       # torch.optim.AdamW, L1 as λ·sign(w) in the gradient
            full = adam_v == "full" and kind != "none"
            g_v = (gradient(W, "none", None) if full else g) + l1 * np.sign(W)
            g = g + l1 * np.sign(W)
            W = W * (1 - lr * ADAMW_DECAY)
            m1 = BETA1 * m1 + (1 - BETA1) * g
            v = BETA2 * v + (1 - BETA2) * g_v * g_v
            step = lr / (1 - BETA1 ** t)
            W = W - step * m1 / (np.sqrt(v) / np.sqrt(1 - BETA2 ** t) + EPS)
    return W


def overlap_terms(W):
    """Per seed: ``X`` (neurons owned by both signs) and ``a·b/m`` (its independent value)."""
    S, _, m = W.shape
    k, s = owners(W)
    X, Y = np.zeros(S), np.zeros(S)
    for q in range(S):
        plus = np.zeros(m, bool)
        minus = np.zeros(m, bool)
        plus[k[q, s[q] > 0]] = True
        minus[k[q, s[q] < 0]] = True
        X[q] = (plus & minus).sum()
        Y[q] = plus.sum() * minus.sum() / m
    return X, Y


def ratio(X, Y):
    """``R = ΣX/ΣY`` and the per-seed influence ``(X − R·Y)/ΣY`` (its SE is ``√Σ influence²``)."""
    R = X.sum() / Y.sum()
    return R, (X - R * Y) / Y.sum()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optimizer", choices=("gd-prox", "adamw"), default="gd-prox")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--m", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2500,
                        help="steps to train (the argmax placement is settled long before the "
                             "weights reach the band)")
    parser.add_argument("--seeds", type=int, default=256)
    parser.add_argument("--adam-v", choices=("full", "masked"), default="full",
                        help="AdamW: second moment from the full gradient (only the update is "
                             "knocked; default) or from the knocked one")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS),
                        help="knockouts to run after the unknocked baseline (default: all)")
    args = parser.parse_args(argv)
    d = OPTIMIZER_DEFAULTS[args.optimizer]
    cfg = ip.Config(n_features=args.n, n_hidden=args.m, steps=0, optimizer=args.optimizer,
                    lr=d["lr"], l1=d["l1"], dtype="float64")
    W0 = ip.train(cfg, seeds=args.seeds, progress=False).W0
    print(f"| {args.optimizer} n={args.n} m={args.m} adam-v={args.adam_v} | overlap ratio R ± SE "
          "| R − R(none) ± SE |")
    print("|---|---|---|")
    base = None
    for kind in ["none"] + [k for k in args.kinds if k != "none"]:
        t0 = time.time()
        W = train(W0, args.steps, args.optimizer, d["lr"], d["l1"], kind, args.adam_v)
        R, infl = ratio(*overlap_terms(W))
        se = np.sqrt((infl ** 2).sum())
        if base is None:
            base = (R, infl)
            diff = "—"
        else:
            diff = f"{R - base[0]:+.3f} ± {np.sqrt(((infl - base[1]) ** 2).sum()):.3f}"
        print(f"| {kind} | {R:.3f} ± {se:.3f} | {diff} |  ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
