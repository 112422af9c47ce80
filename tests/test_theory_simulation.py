"""Theory against full training (issue 3): reduced ODE, polysemantic counts, winners, noise.

Every statistical assertion states its tolerance in standard errors (SE) over seeds, and every run
uses fixed seeds, so the outcomes are deterministic. The sizes are small (n ≤ 24) so the file runs
in a few minutes on 2 cores; theory/README.md ("Theory vs simulation") has the n = 64 and n = 128
table and the measurements behind the numbers below (256-seed calibration of every cell drawn
here).
"""
import functools
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from incipoly import analytic, metrics  # noqa: E402
from incipoly.config import Config  # noqa: E402
from incipoly.train import train  # noqa: E402

SEEDS = 128

#: gd-prox as in compare.OPTIMIZER_DEFAULTS (λ = 1e-2, lr = 0.05) but 8000 steps = flow time 4/λ:
#: the 256-seed calibration gives the same counts at 8000 and 12000 steps (within 0.02) and every
#: feature in the band by then; AdamW is the paper's configuration.
GD_PROX = dict(optimizer="gd-prox", lr=0.05, l1=1e-2, steps=8000)
ADAMW = dict(optimizer="adamw", lr=1e-3, l1=1e-3, steps=7500)


@functools.cache
def _trained(opt, n, m):
    kw = GD_PROX if opt == "gd-prox" else ADAMW
    run = train(Config(n_features=n, n_hidden=m, dtype="float32", **kw), SEEDS, progress=False,
                record=2)
    W0 = run.W0.astype(np.float64)
    sim = metrics.polysemantic_neurons(run.W).astype(float)
    cascade = analytic.cascade_polysemantic(W0).astype(float)
    peak = np.abs(run.W).max(axis=2)
    winner = (metrics.assignments(run.W).neuron == metrics.initial_collisions(W0).neuron).mean(axis=1)
    return {
        "sim": sim, "cascade": cascade, "winner": winner,
        "in_band": float(((peak >= 0.8) & (peak <= 1.2)).mean()),
        "birthday": float(analytic.expected_polysemantic(n, m)),
        "exclusion": analytic.predicted_polysemantic(Config(n_features=n, n_hidden=m, **kw)),
    }


def _check_exclusion_band(r):
    """The exclusion law (the predictive model) is an upper model with the right spread.

    Measured on the 64-seed grid of theory/README.md section g (n = 32 … 128): sim / model is
    0.67–1.04 (0.75–0.96 for n ≤ 24 in the 256-seed calibration), never above it by 2 SE; the
    simulated sd is within 25 % of the model's in 43 of 43 cells. Tolerances: at most 2 SE above,
    at most 30 % (+ 3 SE) below, sd ratio within [0.75, 1.25].
    """
    sim, se = _mean_se(r["sim"])
    model = r["exclusion"]
    tol = np.hypot(se, model.mean_se)
    assert sim <= model.mean + 2 * tol
    assert sim >= 0.7 * model.mean - 3 * tol
    assert 0.75 <= r["sim"].std(ddof=1) / model.sd <= 1.25


def _mean_se(x):
    x = np.asarray(x, float)
    return x.mean(), x.std(ddof=1) / np.sqrt(x.size)


# ---------------------------------------------------------------------------------------------
# 1. reduced one-feature ODE against the trainer (n = 1, gd-prox, small lr)

