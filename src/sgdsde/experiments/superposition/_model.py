"""The toy model: feature batches, loss and closed-form gradients, batched training, geometry."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["feature_batch", "toy_loss", "toy_grads", "ToyResult", "train_toy_models", "geometry"]


def _as_instances(name, v, I, dtype, device):
    t = torch.as_tensor(v, dtype=dtype).reshape(-1).to(device)
    if t.numel() == 1:
        t = t.expand(I)
    if t.numel() != I:
        raise ValueError(
            f"{name} must be a scalar or have one entry per instance ({I}); got {t.numel()}"
        )
    return t.clone()


def feature_batch(
    batch: int, density: torch.Tensor, n_features: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Sparse features ``(batch, instances, n)``: x_i ~ U[0, 1] with probability ``density``, else 0.

    ``density`` is ``(instances,)``; dtype and device follow it.

    Examples
    --------
    >>> x = feature_batch(20000, torch.tensor([1.0, 0.1]), 3, generator=torch.Generator().manual_seed(0))
    >>> x.shape, round(float((x[:, 1] > 0).float().mean()), 2), round(float(x[:, 0].mean()), 2)
    (torch.Size([20000, 2, 3]), 0.1, 0.5)
    """
    if not isinstance(density, torch.Tensor) or density.ndim != 1:
        raise TypeError("density must be a 1-D tensor (one entry per instance)")
    if not bool(((density > 0) & (density <= 1)).all()):
        raise ValueError("density must lie in (0, 1]")
    I = density.shape[0]
    # one uniform u per entry: active iff u < p, and then u/p ~ U[0, 1] independently of activity
    u = torch.rand(
        (batch, I, n_features), generator=generator, dtype=density.dtype, device=density.device
    )
    p = density[:, None]
    return torch.where(u < p, u / p, torch.zeros_like(u))


def toy_loss(
    W: torch.Tensor, b: torch.Tensor | None, x: torch.Tensor, importance: torch.Tensor
) -> torch.Tensor:
    """Per-instance loss mean_batch Σ_i I_i (x_i − ReLU(WᵀWx + b)_i)²: ``(instances,)``.

    Shapes: W ``(I, m, n)``, b ``(I, n)`` or None (no bias), x ``(batch, I, n)``, importance ``(n,)``.

    Examples
    --------
    >>> W = torch.eye(2, 3).unsqueeze(0)                  # features 0, 1 dedicated; 2 dropped
    >>> x = torch.tensor([[[0.5, 0.5, 1.0]]])
    >>> toy_loss(W, None, x, torch.ones(3)).tolist()
    [1.0]
    """
    G = W.mT @ W  # (I, n, n)
    pre = torch.einsum("ijk,bik->bij", G, x)
    if b is not None:
        pre = pre + b
    err = x - torch.relu(pre)
    return (importance * err**2).sum(-1).mean(0)


def toy_grads(W: torch.Tensor, b: torch.Tensor | None, x: torch.Tensor, importance: torch.Tensor):
    """Gradients of :func:`toy_loss` (summed over instances) with respect to W and b, by hand.

    With δ = −2 I ⊙ (x − x̂) ⊙ 1[pre > 0] / batch and A = Σ_batch δ xᵀ ``(I, n, n)``:
    ∂L/∂b = Σ_batch δ and ∂L/∂W = W (A + Aᵀ) (since pre = WᵀWx + b).

    Returns
    -------
    (loss ``(I,)``, dW ``(I, m, n)``, db ``(I, n)`` or None)

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> W = torch.randn(2, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    >>> b = torch.randn(2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    >>> x = feature_batch(16, torch.tensor([0.5, 0.3], dtype=torch.float64), 4, generator=g)
    >>> imp = torch.ones(4, dtype=torch.float64)
    >>> toy_loss(W, b, x, imp).sum().backward()
    >>> _, dW, db = toy_grads(W.detach(), b.detach(), x, imp)
    >>> bool(torch.allclose(dW, W.grad)), bool(torch.allclose(db, b.grad))
    (True, True)
    """
    G = W.mT @ W
    pre = torch.einsum("ijk,bik->bij", G, x)
    if b is not None:
        pre = pre + b
    xh = torch.relu(pre)
    err = x - xh
    loss = (importance * err**2).sum(-1).mean(0)
    delta = (-2.0 / x.shape[0]) * importance * err * (pre > 0).to(x.dtype)  # (batch, I, n)
    A = torch.einsum("bij,bik->ijk", delta, x)  # (I, n, n)
    dW = W @ (A + A.mT)
    db = delta.sum(0) if b is not None else None
    return loss, dW, db


