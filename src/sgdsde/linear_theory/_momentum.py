"""Exact stationary second moments of heavy-ball SGD and of its underdamped SDE (least squares).

Heavy ball as :func:`sgdsde.sgd.run` runs it: v_{k+1} = μ v_k + g_B(θ_k), θ_{k+1} = θ_k − η v_{k+1}.
With δ = θ − θ̂, g_B(θ) = H_B δ + b_B (b_B = g_B(θ̂), mean 0), the state x = (δ, v) ∈ R^{2d} obeys

    x' = A_B x + w ⊗ b_B,   A_B = [[I − ηH_B, −ημI], [H_B, μI]],   w = (−η, 1),

so at stationarity (E x = 0) its second moment P = E[x xᵀ] ``(2d, 2d)`` solves the discrete
Lyapunov-type fixed point

    P = A P Aᵀ + (c/B) · w wᵀ ⊗ (Σ̂ + 𝒦(P_δδ)),   vec 𝒦(M) = (K − H⊗H) vec M,

with A = E A_B (the multiplicative part of the noise, 𝒦, enters through P's δδ block only).

The underdamped SDE that heavy ball discretises (step h = √η, friction γ = (1 − μ)/√η, velocity
V = −√η v): dδ = V dt, dV = −(γV + Hδ) dt + √(h(c/B) Σ_emp(θ)) dW, whose stationary P solves
F P + P Fᵀ + (hc/B) e eᵀ ⊗ (Σ̂ + 𝒦(P_δδ)) = 0 with F = [[0, I], [−H, −γI]], e = (0, 1).
"""

from __future__ import annotations

import math
from numbers import Real

import torch

from ._operators import MomentOperators, _check_Bc, _check_lr, _check_ops, _psd_or_raise

__all__ = [
    "heavy_ball_moment_operator",
    "stationary_moment_heavy_ball",
    "stationary_moment_underdamped",
    "heavy_ball_stability_edge",
    "underdamped_parameters",
]


def _check_mu(momentum) -> float:
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, Real)
        or not (math.isfinite(momentum) and 0 <= float(momentum) < 1)
    ):
        raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
    return float(momentum)


def underdamped_parameters(lr: float, momentum: float) -> tuple[float, float]:
    """(h, γ) = (√η, (1 − μ)/√η): heavy ball's step and friction as an underdamped SDE.

    Heavy ball with (η, μ) is the semi-implicit Euler–Maruyama step of size h of
    dθ = V dt, dV = −(γV + ∇L) dt + √(h Σ/B) dW, with V_k = −√η v_k.

    Examples
    --------
    >>> underdamped_parameters(0.01, 0.9)
    (0.1, 0.9999999999999998)
    """
    eta, mu = _check_lr(lr), _check_mu(momentum)
    h = math.sqrt(eta)
    return h, (1 - mu) / h


