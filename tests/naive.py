"""Slow, obvious NumPy references that the compiled kernels are tested against.

Everything here is written for reading, not speed: whole-matrix NumPy, one instance at a time,
Python integers for the noise generator.
"""
import math

import numpy as np

MASK64 = (1 << 64) - 1
PHI = 0x9E3779B97F4A7C15


def splitmix(key: int, counter: int) -> int:
    """SplitMix64 output number ``counter`` (0-based) of the stream that starts at state ``key``."""
    z = (key + PHI * (counter + 1)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def uniform(key, counter):
    return ((splitmix(key, counter) >> 11) + 0.5) / 2.0 ** 53


def noise(kind, sigma, key, step, m):
    """The hidden noise vector of one step (see incipoly.kernels.noise for the definitions)."""
    key = int(key)
    out = np.zeros(m)
    for j in range(m):
        c = 2 * (step * m + j)
        u = uniform(key, c)
        if kind == "bernoulli":
            out[j] = sigma if u < 0.5 else -sigma
        elif kind == "gaussian":
            out[j] = sigma * math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * uniform(key, c + 1))
        elif kind == "uniform":
            out[j] = sigma * math.sqrt(3) * (2 * u - 1)
        elif kind == "laplace":
            b = sigma / math.sqrt(2)
            out[j] = -b * math.copysign(1.0, u - 0.5) * math.log(1 - 2 * abs(u - 0.5))
    return out


def loss_and_grad(W, xi, l1):
    """Loss Σ_ij (ReLU((W_i + ξ)·W_j) − δ_ij)² + l1·Σ|W| and its gradient (ReLU′(0) = 0)."""
    n = W.shape[0]
    P = (W + xi) @ W.T                      # P[i, j]: input i, output j
    R = np.maximum(P, 0) - np.eye(n)
    D = 2 * R * (P > 0)
    grad = D @ W + D.T @ (W + xi) + l1 * np.sign(W)
    return (R ** 2).sum() + l1 * np.abs(W).sum(), grad


def train(W0, steps, optimizer, lr, l1, weight_decay, noise_kind="none", sigma=0.0, key=0):
    """Train one instance with the plain update rules; returns the final weights (float64).

    adamw follows torch.optim.AdamW step by step (decay, lerp, addcmul, addcdiv); sgd is
    W ← W(1 − lr·wd) − lr·∇; gd-prox soft-thresholds a smooth gradient step by lr·l1.
    """
    W = np.array(W0, dtype=np.float64)
    m1 = np.zeros_like(W)
    v = np.zeros_like(W)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(steps):
        xi = noise(noise_kind, sigma, key, t, W.shape[1])
        if optimizer == "gd-prox":
            _, g = loss_and_grad(W, xi, 0.0)
            u = W * (1 - lr * weight_decay) - lr * g
            W = np.sign(u) * np.maximum(np.abs(u) - lr * l1, 0)
            continue
        _, g = loss_and_grad(W, xi, l1)
        if optimizer == "sgd":
            W = W * (1 - lr * weight_decay) - lr * g
            continue
        step = t + 1
        W = W * (1 - lr * weight_decay)
        m1 = m1 + (1 - beta1) * (g - m1)
        v = v * beta2 + (1 - beta2) * g * g
        step_size = lr / (1 - beta1 ** step)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps
        W = W - step_size * m1 / denom
    return W


def polysemantic_neurons(W, lo=0.8, hi=1.2):
    """Count neurons (columns) where more than one feature (row) has |w| in [lo, hi]."""
    count = 0
    for k in range(W.shape[1]):
        hits = sum(1 for i in range(W.shape[0]) if lo <= abs(W[i, k]) <= hi)
        count += hits > 1
    return count


def gram(W):
    """``G_ij = Σ_k W_ik W_jk`` by explicit row dot products, in float64."""
    W = np.asarray(W, np.float64)
    n = W.shape[0]
    return np.array([[float(np.dot(W[i], W[j])) for j in range(n)] for i in range(n)])
