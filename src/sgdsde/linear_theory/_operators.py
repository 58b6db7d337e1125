"""The operators of the exact moment equations and the stationary moments (see the package)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import torch

from .._validate import as_int
from ..noise import empirical_covariance
from ..problems import LinearRegression


@dataclass(frozen=True)
class MomentOperators:
    """The operators of the exact moment equations of least squares at its minimiser θ̂.

    Attributes
    ----------
    problem : LinearRegression
    theta : Tensor ``(d,)``, the minimiser θ̂
    H : Tensor ``(d, d)``, the Hessian XᵀX/n
    Sigma : Tensor ``(d, d)``, Σ̂ = Σ_emp(θ̂)
    K : Tensor ``(d², d²)``, (1/n) Σ_i x_i x_iᵀ ⊗ x_i x_iᵀ
    HH : Tensor ``(d², d²)``, H ⊗ H
    Hsum : Tensor ``(d², d²)``, H ⊕ H = H ⊗ I + I ⊗ H
    Kc : Tensor ``(d², d)``, the cross operator m ↦ vec (1/n) Σ_i (h_i m b_iᵀ + b_i mᵀh_i) with
        h_i = x_i x_iᵀ and b_i = g_i(θ̂): the part of E[Σ_emp(θ)] (and of SGD's second moment)
        linear in the mean m = E[θ − θ̂]

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(40, 2)))
    >>> o.K.shape, o.S.shape, o.d
    (torch.Size([4, 4]), torch.Size([4]), 2)
    """

    problem: LinearRegression
    theta: torch.Tensor
    H: torch.Tensor
    Sigma: torch.Tensor
    K: torch.Tensor
    HH: torch.Tensor
    Hsum: torch.Tensor
    Kc: torch.Tensor

    @property
    def d(self) -> int:
        """The dimension d of θ."""
        return int(self.H.shape[-1])

    @property
    def S(self) -> torch.Tensor:
        """vec Σ̂, ``(d²,)`` (row-major)."""
        return self.Sigma.reshape(-1)


def moment_operators(
    problem: LinearRegression, theta: torch.Tensor | None = None
) -> MomentOperators:
    """Build H, Σ̂, K, H⊗H and H⊕H for ``problem`` at ``theta`` (default: its minimiser θ̂).

    Parameters
    ----------
    problem : LinearRegression
        With features X ``(n, d)``; cost O(n d⁴) time and O(d⁴) memory.
    theta : Tensor ``(d,)``, optional
        The point of expansion; the moment equations assume it is the minimiser (g_n(θ) = 0).

    Returns
    -------
    MomentOperators

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(50, 3))
    >>> o = moment_operators(p)
    >>> bool(torch.allclose(o.HH, torch.kron(o.H, o.H))), bool(torch.allclose(o.theta, p.minimizer()))
    (True, True)
    """
    if not isinstance(problem, LinearRegression):
        raise TypeError(
            f"problem must be an sgdsde.problems.LinearRegression, got {type(problem).__name__}"
        )
    theta = problem.minimizer() if theta is None else theta
    if not isinstance(theta, torch.Tensor) or theta.shape != (problem.d,):
        raise ValueError(
            f"theta must be a tensor of shape (d,) = ({problem.d},); got "
            f"{tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__}"
        )
    X, d = problem.X, problem.d
    H = problem.hessian(theta)
    I_d = torch.eye(d, dtype=H.dtype, device=H.device)
    K = torch.einsum("ia,ib,ic,id->abcd", X, X, X, X).reshape(d**2, d**2) / problem.n
    b = problem.per_sample_grads(theta)  # b_i = g_i(θ̂), (n, d)
    return MomentOperators(
        problem=problem,
        theta=theta,
        H=H,
        Sigma=empirical_covariance(problem, theta),
        K=K,
        HH=torch.kron(H, H),
        Hsum=torch.kron(H, I_d) + torch.kron(I_d, H),
        Kc=(
            torch.einsum("ia,ic,ib->abc", X, X, b) + torch.einsum("ia,ib,ic->abc", b, X, X)
        ).reshape(d**2, d)
        / problem.n,
    )


def _check_ops(ops) -> None:
    if not isinstance(ops, MomentOperators):
        raise TypeError(
            f"ops must be a MomentOperators (from moment_operators), got {type(ops).__name__}"
        )


def _check_lr(lr) -> float:
    if (
        isinstance(lr, bool)
        or not isinstance(lr, Real)
        or not (math.isfinite(lr) and float(lr) > 0)
    ):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    return float(lr)


def _check_Bc(batch_size, c) -> tuple[int, float]:
    batch_size = as_int("batch_size", batch_size, min=1)
    if isinstance(c, bool) or not isinstance(c, Real) or not 0 <= float(c) <= 1:
        raise ValueError(f"c (the finite-population factor) must be in [0, 1]; got {c!r}")
    return batch_size, float(c)


def _psd_or_raise(M: torch.Tensor, what: str) -> torch.Tensor:
    M = M.reshape(*M.shape[:-1], int(round(math.sqrt(M.shape[-1]))), -1)
    lam = torch.linalg.eigvalsh((M + M.mT) / 2)
    tol = 1e-8 * lam.abs().amax(-1).clamp_min(torch.finfo(M.dtype).tiny)
    if not bool(torch.isfinite(M).all()) or bool((lam.amin(-1) < -tol).any()):
        raise ValueError(
            f"{what}: no stationary second moment (the solution is not positive semi-definite); "
            "lr is at or beyond the mean-square stability edge"
        )
    return M


def batch_hessian_moment(ops: MomentOperators, batch_size: int, c: float = 1.0) -> torch.Tensor:
    """E[H_B ⊗ H_B] = H⊗H + (c/B)(K − H⊗H): ``(d², d²)``.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> bool(torch.allclose(batch_hessian_moment(o, 1), o.K)), bool(torch.allclose(batch_hessian_moment(o, 30, 0.0), o.HH))
    (True, True)
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    return ops.HH + c * (ops.K - ops.HH) / B


