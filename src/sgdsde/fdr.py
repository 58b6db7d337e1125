"""The fluctuation–dissipation relation (FDR) of discrete SGD and heavy ball (Yaida, ICLR 2019).

At stationarity of SGD θ_{k+1} = θ_k − η g_{B_k}(θ_k) with finite second moments, E|θ|² is
constant, which gives ⟨(θ − c)·∇L_n(θ)⟩ = (η/2)⟨|g_B|²⟩ for any fixed c. For heavy ball
(v_{k+1} = μv_k + g_B(θ_k), θ_{k+1} = θ_k − ηv_{k+1}) the same argument on |θ|², θ·v and |v|²
gives ⟨(θ − c)·∇L_n(θ)⟩ = (η/2)(1 + μ)⟨|v|²⟩; at μ = 0, v_{k+1} = g_{B_k}(θ_k).

:func:`fdr_terms` estimates both sides from a trajectory recorded at every step (v_{k+1} is read
off as (θ_k − θ_{k+1})/η), as per-chain time averages: independent chains give the standard
error of their mean with no autocorrelation correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import torch

from .problems import Problem
from .stats import mean_se

__all__ = ["FDRTerms", "fdr_terms"]


@dataclass(frozen=True)
class FDRTerms:
    """Per-chain time averages of the two sides of the FDR.

    Attributes
    ----------
    lhs : Tensor ``(chains,)``, the time average of (θ_k − c)·∇L_n(θ_k)
    rhs : Tensor ``(chains,)``, the time average of (η/2)(1 + μ)|v_{k+1}|²
    boundary : Tensor ``(chains,)``, (|θ_0 − c|² − |θ_T − c|²)/(2ηT): for μ = 0 the time
        average of (θ_k − c)·g_{B_k} − (η/2)|g_{B_k}|² equals it exactly (a telescoping sum)

    Examples
    --------
    >>> t = FDRTerms(torch.tensor([1.0, 1.2]), torch.tensor([1.1, 1.1]), torch.zeros(2))
    >>> [round(float(v), 6) for v in t.residual()]
    [0.0, 0.1]
    """

    lhs: torch.Tensor
    rhs: torch.Tensor
    boundary: torch.Tensor

    def residual(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean over chains of lhs − rhs and its standard error (chains independent)."""
        return mean_se(self.lhs - self.rhs)

    def ratio(self) -> tuple[float, float]:
        """⟨lhs⟩/⟨rhs⟩ over chains and its delta-method standard error.

        Examples
        --------
        >>> t = FDRTerms(torch.tensor([1.0, 1.2]), torch.tensor([1.1, 1.1]), torch.zeros(2))
        >>> round(t.ratio()[0], 6)
        1.0
        """
        ml, mr = float(self.lhs.mean()), float(self.rhs.mean())
        z = self.lhs / mr - ml * self.rhs / mr**2  # linearisation of lhs/rhs
        return ml / mr, float(z.std(correction=1)) / math.sqrt(z.numel())


def fdr_terms(
    problem: Problem,
    theta: torch.Tensor,
    lr: float,
    momentum: float = 0.0,
    *,
    center: torch.Tensor | None = None,
    every: int = 1,
) -> FDRTerms:
    """Both sides of the FDR from a trajectory ``theta`` ``(T + 1, chains, d)`` saved at every step.

    Parameters
    ----------
    problem : Problem (its ``grad`` gives ∇L_n)
    theta : Tensor ``(T + 1, chains, d)``, T ≥ 1, consecutive steps of SGD or heavy ball run with
        ``lr`` and ``momentum`` (e.g. ``sgd.run(..., record_every=1).theta`` after a burn-in)
    lr : float η > 0
    momentum : float μ in [0, 1)
    center : Tensor ``(d,)``, optional; the point c (default 0); the relation holds for every c
    every : int ≥ 1; average over the pairs (θ_k, θ_{k+1}) with k a multiple of ``every`` only
        (fewer full gradients; any fixed subset of stationary times is unbiased)

    Returns
    -------
    FDRTerms

    Examples
    --------
    >>> from sgdsde import sgd
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(40, 2, seed=0))
    >>> tr = sgd.run(p, p.minimizer(), 0.1, 4, 400, chains=64, seed=0, record_loss=False)
    >>> t = fdr_terms(p, tr.theta, 0.1)
    >>> m, se = t.residual()
    >>> bool(abs(m) < 5 * se)
    True
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an sgdsde.problems.Problem, got {type(problem).__name__}")
    if not isinstance(theta, torch.Tensor) or theta.ndim != 3 or theta.shape[0] < 2:
        raise ValueError(
            "theta must be a tensor (T + 1, chains, d) with T >= 1 saved at every step; got "
            f"{tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__}"
        )
    if theta.shape[-1] != problem.d:
        raise ValueError(f"theta's last axis must be d = {problem.d}; got {theta.shape[-1]}")
    if isinstance(lr, bool) or not isinstance(lr, Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0; got {lr!r}")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, Real)
        or not (math.isfinite(momentum) and 0 <= momentum < 1)
    ):
        raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an int >= 1; got {every!r}")
    eta, mu = float(lr), float(momentum)
    T = theta.shape[0] - 1
    x = theta if center is None else theta - center
    k = torch.arange(0, T, every, device=theta.device)
    v = (theta[k] - theta[k + 1]) / eta  # v_{k+1}, (T', chains, d)
    g = problem.grad(theta[k].reshape(-1, problem.d)).reshape(v.shape)  # ∇L_n(θ_k)
    lhs = (x[k] * g).sum(-1).mean(0)
    rhs = 0.5 * eta * (1 + mu) * v.pow(2).sum(-1).mean(0)
    boundary = (x[0].pow(2).sum(-1) - x[-1].pow(2).sum(-1)) / (2 * eta * T)
    return FDRTerms(lhs=lhs, rhs=rhs, boundary=boundary)
