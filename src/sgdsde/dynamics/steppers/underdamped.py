"""Semi-implicit Euler–Maruyama for the underdamped (kinetic) Langevin SDE in (θ, V).

Examples
--------
>>> from sgdsde.dynamics.steppers.underdamped import Underdamped
>>> Underdamped.weak_order
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..draws import Increments
from .base import Stepper, _check_out

__all__ = ["Underdamped"]


class Underdamped(Stepper):
    """dθ = V dt, dV = (−γV + F(θ)) dt + σ(θ) dW, one semi-implicit Euler–Maruyama step of size h.

    V_{k+1} = V_k + h(−γV_k + F(θ_k)) + σ(θ_k) ΔW_k,  θ_{k+1} = θ_k + h V_{k+1}  (ΔW_k ~ N(0, hI)).

    The state is ``(chains, 2d)``: θ in the first d columns, V in the last d. With F = −∇L,
    h = √η, γ = (1 − μ)/√η and σσᵀ = hΣ/B, this step *is* heavy-ball SGD with Gaussian noise
    (V_k = −√η v_k; see :func:`sgdsde.linear_theory.underdamped_parameters`).

    Orders: weak order 1; strong order 1 for a constant σ (additive noise), 1/2 otherwise.

    Parameters
    ----------
    force : callable θ ``(chains, d)`` → ``(chains, d)``, F(θ) (e.g. ``−∇L``)
    friction : float γ ≥ 0
    diffusion : callable θ ``(chains, d)`` → ``(chains, d, m)``, or a constant Tensor: 0-d (σ·I),
        ``(d,)`` diagonal or ``(d, m)``
    dt : float h > 0
    increments : Tensor ``(steps, chains, m)``, optional; standard normal draws to use

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> st = Underdamped(lambda th: -th, 1.0, torch.tensor(2**0.5, dtype=torch.float64), 0.05)
    >>> st.weak_order, st.strong_order
    (1.0, 1.0)
    >>> integrate(st, torch.zeros(2, dtype=torch.float64), 100, chains=3, save_every=50).x.shape
    torch.Size([3, 3, 2])
    """

    weak_order = 1.0

    def __init__(
        self,
        force: Callable,
        friction: float,
        diffusion,
        dt: float,
        *,
        increments: torch.Tensor | None = None,
    ):
        if not callable(force):
            raise TypeError("force must be a callable θ (chains, d) -> (chains, d)")
        if not (isinstance(friction, (int, float)) and math.isfinite(friction) and friction >= 0):
            raise ValueError(f"friction must be a finite number >= 0; got {friction!r}")
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be a finite number > 0; got {dt!r}")
        self.force, self.gamma, self.diffusion, self.dt = (
            force,
            float(friction),
            diffusion,
            float(dt),
        )
        self.increments = increments
        self.strong_order = 0.5 if callable(diffusion) else 1.0
        self._noise = None

    def draws(self, x, steps, gen):
        chains, D = x.shape
        if D % 2:
            raise ValueError(f"the state must be (chains, 2d) = (θ, V); got {D} columns")
        d = D // 2
        _check_out("force", self.force(x[:, :d]), (chains, d), x.dtype, 0)
        sig = self.diffusion
        if callable(sig):
            g0 = sig(x[:, :d])
            if not isinstance(g0, torch.Tensor) or g0.ndim != 3 or g0.shape[:2] != (chains, d):
                raise ValueError(
                    f"diffusion(θ) must return (chains, d, m) with (chains, d) = ({chains}, {d})"
                )
            m = g0.shape[2]

            def noise(th, z):
                return torch.bmm(sig(th), z.unsqueeze(-1)).squeeze(-1)
        else:
            G = torch.as_tensor(sig, dtype=x.dtype, device=x.device)
            if G.ndim == 0:
                G = G * torch.eye(d, dtype=x.dtype, device=x.device)
            elif G.shape == (d,):
                G = torch.diag(G)
            if G.ndim != 2 or G.shape[0] != d or not bool(torch.isfinite(G).all()):
                raise ValueError(f"constant diffusion must be finite, 0-d, (d,) or (d, m), d = {d}")
            m, Gt = G.shape[1], G.T.contiguous()

            def noise(th, z):
                return z @ Gt

        self._noise, self._d = noise, d
        return Increments(
            "gaussian", None, (chains, m), steps, x.dtype, x.device, gen, given=self.increments
        )

    def step(self, x, z, k):
        d, h = self._d, self.dt
        th, V = x[:, :d], x[:, d:]
        F = self.force(th)
        if F.shape != th.shape:
            _check_out("force", F, th.shape, x.dtype, k)
        V1 = V * (1 - h * self.gamma) + h * F + math.sqrt(h) * self._noise(th, z)
        return torch.cat([th + h * V1, V1], 1)
