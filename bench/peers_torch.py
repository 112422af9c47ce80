"""PyTorch peers: eager loops (autograd + ``torch.optim``) and ``torch.compile`` of a whole step.

- eager, one-hot: :func:`reference.torch_loop` (the paper's loop);
- eager, sparse: the TMS / ARENA loop (``torch.rand`` batch, two einsums, importance-weighted
  squared error, autograd, ``torch.optim.AdamW``);
- compiled: one function per step, ``torch.func.grad`` of the summed loss and the AdamW / SGD
  update written out as ``torch.optim`` does it (bias corrections passed as tensors so the graph
  does not change with the step), batch or noise drawn inside, compiled by ``torch.compile``.

:func:`make` returns ``run(steps, data=None) → params`` (numpy), as :mod:`peers_jax` does.
"""
from __future__ import annotations

import numpy as np
from problems import ADAM, Problem
from reference import TORCH_THREADS, torch_loop


def _loss(problem: Problem):
    import torch

    if problem.family == "one-hot":
        eye = torch.eye(problem.n)

        def loss(params, xi):
            W = params["W"]
            out = torch.relu(torch.einsum("sih,sjh->sij", W + xi, W))
            return ((out - eye) ** 2).sum() + problem.l1 * W.abs().sum()
    else:
        importance = problem.importance ** torch.arange(problem.n, dtype=torch.float32)

        def loss(params, x):
            W, b = params["W"], params["b"]
            hidden = torch.einsum("sbi,sih->sbh", x, W)
            out = torch.relu(torch.einsum("sbh,sjh->sbj", hidden, W) + b[:, None, :])
            return (importance * (x - out) ** 2).mean(dim=1).sum()
    return loss


def _draw(problem: Problem, S, generator=None):
    import torch

    def draw():
        if problem.family == "one-hot":
            if not problem.noise_std:
                return torch.zeros(S, 1, problem.m)
            heads = torch.rand(S, 1, problem.m, generator=generator) < 0.5
            return torch.where(heads, problem.noise_std, -problem.noise_std)
        shape = (S, problem.batch, problem.n)
        feat = torch.rand(shape, generator=generator)
        return torch.where(torch.rand(shape, generator=generator) < problem.p, feat,
                           torch.zeros(()))
    return draw


def _as_input(problem, data, t):
    import torch
    x = torch.from_numpy(np.ascontiguousarray(data[t]))
    return x[:, None, :] if problem.family == "one-hot" else x


def make(problem: Problem, W0: np.ndarray, compiled: bool):
    """A torch trainer of ``problem`` from ``W0`` (float32): eager or ``torch.compile``d."""
    import torch
    torch.set_num_threads(TORCH_THREADS)
    S = W0.shape[0]
    if not compiled and problem.family == "one-hot":
        def run_reference(steps, data=None):
            noise = None if data is None else (lambda t: data[t])
            return {"W": torch_loop(W0, steps, problem.optimizer, problem.lr, problem.l1,
                                    problem.weight_decay, problem.noise_std, noise=noise)}
        return run_reference
    loss = _loss(problem)
    params = {"W": torch.tensor(W0)}
    if problem.family == "sparse":
        params["b"] = torch.zeros(S, problem.n)
    return (_compiled if compiled else _eager)(problem, params, loss, S)


def _eager(problem, params, loss, S):
    import torch
    leaves = {k: torch.nn.Parameter(v.clone()) for k, v in params.items()}
    opt = torch.optim.AdamW(leaves.values(), lr=problem.lr, betas=(ADAM["beta1"], ADAM["beta2"]),
                            eps=ADAM["eps"], weight_decay=problem.weight_decay)
    draw = _draw(problem, S, torch.Generator().manual_seed(0))

    def run(steps, data=None):
        for t in range(steps):
            x = draw() if data is None else _as_input(problem, data, t)
            opt.zero_grad()
            loss(leaves, x).backward()
            opt.step()
        return {k: v.detach().numpy().copy() for k, v in leaves.items()}
    return run


def _compiled(problem, params, loss, S):
    import torch
    grad = torch.func.grad(loss)
    draw = _draw(problem, S)
    lr, wd = problem.lr, problem.weight_decay
    b1, b2, eps = ADAM["beta1"], ADAM["beta2"], ADAM["eps"]

    def update(params, mom, vel, step_size, bc2, x):
        g = grad(params, x)
        if problem.optimizer == "sgd":
            return {k: params[k] - lr * g[k] for k in params}, mom, vel
        mom = {k: mom[k] + (1 - b1) * (g[k] - mom[k]) for k in params}
        vel = {k: vel[k] * b2 + (1 - b2) * g[k] * g[k] for k in params}
        params = {k: params[k] * (1 - lr * wd) - step_size * mom[k] / (vel[k].sqrt() / bc2 + eps)
                  for k in params}
        return params, mom, vel

    drawn = torch.compile(lambda p, mo, ve, ss, bc: update(p, mo, ve, ss, bc, draw()),
                          dynamic=False)
    given = torch.compile(update, dynamic=False)
    state = [params, {k: torch.zeros_like(v) for k, v in params.items()},
             {k: torch.zeros_like(v) for k, v in params.items()}, 0]

    def run(steps, data=None):
        p, mo, ve, t0 = state
        with torch.no_grad():
            for t in range(steps):
                k = t0 + t + 1
                ss = torch.tensor(lr / (1 - b1 ** k), dtype=torch.float32)
                bc = torch.tensor(np.sqrt(1 - b2 ** k), dtype=torch.float32)
                if data is None:
                    p, mo, ve = drawn(p, mo, ve, ss, bc)
                else:
                    p, mo, ve = given(p, mo, ve, ss, bc, _as_input(problem, data, t))
        state[:] = [p, mo, ve, t0 + steps]
        return {k: v.numpy().copy() for k, v in p.items()}
    return run
