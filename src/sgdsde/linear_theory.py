"""Exact second moments of SGD and of its SDEs for least squares (the yardstick of notes §2.3).

For ``LinearRegression`` (ℓ_i = ½(x_iᵀθ − y_i)²) write δ = θ − θ̂, H = XᵀX/n, H_B for the batch
Hessian and b_B = g_B(θ̂). One SGD step is δ' = (I − ηH_B)δ − ηb_B, so the second moment
M = E[δδᵀ] (vectorised row-major, ``vec M`` of length d²) obeys an exact linear recursion. With

* ``K = (1/n) Σ_i x_i x_iᵀ ⊗ x_i x_iᵀ`` (the features' fourth-moment operator, ``(d², d²)``),
* ``H⊗H`` and ``H⊕H = H⊗I + I⊗H`` (``(d², d²)``),
* ``c = 1`` with replacement, ``c = (n − B)/(n − 1)`` without (the scheme's
  :meth:`sgdsde.sampling.SamplingScheme.cov_factor`, e.g. ``sampling.cov_factor(scheme, n, B)``),
* ``Σ̂ = Σ_emp(θ̂)``,

one has E[H_B ⊗ H_B] = H⊗H + (c/B)(K − H⊗H), E[b_B b_Bᵀ] = (c/B)Σ̂ and

* SGD: ``M_{k+1} = T(η) M_k + η² (c/B) Σ̂`` with ``T(η) = I − η(H⊕H) + η² E[H_B⊗H_B]``;
* the SDE (23): ``dM/dt = −A(η) M + (ηc/B) Σ̂`` with ``A(η) = H⊕H − (ηc/B)(K − H⊗H)``
  (from E[Σ_emp(θ)] = Σ̂ + (K − H⊗H)M);
* the constant-Σ SDE: ``dM/dt = −(H⊕H) M + (ηc/B) Σ̂``.

Their stationary states solve the linear equations of the chapter on §2.3 (``eq-s23-moments``), and
the stationary excess loss is E[L_n(θ) − L_n(θ̂)] = tr(HM)/2. Every function takes the operators
as a :class:`MomentOperators` built once by :func:`moment_operators`; dtype and device follow the
problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import torch

from ._validate import as_int
from .noise import empirical_covariance
from .problems import LinearRegression

__all__ = [
    "MomentOperators",
    "moment_operators",
    "batch_hessian_moment",
    "sgd_moment_operator",
    "sgd_stability_edge",
    "stationary_moment_sgd",
    "stationary_moment_sde",
    "stationary_moment_additive",
    "excess_loss",
    "sgd_moment_path",
    "sde_moment_path",
    "reshuffle_variance_factor",
]


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
    return MomentOperators(
        problem=problem,
        theta=theta,
        H=H,
        Sigma=empirical_covariance(problem, theta),
        K=K,
        HH=torch.kron(H, H),
        Hsum=torch.kron(H, I_d) + torch.kron(I_d, H),
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


def _check_lrs(lrs, ops) -> torch.Tensor:
    lrs = torch.as_tensor(lrs, dtype=ops.H.dtype).to(ops.H.device).reshape(-1)
    if not bool(torch.isfinite(lrs).all()) or bool((lrs <= 0).any()):
        raise ValueError("lrs must be finite learning rates > 0")
    return lrs


def _check_M0(M0, ops) -> torch.Tensor:
    if M0 is None:
        return torch.zeros(ops.d**2, dtype=ops.H.dtype, device=ops.H.device)
    if not isinstance(M0, torch.Tensor) or M0.shape != (ops.d, ops.d):
        raise ValueError(f"M0 must be None or a tensor of shape (d, d) = ({ops.d}, {ops.d})")
    return M0.reshape(-1).to(dtype=ops.H.dtype, device=ops.H.device)


def sgd_moment_path(
    ops: MomentOperators, lrs, batch_size: int, c: float = 1.0, M0: torch.Tensor | None = None
) -> torch.Tensor:
    """SGD's exact second moments along a schedule: M_{k+1} = T(η_k) M_k + η_k²(c/B) Σ̂.

    Parameters
    ----------
    ops : MomentOperators
    lrs : sequence or Tensor ``(K,)`` of learning rates η_0, …, η_{K−1} > 0
    batch_size : int
    c : float in [0, 1], the finite-population factor (1 with replacement)
    M0 : Tensor ``(d, d)``, optional
        E[(θ_0 − θ̂)(θ_0 − θ̂)ᵀ]; default 0 (started at θ̂).

    Returns
    -------
    Tensor ``(K + 1, d, d)``: M_0, …, M_K.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> Ms = sgd_moment_path(o, [0.1] * 400, 4)                # converges to the stationary M
    >>> Ms.shape, bool(torch.allclose(Ms[-1], stationary_moment_sgd(o, 0.1, 4)))
    (torch.Size([401, 2, 2]), True)
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    lrs = _check_lrs(lrs, ops)
    M = _check_M0(M0, ops)
    I = torch.eye(ops.d**2, dtype=ops.H.dtype, device=ops.H.device)
    Ms = [M]
    for e in lrs.tolist():
        M = (I - e * ops.Hsum + e**2 * batch_hessian_moment(ops, B, c)) @ M + e**2 * c * ops.S / B
        Ms.append(M)
    out = torch.stack(Ms).reshape(-1, ops.d, ops.d)
    if not bool(torch.isfinite(out).all()):
        raise ValueError(
            "sgd_moment_path: the second moment overflowed (steps beyond the stability edge)"
        )
    return out