def _blocks(ops: MomentOperators, W: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Place ``(4d², d²)``: vec M ↦ vec(W ⊗ M); Sel ``(d², 4d²)``: vec P ↦ vec P_δδ (row-major)."""
    d = ops.d
    I = torch.eye(d, dtype=ops.H.dtype, device=ops.H.device)
    place = torch.einsum("ab,ik,jl->aibjkl", W, I, I).reshape(4 * d * d, d * d)
    e0 = torch.zeros(2, dtype=W.dtype, device=W.device)
    e0[0] = 1.0
    sel = torch.einsum("a,b,ik,jl->klaibj", e0, e0, I, I).reshape(d * d, 4 * d * d)
    return place, sel


def _heavy_ball_parts(ops, lr, momentum, batch_size, c):
    _check_ops(ops)
    eta, mu = _check_lr(lr), _check_mu(momentum)
    B, c = _check_Bc(batch_size, c)
    d, H = ops.d, ops.H
    I = torch.eye(d, dtype=H.dtype, device=H.device)
    A = torch.cat([torch.cat([I - eta * H, -eta * mu * I], 1), torch.cat([H, mu * I], 1)], 0)
    w = torch.tensor([-eta, 1.0], dtype=H.dtype, device=H.device)
    place, sel = _blocks(ops, torch.outer(w, w))
    L = torch.kron(A, A) + (c / B) * place @ (ops.K - ops.HH) @ sel
    return L, (c / B) * place @ ops.S


def heavy_ball_moment_operator(
    ops: MomentOperators, lr: float, momentum: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """The linear map vec P ↦ vec E[x'x'ᵀ] − (noise source) of heavy ball's (δ, v) second moment.

    ``vec P_{k+1} = L vec P_k + (c/B) vec(w wᵀ ⊗ Σ̂)`` whenever E x_k = 0; ``(4d², 4d²)``. Heavy ball
    is mean-square stable iff its spectral radius is < 1.

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> L = heavy_ball_moment_operator(o, 0.1, 0.5, 4)
    >>> L.shape, bool(torch.linalg.eigvals(L).abs().max() < 1)
    (torch.Size([16, 16]), True)
    """
    return _heavy_ball_parts(ops, lr, momentum, batch_size, c)[0]


def stationary_moment_heavy_ball(
    ops: MomentOperators, lr: float, momentum: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """Heavy-ball SGD's exact stationary second moment P = E[x xᵀ] of x = (θ − θ̂, v): ``(2d, 2d)``.

    Solves (I − L) vec P = (c/B) vec(w wᵀ ⊗ Σ̂) (see the module docstring). The top-left block is
    the stationary covariance of θ; at μ = 0 it equals :func:`stationary_moment_sgd`.

    Raises
    ------
    ValueError
        If there is no stationary state (at or beyond the mean-square stability edge).

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators, stationary_moment_sgd
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> P = stationary_moment_heavy_ball(o, 0.1, 0.0, 4)
    >>> bool(torch.allclose(P[:2, :2], stationary_moment_sgd(o, 0.1, 4)))
    True
    """
    L, q = _heavy_ball_parts(ops, lr, momentum, batch_size, c)
    eye = torch.eye(L.shape[0], dtype=L.dtype, device=L.device)
    P = torch.linalg.solve(eye - L, q)
    return _psd_or_raise(P, "stationary_moment_heavy_ball")


def stationary_moment_underdamped(
    ops: MomentOperators,
    lr: float,
    momentum: float,
    batch_size: int,
    c: float = 1.0,
    *,
    multiplicative: bool = True,
) -> torch.Tensor:
    """The underdamped SDE's stationary second moment of (θ − θ̂, v), v = −V/√η: ``(2d, 2d)``.

    Solves F P + P Fᵀ + (hc/B) e eᵀ ⊗ (Σ̂ + 𝒦(P_δδ)) = 0 in (δ, V) (h, γ from
    :func:`underdamped_parameters`), then maps V to heavy ball's v = −V/√η. With
    ``multiplicative=False`` the diffusion is the constant Σ̂ (𝒦 dropped).

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators, stationary_moment_additive
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> P = stationary_moment_underdamped(o, 0.1, 0.0, 4, multiplicative=False)
    >>> P.shape
    torch.Size([4, 4])
    """
    _check_ops(ops)
    eta, mu = _check_lr(lr), _check_mu(momentum)
    B, c = _check_Bc(batch_size, c)
    h, gam = underdamped_parameters(eta, mu)
    d, H = ops.d, ops.H
    I, Z = torch.eye(d, dtype=H.dtype, device=H.device), torch.zeros_like(H)
    F = torch.cat([torch.cat([Z, I], 1), torch.cat([-H, -gam * I], 1)], 0)
    e = torch.tensor([0.0, 1.0], dtype=H.dtype, device=H.device)
    place, sel = _blocks(ops, torch.outer(e, e))
    I2 = torch.eye(2 * d, dtype=H.dtype, device=H.device)
    G = torch.kron(F, I2) + torch.kron(I2, F)
    if multiplicative:
        G = G + (h * c / B) * place @ (ops.K - ops.HH) @ sel
    P = torch.linalg.solve(G, -(h * c / B) * place @ ops.S).reshape(2 * d, 2 * d)
    T = torch.block_diag(I, -I / h)
    P = T @ P @ T.T
    return _psd_or_raise(P.reshape(-1), "stationary_moment_underdamped")


def heavy_ball_stability_edge(
    ops: MomentOperators,
    momentum: float,
    batch_size: int,
    c: float = 1.0,
    *,
    rtol: float = 1e-10,
) -> float:
    """Heavy ball's mean-square stability edge in η: the η at which ρ(L(η)) = 1, a float.

    Bisection on the spectral radius of :func:`heavy_ball_moment_operator` below the mean's edge
    (2 + 2μ)/λ_max, which it never exceeds (ρ(L) ≥ ρ(A)² at any η).

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> lam = float(torch.linalg.eigvalsh(o.H).max())
    >>> abs(heavy_ball_stability_edge(o, 0.5, 30, c=0.0) * lam - 3.0) < 1e-8    # GD: (2 + 2μ)/λ
    True
    """
    _check_ops(ops)
    mu = _check_mu(momentum)
    lo, hi = 0.0, (2 + 2 * mu) / float(torch.linalg.eigvalsh(ops.H).max())

    def rho(eta):
        L = heavy_ball_moment_operator(ops, eta, mu, batch_size, c)
        return float(torch.linalg.eigvals(L).abs().max())

    if rho(hi * (1 - 1e-12)) < 1:
        return hi
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if rho(mid) < 1 else (lo, mid)
    return 0.5 * (lo + hi)


def eigenbasis_correlation(H: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """The correlation matrix of a covariance ``M`` ``(d, d)`` in the eigenbasis of ``H``.

    Entry (i, j) is Corr(u_iᵀθ, u_jᵀθ) for the eigenvectors u_i of H (ascending eigenvalues):
    the shape of a stationary covariance relative to the curvature directions.

    Examples
    --------
    >>> H = torch.diag(torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> M = torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    >>> eigenbasis_correlation(H, M)[0, 1].item()
    0.5
    """
    if H.ndim != 2 or H.shape != M.shape or H.shape[0] != H.shape[1]:
        raise ValueError(
            f"H and M must be square of one shape; got {tuple(H.shape)}, {tuple(M.shape)}"
        )
    _, Q = torch.linalg.eigh(H)
    Me = Q.mT @ M @ Q
    s = Me.diagonal().sqrt()
    return Me / (s[:, None] * s[None, :])


def mean_sq_batch_grad(
    ops: MomentOperators, M: torch.Tensor, batch_size: int, c: float = 1.0
) -> float:
    """E|g_B(θ)|² = tr(H²M) + (c/B) tr(Σ̂ + 𝒦(M)) when E[θ − θ̂] = 0 and E[(θ − θ̂)(θ − θ̂)ᵀ] = M.

    The right-hand side of the FDR for plain SGD, ⟨θ·∇L⟩ = (η/2) E|g_B|², from second moments.

    Examples
    --------
    >>> from sgdsde.linear_theory import moment_operators
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> abs(mean_sq_batch_grad(o, torch.zeros(2, 2, dtype=torch.float64), 5) - float(o.Sigma.trace()) / 5) < 1e-12
    True
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    if not isinstance(M, torch.Tensor) or M.shape != (ops.d, ops.d):
        raise ValueError(f"M must be a tensor (d, d) = ({ops.d}, {ops.d})")
    KM = ((ops.K - ops.HH) @ M.reshape(-1)).reshape(ops.d, ops.d)
    return float((ops.H @ ops.H * M).sum()) + c / B * float(ops.Sigma.trace() + KM.trace())


__all__ += ["eigenbasis_correlation", "mean_sq_batch_grad"]