@settings(deadline=None, derandomize=True, max_examples=8)
@given(seed=st.integers(0, 10 ** 6), m=st.integers(16, 128), fraction=st.floats(0.2, 0.6))
def test_reduced_ode_matches_one_feature_training(seed, m, fraction):
    """gd-prox at lr = 2e-3 is proximal Euler for the flow; t = lr·step, up to λt = 2.

    Tolerances (calibrated on 30 draws, worst 3.4·lr and 1.5 steps): ‖w‖₁ within 5·lr of the exact
    solution; the active count m′ (active_tol = 0, exact zeros) at each recorded step equals the
    ODE's count at some time within ±3 steps (a death may fall one or two steps early or late).
    """
    lam = fraction * np.sqrt(np.pi / (2 * m))         # below the extinction bound √(π/2m)
    lr = 2e-3
    steps = int(np.ceil(2.0 / lam / lr))
    cfg = Config(n_features=1, n_hidden=m, steps=steps, optimizer="gd-prox", lr=lr, l1=lam,
                 dtype="float64")
    run = train(cfg, [seed], progress=False, record=40, active_tol=0.0)
    t = run.history["step"] * lr
    w0 = run.W0[0, 0]
    shift = 3 * lr
    grid = np.unique(np.concatenate([np.maximum(t - shift, 0.0), t, t + shift]))
    ode = analytic.sparsification_trajectory(grid, lam, w0=w0)
    at = np.searchsorted(grid, t)
    early = np.searchsorted(grid, np.maximum(t - shift, 0.0))
    late = np.searchsorted(grid, t + shift)
    l1_sim, active_sim = run.history["l1"][:, 0, 0], run.history["active"][:, 0, 0]
    assert np.abs(l1_sim - ode.l1_norm[at]).max() <= 5 * lr
    assert np.all(ode.m_active[late] <= active_sim) and np.all(active_sim <= ode.m_active[early])
    assert active_sim[0] == m and ode.m_active[at][-1] <= 3       # it did sparsify
    assert active_sim[-1] == ode.m_active[at][-1]


# ---------------------------------------------------------------------------------------------
# 2. polysemantic counts against the birthday law and the cascade

@settings(deadline=None, derandomize=True, max_examples=4)
@given(cell=st.sampled_from([(8, 16), (8, 32), (12, 24), (12, 48), (16, 32), (16, 64),
                             (20, 40), (20, 80), (24, 48), (24, 96)]))
def test_gd_prox_counts_between_birthday_law_and_cascade(cell):
    """gd-prox, n ≤ 24, m ∈ {2n, 4n}, 128 seeds.

    * The mean never exceeds the cascade by 2 paired SE (cascade = an upper model: measured
      z(sim − cascade) from −3.7 to +0.4 at 256 seeds).
    * The miss below the cascade is at most 20 % (measured ≤ 16 % for n ≤ 24; it grows with n:
      25–35 % at n = 64–128, see the README table), with 3 paired SE of slack.
    * The birthday law holds to 3 SE for n ≥ 12 (measured |z| ≤ 2.4 at 256 seeds). At n = 8 the
      cascade holds instead (|z| ≤ 0.4) and the birthday law is below by its triple term.
    """
    n, m = cell
    r = _trained("gd-prox", n, m)
    assert r["in_band"] > 0.99                          # converged: every feature on one neuron
    sim, se = _mean_se(r["sim"])
    diff, se_diff = _mean_se(r["sim"] - r["cascade"])
    cascade = r["cascade"].mean()
    assert diff <= 2 * se_diff
    assert diff >= -0.2 * cascade - 3 * se_diff
    if n >= 12:
        assert abs(sim - r["birthday"]) <= 3 * se
    else:
        assert abs(diff) <= 3 * se_diff
    _check_exclusion_band(r)


@settings(deadline=None, derandomize=True, max_examples=3)
@given(cell=st.sampled_from([(16, 32), (16, 64), (20, 80), (24, 96)]))
def test_adamw_counts_cascade_when_converged_below_when_not(cell):
    """AdamW (paper config, 7500 steps), 128 seeds.

    * m = 4n, n ≥ 16: sparsification is complete (≥ 99.5 % of features in the band) and the
      cascade holds to 3 paired SE (measured z = −0.8, −0.6, +1.2 at 256 seeds).
    * m = 2n: 7500 AdamW steps are not enough (measured 95 % in band at n = 16): split features
      fall out of the band, and the count is *below* the cascade (measured −0.38 ± 0.09 at n = 16),
      by at most 30 % (3 paired SE of slack).
    """
    n, m = cell
    r = _trained("adamw", n, m)
    diff, se_diff = _mean_se(r["sim"] - r["cascade"])
    if m >= 4 * n:
        assert r["in_band"] >= 0.995
        assert abs(diff) <= 3 * se_diff
    else:
        assert r["in_band"] < 0.99
        assert diff < 0
        assert diff >= -0.3 * r["cascade"].mean() - 3 * se_diff
        assert r["exclusion"].mean < r["cascade"].mean()    # the one-feature c < 1 sees it too
    _check_exclusion_band(r)


