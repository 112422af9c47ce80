"""The AdamW path against torch.optim.AdamW itself (torch comes with the [bench] extra)."""
import numpy as np
import pytest

import incipoly as ip

torch = pytest.importorskip("torch", reason="torch is the reference here; install the [bench] extra")


def torch_train(W0, steps, lr, l1, weight_decay):
    """The paper's loop: einsum forward, ReLU, summed MSE + L1, autograd, torch.optim.AdamW."""
    W = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = torch.optim.AdamW([W], lr=lr, weight_decay=weight_decay)
    n = W0.shape[-2]
    x = torch.eye(n, dtype=torch.float64).expand(W0.shape[0], n, n)
    for _ in range(steps):
        opt.zero_grad()
        hidden = torch.einsum("...if,...fh->...ih", x, W)
        out = torch.relu(torch.einsum("...ih,...fh->...if", hidden, W))
        loss = torch.nn.functional.mse_loss(out, x, reduction="sum") + l1 * W.abs().sum()
        loss.backward()
        opt.step()
    return W.detach().numpy()


@pytest.mark.parametrize("n,m", [(5, 8), (8, 3), (1, 4)])
def test_adamw_matches_torch(n, m):
    cfg = ip.Config(n_features=n, n_hidden=m, steps=200, lr=1e-2, l1=1e-2, dtype="float64")
    run = ip.train(cfg, seeds=3, progress=False)
    ref = torch_train(run.W0, 200, 1e-2, 1e-2, 0.01)
    assert np.abs(run.W - ref).max() <= 1e-10


def test_adamw_float32_close_to_torch():
    cfg = ip.Config(n_features=6, n_hidden=10, steps=50, lr=1e-2, l1=0.0, dtype="float32")
    run = ip.train(cfg, seeds=2, progress=False)
    ref = torch_train(run.W0.astype(np.float64), 50, 1e-2, 0.0, 0.01)
    assert np.abs(run.W - ref).max() <= 1e-5
