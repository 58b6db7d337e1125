"""Deep linear networks f(x) = W_L ⋯ W_1 x with squared loss: :class:`DeepLinearNetwork`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validate import as_int, as_real, check_tensor
from .torch_model import TorchModel

__all__ = ["DeepLinearNetwork"]


def _half_sq(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((out - t) ** 2).sum()


class DeepLinearNetwork(TorchModel):
    """Deep linear network f(x) = W_L ⋯ W_1 x with squared loss ℓ_i = ½‖f(x_i) − y_i‖².

    θ = (vec W_1, …, vec W_L) (row-major), W_l of shape ``(widths[l], widths[l-1])``.

    Parameters
    ----------
    widths : sequence of int, length ≥ 2
        ``(d_in, d_1, …, d_out)``.
    X : Tensor ``(n, d_in)``
    Y : Tensor ``(n, d_out)``
    init_scale : float
        Initial entries of every W_l are i.i.d. N(0, init_scale²) (small values give the
        saddle-to-saddle regime of deep linear networks).
    seed : int
        Seed of the initialisation (CPU generator, so identical on every device).

    Examples
    --------
    >>> from sgdsde.datasets import teacher_student
    >>> X, Y = teacher_student(20, 3, 2, 2, seed=0)
    >>> net = DeepLinearNetwork((3, 4, 2), X, Y, init_scale=0.1)
    >>> net.d, net.end_to_end(net.theta0).shape
    (20, torch.Size([2, 3]))
    """

    def __init__(
        self,
        widths: Sequence[int],
        X: torch.Tensor,
        Y: torch.Tensor,
        *,
        init_scale: float = 0.1,
        seed: int = 0,
    ):
        widths = tuple(as_int(f"widths[{i}]", w, min=1) for i, w in enumerate(widths))
        if len(widths) < 2:
            raise ValueError(f"widths must be >= 2 positive ints (d_in, ..., d_out); got {widths}")
        init_scale = as_real("init_scale", init_scale, min=0.0)
        seed = as_int("seed", seed)
        X, Y = check_tensor("X", X), check_tensor("Y", Y)
        if X.ndim != 2 or X.shape[1] != widths[0]:
            raise ValueError(
                f"X must have shape (n, widths[0]) = (n, {widths[0]}); got {tuple(X.shape)}"
            )
        if Y.ndim != 2 or Y.shape != (X.shape[0], widths[-1]):
            raise ValueError(
                f"Y must have shape (n, widths[-1]) = ({X.shape[0]}, {widths[-1]}); got {tuple(Y.shape)}"
            )
        self.widths = widths
        gen = torch.Generator().manual_seed(seed)
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            lin = nn.Linear(a, b, bias=False, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(init_scale * torch.randn(b, a, generator=gen, dtype=torch.float64))
            layers.append(lin)
        model = nn.Sequential(*layers)
        super().__init__(model, _half_sq, X, Y)

    def weights(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """The layer matrices [W_1, …, W_L], each ``(..., widths[l], widths[l-1])``."""
        theta = self._theta(theta)
        parts = torch.split(theta, self.numels, dim=-1)
        return [p.reshape(*theta.shape[:-1], *s) for p, s in zip(parts, self.shapes)]

    def end_to_end(self, theta: torch.Tensor) -> torch.Tensor:
        """The product W_L ⋯ W_1, ``(..., d_out, d_in)``."""
        Ws = self.weights(theta)
        P = Ws[0]
        for W in Ws[1:]:
            P = W @ P
        return P
