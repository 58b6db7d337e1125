"""A loss in the plane whose gradient noise is θ-dependent, anisotropic and not aligned with H."""

from __future__ import annotations

import math

import torch

from .._validate import check_tensor
from .shifted import ShiftedLoss

__all__ = ["warped_plane_loss"]


class _WarpedPlane(ShiftedLoss):
    """ShiftedLoss with the closed-form Jacobian of φ(θ) = (θ₁, θ₂, γθ₁θ₂) (no autograd)."""

    gamma: float = 0.0

    def _jac(self, th: torch.Tensor) -> torch.Tensor:  # (C, 2) -> (C, 3, 2)
        one, zero = torch.ones_like(th[:, 0]), torch.zeros_like(th[:, 0])
        rows = [
            torch.stack([one, zero], -1),
            torch.stack([zero, one], -1),
            self.gamma * th.flip(-1),
        ]
        return torch.stack(rows, -2)


def warped_plane_loss(
    h=(1.0, 2.0),
    kappa: float = 1.0,
    quartic: float = 0.5,
    gamma: float = 1.0,
    C=None,
    dtype=torch.float64,
) -> ShiftedLoss:
    """ℓ_i(θ) = f(θ) − t_iᵀφ(θ), φ(θ) = (θ₁, θ₂, γθ₁θ₂), six shifts t_i of mean 0 and covariance C.

    f(θ) = ½(h₁θ₁² + h₂θ₂²) + (κ/2)θ₁²θ₂ + (λ/4)|θ|⁴ (λ = ``quartic``). The shifts are
    t_i = C^{1/2} z_i with z_i = ±√3 e_k (k = 1, 2, 3), so their mean is exactly 0 and their
    (1/n) covariance exactly C: L_n = f, θ* = 0 is a minimum with ∇²L_n(0) = diag(h), and the
    gradient noise g_i − g_n = −J_φ(θ)ᵀt_i has the exact covariance

    .. math::
        \\Sigma(\\theta) = J_\\varphi(\\theta)^\\top C\\, J_\\varphi(\\theta), \\qquad
        J_\\varphi = \\begin{pmatrix}1&0\\\\0&1\\\\\\gamma\\theta_2&\\gamma\\theta_1\\end{pmatrix},

    positive definite for every θ (J_φ has rank 2), θ-dependent (linear terms when C₁₃ or C₂₃ ≠ 0)
    and, for a C whose upper 2×2 block is not diagonal, not commuting with ∇²L_n(0) = diag(h).

    Parameters
    ----------
    h : pair of floats > 0; kappa : float; quartic : float > 0; gamma : float
    C : Tensor ``(3, 3)`` symmetric positive definite (default: unit diagonal, C₁₂ = 0.6,
        C₁₃ = 0.4, C₂₃ = −0.3)
    dtype : torch floating dtype

    Examples
    --------
    >>> q = warped_plane_loss()
    >>> th = torch.tensor([0.3, -0.2], dtype=torch.float64)
    >>> bool(torch.allclose(q.loss(th), q.f(th))), q.n, q.d
    (True, 6, 2)
    >>> (q.hessian(torch.zeros(2, dtype=torch.float64)).round(decimals=12) + 0.0).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    vals = [float(v) for v in h] + [float(kappa), float(quartic), float(gamma)]
    if len(vals) != 5 or not all(math.isfinite(v) for v in vals):
        raise ValueError(
            f"h must be a pair and all parameters finite; got h={h}, kappa={kappa}, "
            f"quartic={quartic}, gamma={gamma}"
        )
    h1, h2, k, lam, gam = vals
    if not (h1 > 0 and h2 > 0):
        raise ValueError(f"h must be > 0; got {h}")
    if not lam > 0:
        raise ValueError(f"quartic must be > 0 (confinement); got {quartic}")
    if C is None:
        C = torch.tensor([[1.0, 0.6, 0.4], [0.6, 1.0, -0.3], [0.4, -0.3, 1.0]], dtype=dtype)
    C = check_tensor("C", C).to(dtype)
    if C.shape != (3, 3) or not torch.allclose(C, C.T):
        raise ValueError(f"C must be a symmetric (3, 3) matrix; got shape {tuple(C.shape)}")
    ev, U = torch.linalg.eigh(C)
    if float(ev.min()) <= 0:
        raise ValueError(f"C must be positive definite; smallest eigenvalue {float(ev.min()):.3g}")
    root = U @ torch.diag(ev.sqrt()) @ U.T
    z = math.sqrt(3.0) * torch.cat([torch.eye(3, dtype=dtype), -torch.eye(3, dtype=dtype)])
    shifts = z @ root

    def f(th):
        a, b = th[..., 0], th[..., 1]
        r2 = a**2 + b**2
        return 0.5 * (h1 * a**2 + h2 * b**2) + 0.5 * k * a**2 * b + 0.25 * lam * r2**2

    def g(th):
        a, b = th[..., 0], th[..., 1]
        r2 = a**2 + b**2
        return torch.stack(
            [h1 * a + k * a * b + lam * r2 * a, h2 * b + 0.5 * k * a**2 + lam * r2 * b], -1
        )

    def hess(th):
        a, b = th[..., 0], th[..., 1]
        r2 = a**2 + b**2
        hxx = h1 + k * b + lam * (r2 + 2 * a**2)
        hyy = h2 + lam * (r2 + 2 * b**2)
        hxy = k * a + 2 * lam * a * b
        return torch.stack([torch.stack([hxx, hxy], -1), torch.stack([hxy, hyy], -1)], -2)

    def phi(th):
        return torch.stack([th[..., 0], th[..., 1], gam * th[..., 0] * th[..., 1]], -1)

    q = _WarpedPlane(f, shifts, grad=g, hessian=hess, features=phi, d=2)
    q.gamma = gam
    return q
