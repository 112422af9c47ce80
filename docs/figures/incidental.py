"""Draw docs/_static/incidental.png, the figure of the landing page and of Getting started.

A model with n = 6 features and m = 12 neurons, trained by the L1 gradient flow (gd-prox): left the
initial weights, right the trained ones, features as rows and neurons as columns. Each feature's
largest initial weight is circled; the first seed (from 0) in which two features of opposite sign
start on the same neuron is shown, and that neuron ends polysemantic.

    python docs/figures/incidental.py
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import incipoly as ip  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "incidental.png"


def main():
    cfg = ip.Config(n_features=6, n_hidden=12, optimizer="gd-prox", lr=5e-2, steps=12000, l1=1e-2)
    run = ip.train(cfg, seeds=40, progress=False)
    poly = ip.metrics.polysemantic_neurons(run.W)
    mixed = ip.metrics.initial_collisions(run.W0).mixed_neurons
    s = int(np.flatnonzero((poly == 1) & (mixed == 1))[0])
    W0, W = run.W0[s], run.W[s]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.1), layout="constrained")
    for ax, w, title in [(axes[0], W0, "at initialisation (random)"),
                         (axes[1], W, "after training")]:
        im = ax.imshow(w, cmap="RdBu_r", vmin=-1.1, vmax=1.1)
        ax.set(title=title, xlabel="neuron", ylabel="feature", xticks=range(12), yticks=range(6))
    best = np.abs(W0).argmax(axis=1)
    axes[0].scatter(best, np.arange(6), s=160, facecolors="none", edgecolors="k", linewidths=1.5)
    shared = [k for k in range(12) if np.sum(np.abs(W[:, k]) > 0.8) > 1]
    for k in shared:
        for ax in axes:
            ax.axvline(k - 0.5, color="k", lw=0.8)
            ax.axvline(k + 0.5, color="k", lw=0.8)
    axes[1].set_title("after training: neuron " + ", ".join(map(str, shared)) + " is polysemantic")
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"n = 6 features, m = 12 neurons (seed {s}): features that start on the same "
                 "neuron end up sharing it;\nsame-sign ones conflict and one moves "
                 "(circles: each feature's largest initial weight)",
                 fontsize=10)
    fig.savefig(OUT, dpi=110, bbox_inches="tight")
    print(f"seed {s}: shared neuron(s) {shared}; wrote {OUT}")


if __name__ == "__main__":
    main()
