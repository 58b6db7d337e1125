"""Stationary variances of linear stochastic recursions: reshuffled noise, the discrete
Lyapunov equation."""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch


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
