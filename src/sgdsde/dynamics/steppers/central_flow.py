"""The central flow of gradient descent at the edge of stability (one unstable direction).

Cohen, Damian, Talwalkar, Kolter & Lee (ICLR 2025) model the *time-averaged* trajectory of GD
with step η by an ODE in t = step count. With S(w) = λ_max(∇²L(w)) and u its unit eigenvector,

    dw/dt = −η [∇L(w) + ½ σ²(w) ∇S(w)],        ∇S(w) = ∇_w(uᵀ∇²L(w)u),

where σ² ≥ 0 (the variance of GD's oscillation along u) is zero while S < 2/η (then the flow is
gradient flow in time ηt) and otherwise the smallest value that keeps S at 2/η: from
dS/dt = ∇S·dw/dt = 0, σ² = max(0, −2⟨∇S, ∇L⟩/‖∇S‖²). The time-averaged loss it predicts is
L(w) + ½σ² S(w) = L(w) + σ²/η on the constraint.

Discretisation: one explicit Euler step of size ``dt`` (in GD steps) per stepper step, with σ²
chosen as in the paper's discretisation so that the *linearised* sharpness after the step equals
2/η (a one-dimensional complementarity problem), S + dt·∇S·w' ≤ 2/η with equality when σ² > 0;
this also pulls back the drift of S off the constraint. The constraint becomes active once
S ≥ ``active`` · 2/η (default 0.975, the paper's 1.95/η). S and u come from warm-started Lanczos
on Hessian–vector products (:func:`sgdsde.curvature.lanczos`).

Examples
--------
>>> from sgdsde.dynamics.steppers.central_flow import CentralFlow
>>> CentralFlow.weak_order, CentralFlow.strong_order
(1.0, 1.0)
"""

from __future__ import annotations

import torch

from ... import curvature
from .base import Stepper

__all__ = ["CentralFlow"]


class CentralFlow(Stepper):
    """Euler steps of GD's central flow (one unstable direction) on a loss.

    Parameters
    ----------
    loss : Problem or callable θ ``(d,)`` → scalar (three times differentiable by autograd)
    lr : float > 0, GD's step η (the flow's time unit is one GD step)
    dt : float in (0, 0.5), the Euler step in GD steps. At the edge the flow's fastest rate is
        η·S = 2 per GD step, so an Euler step of dt multiplies that mode by 1 − 2dt: dt = 1 is GD
        itself (no averaging at all) and dt → 0.5 kills the mode in one step and biases the
        constrained flow (measured on the test model: 15 % error in σ² at dt = 0.4–0.5, none at
        0.25). The paper uses 0.25.
    eig_iters : int ≥ 1, Lanczos iterations per step (warm-started from the last eigenvector)
    active : float in (0, 1], the constraint is enforced once S ≥ active·2/η
    constrained : bool; False gives the plain gradient flow dw/dt = −η∇L (the "stable flow")
    seed : int, the Lanczos start vector of the first step

    Records at every save: ``loss`` L(w), ``sharpness`` S(w), ``sigma2`` σ², ``predicted_loss``
    L + ½σ²S. The state has one chain.

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> A = torch.diag(torch.tensor([1.0, 0.5], dtype=torch.float64))
    >>> cf = CentralFlow(lambda w: 0.5 * w @ A @ w, lr=0.2, dt=0.25)      # S = 1 < 2/η: GF
    >>> path = integrate(cf, torch.ones(2, dtype=torch.float64), 20, save_every=20)
    >>> torch.allclose(path.x[-1, 0], torch.tensor([0.95 ** 20, 0.975 ** 20]).double())
    True
    """

    weak_order = 1.0
    strong_order = 1.0

    def __init__(
        self,
        loss,
        lr: float,
        dt: float = 0.25,
        *,
        eig_iters: int = 8,
        active: float = 0.975,
        constrained: bool = True,
        seed: int = 0,
    ):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a float > 0; got {lr!r}")
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not 0 < dt < 0.5:
            raise ValueError(f"dt must be a float in (0, 0.5) (GD steps); got {dt!r}")
        if isinstance(active, bool) or not isinstance(active, (int, float)) or not 0 < active <= 1:
            raise ValueError(f"active must be a float in (0, 1]; got {active!r}")
        if isinstance(eig_iters, bool) or not isinstance(eig_iters, int) or eig_iters < 1:
            raise ValueError(f"eig_iters must be an int >= 1; got {eig_iters!r}")
        if not isinstance(constrained, bool):
            raise TypeError(f"constrained must be a bool; got {type(constrained).__name__}")
        curvature._loss_fn(loss)  # a clear TypeError for a bad loss
        self.loss, self.lr, self.dt = loss, float(lr), float(dt)
        self.eig_iters, self.active, self.constrained = eig_iters, float(active), constrained
        self.seed = int(seed)
        self.records = {"sharpness": (), "sigma2": (), "predicted_loss": (), "loss": ()}
        self.checked = ("loss",)
        self._u: torch.Tensor | None = None
        self._cache: tuple | None = None

    def _eval(self, x: torch.Tensor, k: int) -> dict:
        """g, L, S, u, σ² and the velocity at x ``(1, d)``, cached for the step k."""
        if self._cache is not None and self._cache[0] == k and torch.equal(self._cache[1], x):
            return self._cache[2]
        if x.shape[0] != 1:
            raise ValueError(f"CentralFlow integrates one chain; got {x.shape[0]}")
        w = x[0].detach()
        f = curvature._loss_fn(self.loss)
        with torch.enable_grad():
            wg = w.clone().requires_grad_(True)
            L = f(wg)
            (g,) = torch.autograd.grad(L, wg)
        gen = torch.Generator().manual_seed(self.seed)
        iters = self.eig_iters if self._u is not None else 4 * self.eig_iters
        S, u = curvature.lanczos(self.loss, w, iters, self._u, generator=gen)
        self._u = u
        eta, sigma2 = self.lr, 0.0
        vel = -eta * g
        if self.constrained and S >= self.active * 2 / eta:
            gS = curvature.sharpness_gradient(self.loss, w, u)
            nS2 = float(gS @ gS)
            if nS2 > 0:
                resid = 2 / eta - (S + self.dt * float(gS @ vel))
                sigma2 = max(0.0, -resid / (self.dt * 0.5 * eta * nS2))
                vel = vel - 0.5 * eta * sigma2 * gS
        out = dict(
            loss=float(L.detach()),
            sharpness=S,
            sigma2=sigma2,
            predicted_loss=float(L.detach()) + 0.5 * sigma2 * S,
            vel=vel,
        )
        self._cache = (k, x.clone(), out)
        return out

    def step(self, x, z, k):
        e = self._eval(x, k)
        return x + self.dt * e["vel"].unsqueeze(0)

    def observe(self, x, z, k):
        e = self._eval(x, k)
        return {
            name: torch.full((x.shape[0],), e[name], dtype=x.dtype, device=x.device)
            for name in ("loss", "sharpness", "sigma2", "predicted_loss")
        }

    def times(self, steps_t):
        """Time in GD steps: k·dt."""
        return steps_t.to(torch.float64) * self.dt

    def state(self):
        return None if self._u is None else self._u.clone()

    def restore(self, s):
        self._u = None if s is None else s.clone()
        self._cache = None