# ---------------------------------------------------------------------------------------------
# 3. does the initially most correlated neuron win?

def test_winner_is_initial_argmax_more_often_under_gd_prox_and_less_as_adamw_m_grows():
    """Fraction of features whose final neuron is their initial argmax (per-seed SE, n = 16).

    Measured (256 seeds): gd-prox 0.565, 0.635 at m = 32, 64; AdamW 0.304, 0.225 on the same W0.
    gd-prox: > 0.4 and increasing in m (proximal GD preserves each feature's order up to the
    interference transient, which shrinks relative to the top gap as m/n grows). AdamW: its first
    steps are sign-like (±lr per coordinate whatever its size), which scrambles the initial order
    more as the top gap (∝ 1/√m) shrinks, so the fraction *decreases* in m and stays far below
    gd-prox. Margins: 3 SE of the difference; chance level would be 1/m.
    """
    n = 16
    gd = {m: _trained("gd-prox", n, m)["winner"] for m in (32, 64)}
    ad = {m: _trained("adamw", n, m)["winner"] for m in (32, 64)}

    def gap(a, b):                                  # mean(a − b) in SE of the paired difference
        d, s = _mean_se(a - b)
        return d / s

    for m in (32, 64):
        assert gd[m].mean() - 3 * _mean_se(gd[m])[1] > 0.4
        assert gap(gd[m], ad[m]) > 10
        assert ad[m].mean() > 5 / m                 # far above chance, though
    assert gap(gd[64], gd[32]) > 3
    assert gap(ad[32], ad[64]) > 3
    assert ad[64].mean() + 3 * _mean_se(ad[64])[1] < 0.3


# ---------------------------------------------------------------------------------------------
# 4. hidden noise: the kurtosis criterion

def _l4_change(noise, steps=30000, seeds=16):
    cfg = Config(n_features=8, n_hidden=16, steps=steps, optimizer="sgd", lr=0.02, l1=0.0,
                 noise=noise, noise_std=0.1, dtype="float32")
    run = train(cfg, seeds, progress=False, record=[0, steps // 3, steps])
    l4, l2 = run.history["l4"], run.history["l2"]
    return l4, l2


def test_noise_kurtosis_sets_the_direction_of_sparsification():
    """n = 8, m = 16, SGD lr 0.02, λ = 0, σ = 0.1, 30 000 steps, 16 seeds (the paper's check at 10⁵).

    Mean ‖W_i‖₄⁴ over features, per seed; SE over seeds. κ < 0 (bernoulli, uniform) raises it,
    κ > 0 (laplace) lowers it, gaussian leaves it flat. Measured: 0.178 → bernoulli 0.645,
    uniform 0.514, laplace 0.107, gaussian 0.170. Gaussian noise and the initial law are both
    invariant under W → WQ (Q orthogonal), so at every step each row's direction is uniform on the
    sphere and E[‖W_i‖₄⁴/‖W_i‖₂⁴] = 3/(m + 2) exactly; the test checks that to 3 SE.
    """
    m = 16
    change = {}
    for noise in ("bernoulli", "uniform", "gaussian", "laplace"):
        l4, l2 = _l4_change(noise)
        per_seed = l4.mean(axis=2)                   # (records, seeds)
        change[noise] = _mean_se(per_seed[-1] - per_seed[0])
        if noise == "gaussian":
            ratio = (l4 / l2 ** 2).mean(axis=2)      # (records, seeds)
            for row in ratio:
                mean, se = _mean_se(row)
                assert abs(mean - 3 / (m + 2)) <= 3 * se
    for noise in ("bernoulli", "uniform"):
        d, se = change[noise]
        assert d > 10 * se and d > 0.2
    d, se = change["laplace"]
    assert d < -5 * se
    d, se = change["gaussian"]
    assert abs(d) <= 3 * se
    assert change["bernoulli"][0] > change["uniform"][0]        # |κ| = 2 beats 6/5
