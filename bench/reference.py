"""Reference implementations of the paper's training loop, batched over instances.

Both train ``S`` independent models at once from ``W0`` of shape ``(S, n, m)``, full batch of the
``n`` one-hot inputs every step, loss ``Σ (ReLU((W_i + ξ)·W_j) − δ_ij)² + l1·Σ|W|`` per instance.
They are what incipoly is benchmarked and checked against (``bench/check_reference.py``).

Hidden noise is Bernoulli ±σ, one length-``m`` vector per instance and step, drawn from the
library's own generator (torch.Generator or numpy Generator seeded with ``seed``), so the streams
differ from incipoly's and from each other. Pass ``noise`` (a function ``step → (S, m)`` array)
to use a given stream instead.
"""
from __future__ import annotations

import numpy as np

OPTIMIZERS = ("adamw", "sgd")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
#: torch.set_num_threads value used by :func:`torch_loop` (the machine's core count here).
TORCH_THREADS = 2


def _check_optimizer(optimizer):
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")


def torch_loop(W0, steps, optimizer, lr, l1, weight_decay, noise_std=0.0, seed=0, noise=None):
    """The paper's PyTorch loop: einsum forward, autograd, ``torch.optim.AdamW`` or ``SGD``.

    Runs with ``torch.set_num_threads(TORCH_THREADS)``.

    Parameters
    ----------
    W0 : ndarray, shape (S, n, m)
        Initial weights; their dtype (float32 or float64) is the training dtype.
    steps : int
    optimizer : {"adamw", "sgd"}
    lr, l1, weight_decay : float
        For SGD ``weight_decay`` is torch's (L2 added to the gradient).
    noise_std : float
        Bernoulli hidden-noise σ; 0 for none.
    seed : int
        Seeds the ``torch.Generator`` of the noise.
    noise : callable, optional
        ``noise(step) → (S, m)`` array used as ξ instead of the torch draws.

    Returns
    -------
    ndarray, shape (S, n, m)
        Final weights.
    """
    import torch
    _check_optimizer(optimizer)
    torch.set_num_threads(TORCH_THREADS)
    dtype = torch.from_numpy(np.asarray(W0)).dtype
    W = torch.nn.Parameter(torch.tensor(np.asarray(W0)))
    S, n, m = W.shape
    if optimizer == "adamw":
        opt = torch.optim.AdamW([W], lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS,
                                weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD([W], lr=lr, weight_decay=weight_decay)
    x = torch.eye(n, dtype=dtype).expand(S, n, n)
    gen = torch.Generator().manual_seed(int(seed))
    for t in range(steps):
        opt.zero_grad()
        hidden = torch.einsum("...if,...fh->...ih", x, W)
        if noise is not None:
            hidden = hidden + torch.as_tensor(noise(t), dtype=dtype).reshape(S, 1, m)
        elif noise_std > 0:
            signs = torch.randint(0, 2, (S, 1, m), generator=gen).to(dtype) * 2 - 1
            hidden = hidden + noise_std * signs
        out = torch.relu(torch.einsum("...ih,...fh->...if", hidden, W))
        loss = torch.nn.functional.mse_loss(out, x, reduction="sum") + l1 * W.abs().sum()
        loss.backward()
        opt.step()
    return W.detach().numpy().copy()


def numpy_loop(W0, steps, optimizer, lr, l1, weight_decay, noise_std=0.0, seed=0, noise=None):
    """The same loop in NumPy: batched ``np.matmul`` and the hand-derived gradient.

    With ``H = W + ξ`` and ``P = H Wᵀ`` (input i, output j), ``D = 2 (ReLU(P) − I)·[P > 0]`` and
    ``∇ = D W + Dᵀ H + l1·sign(W)``. The update follows ``torch.optim.AdamW`` operation by
    operation (decoupled decay, then moments, bias-corrected step), or SGD with torch's L2
    ``weight_decay``. Parameters and return value as :func:`torch_loop`; the noise comes from
    ``numpy.random.default_rng(seed)``.
    """
    _check_optimizer(optimizer)
    W = np.array(W0, copy=True)
    S, n, m = W.shape
    dtype = W.dtype
    eye = np.eye(n, dtype=dtype)
    rng = np.random.default_rng(seed)
    sigma = dtype.type(noise_std)
    if optimizer == "adamw":
        beta1, beta2 = ADAM_BETAS
        m1 = np.zeros_like(W)
        v = np.zeros_like(W)
    for t in range(steps):
        if noise is not None:
            H = W + np.asarray(noise(t), dtype=dtype)[:, None, :]
        elif noise_std > 0:
            H = W + np.where(rng.random((S, 1, m)) < 0.5, sigma, -sigma)
        else:
            H = W
        P = np.matmul(H, W.transpose(0, 2, 1))
        D = (P - eye) * (P > 0)
        D += D
        grad = np.matmul(D, W)
        grad += np.matmul(D.transpose(0, 2, 1), H)
        if l1:
            grad += dtype.type(l1) * np.sign(W)
        if optimizer == "sgd":
            if weight_decay:
                grad += dtype.type(weight_decay) * W
            W -= dtype.type(lr) * grad
            continue
        step = t + 1
        W *= dtype.type(1 - lr * weight_decay)
        m1 += dtype.type(1 - beta1) * (grad - m1)
        v *= dtype.type(beta2)
        v += dtype.type(1 - beta2) * grad * grad
        step_size = lr / (1 - beta1 ** step)
        denom = np.sqrt(v) / dtype.type(np.sqrt(1 - beta2 ** step)) + dtype.type(ADAM_EPS)
        W -= dtype.type(step_size) * (m1 / denom)
    return W
