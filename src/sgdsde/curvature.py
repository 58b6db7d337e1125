"""Curvature of a loss: Hessian–vector products, the top eigenpair (sharpness) and its gradient.

Every function takes ``loss``: a :class:`~sgdsde.problems.Problem` (its ``L_n``) or a callable
θ ``(d,)`` → scalar tensor, differentiable twice (three times for :func:`sharpness_gradient`) by
autograd, and a flat θ ``(d,)``. The Hessian H = ∇²L(θ) is never formed:

* :func:`hvp` — Hv by double backward (∇(∇L·v)), one gradient-sized tensor;
* :func:`power_iteration` — the eigenvalue of H of largest magnitude and its unit eigenvector;
* :func:`lanczos` — the algebraically largest eigenvalue S(θ) = λ_max(H) by ``iters`` steps of
  Lanczos with full re-orthogonalisation (converges faster than power iteration when the top
  gap is small, and returns λ_max even when a negative eigenvalue is larger in magnitude);
* :func:`sharpness_gradient` — ∇S(θ) = ∇_θ(uᵀ∇²L(θ)u) for the top unit eigenvector u held fixed
  (valid where λ_max is simple: then ∂λ = uᵀ(∂H)u);
* :func:`track_sharpness` — S along saved states (e.g. a GD path), each start vector the
  previous eigenvector (warm start: a few iterations per state suffice along a trajectory).

Examples
--------
>>> import torch
>>> A = torch.diag(torch.tensor([3.0, 1.0, -0.5], dtype=torch.float64))
>>> quad = lambda th: 0.5 * th @ A @ th
>>> lam, u = lanczos(quad, torch.zeros(3, dtype=torch.float64), iters=3)
>>> round(lam, 10), round(abs(float(u[0])), 10)
(3.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from numbers import Integral

import torch

from .problems import Problem

__all__ = ["hvp", "power_iteration", "lanczos", "sharpness_gradient", "track_sharpness"]

LossLike = Problem | Callable[[torch.Tensor], torch.Tensor]


def _loss_fn(loss: LossLike) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(loss, Problem):
        return loss.loss
    if not callable(loss):
        raise TypeError(
            f"loss must be an sgdsde Problem or a callable theta -> scalar; got {type(loss).__name__}"
        )
    return loss


def _theta(theta, d: int | None = None) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor) or theta.ndim != 1 or not theta.is_floating_point():
        shape = tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__
        raise ValueError(f"theta must be a floating tensor of shape (d,); got {shape}")
    if d is not None and theta.shape[0] != d:
        raise ValueError(f"theta must have shape (d,) = ({d},); got {tuple(theta.shape)}")
    return theta.detach()


def _vec(name: str, v, theta: torch.Tensor) -> torch.Tensor:
    if not isinstance(v, torch.Tensor) or v.shape != theta.shape:
        shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        raise ValueError(
            f"{name} must be a tensor of shape (d,) = {tuple(theta.shape)}; got {shape}"
        )
    return v.detach().to(dtype=theta.dtype, device=theta.device)


def _iters(iters) -> int:
    if isinstance(iters, bool) or not isinstance(iters, Integral) or iters < 1:
        raise ValueError(f"iters must be an int >= 1; got {iters!r}")
    return int(iters)


def _start(theta, v0, generator) -> torch.Tensor:
    if v0 is not None:
        v = _vec("v0", v0, theta)
    else:
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        v = torch.randn(theta.shape[0], generator=gen, dtype=theta.dtype, device=gen.device)
        v = v.to(theta.device)
    nv = v.norm()
    if not bool(torch.isfinite(nv)) or float(nv) == 0:
        raise ValueError("v0 must be finite and non-zero")
    return v / nv


def _grad_graph(f, theta):
    """(θ with grad, ∇L(θ) with its graph)."""
    th = theta.detach().requires_grad_(True)
    with torch.enable_grad():
        val = f(th)
        if val.ndim != 0:
            raise ValueError(f"loss(theta) must be a scalar tensor; got shape {tuple(val.shape)}")
        (g,) = torch.autograd.grad(val, th, create_graph=True)
    return th, g


def hvp(loss: LossLike, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The Hessian–vector product ∇²L(θ) v by double backward.

    Parameters
    ----------
    loss : Problem or callable θ ``(d,)`` → scalar
    theta, v : Tensor ``(d,)``

    Returns
    -------
    Tensor ``(d,)``

    Examples
    --------
    >>> th = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> hvp(lambda t: t[0] ** 2 * t[1], th, torch.tensor([1.0, 0.0], dtype=torch.float64))
    tensor([4., 2.], dtype=torch.float64)
    """
    f, theta = _loss_fn(loss), _theta(theta)
    v = _vec("v", v, theta)
    th, g = _grad_graph(f, theta)
    with torch.enable_grad():
        (hv,) = torch.autograd.grad(g, th, v, allow_unused=True)
    return torch.zeros_like(theta) if hv is None else hv.detach()


