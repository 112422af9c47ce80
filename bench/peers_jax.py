"""JAX peer: ``jit`` of a ``lax.scan`` over a chunk of steps, ``vmap(value_and_grad)`` over
instances, AdamW / SGD written out as ``torch.optim`` does them (no optax).

:func:`make` returns ``run(steps, data=None) → params`` (numpy). Without ``data`` each step draws
its own noise or sparse batch with ``jax.random`` inside the scan (timed runs); with ``data``
(from :func:`problems.check_data`) the scan consumes those (equivalence checks).
"""
from __future__ import annotations

import numpy as np
from problems import ADAM, Problem


def _losses(problem: Problem):
    import jax.numpy as jnp

    if problem.family == "one-hot":
        eye = jnp.eye(problem.n, dtype=jnp.float32)

        def loss(params, xi):
            W = params["W"]
            out = jnp.maximum((W + xi) @ W.T, 0.0)
            return jnp.sum((out - eye) ** 2) + problem.l1 * jnp.sum(jnp.abs(W))
    else:
        rho = jnp.asarray(problem.importance ** np.arange(problem.n), jnp.float32)

        def loss(params, x):
            W, b = params["W"], params["b"]
            out = jnp.maximum((x @ W) @ W.T + b, 0.0)
            return jnp.sum(rho * jnp.mean((out - x) ** 2, axis=0))
    return loss


def make(problem: Problem, W0: np.ndarray):
    """A JAX trainer of ``problem`` from ``W0`` (float32); see the module docstring."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    S, n, m = W0.shape
    loss = _losses(problem)
    grads = jax.vmap(jax.value_and_grad(loss))
    lr, wd = problem.lr, problem.weight_decay
    b1, b2, eps = ADAM["beta1"], ADAM["beta2"], ADAM["eps"]

    def draw(key):
        if problem.family == "one-hot":
            if not problem.noise_std:
                return jnp.zeros((S, 1, m), jnp.float32)
            signs = jax.random.bernoulli(key, 0.5, (S, 1, m))
            return jnp.where(signs, problem.noise_std, -problem.noise_std).astype(jnp.float32)
        k1, k2 = jax.random.split(key)
        shape = (S, problem.batch, n)
        mask = jax.random.uniform(k1, shape) < problem.p
        return jnp.where(mask, jax.random.uniform(k2, shape), 0.0)

    def step(state, inp):
        params, mom, vel, t = state
        data = draw(inp) if inp.dtype == jnp.uint32 else inp       # a key, or given data
        if problem.family == "one-hot" and data.ndim == 2:
            data = data[:, None, :]
        _, g = grads(params, data)
        t = t + 1
        if problem.optimizer == "sgd":
            params = jax.tree.map(lambda w, gk: w - lr * gk, params, g)
            return (params, mom, vel, t), None
        step_size = lr / (1 - b1 ** t)
        bc2 = jnp.sqrt(1 - b2 ** t)
        mom = jax.tree.map(lambda mk, gk: mk + (1 - b1) * (gk - mk), mom, g)
        vel = jax.tree.map(lambda vk, gk: vk * b2 + (1 - b2) * gk * gk, vel, g)
        params = jax.tree.map(lambda w, mk, vk: w * (1 - lr * wd) - step_size * mk
                              / (jnp.sqrt(vk) / bc2 + eps), params, mom, vel)
        return (params, mom, vel, t), None

    chunk = jax.jit(lambda state, xs: lax.scan(step, state, xs)[0])
    params = {"W": jnp.asarray(W0)}
    if problem.family == "sparse":
        params["b"] = jnp.zeros((S, n), jnp.float32)
    zeros = jax.tree.map(jnp.zeros_like, params)
    state = [params, zeros, zeros, jnp.float32(0)]
    key = [jax.random.PRNGKey(0)]

    def run(steps, data=None):
        if data is None:
            key[0], sub = jax.random.split(key[0])
            xs = jax.random.split(sub, steps)
        else:
            xs = jnp.asarray(data)
        state[:] = chunk(tuple(state), xs)
        jax.block_until_ready(state[0])
        return {k: np.asarray(v) for k, v in state[0].items()}
    return run
