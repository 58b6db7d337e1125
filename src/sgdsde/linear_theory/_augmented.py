"""Exact moment maps of SGD, Euler–Maruyama and the SDEs on the augmented state z (see below).

For ``LinearRegression`` (g_i(θ) = A_iθ − b_i with A_i = x_i x_iᵀ, b_i = y_i x_i) the first two
moments of θ, stacked as the augmented state

    z = (1, E θ, vec E θθᵀ)  (length D = 1 + d + d², vec row-major),

evolve linearly, in the original coordinates θ (no shift to the minimiser): E[Σ_emp(θ)] is a linear
function of z (:func:`noise_moment_operator`), so for a drift −(Hθ − b̄) (H = XᵀX/n, b̄ = Xᵀy/n, or
any modified pair such as the order-2 equation's (I + ηH/2)H, (I + ηH/2)b̄) and a noise of
conditional covariance ``noise_coef · Σ_emp(θ)``,

* one step θ' = θ − h(Hθ − b) + noise maps z ↦ ``augmented_step_matrix(...) @ z``: SGD with
  h = η, noise_coef = η²c/B; Euler–Maruyama of the SDE (23) with h = dt, noise_coef = dt·ηc/B;
* the SDE dθ = −(Hθ − b)dt + √(noise_coef · Σ_emp(θ)) dW has ż = ``augmented_generator(...) @ z``
  (noise_coef = ηc/B for (23), 0 for gradient flow), so z(t) = exp(tG) z(0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import TypeVar

import numpy as np
import torch

from ..problems import LinearRegression

ArrayT = TypeVar("ArrayT", torch.Tensor, np.ndarray)


@dataclass(frozen=True)
class AugmentedOperators:
    """The pieces of the augmented moment maps of one least-squares problem.

    Attributes
    ----------
    problem : LinearRegression
    H : Tensor ``(d, d)``, the Hessian XᵀX/n (∇L_n(θ) = Hθ − b)
    b : Tensor ``(d,)``, b̄ = Xᵀy/n
    E : Tensor ``(d², D)``, :func:`noise_moment_operator`: vec E[Σ_emp(θ)] = E z

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> a = augmented_operators(LinearRegression(*gaussian_regression(40, 2)))
    >>> a.d, a.D, tuple(a.E.shape)
    (2, 7, (4, 7))
    """

    problem: LinearRegression
    H: torch.Tensor
    b: torch.Tensor
    E: torch.Tensor

    @property
    def d(self) -> int:
        """The dimension d of θ."""
        return int(self.H.shape[-1])

    @property
    def D(self) -> int:
        """The length 1 + d + d² of the augmented state z."""
        return 1 + self.d + self.d**2


def _check_problem(problem) -> LinearRegression:
    if not isinstance(problem, LinearRegression):
        raise TypeError(
            f"problem must be an sgdsde.problems.LinearRegression, got {type(problem).__name__}"
        )
    return problem


def noise_moment_operator(problem: LinearRegression) -> torch.Tensor:
    """The matrix E with vec E[Σ_emp(θ)] = E z for any law of θ with finite second moments.

    From g_i g_iᵀ = A_i θθᵀ A_i − A_i θ b_iᵀ − b_i θᵀ A_i + b_i b_iᵀ and g_n = Hθ − b̄; exact for
    ``LinearRegression``. Cost O(n d⁴).

    Parameters
    ----------
    problem : LinearRegression

    Returns
    -------
    Tensor ``(d², 1 + d + d²)``, the problem's dtype and device.

    Examples
    --------
    >>> from sgdsde.noise import empirical_covariance
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(30, 2))
    >>> th = torch.tensor([0.3, -1.2], dtype=torch.float64)
    >>> Sz = (noise_moment_operator(p) @ augmented_state(th)).reshape(2, 2)
    >>> bool(torch.allclose(Sz, empirical_covariance(p, th)))
    True
    """
    p = _check_problem(problem)
    X, d, n = p.X, p.d, p.n
    A = torch.einsum("ni,nj->nij", X, X)
    b = X * p.y[:, None]
    H, bbar = A.mean(0), b.mean(0)
    E = torch.zeros(d * d, 1 + d + d * d, dtype=X.dtype, device=X.device)
    E[:, 0] = (b.mT @ b / n - torch.outer(bbar, bbar)).reshape(-1)
    E[:, 1 : 1 + d] = (
        -(torch.einsum("nac,nb->abc", A, b) + torch.einsum("na,nbc->abc", b, A)) / n
        + torch.einsum("ac,b->abc", H, bbar)
        + torch.einsum("a,bc->abc", bbar, H)
    ).reshape(d * d, d)
    E[:, 1 + d :] = (
        torch.einsum("nac,neb->abce", A, A) / n - torch.einsum("ac,eb->abce", H, H)
    ).reshape(d * d, d * d)
    return E


def augmented_operators(problem: LinearRegression) -> AugmentedOperators:
    """H, b̄ and the noise moment operator of ``problem``, built once.

    Examples
    --------
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(30, 2))
    >>> a = augmented_operators(p)
    >>> th = torch.tensor([0.5, 1.0], dtype=torch.float64)
    >>> bool(torch.allclose(a.H @ th - a.b, p.grad(th)))
    True
    """
    p = _check_problem(problem)
    return AugmentedOperators(
        problem=p, H=p.X.mT @ p.X / p.n, b=p.X.mT @ p.y / p.n, E=noise_moment_operator(p)
    )


def _as_ops(ops) -> AugmentedOperators:
    if isinstance(ops, AugmentedOperators):
        return ops
    if isinstance(ops, LinearRegression):
        return augmented_operators(ops)
    raise TypeError(
        "ops must be a LinearRegression or an AugmentedOperators (from augmented_operators), "
        f"got {type(ops).__name__}"
    )


def _number(name: str, x, positive: bool) -> float:
    ok = not isinstance(x, bool) and isinstance(x, Real) and math.isfinite(x)
    if not ok or (float(x) <= 0 if positive else float(x) < 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0; got {x!r}")
    return float(x)


def _drift(o: AugmentedOperators, H, b) -> tuple[torch.Tensor, torch.Tensor]:
    dt, dev = o.H.dtype, o.H.device
    H = o.H if H is None else torch.as_tensor(H, dtype=dt, device=dev)
    b = o.b if b is None else torch.as_tensor(b, dtype=dt, device=dev)
    if H.shape != (o.d, o.d) or b.shape != (o.d,):
        raise ValueError(
            f"H must have shape (d, d) = ({o.d}, {o.d}) and b shape (d,) = ({o.d},); "
            f"got {tuple(H.shape)} and {tuple(b.shape)}"
        )
    return H, b


def augmented_step_matrix(
    ops: AugmentedOperators | LinearRegression,
    h: float,
    noise_coef: float,
    H: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
) -> torch.Tensor:
    """The matrix S with z' = S z for one step θ' = θ − h(Hθ − b) + ε, Cov[ε | θ] = coef·Σ_emp(θ).

    Parameters
    ----------
    ops : AugmentedOperators or LinearRegression
        Pass :func:`augmented_operators` once when building many matrices.
    h : float > 0, the step
    noise_coef : float >= 0
        η²c/B for SGD (h = η); dt·ηc/B for Euler–Maruyama of the SDE (23) (h = dt).
    H, b : Tensor ``(d, d)`` and ``(d,)``, optional
        The drift's pair (default the problem's H and b̄): e.g. (I + ηH/2)H and (I + ηH/2)b̄ for
        the order-2 modified equation. The noise is always the problem's Σ_emp.

    Returns
    -------
    Tensor ``(D, D)``, D = 1 + d + d².

    Examples
    --------
    One SGD step with B = 1 from a point, against the average over all n single-sample steps:

    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(8, 2))
    >>> th = torch.tensor([1.0, -2.0], dtype=torch.float64)
    >>> z1 = augmented_step_matrix(p, 0.1, 0.1**2) @ augmented_state(th)
    >>> th1 = th - 0.1 * p.per_sample_grads(th)                 # (n, d), equally likely
    >>> mean, cov = moments_of(z1)
    >>> bool(torch.allclose(mean, th1.mean(0))), bool(torch.allclose(cov, th1.T.cov(correction=0)))
    (True, True)
    """
    o = _as_ops(ops)
    h = _number("h", h, positive=True)
    c = _number("noise_coef", noise_coef, positive=False)
    Hd, bd = _drift(o, H, b)
    d, D = o.d, o.D
    P = torch.eye(d, dtype=Hd.dtype, device=Hd.device) - h * Hd
    S = torch.zeros(D, D, dtype=Hd.dtype, device=Hd.device)
    S[0, 0] = 1.0
    S[1 : 1 + d, 0], S[1 : 1 + d, 1 : 1 + d] = h * bd, P
    S[1 + d :, 0] = h**2 * torch.outer(bd, bd).reshape(-1)
    S[1 + d :, 1 : 1 + d] = h * (
        torch.einsum("ac,b->abc", P, bd) + torch.einsum("a,bc->abc", bd, P)
    ).reshape(d * d, d)
    S[1 + d :, 1 + d :] = torch.kron(P, P)
    S[1 + d :] += c * o.E
    return S


def augmented_generator(
    ops: AugmentedOperators | LinearRegression,
    noise_coef: float,
    H: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
) -> torch.Tensor:
    """The generator G with ż = G z for dθ = −(Hθ − b)dt + √(noise_coef · Σ_emp(θ)) dW.

    Parameters
    ----------
    ops : AugmentedOperators or LinearRegression
    noise_coef : float >= 0
        ηc/B for the SDE (23), 0 for gradient flow.
    H, b : as in :func:`augmented_step_matrix`.

    Returns
    -------
    Tensor ``(D, D)``; z(t) = exp(tG) z(0) (``torch.linalg.matrix_exp``).

    Examples
    --------
    Euler–Maruyama's step matrix at dt is I + dt·G + O(dt²):

    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> a = augmented_operators(LinearRegression(*gaussian_regression(20, 2)))
    >>> G, dt = augmented_generator(a, 0.05), 1e-4
    >>> S = augmented_step_matrix(a, dt, dt * 0.05)
    >>> float((S - torch.eye(7, dtype=torch.float64) - dt * G).abs().max()) < 10 * dt**2 * float(G.abs().max())**2
    True
    """
    o = _as_ops(ops)
    c = _number("noise_coef", noise_coef, positive=False)
    Hd, bd = _drift(o, H, b)
    d, D = o.d, o.D
    I_d = torch.eye(d, dtype=Hd.dtype, device=Hd.device)
    G = torch.zeros(D, D, dtype=Hd.dtype, device=Hd.device)
    G[1 : 1 + d, 0], G[1 : 1 + d, 1 : 1 + d] = bd, -Hd
    G[1 + d :, 1 : 1 + d] = (
        torch.einsum("ac,b->abc", I_d, bd) + torch.einsum("a,bc->abc", bd, I_d)
    ).reshape(d * d, d)
    G[1 + d :, 1 + d :] = -(torch.kron(Hd, I_d) + torch.kron(I_d, Hd))
    G[1 + d :] += c * o.E
    return G


def augmented_state(theta: torch.Tensor) -> torch.Tensor:
    """z = (1, θ, vec θθᵀ) of the point mass at ``theta`` ``(d,)``: a tensor ``(1 + d + d²,)``.

    Examples
    --------
    >>> augmented_state(torch.tensor([2.0, 3.0], dtype=torch.float64))
    tensor([1., 2., 3., 4., 6., 6., 9.], dtype=torch.float64)
    """
    if not isinstance(theta, torch.Tensor) or theta.ndim != 1 or not theta.is_floating_point():
        raise ValueError(
            "theta must be a floating tensor of shape (d,); got "
            f"{tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__}"
        )
    return torch.cat([theta.new_ones(1), theta, torch.outer(theta, theta).reshape(-1)])


def moments_of(z: ArrayT) -> tuple[ArrayT, ArrayT]:
    """The mean E θ ``(..., d)`` and covariance Cov θ ``(..., d, d)`` of augmented states z.

    ``z`` is ``(..., 1 + d + d²)``, a Tensor or a numpy array; the result has the same kind.

    Examples
    --------
    >>> import numpy as np
    >>> mean, cov = moments_of(np.array([1.0, 1.0, 2.0, 3.0, 2.0, 2.0, 5.0]))
    >>> mean.tolist(), cov.tolist()
    ([1.0, 2.0], [[2.0, 0.0], [0.0, 1.0]])
    """
    if not isinstance(z, (torch.Tensor, np.ndarray)) or z.ndim < 1:
        raise TypeError(f"z must be a Tensor or numpy array (..., 1 + d + d²); got {type(z)}")
    D = int(z.shape[-1])
    d = int(round((math.sqrt(4 * D - 3) - 1) / 2))
    if D != 1 + d + d * d:
        raise ValueError(f"z's last axis must have length 1 + d + d²; got {D}")
    m = z[..., 1 : 1 + d]
    second = z[..., 1 + d :].reshape(*z.shape[:-1], d, d)
    return m, second - m[..., :, None] * m[..., None, :]