def _hvp_op(loss, theta):
    """A closure v ↦ Hv sharing one graph of ∇L(θ) (each product is one backward)."""
    th, g = _grad_graph(_loss_fn(loss), theta)

    def op(v):
        with torch.enable_grad():
            (hv,) = torch.autograd.grad(g, th, v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(v) if hv is None else hv.detach()

    return op


def power_iteration(
    loss: LossLike,
    theta: torch.Tensor,
    iters: int = 50,
    v0: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> tuple[float, torch.Tensor]:
    """The eigenvalue of ∇²L(θ) of largest magnitude, by power iteration on :func:`hvp`.

    u ← Hu/‖Hu‖, λ = uᵀHu; the error shrinks like (|λ₂|/|λ₁|)^iters. It is λ_max when the top
    eigenvalue dominates in magnitude (near a minimum, or at the edge of stability).

    Parameters
    ----------
    loss : Problem or callable θ → scalar
    theta : Tensor ``(d,)``
    iters : int ≥ 1
    v0 : Tensor ``(d,)``, optional; the start (e.g. the previous eigenvector along a path); default
        a Gaussian vector from ``generator`` (else seed 0)

    Returns
    -------
    lam : float, the Rayleigh quotient of the last unit vector
    u : Tensor ``(d,)``, that unit vector

    Examples
    --------
    >>> A = torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64))
    >>> lam, u = power_iteration(lambda t: 0.5 * t @ A @ t, torch.zeros(2, dtype=torch.float64))
    >>> round(lam, 8)
    2.0
    """
    theta = _theta(theta)
    iters = _iters(iters)
    u = _start(theta, v0, generator)
    op = _hvp_op(loss, theta)
    lam = float("nan")
    for _ in range(iters):
        hu = op(u)
        lam = float(hu @ u)
        nh = hu.norm()
        if float(nh) == 0:
            return 0.0, u
        u = hu / nh
    return lam, u


def lanczos(
    loss: LossLike,
    theta: torch.Tensor,
    iters: int = 20,
    v0: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> tuple[float, torch.Tensor]:
    """The top eigenpair (λ_max, u) of ∇²L(θ) by Lanczos with full re-orthogonalisation.

    ``iters`` Hessian–vector products build a Krylov basis Q ``(d, m)`` and the tridiagonal
    T = QᵀHQ; the largest Ritz value of T is returned with its Ritz vector. With m = d (or an
    invariant subspace found early) the answer is exact up to rounding.

    Parameters
    ----------
    loss : Problem or callable θ → scalar
    theta : Tensor ``(d,)``
    iters : int ≥ 1 (capped at d)
    v0 : Tensor ``(d,)``, optional; start vector (warm start), default Gaussian (``generator``)

    Returns
    -------
    lam : float, the largest Ritz value
    u : Tensor ``(d,)``, its unit Ritz vector

    Examples
    --------
    >>> A = torch.diag(torch.tensor([1.0, -5.0, 2.0], dtype=torch.float64))
    >>> lam, u = lanczos(lambda t: 0.5 * t @ A @ t, torch.zeros(3, dtype=torch.float64), 3)
    >>> round(lam, 10)                      # λ_max, not the largest magnitude (−5)
    2.0
    """
    theta = _theta(theta)
    m = min(_iters(iters), theta.shape[0])
    q = _start(theta, v0, generator)
    op = _hvp_op(loss, theta)
    Q = [q]
    alphas, betas = [], []
    scale = 0.0
    for j in range(m):
        hq = op(Q[j])
        alphas.append(float(hq @ Q[j]))
        Qm = torch.stack(Q, 1)
        resid = hq - Qm @ (Qm.T @ hq)
        resid = resid - Qm @ (Qm.T @ resid)  # twice is enough (Kahan–Parlett)
        beta = float(resid.norm())
        scale = max(scale, abs(alphas[-1]), beta)
        if j == m - 1 or beta <= 1e3 * torch.finfo(theta.dtype).eps * max(scale, 1e-300):
            break
        betas.append(beta)
        Q.append(resid / beta)
    k = len(alphas)
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        b = torch.tensor(betas[: k - 1], dtype=torch.float64)
        T = T + torch.diag(b, 1) + torch.diag(b, -1)
    ev, V = torch.linalg.eigh(T)
    y = V[:, -1].to(dtype=theta.dtype, device=theta.device)
    u = torch.stack(Q[:k], 1) @ y
    return float(ev[-1]), u / u.norm()


def sharpness_gradient(loss: LossLike, theta: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """∇S(θ) = ∇_θ (uᵀ ∇²L(θ) u) with the unit top eigenvector u held fixed.

    Where λ_max is simple, ∂_i λ_max = uᵀ(∂_i H)u (first-order perturbation theory), so this is
    the gradient of the sharpness S(θ) = λ_max(∇²L(θ)). Three backward passes (third derivatives).

    Parameters
    ----------
    loss : Problem or callable θ → scalar (three times differentiable)
    theta : Tensor ``(d,)``
    u : Tensor ``(d,)``, a unit vector (normalised here)

    Returns
    -------
    Tensor ``(d,)``

    Examples
    --------
    >>> th = torch.tensor([2.0, 0.0], dtype=torch.float64)   # L = t0⁴/12 + t1²/2: S = t0² = 4
    >>> sharpness_gradient(lambda t: t[0] ** 4 / 12 + t[1] ** 2 / 2, th,
    ...                    torch.tensor([1.0, 0.0], dtype=torch.float64))     # ∇S = (2 t0, 0)
    tensor([4., 0.], dtype=torch.float64)
    """
    theta = _theta(theta)
    u = _vec("u", u, theta)
    nu = u.norm()
    if not bool(torch.isfinite(nu)) or float(nu) == 0:
        raise ValueError("u must be finite and non-zero")
    u = u / nu
    th, g = _grad_graph(_loss_fn(loss), theta)
    with torch.enable_grad():
        (hu,) = torch.autograd.grad(g, th, u, create_graph=True)
        (gs,) = torch.autograd.grad(hu @ u, th, allow_unused=True)
    return torch.zeros_like(theta) if gs is None else gs.detach()


def track_sharpness(
    loss: LossLike,
    thetas: Iterable[torch.Tensor] | torch.Tensor,
    iters: int = 10,
    *,
    method: str = "lanczos",
    v0: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The sharpness S(θ_j) at saved states θ_j (rows of ``thetas``), warm-started along them.

    The eigenvector at θ_j starts the iteration at θ_{j+1}; the first state gets ``v0`` (or a
    Gaussian start from ``generator``) and 4× ``iters`` iterations.

    Parameters
    ----------
    loss : Problem or callable θ → scalar
    thetas : Tensor ``(T, d)`` or an iterable of ``(d,)`` tensors
    iters : int ≥ 1, iterations per state
    method : ``"lanczos"`` (default) or ``"power"``
    v0, generator : the first start vector, as in :func:`lanczos`

    Returns
    -------
    S : Tensor ``(T,)`` float64
    u : Tensor ``(d,)``, the last eigenvector (to continue tracking)

    Examples
    --------
    >>> A = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    >>> S, _ = track_sharpness(lambda t: 0.5 * t @ A @ t + t[0] ** 3, torch.zeros(3, 2).double())
    >>> S.tolist()
    [4.0, 4.0, 4.0]
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power'; got {method!r}")
    iters = _iters(iters)
    solve = lanczos if method == "lanczos" else power_iteration
    out = []
    u = v0
    first = True
    for th in thetas:
        lam, u = solve(loss, th, 4 * iters if first else iters, u, generator=generator)
        out.append(lam)
        first = False
    if not out or u is None:
        raise ValueError("thetas is empty")
    return torch.tensor(out, dtype=torch.float64), u