def sde_moment_path(
    ops: MomentOperators, lrs, batch_size: int, c: float = 1.0, M0: torch.Tensor | None = None
) -> torch.Tensor:
    """Exact second moments of the time-changed SDE (23) at the times t_k = Σ_{j<k} η_j.

    On [t_k, t_k + η_k) the SDE dθ = −∇L_n dt + √(η_k c/B · Σ_emp(θ)) dW has
    dM/dt = −A_k M + (η_k c/B) Σ̂ with A_k = H⊕H − (η_k c/B)(K − H⊗H), integrated exactly:
    M_{k+1} = e^{−A_k η_k} M_k + (I − e^{−A_k η_k}) A_k⁻¹ (η_k c/B) Σ̂. A constant schedule gives
    the SDE (23) at t = kη.

    Parameters
    ----------
    As :func:`sgd_moment_path`.

    Returns
    -------
    Tensor ``(K + 1, d, d)``: M(t_0), …, M(t_K).

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> o = moment_operators(LinearRegression(*gaussian_regression(30, 2)))
    >>> Ms = sde_moment_path(o, [0.1] * 400, 4)
    >>> bool(torch.allclose(Ms[-1], stationary_moment_sde(o, 0.1, 4)))
    True
    """
    _check_ops(ops)
    B, c = _check_Bc(batch_size, c)
    etas = _check_lrs(lrs, ops)
    M = _check_M0(M0, ops)
    A = ops.Hsum - (etas * c / B)[:, None, None] * (ops.K - ops.HH)
    Ek = torch.linalg.matrix_exp(-A * etas[:, None, None])
    inh = torch.linalg.solve(A, (etas * c / B)[:, None] * ops.S)  # A_k⁻¹ (η_k c/B) Σ̂
    Ms = [M]
    for k in range(etas.shape[0]):
        M = Ek[k] @ M + inh[k] - Ek[k] @ inh[k]
        Ms.append(M)
    out = torch.stack(Ms).reshape(-1, ops.d, ops.d)
    if not bool(torch.isfinite(out).all()):
        raise ValueError("sde_moment_path: the second moment overflowed (A(η) not stable)")
    return out


def reshuffle_variance_factor(a: float, m: int) -> float:
    """R(a, m) = 1 − 2/(m(m−1)) Σ_{h=1}^{m−1} (m − h) a^h, a float.

    The factor by which reshuffled batches (m per epoch) scale the stationary variance of the
    scalar recursion δ' = aδ − ηξ relative to white noise of the same one-step variance: the
    bracket 1 + 2Σ_h ρ(h)a^h with the within-epoch correlation ρ(h) = −(m − h)/(m(m − 1)).
    R(0, m) = 1 and R(1, m) = 0.

    Parameters
    ----------
    a : float, the contraction 1 − ηλ
    m : int ≥ 2, batches per epoch

    Examples
    --------
    >>> reshuffle_variance_factor(0.0, 5), reshuffle_variance_factor(1.0, 5), reshuffle_variance_factor(0.5, 2)
    (1.0, 0.0, 0.5)
    """
    if isinstance(a, bool) or not isinstance(a, Real) or not math.isfinite(a):
        raise ValueError(f"a must be a finite number; got {a!r}")
    if not isinstance(m, Integral) or isinstance(m, bool) or m < 2:
        raise ValueError(f"m (batches per epoch) must be an int >= 2; got {m!r}")
    return 1 - 2 * sum((m - h) * a**h for h in range(1, m)) / (m * (m - 1))


# --- the discrete Lyapunov equation S = A S Aᵀ + Q (stationary covariance of δ' = Aδ + noise) -----


def discrete_lyapunov(A: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """The solution S of S = A S Aᵀ + Q: the stationary covariance of δ_{k+1} = Aδ_k + ε_k, Cov ε = Q.

    For SGD on a quadratic with additive noise, A = I − ηH and Q = η²Σ/B. Solved as the linear
    system (I − A⊗A) vec S = vec Q (row-major vec), which has a unique solution iff no product of
    two eigenvalues of A equals 1; the spectral radius ρ(A) < 1 is required (else no stationary
    law exists) and checked.

    Parameters
    ----------
    A : Tensor ``(d, d)``, floating, spectral radius < 1
    Q : Tensor ``(d, d)``, same dtype and device

    Returns
    -------
    Tensor ``(d, d)``

    Examples
    --------
    AR(1) in one dimension, S = q / (1 − a²):

    >>> S = discrete_lyapunov(torch.tensor([[0.5]], dtype=torch.float64),
    ...                       torch.tensor([[3.0]], dtype=torch.float64))
    >>> float(S)
    4.0
    """
    for name, M in (("A", A), ("Q", Q)):
        if not isinstance(M, torch.Tensor) or M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"{name} must be a square (d, d) tensor")
        if not M.is_floating_point() or not bool(torch.isfinite(M).all()):
            raise ValueError(f"{name} must be a finite floating-point tensor")
    if A.shape != Q.shape or A.dtype != Q.dtype or A.device != Q.device:
        raise ValueError(
            f"A and Q must share shape, dtype and device; got {tuple(A.shape)} {A.dtype} "
            f"and {tuple(Q.shape)} {Q.dtype}"
        )
    rho = float(torch.linalg.eigvals(A).abs().max())
    if not rho < 1:
        raise ValueError(f"A must have spectral radius < 1 (a stationary law); got {rho:.6g}")
    d = A.shape[0]
    eye = torch.eye(d * d, dtype=A.dtype, device=A.device)
    return torch.linalg.solve(eye - torch.kron(A, A), Q.reshape(-1)).reshape(d, d)


__all__ += ["discrete_lyapunov"]
