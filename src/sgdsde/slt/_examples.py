"""A degenerate minimum at which Σ_emp does not vanish where the Hessian does."""

from __future__ import annotations

import torch

from .._validate import check_tensor
from ..problems import ShiftedLoss

__all__ = ["quartic_additive_noise"]


def _quartic(th: torch.Tensor) -> torch.Tensor:
    return (th**4).sum(-1) / 4


def _quartic_grad(th: torch.Tensor) -> torch.Tensor:
    return th**3


def quartic_additive_noise(shifts: torch.Tensor) -> ShiftedLoss:
    """ℓ_i(θ) = Σ_j θ_j⁴/4 − t_iᵀθ with the shifts centred (t̄ = 0).

    Then L_n = Σ_j θ_j⁴/4 has a degenerate minimum at θ = 0, where ∇²L_n = 0 in every
    direction, while g_i(0) = −t_i, so Σ_emp(0) is the covariance of the shifts: the gradient
    noise does not vanish where the Hessian does.

    Parameters
    ----------
    shifts : Tensor ``(n, d)``, floating, n ≥ 2

    Examples
    --------
    >>> t = torch.tensor([[1.0], [-1.0], [2.0]], dtype=torch.float64)
    >>> p = quartic_additive_noise(t)
    >>> z = torch.zeros(1, dtype=torch.float64)
    >>> float(p.hessian(z)), abs(float(p.grad(z))) < 1e-12    # a critical point, H = 0
    (0.0, True)
    >>> round(float(p.per_sample_grads(z).var(0, correction=0)), 4)   # Σ_emp(0) = var(t) ≠ 0
    1.5556
    """
    t = check_tensor("shifts", shifts)
    if t.ndim != 2 or t.shape[0] < 2 or not t.is_floating_point():
        raise ValueError(
            f"shifts must be a floating tensor (n, d) with n >= 2; got {tuple(t.shape)}"
        )
    return ShiftedLoss(_quartic, t - t.mean(0), grad=_quartic_grad)
