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


# --- minibatch model: sparse / correlated inputs, importance, bias, untied decoder -------------

def sparse_batch(key, step, B, n, p, correlation="none"):
    """The sparse batch of ``step`` (B×n) as incipoly.kernels.sparse_sampler draws it, written
    as the definition reads: units (features, or pairs (2k, 2k+1) when correlated), each
    present with probability q (p, or 2p for anticorrelated pairs), found by geometric gaps
    g = floor(ln u / ln(1 − q)) from position k0, u drawn at counter 4·((step·B + b)·U + k0);
    a present unit k draws u(k, 1) (which member, anticorrelated) and magnitudes u(k, 2 + d)."""
    key = int(key)
    U = n if correlation == "none" else (n + 1) // 2
    q = 2 * p if correlation == "anticorrelated" else p
    X = np.zeros((B, n))
    for b in range(B):
        u = lambda k, r: uniform(key, 4 * ((step * B + b) * U + k) + r)  # noqa: E731, B023
        k = 0
        while k < U:
            if q < 1:
                gap = math.log(u(k, 0)) * (1 / math.log1p(-q))
                if gap >= U - k:
                    break
                k += int(gap)
            if correlation == "none":
                members = [k]
            elif correlation == "correlated":
                members = [i for i in (2 * k, 2 * k + 1) if i < n]
            else:
                lead = u(k, 1) < 0.5
                if 2 * k + 1 < n:
                    members = [2 * k if lead else 2 * k + 1]
                else:
                    members = [2 * k] if lead else []
            for i in members:
                X[b, i] = u(k, 2 + (i - 2 * k if correlation != "none" else 0))
            k += 1
    return X


def minibatch_loss_and_grads(W, D, b, X, Xi, rho, l1):
    """L = Σ_bj ρ_j (ReLU((X W + Ξ) Dᵀ + b)_bj − X_bj)² + l1·Σ|W| and its gradients
    (∂W, ∂D, ∂b) for an untied decoder D; Ξ has one row per example (or one row, broadcast)."""
    H = X @ W + Xi
    P = H @ D.T + b
    R = np.maximum(P, 0) - X
    E = 2 * rho * R * (P > 0)
    return ((rho * R ** 2).sum() + l1 * np.abs(W).sum(),
            X.T @ (E @ D) + l1 * np.sign(W), E.T @ H, E.sum(axis=0))


def train_minibatch(W0, D0, steps, optimizer, lr, l1, weight_decay, *, inputs="one-hot", p=1.0,
                    B=None, importance=1.0, correlation="none", bias=False, tied=True,
                    noise_kind="none", sigma=0.0, noise_scope="step", key=0, in_key=0):
    """Train one instance of the minibatch model with plain NumPy; returns (W, D or None, b or None).

    One-hot: X = I, loss summed (ρ_j = r^j). Sparse: X = sparse_batch(...), ρ_j = r^j / B.
    Tied: D is W and ∂W collects both gradients. L1 on W only, weight decay on every parameter;
    the update rules are those of :func:`train`, applied to each parameter.
    """
    n, m = W0.shape
    B = n if inputs == "one-hot" else B
    rho = importance ** np.arange(n) / (B if inputs == "sparse" else 1)
    params = {"W": np.array(W0, np.float64)}
    if not tied:
        params["D"] = np.array(D0, np.float64)
    if bias:
        params["b"] = np.zeros(n)
    m1 = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(steps):
        X = np.eye(n) if inputs == "one-hot" else sparse_batch(in_key, t, B, n, p, correlation)
        if noise_scope == "example":
            Xi = np.array([noise(noise_kind, sigma, key, t * B + e, m) for e in range(B)])
        else:
            Xi = noise(noise_kind, sigma, key, t, m)[None, :]
        W = params["W"]
        D = W if tied else params["D"]
        _, gW, gD, gb = minibatch_loss_and_grads(W, D, params.get("b", np.zeros(n)), X, Xi, rho,
                                                 0.0)
        grads = {"W": gW + gD if tied else gW, "D": gD, "b": gb}
        for k in params:
            lam = l1 if k == "W" else 0.0
            params[k], m1[k], v2[k] = _optimizer_step(params[k], grads[k], m1[k], v2[k], t + 1,
                                                      optimizer, lr, lam, weight_decay)
    return params["W"], params.get("D"), params.get("b")


def _optimizer_step(w, g, m1, v, step, optimizer, lr, l1, weight_decay):
    """One update of adamw / sgd / gd-prox on one parameter (g: gradient of the smooth loss)."""
    if optimizer == "gd-prox":
        u = w * (1 - lr * weight_decay) - lr * g
        return np.sign(u) * np.maximum(np.abs(u) - lr * l1, 0), m1, v
    g = g + l1 * np.sign(w)
    if optimizer == "sgd":
        return w * (1 - lr * weight_decay) - lr * g, m1, v
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    w = w * (1 - lr * weight_decay)
    m1 = m1 + (1 - beta1) * (g - m1)
    v = v * beta2 + (1 - beta2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps
    return w - lr / (1 - beta1 ** step) * m1 / denom, m1, v
