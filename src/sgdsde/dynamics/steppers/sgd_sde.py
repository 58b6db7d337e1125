"""SGD's SDE (notes (23)) on a Problem, and the order-2 modified equation.

Examples
--------
>>> from sgdsde.dynamics.steppers.sgd_sde import SGDSDE, ModifiedEquation
>>> issubclass(ModifiedEquation, SGDSDE)
True
"""

from __future__ import annotations

import torch

from ..draws import Increments
from .base import Stepper

__all__ = ["SGDSDE", "ModifiedEquation", "hvp_grad"]


def hvp_grad(problem, theta: torch.Tensor):
    """(g_n, H g_n) at θ ``(chains, d)``: H g = ½ ∇‖g‖² by double backward (Hessian fallback).

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(20, 2, seed=0))
    >>> th = torch.ones(1, 2, dtype=torch.float64)
    >>> g, hg = hvp_grad(p, th)
    >>> bool(torch.allclose(hg, g @ (p.X.T @ p.X / p.n)))
    True
    """
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        g = problem.grad(th)
        if g.requires_grad:
            (hg2,) = torch.autograd.grad((g * g).sum(), th)
            return g.detach(), 0.5 * hg2
    g = g.detach()
    H = problem.hessian(theta)  # NotImplementedError propagates with the problem's message
    return g, (H @ g.unsqueeze(-1)).squeeze(-1)


class SGDSDE(Stepper):
    """Euler–Maruyama for SGD's SDE (notes (23)), noise through the factor F (FᵀF = Σ_emp).

    dθ = −∇L_n dt [− (η/4)∇‖∇L_n‖² dt if order = 2] + √(ηc/B) Σ_emp^{1/2} dW, with c the
    sampling scheme's covariance factor. One step adds ``noise_scale · (Gᵀz − g Σ_i z_i)`` with
    ``z ~ (chains, n)`` standard draws (N(0, 1), or S_α with scale 2^{−1/2} for α-stable noise) and
    G the per-sample gradients; see :func:`sgdsde.sde.sgd_sde` for the scales.

    Orders: in Δt, Euler–Maruyama's weak order 1 and strong order 1/2. As an approximation of
    SGD (in η, on [0, T]): ``model_order`` = ``order`` (1 for (23), 2 for the modified equation).

    Parameters
    ----------
    problem : Problem (``per_sample_grads``; ``grad`` differentiable or ``hessian`` for order 2)
    lr : float η; dt : float Δt; order : 1 or 2
    noise_scale : float; the factor applied to Gᵀz − g Σz (it includes 1/√n)
    noise : ``"gaussian"`` or ``"alpha_stable"``; alpha; stable_scale : float (scale of S_α draws)
    increments : Tensor ``(steps, chains, n)``, optional; the standard draws to use

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> from sgdsde.dynamics import integrate
    >>> p = LinearRegression(*gaussian_regression(30, 2, seed=0))
    >>> st = SGDSDE(p, lr=0.1, dt=0.1, noise_scale=0.0, order=2)            # no noise: modified flow
    >>> st.model_order, integrate(st, p.theta0, 10, chains=2).x.shape
    (2, torch.Size([11, 2, 2]))
    """

    weak_order = 1.0
    strong_order = 0.5

    def __init__(
        self,
        problem,
        lr: float,
        dt: float,
        noise_scale: float,
        *,
        order: int = 1,
        noise: str = "gaussian",
        alpha: float | None = None,
        stable_scale: float = 1.0,
        increments: torch.Tensor | None = None,
    ):
        self.problem, self.eta, self.dt, self.scale = (
            problem,
            float(lr),
            float(dt),
            float(noise_scale),
        )
        self.order, self.model_order = order, order
        self.noise, self.alpha, self.stable_scale = noise, alpha, stable_scale
        self.increments = increments

    def draws(self, x, steps, gen):
        return Increments(
            self.noise,
            self.alpha,
            (x.shape[0], int(self.problem.n)),
            steps,
            x.dtype,
            x.device,
            gen,
            self.stable_scale,
            given=self.increments,
        )

    def step(self, th, z, k):  # z: (chains, n)
        G = self.problem.per_sample_grads(th)  # (chains, n, d)
        if self.order == 1:
            g = G.mean(-2)
            drift = g
        else:
            g, hg = hvp_grad(self.problem, th)
            drift = g.add(hg, alpha=0.5 * self.eta)
        # Fᵀz √n = Gᵀz − g Σ_i z_i
        noise_ = torch.bmm(z.unsqueeze(1), G).squeeze(1).sub_(g * z.sum(-1, keepdim=True))
        return torch.add(th, noise_, alpha=self.scale).sub_(drift, alpha=self.dt)


class ModifiedEquation(SGDSDE):
    """The order-2 modified equation of SGD: :class:`SGDSDE` with ``order=2``.

    Drift −∇L_n − (η/4)∇‖∇L_n‖² = −(I + ηH/2)∇L_n, diffusion as in (23); a weak approximation of
    SGD of order 2 in η (Li, Tai & E), solved by Euler–Maruyama.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.problems import LinearRegression, gaussian_regression
    >>> p = LinearRegression(*gaussian_regression(30, 2, seed=0))
    >>> ModifiedEquation(p, lr=0.1, dt=0.01, noise_scale=0.0).model_order
    2
    """

    def __init__(self, problem, lr: float, dt: float, noise_scale: float, **kw):
        kw.pop("order", None)
        super().__init__(problem, lr, dt, noise_scale, order=2, **kw)
