"""The SGLD estimator of the local learning coefficient and its exact values on known models."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._validate import as_int, as_real
from ..dynamics import SGLD, SGLDDivergenceError, integrate
from ..problems import Problem

__all__ = ["LLCEstimate", "estimate_llc", "default_beta", "quadratic_llc", "product_llc"]


def default_beta(n: int) -> float:
    """β = 1/log n, the default inverse temperature of the estimator (Lau et al. 2023).

    Examples
    --------
    >>> round(default_beta(1000), 6)
    0.144765
    """
    n = as_int("n", n, min=2)
    return 1.0 / math.log(n)


@dataclass
class LLCEstimate:
    """Result of :func:`estimate_llc`.

    Attributes
    ----------
    llc : float
        λ̂ = nβ (E[L_n(w)] − L_n(w*)), the mean over chains of the per-chain estimates.
    se : float
        Its standard error across the independent chains, sd(per_chain)/√chains.
    per_chain : Tensor ``(chains,)``
        nβ (mean over the draws of L_n(w_k) − L_n(w*)) per chain.
    trace : Tensor ``(draws, chains)``
        nβ (L_n(w_k) − L_n(w*)) at the draws (after burn-in).
    nbeta, beta, loss_center : float
        nβ, β and L_n(w*).

    Examples
    --------
    >>> e = LLCEstimate(1.0, 0.1, torch.ones(2), torch.ones(3, 2), 10.0, 0.5, 0.0)
    >>> e.llc, e.per_chain.shape
    (1.0, torch.Size([2]))
    """

    llc: float
    se: float
    per_chain: torch.Tensor
    trace: torch.Tensor
    nbeta: float
    beta: float
    loss_center: float


def estimate_llc(
    problem: Problem,
    center: torch.Tensor,
    *,
    lr: float,
    beta: float | None = None,
    localization: float = 1.0,
    chains: int = 8,
    draws: int = 200,
    burnin: int = 100,
    thin: int = 1,
    batch_size: int | None = None,
    max_excess: float | None = None,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> LLCEstimate:
    """Local learning coefficient λ̂(w*) = nβ (E_β^{w*,γ}[L_n(w)] − L_n(w*)) by SGLD.

    The expectation is over the localised tempered posterior ∝ exp(−nβ L_n(w) − γ‖w − w*‖²/2)
    (Lau, Furman, Wang, Murfet & Wei 2023), sampled by ``chains`` independent chains of
    :class:`~sgdsde.dynamics.SGLD` started at w*; after ``burnin`` steps every ``thin``-th state
    is a draw. The per-chain estimates are averaged; the SE is their spread across chains.

    Parameters
    ----------
    problem : Problem
        L_n: the average loss (negative log-likelihood up to a constant) over n samples.
    center : Tensor ``(d,)``
        w*, a local minimum (or any point: the number is then not an LLC).
    lr : float > 0
        SGLD step ε.
    beta : float > 0, optional
        Inverse temperature β; default 1/log n.
    localization : float ≥ 0
        γ.
    chains : int ≥ 2; draws : int ≥ 2; burnin : int ≥ 0; thin : int ≥ 1
    batch_size : int, optional
        Minibatch of the SGLD gradient (None: full gradient).
    max_excess : float > 0, optional
        A chain with nβ (L_n(w_k) − L_n(w*)) above this at some draw has exploded (default
        100·d, far above d/2 ≥ λ); :class:`~sgdsde.dynamics.SGLDDivergenceError` is raised,
        as for non-finite states.
    seed : int; generator : torch.Generator, optional

    Returns
    -------
    LLCEstimate

    Examples
    --------
    >>> from sgdsde import problems
    >>> p = problems.LinearRegression(*problems.gaussian_regression(2000, 3, seed=0))
    >>> est = estimate_llc(p, p.minimizer(), lr=1e-3, localization=0.0, chains=8,
    ...                    draws=400, burnin=200, thin=5, seed=1)
    >>> h = torch.linalg.eigvalsh(p.hessian(p.theta0))   # exact value of this chain's law:
    >>> exact = quadratic_llc(h, est.nbeta, 0.0, lr=1e-3)   # d/2 = 1.5 times the step bias
    >>> round(exact, 3), abs(est.llc - exact) < 5 * est.se
    (1.605, True)
    >>> estimate_llc(p, p.minimizer(), lr=1e-3, beta=0.0)
    Traceback (most recent call last):
    ...
    ValueError: beta must be > 0; got 0.0
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an sgdsde Problem; got {type(problem).__name__}")
    lr = as_real("lr", lr, positive=True)
    beta = default_beta(problem.n) if beta is None else as_real("beta", beta, positive=True)
    gamma = as_real("localization", localization, min=0.0)
    chains = as_int("chains", chains, min=2)
    draws = as_int("draws", draws, min=2)
    burnin = as_int("burnin", burnin, min=0)
    thin = as_int("thin", thin, min=1)
    max_excess = (
        100.0 * problem.d
        if max_excess is None
        else as_real("max_excess", max_excess, positive=True)
    )
    center = problem._theta(center, "center").detach()
    nbeta = problem.n * beta
    stepper = SGLD(problem, lr, nbeta, localization=gamma, center=center, batch_size=batch_size)
    steps = burnin + draws * thin
    path = integrate(
        stepper, center, steps, chains=chains, seed=seed, generator=generator, save_every=thin
    )
    assert path.loss is not None
    loss0 = float(problem.loss(center))
    keep = path.step > burnin
    trace = nbeta * (path.loss[keep] - loss0)
    bad = (trace > max_excess).any(0)
    if bool(bad.any()):
        first = int((trace > max_excess).any(1).nonzero()[0])
        raise SGLDDivergenceError(
            int(path.step[keep][first]),
            bad.nonzero().flatten().tolist(),
            path,
            what=f"excess loss nbeta*(L - L*) (above max_excess = {max_excess:g})",
        )
    per_chain = trace.mean(0)
    return LLCEstimate(
        llc=float(per_chain.mean()),
        se=float(per_chain.std(correction=1) / math.sqrt(chains)),
        per_chain=per_chain,
        trace=trace,
        nbeta=nbeta,
        beta=beta,
        loss_center=loss0,
    )


