"""Teacher data and the tanh-MLP student of the edge-of-stability experiment."""

from __future__ import annotations

import math

import torch
from torch import nn

from ...problems import TorchModel

__all__ = ["teacher_data", "mlp_problem", "squared_error", "edge_toy"]


def squared_error(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """½(f(x) − y)² of one example (scalar output).

    Examples
    --------
    >>> float(squared_error(torch.tensor([3.0]), torch.tensor(1.0)))
    2.0
    """
    return 0.5 * (out.squeeze(-1) - t) ** 2


def _init_(net: nn.Module, gen: torch.Generator) -> nn.Module:
    """PyTorch's default Linear init, U(±1/√fan_in), drawn from ``gen``."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                b = 1 / math.sqrt(m.in_features)
                m.weight.copy_((2 * torch.rand(m.weight.shape, generator=gen) - 1) * b)
                m.bias.copy_((2 * torch.rand(m.bias.shape, generator=gen) - 1) * b)
    return net


def _mlp(d_in: int, width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    fan = d_in
    for _ in range(depth):
        layers += [nn.Linear(fan, width), nn.Tanh()]
        fan = width
    return nn.Sequential(*layers, nn.Linear(fan, 1)).double()


def teacher_data(n: int, d_in: int, width: int, *, seed: int = 0, dtype=torch.float64):
    """x ~ N(0, I), y = a one-hidden-layer tanh teacher's output, standardised to unit variance.

    Returns
    -------
    X : Tensor ``(n, d_in)``; y : Tensor ``(n,)``

    Examples
    --------
    >>> X, y = teacher_data(50, 3, 8, seed=1)
    >>> X.shape, round(float(y.std()), 6)
    (torch.Size([50, 3]), 1.0)
    """
    for name, v in (("n", n), ("d_in", d_in), ("width", width)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise ValueError(f"{name} must be an int >= 2; got {v!r}")
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    teacher = _init_(_mlp(d_in, width, 1), gen)
    with torch.no_grad():
        y = teacher(X).squeeze(-1)
    y = (y - y.mean()) / y.std()
    return X.to(dtype), y.to(dtype)


def mlp_problem(X: torch.Tensor, y: torch.Tensor, width: int, depth: int = 2, *, seed: int = 0):
    """A :class:`~sgdsde.problems.TorchModel`: a tanh MLP (``depth`` hidden layers of ``width``),
    squared loss L = (1/2n) Σ (f(x_i) − y_i)², PyTorch's default init drawn from ``seed``.

    Examples
    --------
    >>> X, y = teacher_data(20, 3, 4)
    >>> mlp_problem(X, y, 5, 2).d                        # 3·5+5 + 5·5+5 + 5+1
    56
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int >= 1; got {depth!r}")
    net = _init_(_mlp(X.shape[1], width, depth), torch.Generator().manual_seed(seed))
    return TorchModel(net, squared_error, X, y)


def _toy_f(c: float):
    def f(th):
        return 0.5 * torch.exp(th[..., 1]) * th[..., 0] ** 2 + 0.5 * (th[..., 1] - c) ** 2

    return f


def _toy_grad(c: float):
    def g(th):
        e, w1, w2 = torch.exp(th[..., 1]), th[..., 0], th[..., 1]
        return torch.stack([e * w1, 0.5 * e * w1**2 + w2 - c], -1)

    return g


def edge_toy(c: float = 3.0, *, dtype=torch.float64):
    """The two-parameter model L(w) = ½ e^{w₂} w₁² + ½ (w₂ − c)² as a one-sample Problem.

    Its sharpness is ≈ e^{w₂} (for small w₁), which gradient flow drives up to e^c. At the edge
    the central flow is explicit: w₂ = log(2/η), w₁ → 0 and σ² = η (c − log(2/η)); GD's period-2
    orbit w₁ = ±a, e^{w₂} = 2/η has a² = σ² exactly.

    Examples
    --------
    >>> p = edge_toy()
    >>> float(p.loss(torch.tensor([0.0, 3.0], dtype=torch.float64)))
    0.0
    """
    from ...problems import ShiftedLoss

    if isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0:
        raise ValueError(f"c must be a float > 0; got {c!r}")
    c = float(c)
    return ShiftedLoss(_toy_f(c), torch.zeros(1, 2, dtype=dtype), grad=_toy_grad(c))