@dataclass
class ToyResult:
    """Trained toy models: ``W`` ``(I, m, n)``, ``b`` ``(I, n)`` or None, ``loss`` ``(R, I)`` (the
    batch loss at the recorded steps ``steps`` ``(R,)``), and the settings ``density``, ``lr``,
    ``batch_size`` per instance.

    Examples
    --------
    >>> r = train_toy_models(3, 2, [1.0], steps=10, record_every=5)
    >>> isinstance(r, ToyResult), r.steps.tolist()
    (True, [1, 5, 10])
    """

    W: torch.Tensor
    b: torch.Tensor | None
    loss: torch.Tensor
    steps: torch.Tensor
    density: torch.Tensor
    lr: torch.Tensor
    batch_size: int


@torch.no_grad()
def train_toy_models(
    n_features: int,
    n_hidden: int,
    density,
    *,
    importance=None,
    steps: int = 5000,
    batch_size: int = 256,
    lr=1e-2,
    optimizer: str = "adam",
    bias: bool = True,
    init_scale: float | None = None,
    W0: torch.Tensor | None = None,
    seed: int = 0,
    record_every: int = 100,
    dtype: torch.dtype = torch.float32,
    device=None,
    progress: bool | None = None,
) -> ToyResult:
    """Train one toy model per entry of ``density`` (and ``lr``), all in one batched loop.

    Parameters
    ----------
    n_features, n_hidden : int ≥ 1 (n and m)
    density : float or sequence, per instance, in (0, 1]: P(feature active) = 1 − S
    importance : sequence ``(n,)``, default all ones
    steps : int ≥ 1; batch_size : int ≥ 1 (fresh samples each step)
    lr : float or sequence, per instance (> 0)
    optimizer : ``"sgd"`` (plain SGD: the noise amplitude is η/B) or ``"adam"`` (β = 0.9, 0.999,
        ε = 1e-8); both are ``torch.optim`` optimisers fed the closed-form gradients of
        :func:`toy_grads`, one parameter group per learning rate
    bias : bool, include b
    init_scale : float, W entries N(0, init_scale²) (default Xavier: √(2/(m + n))); b starts at 0
    W0 : Tensor ``(I, m, n)``, optional explicit initial W (overrides init_scale)
    seed : int (one generator on ``device`` for init and data)
    record_every : int; dtype, device; progress : bool, optional (tqdm)

    Returns
    -------
    ToyResult

    Raises
    ------
    FloatingPointError
        If the parameters become non-finite (lr too large).

    Examples
    --------
    >>> r = train_toy_models(3, 2, [1.0, 0.05], steps=300, lr=0.05, seed=0)
    >>> r.W.shape, r.loss.shape
    (torch.Size([2, 2, 3]), torch.Size([4, 2]))
    >>> bool((r.loss[-1] < r.loss[0]).all())
    True
    """
    for name, v in (
        ("n_features", n_features),
        ("n_hidden", n_hidden),
        ("steps", steps),
        ("batch_size", batch_size),
        ("record_every", record_every),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1; got {v!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    dens = torch.as_tensor(density, dtype=dtype).reshape(-1)
    lrs = torch.as_tensor(lr, dtype=dtype).reshape(-1)
    I = max(dens.numel(), lrs.numel(), 1 if W0 is None else W0.shape[0])
    dens = _as_instances("density", dens, I, dtype, device)
    lrs = _as_instances("lr", lrs, I, dtype, device)
    if not bool(((dens > 0) & (dens <= 1)).all()):
        raise ValueError("density must lie in (0, 1]")
    if not bool((lrs > 0).all()):
        raise ValueError("lr must be > 0")
    n, m = n_features, n_hidden
    imp = (
        torch.ones(n, dtype=dtype, device=device)
        if importance is None
        else torch.as_tensor(importance, dtype=dtype).to(device)
    )
    if imp.shape != (n,):
        raise ValueError(
            f"importance must have shape (n_features,) = ({n},); got {tuple(imp.shape)}"
        )
    gen = torch.Generator(device=device).manual_seed(int(seed))
    if W0 is not None:
        if tuple(W0.shape) != (I, m, n):
            raise ValueError(
                f"W0 must have shape (instances, m, n) = {(I, m, n)}; got {tuple(W0.shape)}"
            )
        W = W0.to(dtype=dtype, device=device).clone()
    else:
        sc = math.sqrt(2.0 / (m + n)) if init_scale is None else float(init_scale)
        W = sc * torch.randn(I, m, n, generator=gen, dtype=dtype, device=device)
    b = torch.zeros(I, n, dtype=dtype, device=device) if bias else None
    # torch.optim on the batched instances: one parameter group per run of consecutive instances
    # sharing a learning rate, each a view into W (and b) so the optimiser updates them in place;
    # the gradients are the closed-form toy_grads, assigned to the views' .grad
    runs, a0 = [], 0
    lr_list = lrs.tolist()
    for i in range(1, I + 1):
        if i == I or lr_list[i] != lr_list[a0]:
            runs.append((a0, i))
            a0 = i
    groups = [
        {"params": [W[a:e]] + ([b[a:e]] if b is not None else []), "lr": lr_list[a]}
        for a, e in runs
    ]
    opt: torch.optim.Optimizer
    if optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=lr_list[0], betas=(0.9, 0.999), eps=1e-8)
    else:
        opt = torch.optim.SGD(groups, lr=lr_list[0])
    rec_loss, rec_step = [], []
    from tqdm.auto import tqdm

    bar = tqdm(
        total=steps,
        desc="toy models",
        leave=False,
        disable=None if progress is None else not progress,
    )
    for k in range(1, steps + 1):
        xb = feature_batch(batch_size, dens, n, generator=gen)
        loss, dW, db = toy_grads(W, b, xb, imp)
        if k == 1 or k % record_every == 0 or k == steps:
            if not bool(torch.isfinite(W).all()):
                raise FloatingPointError(
                    f"toy model parameters became non-finite by step {k}; lower lr"
                )
            rec_loss.append(loss.clone())
            rec_step.append(k)
        for (a, e), g in zip(runs, opt.param_groups):
            g["params"][0].grad = dW[a:e]
            if db is not None:
                g["params"][1].grad = db[a:e]
        opt.step()
        if k % 100 == 0:
            bar.update(100)
    bar.close()
    if not bool(torch.isfinite(W).all()):
        raise FloatingPointError("toy model parameters became non-finite; lower lr")
    return ToyResult(
        W=W,
        b=b,
        loss=torch.stack(rec_loss),
        steps=torch.tensor(rec_step),
        density=dens,
        lr=lrs,
        batch_size=batch_size,
    )


def geometry(W: torch.Tensor, threshold: float = 0.5) -> dict:
    """Feature geometry of toy models W ``(..., m, n)``.

    Returns a dict of tensors:

    * ``norms`` ``(..., n)``: ‖W_i‖ (column norms);
    * ``represented`` ``(...,)``: the number of features with ‖W_i‖ > ``threshold``;
    * ``dims_per_feature`` ``(...,)``: m/‖W‖_F² (Elhage et al.'s D*; 1 when m features are
      dedicated and the rest dropped, < 1 in superposition);
    * ``dimensionality`` ``(..., n)``: D_i = ‖W_i‖⁴/Σ_j (W_iᵀW_j)² (0 for an unrepresented feature);
    * ``max_interference`` ``(...,)``: max_{i≠j} |Ŵ_iᵀW_j| over represented features.

    Examples
    --------
    >>> W = torch.tensor([[[1.0, -1.0, 0.0]]])               # m = 1: an antipodal pair, one dropped
    >>> g = geometry(W)
    >>> g["represented"].tolist(), g["dimensionality"].tolist(), g["dims_per_feature"].tolist()
    ([2], [[0.5, 0.5, 0.0]], [0.5])
    """
    G = W.mT @ W  # (..., n, n)
    norms2 = torch.diagonal(G, dim1=-2, dim2=-1)
    norms = norms2.clamp(min=0).sqrt()
    rep = norms > threshold
    denom = (G**2).sum(-1)
    dimty = torch.where(
        norms2 > 1e-12, norms2**2 / denom.clamp(min=1e-30), torch.zeros_like(norms2)
    )
    m = W.shape[-2]
    dpf = m / (W**2).sum((-2, -1)).clamp(min=1e-30)
    unit = W / norms.clamp(min=1e-12).unsqueeze(-2)
    inter = (unit.mT @ W).abs()  # |Ŵ_iᵀ W_j|
    mask = rep.unsqueeze(-1) & rep.unsqueeze(-2)
    eye = torch.eye(W.shape[-1], dtype=torch.bool, device=W.device)
    inter = torch.where(mask & ~eye, inter, torch.zeros_like(inter))
    return {
        "norms": norms,
        "represented": rep.sum(-1),
        "dims_per_feature": dpf,
        "dimensionality": dimty,
        "max_interference": inter.flatten(-2).max(-1).values,
    }