def quadratic_llc(
    hessian_eigenvalues, nbeta: float, localization: float = 0.0, lr: float = 0.0
) -> float:
    """Exact expectation of the estimator for a quadratic loss L = L* + ½ (w − w*)ᵀH(w − w*).

    Per eigenvalue h of H, with a = nβh + γ: the localised posterior is Gaussian with variance
    1/a along that direction; SGLD with step ε (full gradient) is an AR(1) whose stationary
    variance is 1/(a(1 − εa/4)). Hence

        E[λ̂] = ½ Σ_h nβh / (a (1 − εa/4)),

    which is d/2 for γ = 0, ε → 0 (the regular model), and shows both biases exactly: the
    localisation (factor nβh/(nβh + γ)) and the step (factor 1/(1 − εa/4)).

    Parameters
    ----------
    hessian_eigenvalues : sequence or Tensor of floats (any sign)
    nbeta : float > 0; localization : float ≥ 0; lr : float ≥ 0 (0: the exact posterior)

    Examples
    --------
    >>> quadratic_llc([1.0, 2.0, 3.0], 100.0)                 # d/2
    1.5
    >>> round(quadratic_llc([1.0], 100.0, localization=100.0), 6)
    0.25
    >>> quadratic_llc([-1.0], 100.0, localization=10.0)
    Traceback (most recent call last):
    ...
    ValueError: the localised posterior is not normalisable: nbeta*h + localization = -90 <= 0 for h = -1
    """
    nbeta = as_real("nbeta", nbeta, positive=True)
    gamma = as_real("localization", localization, min=0.0)
    lr = as_real("lr", lr, min=0.0)
    h = torch.as_tensor(hessian_eigenvalues, dtype=torch.float64).reshape(-1)
    a = nbeta * h + gamma
    if bool((a <= 0).any()):
        i = int(torch.argmin(a))
        raise ValueError(
            "the localised posterior is not normalisable: nbeta*h + localization = "
            f"{float(a[i]):g} <= 0 for h = {float(h[i]):g}"
        )
    if bool((lr * a >= 4).any()):
        raise ValueError(
            f"lr = {lr:g} makes SGLD unstable: lr*(nbeta*h_max + localization) = "
            f"{float(lr * a.max()):g} >= 4"
        )
    return float(0.5 * (nbeta * h / (a * (1 - lr * a / 4))).sum())


def product_llc(a: float, localization: float) -> float:
    """Exact E[nβ L] for the singular model L(w) = (w₁w₂)²·a/nβ (y = w₁w₂x, noiseless data).

    With a = nβ·mean(x²)/2 the localised posterior at w* = 0 is ∝ exp(−a w₁²w₂² − γ|w|²/2);
    given w₁, w₂ is Gaussian with precision 2aw₁² + γ, so E[a w₁²w₂²] is a ratio of two 1-D
    integrals (computed by quadrature). As a → ∞ it tends to λ = 1/2, slowly: the pole of
    multiplicity 2 gives a correction of order 1/log a.

    Parameters
    ----------
    a : float > 0; localization : float > 0

    Examples
    --------
    >>> round(product_llc(1e12, 1.0), 2)            # still below 1/2 at a = 10¹²
    0.47
    """
    from scipy.integrate import quad

    a = as_real("a", a, positive=True)
    g = as_real("localization", localization, positive=True)

    def weight(w):
        return math.exp(-0.5 * g * w * w) / math.sqrt(2 * a * w * w + g)

    # the integrands change scale at w ~ sqrt(g/a): split there for an accurate quadrature
    knot = math.sqrt(g / a)
    num = den = 0.0
    for lo, hi in ((0.0, knot), (knot, math.inf)):
        num += quad(lambda w: weight(w) * a * w * w / (2 * a * w * w + g), lo, hi, limit=200)[0]
        den += quad(weight, lo, hi, limit=200)[0]
    return num / den
