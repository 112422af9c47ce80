"""The minibatch model (sparse inputs, importance, bias, untied, per-example noise) against torch
autograd and torch's optimisers, float64, on the very same batches and noise (torch comes with
the [bench] extra, which the test command installs)."""
import numpy as np
import pytest
from hypothesis import given, settings

import incipoly as ip
from incipoly.init import input_keys, noise_keys

import naive
from test_sparse import combos, config_of

torch = pytest.importorskip(
    "torch", reason="torch is the reference here: install the [bench] extra (CI installs every extra)")


def torch_train(cfg, W0, D0, key, in_key):
    """TMS-style loop: h = xW + ξ, y = ReLU(h Dᵀ + b), loss Σ ρ_j (y − x)² + l1 Σ|W|, autograd;
    torch.optim.AdamW / SGD over [W, D, b] (weight decay on all), gd-prox by hand."""
    n, m = W0.shape
    B = n if cfg.inputs == "one-hot" else cfg.batch_size
    f64 = dict(dtype=torch.float64)
    W = torch.nn.Parameter(torch.tensor(W0, **f64))
    params = [W]
    D = W
    if not cfg.tied:
        D = torch.nn.Parameter(torch.tensor(D0, **f64))
        params.append(D)
    b = torch.zeros(n, **f64)
    if cfg.bias:
        b = torch.nn.Parameter(b)
        params.append(b)
    rho = torch.tensor(cfg.importance ** np.arange(n) / (B if cfg.inputs == "sparse" else 1), **f64)
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    prox = cfg.optimizer == "gd-prox"
    for t in range(cfg.steps):
        if cfg.inputs == "one-hot":
            x = torch.eye(n, **f64)
        else:
            x = torch.tensor(naive.sparse_batch(in_key, t, B, n, cfg.feature_prob, cfg.correlation),
                             **f64)
        if cfg.noise_scope == "example":
            xi = np.array([naive.noise(cfg.noise, cfg.noise_std, key, t * B + e, m) for e in range(B)])
        else:
            xi = naive.noise(cfg.noise, cfg.noise_std, key, t, m)[None, :]
        opt.zero_grad()
        h = torch.einsum("bi,ik->bk", x, W) + torch.tensor(xi, **f64)
        y = torch.relu(torch.einsum("bk,jk->bj", h, D) + b)
        loss = (rho * (y - x) ** 2).sum()
        if not prox:
            loss = loss + cfg.l1 * W.abs().sum()
        loss.backward()
        if not prox:
            opt.step()
            continue
        with torch.no_grad():
            for p in params:
                u = p * (1 - cfg.lr * cfg.weight_decay) - cfg.lr * p.grad
                thr = cfg.lr * cfg.l1 if p is W else 0.0
                p.copy_(torch.sign(u) * torch.clamp(u.abs() - thr, min=0))
    out = lambda p: p.detach().numpy()  # noqa: E731
    return out(W), None if cfg.tied else out(D), out(b) if cfg.bias else None


def check(cfg, seeds):
    run = ip.train(cfg, seeds=seeds, progress=False, chunk_steps=5)
    for s, seed in enumerate(seeds):
        W, D, b = torch_train(cfg, run.W0[s], None if cfg.tied else run.W_dec0[s],
                              int(noise_keys([seed])[0]), int(input_keys([seed])[0]))
        assert np.abs(run.W[s] - W).max() <= 1e-10
        if not cfg.tied:
            assert np.abs(run.W_dec[s] - D).max() <= 1e-10
        if cfg.bias:
            assert np.abs(run.b[s] - b).max() <= 1e-10


@settings(deadline=None, max_examples=30)
@given(combos)
def test_trajectory_matches_torch_over_option_combinations(c):
    check(config_of(c), [1, 6])


def test_tms_setting_matches_torch():
    """n = 20, m = 5, importance 0.7^i, p = 0.1, untied with bias, AdamW: 60 steps of batch 32."""
    cfg = ip.Config(n_features=20, n_hidden=5, steps=60, optimizer="adamw", lr=1e-2, l1=0.0,
                    weight_decay=0.0, dtype="float64", inputs="sparse", feature_prob=0.1,
                    batch_size=32, importance=0.7, bias=True, tied=False)
    check(cfg, [0])
