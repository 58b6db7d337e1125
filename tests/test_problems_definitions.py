"""Engine checks of ``sgdsde.problems`` moved out of the §1.1–1.7 and §1.8 chapters.

The digits network's losses and gradients against PyTorch's own cross-entropy and reverse-mode
autograd (one sample at a time and the mean), ``batch_grad`` with repeated indices, and the
subset constructor (same initial point, first rows of the data).
"""

import torch

from sgdsde import problems as P
from sgdsde.book import assert_close

DT = torch.float64


def test_digits_mlp_losses_and_gradients_match_autograd():
    mlp = P.digits_mlp(hidden=(16,), n=256, seed=0, dtype=DT)
    th = mlp.theta0
    ce = torch.nn.functional.cross_entropy(mlp.model(mlp.X), mlp.y, reduction="none")
    assert_close(mlp.per_sample_losses(th), ce.detach())
    assert_close(mlp.loss(th), ce.detach().mean())
    params = list(mlp.model.parameters())
    G = mlp.per_sample_grads(th)
    for i in (0, 7, mlp.n - 1):
        li = torch.nn.functional.cross_entropy(mlp.model(mlp.X[i : i + 1]), mlp.y[i : i + 1])
        gi = torch.cat([t.reshape(-1) for t in torch.autograd.grad(li, params)])
        assert_close(G[i], gi)
    Ln = torch.nn.functional.cross_entropy(mlp.model(mlp.X), mlp.y)
    gn_auto = torch.cat([t.reshape(-1) for t in torch.autograd.grad(Ln, params)])
    assert_close(mlp.grad(th), gn_auto)
    assert_close(G.mean(0), gn_auto)
    idx = torch.tensor([[3, 3, 10, 200]])  # a repeated index counts twice
    assert_close(mlp.batch_grad(th, idx)[0], G[idx[0]].mean(0))


def test_digits_mlp_subset_shares_the_initial_point_and_the_first_rows():
    for seed in (0, 271828):
        pop = P.digits_mlp(hidden=(16,), seed=seed, dtype=DT)
        sub = P.digits_mlp(hidden=(16,), n=256, seed=seed, dtype=DT)
        assert torch.equal(sub.theta0, pop.theta0) and torch.equal(sub.X, pop.X[:256])