def sgd_moment_operator(
    ops: MomentOperators, lr: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """T(η) = I − η(H⊕H) + η² E[H_B⊗H_B], the linear part of SGD's moment recursion: ``(d², d²)``.

    ``vec M_{k+1} = T(η) vec M_k + η²(c/B) vec Σ̂``.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> edge = sgd_stability_edge(o, 4)
    >>> [bool(torch.linalg.eigvals(sgd_moment_operator(o, f * edge, 4)).abs().max() < 1) for f in (0.99, 1.01)]
    [True, False]
    """
    _check_ops(ops)
    eta = _check_lr(lr)
    I = torch.eye(ops.d**2, dtype=ops.H.dtype, device=ops.H.device)
    return I - eta * ops.Hsum + eta**2 * batch_hessian_moment(ops, batch_size, c)


def sgd_stability_edge(ops: MomentOperators, batch_size: int, c: float = 1.0) -> float:
    """SGD's mean-square stability edge η_edge = 1/λ_max((H⊕H)⁻¹ E[H_B⊗H_B]), a float.

    Below it T(η) has spectral radius < 1; at it T(η) has the (Perron) eigenvalue 1.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> edge_gd = 2 / float(torch.linalg.eigvalsh(o.H).max())
    >>> abs(sgd_stability_edge(o, 30, c=0.0) - edge_gd) < 1e-12, sgd_stability_edge(o, 1) < edge_gd
    (True, True)
    """
    E2 = batch_hessian_moment(ops, batch_size, c)
    return float(1 / torch.linalg.eigvals(torch.linalg.solve(ops.Hsum, E2)).real.max())


def stationary_moment_sgd(
    ops: MomentOperators, lr: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """SGD's stationary M: [H⊕H − η H⊗H − (ηc/B)(K − H⊗H)] vec M = (ηc/B) vec Σ̂. Returns ``(d, d)``.

    Raises ValueError when there is no stationary state (η at or beyond :func:`sgd_stability_edge`,
    detected as a solution that is not positive semi-definite).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> M = stationary_moment_sgd(o, 0.1, 4)
    >>> T = sgd_moment_operator(o, 0.1, 4)                     # M is the fixed point of the recursion
    >>> bool(torch.allclose(T @ M.reshape(-1) + 0.1**2 * o.S / 4, M.reshape(-1)))
    True
    """
    _check_ops(ops)
    eta = _check_lr(lr)
    B, c = _check_Bc(batch_size, c)
    M = torch.linalg.solve(
        ops.Hsum - eta * ops.HH - eta * c * (ops.K - ops.HH) / B, eta * c * ops.S / B
    )
    return _psd_or_raise(M, "stationary_moment_sgd")


def stationary_moment_sde(
    ops: MomentOperators, lr: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """The SDE (23)'s stationary M: [H⊕H − (ηc/B)(K − H⊗H)] vec M = (ηc/B) vec Σ̂. Returns ``(d, d)``.

    It differs from :func:`stationary_moment_sgd` by exactly the term η H⊗H (the finite step).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> excess_loss(o, stationary_moment_sde(o, 0.1, 4)) < excess_loss(o, stationary_moment_sgd(o, 0.1, 4))
    True
    """
    _check_ops(ops)
    eta = _check_lr(lr)
    B, c = _check_Bc(batch_size, c)
    M = torch.linalg.solve(ops.Hsum - eta * c * (ops.K - ops.HH) / B, eta * c * ops.S / B)
    return _psd_or_raise(M, "stationary_moment_sde")


def stationary_moment_additive(
    ops: MomentOperators, lr: float, batch_size: int, c: float = 1.0
) -> torch.Tensor:
    """The constant-Σ SDE's stationary M, the Lyapunov equation HM + MH = (ηc/B)Σ̂. Returns ``(d, d)``.

    Its excess loss has the closed form tr(HM)/2 = ηc tr Σ̂/(4B).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> abs(excess_loss(o, stationary_moment_additive(o, 0.1, 4)) - 0.1 * float(o.Sigma.trace()) / 16) < 1e-12
    True
    """
    _check_ops(ops)
    eta = _check_lr(lr)
    B, c = _check_Bc(batch_size, c)
    return torch.linalg.solve(ops.Hsum, eta * c * ops.S / B).reshape(ops.d, ops.d)


def excess_loss(ops: MomentOperators, M: torch.Tensor) -> float:
    """E[L_n(θ) − L_n(θ̂)] = tr(HM)/2 for the second moment M ``(d, d)`` of θ − θ̂, a float.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> d = torch.tensor([0.3, -0.1], dtype=torch.float64)
    >>> p = o.problem
    >>> abs(excess_loss(o, torch.outer(d, d)) - float(p.loss(o.theta + d) - p.loss(o.theta))) < 1e-12
    True
    """
    _check_ops(ops)
    if not isinstance(M, torch.Tensor) or M.shape != (ops.d, ops.d):
        raise ValueError(
            f"M must be a tensor of shape (d, d) = ({ops.d}, {ops.d}); got "
            f"{tuple(M.shape) if isinstance(M, torch.Tensor) else type(M).__name__}"
        )
    return 0.5 * float((ops.H * M).sum())
