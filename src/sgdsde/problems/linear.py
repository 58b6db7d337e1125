"""Least squares in closed form: :class:`LinearRegression`."""

from __future__ import annotations

import torch

from .._validate import check_finite, check_tensor
from .base import Problem

__all__ = ["LinearRegression"]


class LinearRegression(Problem):
    """Least squares ℓ_i(θ) = ½ (x_iᵀθ − y_i)², everything in closed form.

    g_i(θ) = (x_iᵀθ − y_i) x_i, g_n(θ) = Xᵀ(Xθ − y)/n, ∇²L_n = XᵀX/n.

    Parameters
    ----------
    X : Tensor ``(n, d)``, floating, finite
    y : Tensor ``(n,)``, same dtype and device as ``X``
    theta0 : Tensor ``(d,)``, optional default initial point (zeros if omitted)

    Examples
    --------
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> p = LinearRegression(X, torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> p.loss(torch.zeros(2, dtype=torch.float64))
    tensor(1.2500, dtype=torch.float64)
    >>> p.per_sample_grads(torch.zeros(2, dtype=torch.float64))
    tensor([[-1., -0.],
            [-0., -4.]], dtype=torch.float64)
    >>> p.batch_grad(torch.zeros(3, 2, dtype=torch.float64), torch.tensor([[0], [1], [1]])).shape
    torch.Size([3, 2])
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, theta0: torch.Tensor | None = None):
        X, y = check_tensor("X", X), check_tensor("y", y)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, d); got {tuple(X.shape)}")
        if not X.is_floating_point():
            raise TypeError(f"X must be a floating tensor, got {X.dtype}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape (n,) = ({X.shape[0]},); got {tuple(y.shape)}")
        if y.dtype != X.dtype or y.device != X.device:
            raise TypeError(f"y ({y.dtype}, {y.device}) must match X ({X.dtype}, {X.device})")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must have n >= 1 rows and d >= 1 columns; got {tuple(X.shape)}")
        check_finite("X", X)
        check_finite("y", y)
        self.X, self.y = X, y
        self.n, self.d = X.shape
        self.dtype, self.device = X.dtype, X.device
        self.theta0 = torch.zeros(self.d, dtype=self.dtype, device=self.device)
        if theta0 is not None:
            self.theta0 = self._theta(theta0, "theta0").clone()
            if self.theta0.ndim != 1:
                raise ValueError(f"theta0 must have shape (d,) = ({self.d},)")

    def residuals(self, theta: torch.Tensor) -> torch.Tensor:
        """r_i = x_iᵀθ − y_i: θ ``(..., d)`` → ``(..., n)``."""
        theta = self._theta(theta)
        return theta @ self.X.T - self.y

    def per_sample_losses(self, theta):
        return 0.5 * self.residuals(theta) ** 2

    def per_sample_grads(self, theta):
        return self.residuals(theta).unsqueeze(-1) * self.X

    def grad(self, theta):
        return self.residuals(theta) @ self.X / self.n

    def batch_grad(self, theta, idx):
        theta = self._theta(theta)
        idx = self._idx(idx, theta)
        flat = idx.reshape(-1)
        Xb = self.X.index_select(0, flat).view(
            *idx.shape, self.d
        )  # (chains, B, d), faster than X[idx]
        yb = self.y.index_select(0, flat).view(idx.shape)  # (chains, B)
        th = theta.expand(*self._batch_shape(theta, idx), self.d)
        r = (Xb @ th.unsqueeze(-1)).squeeze(-1) - yb  # residuals (chains, B)
        return (r.unsqueeze(-2) @ Xb).squeeze(-2).mul_(1.0 / idx.shape[-1])

    def hessian(self, theta):
        theta = self._theta(theta)
        H = self.X.T @ self.X / self.n
        return H.expand(*theta.shape[:-1], self.d, self.d)

    def minimizer(self) -> torch.Tensor:
        """A least-squares minimiser θ̂ of L_n (minimum-norm if XᵀX is singular), ``(d,)``.

        Examples
        --------
        >>> from sgdsde.datasets import gaussian_regression
        >>> p = LinearRegression(*gaussian_regression(50, 3, noise_std=0.0))
        >>> bool(torch.allclose(p.minimizer(), torch.ones(3, dtype=torch.float64) / 3 ** 0.5))
        True
        """
        return torch.linalg.pinv(self.X) @ self.y
