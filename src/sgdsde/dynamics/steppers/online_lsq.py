"""Online (fresh-sample) least squares with Gaussian inputs: a random linear recursion.

Examples
--------
>>> from sgdsde.dynamics.steppers.online_lsq import OnlineLeastSquares
>>> OnlineLeastSquares.weak_order is None
True
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from ..draws import Increments
from .base import Stepper

__all__ = ["OnlineLeastSquares"]


class OnlineLeastSquares(Stepper):
    """SGD on the population least-squares loss with a fresh Gaussian batch at every step.

    The state is the error θ − θ* (so θ* = 0); each step draws X_k ∈ R^{B×d} and ε_k ∈ R^B with
    i.i.d. N(0, 1) entries (``x ~ N(0, I_d)``, label noise σε) and sets

    .. math::
        \\theta_{k+1} = \\theta_k - \\tfrac{\\eta}{B} X_k^\\top (X_k\\theta_k - \\sigma\\varepsilon_k)
        = A_k\\theta_k + b_k,\\quad A_k = I - \\tfrac{\\eta}{B}X_k^\\top X_k,\\
        b_k = \\tfrac{\\eta\\sigma}{B}X_k^\\top\\varepsilon_k,

    the random linear recursion of :mod:`sgdsde.kesten`. The population gradient is
    g(θ) = θ (E xxᵀ = I), and the gradient noise of step k is ξ_k = g(θ_k) − g_{B_k}(θ_k);
    :meth:`noise` computes it for given draws. The step is exact (no
    discretisation of anything): no order is claimed.

    Parameters
    ----------
    lr : float > 0 (η);  batch_size : int ≥ 1 (B);  noise_std : float ≥ 0 (σ)

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> st = OnlineLeastSquares(0.1, 4, noise_std=1.0)
    >>> path = integrate(st, torch.zeros(3, dtype=torch.float64), 300, chains=2000, seed=0,
    ...                  save_every=300)
    >>> v = float(path.final.var(0).mean())      # E θθᵀ = (η/B)σ²/(2 − η(B+d+1)/B) I
    >>> abs(v / (0.1 / 4 / (2 - 0.1 * 8 / 4)) - 1) < 0.1
    True
    >>> OnlineLeastSquares(0.0, 1)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0; got 0.0
    """

    weak_order = None
    strong_order = None
    graph_safe = True

    def __init__(self, lr: float, batch_size: int, *, noise_std: float = 1.0):
        if isinstance(lr, bool) or not isinstance(lr, Real) or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
        if (
            isinstance(noise_std, bool)
            or not isinstance(noise_std, Real)
            or not (math.isfinite(noise_std) and noise_std >= 0)
        ):
            raise ValueError(f"noise_std must be a finite number >= 0; got {noise_std!r}")
        self.lr: float = float(lr)
        self.batch_size: int = int(batch_size)
        self.noise_std: float = float(noise_std)

    def draws(self, x, steps, gen):
        C, d = x.shape
        return Increments(
            "gaussian", None, (C, self.batch_size, d + 1), steps, x.dtype, x.device, gen
        )

    def batch_grad(self, th: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """g_B(θ) = (1/B) Xᵀ(Xθ − σε) for draws ``z`` = [X | ε] of shape ``(chains, B, d + 1)``."""
        X, eps = z[..., :-1], z[..., -1]
        if X.shape[-1] == 1:  # elementwise: faster than einsum for d = 1
            r = X[..., 0] * th - self.noise_std * eps
            return (X[..., 0] * r).sum(1, keepdim=True) / self.batch_size
        r = torch.einsum("cbi,ci->cb", X, th) - self.noise_std * eps
        return torch.einsum("cbi,cb->ci", X, r) / self.batch_size

    def noise(self, th: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """ξ = g(θ) − g_B(θ) with g(θ) = θ, for draws ``z`` as in :meth:`batch_grad`."""
        return th - self.batch_grad(th, z)

    def step(self, th, z, k):
        return th - self.lr * self.batch_grad(th, z)
