"""Euler–Maruyama for dX = f(X) dt + g(X) dL: Gaussian or α-stable increments.

Examples
--------
>>> from sgdsde.dynamics.steppers.euler_maruyama import EulerMaruyama
>>> EulerMaruyama.weak_order
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..draws import Increments
from .base import Stepper, _check_out

__all__ = ["EulerMaruyama"]


class EulerMaruyama(Stepper):
    """Euler–Maruyama for dx = b(x) dt + σ(x) dW (or σ(x) dL^α): x_{k+1} = x_k + b Δt + σ ΔW_k.

    ``diffusion`` is a callable returning ``(chains, d)`` (diagonal, m = d) or ``(chains, d, m)``
    (general), or a constant tensor: 0-d (σ·I), ``(d,)`` diagonal or ``(d, m)`` general. Gaussian
    increments ΔW_k = √Δt N(0, I_m); α-stable ones Δt^{1/α} S_α with E e^{iuS_α} = e^{−|u|^α}
    (α = 2 is √2·W). Each step is one fused update.

    Orders: Gaussian noise, weak order 1 and strong order 1/2 (1 when σ is constant: additive
    noise). α-stable noise: weak order 1, and strong order 1 (in L¹, α > 1) for constant σ; for a
    state-dependent σ no strong order is claimed (None).

    Parameters
    ----------
    drift : callable ``(chains, d) -> (chains, d)``
    diffusion : callable or Tensor (see above)
    dt : float > 0
    noise : ``"gaussian"`` or ``"alpha_stable"``; alpha : float in (0, 2] for the latter
    increments : Tensor ``(steps, chains, m)``, optional; the standard draws to use

    Examples
    --------
    >>> import torch
    >>> from sgdsde.dynamics import integrate
    >>> em = EulerMaruyama(lambda x: -x, 0.5, 0.01)
    >>> em.weak_order, em.strong_order
    (1.0, 1.0)
    >>> integrate(em, torch.zeros(2), 100, chains=3, save_every=50).x.shape
    torch.Size([3, 3, 2])
    """

    weak_order = 1.0

    def __init__(
        self,
        drift: Callable,
        diffusion,
        dt: float,
        *,
        noise: str = "gaussian",
        alpha: float | None = None,
        increments: torch.Tensor | None = None,
    ):
        if not callable(drift):
            raise TypeError("drift must be a callable x -> (chains, d)")
        self.drift, self.diffusion, self.dt = drift, diffusion, float(dt)
        self.noise, self.alpha, self.increments = noise, alpha, increments
        if noise == "gaussian":
            self.scale = math.sqrt(self.dt)
        elif alpha is None:
            raise ValueError(f"noise={noise!r} needs alpha in (0, 2]")
        else:
            self.scale = self.dt ** (1.0 / alpha)
        const = not callable(diffusion)
        self.strong_order = (
            (1.0 if const else 0.5) if noise == "gaussian" else (1.0 if const else None)
        )
        self._step = None

    @property
    def graph_safe(self):
        return True

    def draws(self, x, steps, gen):
        shape = x.shape
        chains, d = shape
        dt, scale, drift, diffusion = self.dt, self.scale, self.drift, self.diffusion
        _check_out("drift", drift(x), shape, x.dtype, 0)
        if callable(diffusion):
            g0 = diffusion(x)
            if not isinstance(g0, torch.Tensor):
                raise TypeError(f"diffusion(x) must return a torch.Tensor, got {type(g0).__name__}")
            if g0.shape == shape:
                kind, m = "diag", d
            elif g0.ndim == 3 and g0.shape[:2] == shape:
                kind, m = "general", g0.shape[2]
            else:
                raise ValueError(
                    f"diffusion(x) must return (chains, d) = {tuple(shape)} for diagonal "
                    f"noise or (chains, d, m) for general noise; got {tuple(g0.shape)} (step 0)"
                )
            _check_out("diffusion", g0, g0.shape, x.dtype, 0)
            gshape = g0.shape
        else:
            G = torch.as_tensor(diffusion, dtype=x.dtype, device=x.device)
            if G.ndim == 0:
                kind, m, G = "const_diag", d, G.expand(d)
            elif G.shape == (d,):
                kind, m = "const_diag", d
            elif G.ndim == 2 and G.shape[0] == d:
                kind, m = "const_general", G.shape[1]
                Gt = G.T.contiguous()
            else:
                raise ValueError(
                    f"constant diffusion must be a scalar, (d,) or (d, m) with d = {d}; "
                    f"got {tuple(G.shape)}"
                )
            if not bool(torch.isfinite(G).all()):
                raise ValueError("diffusion must be finite")

        def checked_drift(x, k):
            f = drift(x)
            if f.shape != x.shape:
                _check_out("drift", f, x.shape, x.dtype, k)
            return f

        def checked_diffusion(x, k):
            g = diffusion(x)
            if g.shape[1:] != gshape[1:] or g.shape[0] != x.shape[0]:
                _check_out("diffusion", g, (x.shape[0], *gshape[1:]), x.dtype, k)
            return g

        if kind == "diag":

            def step(x, z, k):
                f, g = checked_drift(x, k), checked_diffusion(x, k)
                return torch.addcmul(x, g, z, value=scale).add_(f, alpha=dt)
        elif kind == "general":

            def step(x, z, k):
                f, g = checked_drift(x, k), checked_diffusion(x, k)
                if g.stride(0) == 0:  # the same matrix for every chain (expanded): one matmul
                    return torch.addmm(x, z, g[0].T, alpha=scale).add_(f, alpha=dt)
                return (
                    torch.baddbmm(x.unsqueeze(-1), g, z.unsqueeze(-1), alpha=scale)
                    .squeeze(-1)
                    .add_(f, alpha=dt)
                )
        elif kind == "const_diag":

            def step(x, z, k):
                return torch.addcmul(x, G, z, value=scale).add_(checked_drift(x, k), alpha=dt)
        else:

            def step(x, z, k):
                return torch.addmm(x, z, Gt, alpha=scale).add_(checked_drift(x, k), alpha=dt)

        self._step = step
        return Increments(
            self.noise,
            self.alpha,
            (chains, m),
            steps,
            x.dtype,
            x.device,
            gen,
            given=self.increments,
        )

    def step(self, x, z, k):
        return self._step(x, z, k)
